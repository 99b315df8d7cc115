"""The one JSON parser for what clients send (pure).

``json.loads`` accepts more than the hub can keep: nesting deep enough to
exhaust the recursion limit, lone surrogate escapes (``"\\udfff"``), which
no UTF-8 encoder takes, so a record holding one breaks every answer that
shows it, and ``NaN``/``Infinity`` (or ``1e999``), which are not JSON and
which no answer can render. All of them are refused here, before any handler
sees the value, naming where they are.

``decode_json`` is the same parser, faster on the bodies it takes (the send
request's hot path reads with it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import msgspec

from hub.errors import InvalidRequest

# Deeper than any body the API documents (a send request is four levels deep).
MAX_DEPTH = 32

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Refused(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text} is too large a number")
    return value


def _field(path: tuple[Any, ...]) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + step.encode("utf-8", "backslashreplace").decode()
    return out or "body"


def _walk(value: Any, max_depth: int) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every value and key (as a ``_Key``) with its path, in document order,
    without recursion; raises past ``max_depth``."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        yield item, path
        if isinstance(item, (dict, list)) and len(path) >= max_depth:
            raise _too_deep(max_depth)
        if isinstance(item, dict):
            for key, child in reversed(item.items()):
                stack.append((child, (*path, key)))
                stack.append((_Key(key), (*path, key)))
        elif isinstance(item, list):
            stack.extend((item[i], (*path, i)) for i in range(len(item) - 1, -1, -1))


class _Key(str):
    """A dict key met by ``_walk`` (so that a bad key is named as such)."""


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """A client's JSON text (UTF-8) as a value; ``InvalidRequest`` (400) naming
    the field for anything the hub could not store and show back."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, (bytes, bytearray)) else raw
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except _Refused as exc:
        raise InvalidRequest(
            f"the request body is not valid JSON: {exc}", details={"field": _constant_field(text, max_depth)}
        ) from None
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError:  # UnicodeDecodeError included
        raise InvalidRequest("the request body is not valid JSON", details={"field": "body"}) from None
    _check_depth(value, max_depth)
    # A surrogate can only come from a \uD800-\uDFFF escape (UTF-8 cannot carry
    # one), so most bodies skip the walk.
    if _SURROGATE_ESCAPE.search(text):
        for item, path in _walk(value, max_depth):
            if isinstance(item, str) and _SURROGATE.search(item):
                what = "keys" if isinstance(item, _Key) else "text"
                raise InvalidRequest(
                    f"{what} must not hold lone surrogate escapes such as \\udfff", details={"field": _field(path)}
                )
    return value


def _too_deep(max_depth: int) -> InvalidRequest:
    return InvalidRequest(
        f"JSON nested deeper than {max_depth} levels", details={"field": "body", "max_depth": max_depth}
    )


def _check_depth(value: Any, max_depth: int) -> None:
    """Level by level, containers only: cheap next to the parse itself."""
    level = [value] if type(value) is dict or type(value) is list else []
    for _ in range(max_depth):
        if not level:
            return
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) is dict or type(child) is list
        ]
    if level:
        raise _too_deep(max_depth)


def _constant_field(raw: bytes | str, max_depth: int) -> str:
    """Where the first NaN/Infinity sits: parsed again with markers in their place
    (only on this error path, so the common one pays nothing)."""
    marker = object()
    try:
        value = json.loads(
            raw, parse_constant=lambda _: marker, parse_float=lambda t: marker if not math.isfinite(float(t)) else 0.0
        )
        for item, path in _walk(value, max_depth):
            if item is marker:
                return _field(path)
    except (ValueError, RecursionError, InvalidRequest):
        pass
    return "body"


def decode_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``parse_json``, faster for the common body: msgspec reads it in C and
    refuses everything ``parse_json`` refuses but depth (NaN, ``1e999``, lone
    surrogates, bad UTF-8), which is checked after; anything msgspec refuses is
    read again by ``parse_json``, which words the refusal (or takes the body:
    a byte-order mark)."""
    try:
        value = msgspec.json.decode(raw)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except msgspec.DecodeError:
        return parse_json(raw, max_depth=max_depth)
    _check_depth(value, max_depth)
    return value
