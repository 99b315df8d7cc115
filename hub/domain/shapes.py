"""Bodies declared once, as msgspec Structs (pure): ``convert`` checks a
decoded JSON body against one and refuses it with the hub's error shape (400
``invalid_request`` naming the ``field``); ``components`` gives the same
declarations as JSON Schema, for /openapi.json and /asyncapi.json.

A Struct may word its own refusals: ``refusals`` maps a field to the
sentence to answer when that field is wrong, whatever msgspec found."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar, get_args

import msgspec

from hub.errors import InvalidRequest

T = TypeVar("T")

_PATH = re.compile(r"at `\$\.([A-Za-z_][A-Za-z0-9_]*)")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")


def field_of(exc: msgspec.ValidationError) -> str | None:
    """The top-level field msgspec found wrong, or None when the body itself is."""
    message = str(exc)
    found = _MISSING.search(message) or _UNKNOWN.search(message) or _PATH.search(message)
    return found.group(1)[:60] if found else None


def refusal(exc: msgspec.ValidationError, shape: type[Any]) -> InvalidRequest:
    """msgspec's account of a bad body, in the hub's words, naming its field."""
    message = str(exc)
    field = field_of(exc)
    if field is None:
        return InvalidRequest("the body must be a JSON object", details={"field": "body"})
    worded: dict[str, str] = getattr(shape, "refusals", {})
    if _UNKNOWN.search(message):
        text = f"unknown field {field!r}"
    elif field in worded:
        text = worded[field]
    elif _MISSING.search(message):
        text = f"{field} is required"
    elif "matching regex" in message:
        text = f"{field} must not be blank"
    else:  # "Expected `str`, got `int`", "Expected `str` of length <= 200"
        text = f"{field}: {message.split(' - at ')[0]}"
    return InvalidRequest(text, details={"field": field})


def convert(body: object, shape: type[T]) -> T:
    """``body`` (decoded JSON) as ``shape``, or ``InvalidRequest`` naming the field."""
    try:
        return msgspec.convert(body, shape)
    except msgspec.ValidationError as exc:
        raise refusal(exc, shape) from None


def components(shapes: Iterable[Any], prefix: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """JSON Schema of each shape (a ``$ref`` under ``prefix``) and the schemas
    they refer to, by name."""
    refs, schemas = msgspec.json.schema_components(tuple(shapes), ref_template=prefix + "{name}")
    return list(refs), dict(schemas)


# -- nested bodies: the refusal names the whole path ----------------------------------

_AT = re.compile(r" - at `(?:key` in `)?\$([^`]*)`$")
_INDEX = re.compile(r"\[[^\]]*\]")


def path_of(exc: msgspec.ValidationError) -> str | None:
    """The dotted path msgspec found wrong (``overflow.after_seconds``,
    ``hours.weekly.mon``: list indexes and dict keys left out), or None when
    the body itself is."""
    message = str(exc)
    at = _AT.search(message)
    parts = [p for p in _INDEX.sub("", at.group(1) if at else "").split(".") if p]
    # A missing field is named; an unknown nested one is not: the object it is in is wrong.
    named = _MISSING.search(message) or (None if parts else _UNKNOWN.search(message))
    if named:
        parts.append(named.group(1))
    return ".".join(parts)[:100] or None


def nested_refusal(exc: msgspec.ValidationError, shape: type[Any]) -> InvalidRequest:
    """Like ``refusal``, naming the whole path of a nested field; ``refusals``
    may word a path (``"overflow.queue"``) or its top-level field."""
    message = str(exc)
    path = path_of(exc)
    if path is None:
        return InvalidRequest("the body must be a JSON object", details={"field": "body"})
    worded: dict[str, str] = {}
    for member in get_args(shape) or (shape,):  # each Struct of a union
        worded.update(getattr(member, "refusals", {}))
    unknown = _UNKNOWN.search(message)
    if unknown:
        text = f"unknown field {unknown.group(1)!r}" + (f" in {path}" if path != unknown.group(1) else "")
    elif path in worded or path.split(".")[0] in worded:
        text = worded.get(path) or worded[path.split(".")[0]]
    elif _MISSING.search(message):
        text = f"{path} is required"
    else:
        text = f"{path}: {message.split(' - at ')[0]}"
    return InvalidRequest(text, details={"field": path})


def convert_nested(body: object, shape: type[T]) -> T:
    """``body`` as ``shape``, or ``InvalidRequest`` naming the path of the wrong field."""
    try:
        return msgspec.convert(body, shape)
    except msgspec.ValidationError as exc:
        raise nested_refusal(exc, shape) from None
