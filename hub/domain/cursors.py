"""List cursors that are ``score|member`` of the last item of a page: the
one place they are read and checked (activities, conversations, the contact
timeline). A cursor that is not one answers 400 ``invalid_request`` naming
the ``cursor`` field."""

from __future__ import annotations

import math
import re

from hub.errors import InvalidRequest

# Passed to Redis as given (it must equal Redis' own spelling to break ties),
# so only a plain decimal number is accepted: Redis refuses anything else
# (``x``, ``nan``) with a script error.
_SCORE_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]{1,3})?")


def split_score_cursor(cursor: str | None) -> tuple[str, str]:
    """(score, member) to resume after; ("+inf", "") for the first page."""
    if not cursor:
        return "+inf", ""
    score, _, member = cursor.partition("|")
    if not _SCORE_RE.fullmatch(score):
        raise InvalidRequest("cursor is not valid", details={"field": "cursor"})
    return score, member


def cursor_key(cursor: str) -> tuple[float, str]:
    """(score as a number, member) of a cursor that is not the first page's."""
    score, member = split_score_cursor(cursor)
    return finite_score(score), member


def finite_score(raw: str) -> float:
    """A cursor's score read as a finite number (the SQL side compares numbers)."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidRequest("cursor is not valid", details={"field": "cursor"})
    return value
