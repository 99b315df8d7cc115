"""Which recent outbound message a customer's reply answers.

The hub links a reply to a message in this order: the message the provider
says is answered (WhatsApp's quoted reply), else, among the messages sent to
the customer within the correlation window, the newest one whose key values
(its case name, or the context items its configuration names in
``correlation_keys``) the reply mentions, else the newest of them. This
module holds the pure parts: which values are keys, and the content match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.errors import InvalidRequest

CASE_NAME = "case_name"  # the contact's CaseName, not a context item
DEFAULT_KEYS = (CASE_NAME,)
MAX_KEYS = 5
# Longer values are cut (they live in Redis per recent message); shorter ones
# never match: "12" or "ok" would be found in too many replies.
MAX_VALUE_CHARS = 64
MIN_VALUE_CHARS = 3
# Messages a reply may be matched against, per customer and channel.
RECENT_MESSAGES = 5
# Fields of a recent entry are joined by the ASCII unit separator, which no
# id, queue or sensible key value holds (it is removed from values).
SEP = "\x1f"
DEFAULT_QUEUE = "default"
# How much of a provider id a recent entry keeps: enough to tell a
# customer's few recent messages apart (Twilio's ids end in 32 random hex
# digits), far less than the whole id.
SID_TAIL = 10


class CorrelationMethod(StrEnum):
    PROVIDER_CONTEXT = "provider_context"
    CONTENT_MATCH = "content_match"
    LATEST = "latest"


def validate_correlation_keys(raw: Any) -> list[str]:
    """A configuration's ``correlation_keys``: ``case_name`` or context item names."""
    if not isinstance(raw, list) or len(raw) > MAX_KEYS:
        raise InvalidRequest(
            f"correlation_keys must be a list of at most {MAX_KEYS} names", details={"field": "correlation_keys"}
        )
    out: list[str] = []
    for name in raw:
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidRequest(
                "each correlation key must be a non-empty name of at most 100 characters",
                details={"field": "correlation_keys"},
            )
        if name.strip() not in out:
            out.append(name.strip())
    return out


def key_values(names: Sequence[str], case_name: str, context: Mapping[str, Any]) -> list[str]:
    """The values a reply may mention, in the configuration's order: strings
    and numbers only, trimmed, each once, too-short ones left out."""
    out: list[str] = []
    for name in names:
        value = case_name if name == CASE_NAME else context.get(name)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            continue
        text = " ".join(str(value).split())[:MAX_VALUE_CHARS]
        if len(text) >= MIN_VALUE_CHARS and text not in out:
            out.append(text)
    return out


@dataclass(frozen=True)
class RecentEntry:
    """What Redis keeps of a recently sent message for correlation."""

    activity_id: str
    sent_ms: int
    queue: str
    case_name: str
    keys: tuple[str, ...]
    sid_tail: str = ""


def sid_tail(provider_id: str) -> str:
    return provider_id[-SID_TAIL:]


def _clean(value: str) -> str:
    return value.replace(SEP, " ")


def recent_entry(activity_id: str, queue: str, case_name: str, values: Sequence[str]) -> str:
    """A sent message's entry in the customer's recent list, without the time
    the provider took it and its provider id's last SID_TAIL characters (the
    script that records that puts them in front):
    ``id, queue, case, key values...``, a few dozen bytes, since a customer
    keeps up to RECENT_MESSAGES of them for the whole window. The default
    queue is left empty, and a key value equal to the case name too."""
    case = _clean(case_name[:MAX_VALUE_CHARS])
    fields = [activity_id, "" if queue == DEFAULT_QUEUE else _clean(queue), case]
    fields += ["" if v == case else _clean(v) for v in values]
    return SEP.join(fields)


def parse_recent(raw: str) -> RecentEntry:
    """An entry as the recording script stored it: the time the provider took
    the message, the tail of its provider id, then recent_entry()."""
    sent, tail, activity_id, queue, case, *values = raw.split(SEP)
    return RecentEntry(activity_id, int(sent), queue or DEFAULT_QUEUE, case, tuple(v or case for v in values), tail)


def _word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def mentions(text: str, value: str) -> bool:
    """True when ``value`` occurs in ``text`` ignoring case and runs of spaces,
    not glued to an ASCII letter or digit where the value itself starts or
    ends with one ("CAS-1" is not in "CAS-12"; it is in "CAS-1的狀態"): a
    whole-word test that still works in scripts written without spaces."""
    haystack = " ".join(text.split()).casefold()
    needle = " ".join(value.split()).casefold()
    if len(needle) < MIN_VALUE_CHARS:
        return False
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before_ok = start == 0 or not (_word_char(needle[0]) and _word_char(haystack[start - 1]))
        after_ok = end == len(haystack) or not (_word_char(needle[-1]) and _word_char(haystack[end]))
        if before_ok and after_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


def content_match(text: str, candidates: Sequence[RecentEntry]) -> str | None:
    """The activity the reply names, when there is a choice to make: the newest
    of the candidates with a key value the text mentions. None with fewer than
    two candidates (the latest is the answer anyway) or no mention."""
    if len(candidates) < 2:
        return None
    named = [c for c in candidates if any(mentions(text, v) for v in c.keys)]
    if not named:
        return None
    return max(named, key=lambda c: (c.sent_ms, c.activity_id)).activity_id
