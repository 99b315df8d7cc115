"""Bodies declared once, as msgspec Structs (pure): ``convert`` checks a
decoded JSON body against one and refuses it with the hub's error shape (400
``invalid_request`` naming the ``field``, a nested one by its dotted path:
``quiet_hours.end``, ``overflow.after_seconds``); ``components`` gives the
same declarations as JSON Schema, for /openapi.json and /asyncapi.json.

A Struct may word its own refusals: ``refusals`` maps a field (or a path,
``"overflow.queue"``) to the sentence to answer when that field is wrong,
whatever msgspec found; a nested field without its own sentence takes its
top-level field's. ``"credentials.*"`` says the keys of that object are the
client's own: a bad value is named by its key (``credentials.auth_token``)
and refused with that path followed by the sentence."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec

from hub.errors import InvalidRequest

T = TypeVar("T")

_MISSING = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_AT = re.compile(r" - at `(?:key` in `)?\$([^`]*)`$")
_INDEX = re.compile(r"\[[^\]]*\]")


def path_of(exc: msgspec.ValidationError) -> str | None:
    """The dotted path msgspec found wrong (``overflow.after_seconds``,
    ``limits.messages_per_day`` for an unknown field; list indexes and dict
    keys left out), or None when the body itself is."""
    message = str(exc)
    at = _AT.search(message)
    parts = [p for p in _INDEX.sub("", at.group(1) if at else "").split(".") if p]
    named = _MISSING.search(message) or _UNKNOWN.search(message)
    if named:
        parts.append(named.group(1))
    return ".".join(p[:60] for p in parts)[:120] or None


def _members(tp: Any) -> list[Any]:
    """``tp`` without its Annotated layers, as the list of its union's members."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        return [m for arg in get_args(tp) for m in _members(arg)]
    return [tp]


def _values_type(shape: Any, path: list[str]) -> Any:
    """The type of the values of the object at ``path`` in ``shape`` (through
    nested Structs and unions), or None."""
    tp = shape
    for name in path:
        structs = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, msgspec.Struct)]
        hints = [get_type_hints(s, include_extras=True) for s in structs]
        tp = next((h[name] for h in hints if name in h), None)
        if tp is None:
            return None
    return next((get_args(m)[1] for m in _members(tp) if get_origin(m) is dict), None)


def _bad_key(shape: Any, body: object, path: str) -> str | None:
    """The key of the first value msgspec refuses in the object at ``path`` of ``body``."""
    values_type = _values_type(shape, path.split("."))
    for name in path.split("."):
        body = body.get(name) if isinstance(body, dict) else None
    if values_type is None or not isinstance(body, dict):
        return None
    for key, value in body.items():
        try:
            msgspec.convert(value, values_type)
        except msgspec.ValidationError:
            return str(key)[:60]
    return None


def refusal(exc: msgspec.ValidationError, shape: Any, body: object = None) -> InvalidRequest:
    """msgspec's account of a bad ``body`` (of ``shape``: a Struct or a union
    of Structs), in the hub's words, naming the path of its field."""
    message = str(exc)
    path = path_of(exc)
    if path is None:
        return InvalidRequest("the body must be a JSON object", details={"field": "body"})
    worded: dict[str, str] = {}
    for member in get_args(shape) or (shape,):  # each Struct of a union
        worded.update(getattr(member, "refusals", {}))
    top = path.split(".")[0]
    unknown = _UNKNOWN.search(message)
    keyed = message.endswith("[...]`") and f"{path}.*" in worded and _bad_key(shape, body, path)
    if unknown:
        where, _, name = path.rpartition(".")
        text = f"unknown field {name!r}" + (f" in {where}" if where else "")
    elif keyed:
        text = f"{path}.{keyed} {worded[f'{path}.*']}"
        path = f"{path}.{keyed}"
    elif path in worded or top in worded:
        text = worded.get(path) or worded[top]
    elif _MISSING.search(message):
        text = f"{path} is required"
    elif "matching regex" in message and path == top:  # top-level strings' patterns say "not blank"
        text = f"{path} must not be blank"
    else:  # "Expected `str`, got `int`", "Expected `str` of length <= 200"
        text = f"{path}: {message.split(' - at ')[0]}"
    return InvalidRequest(text, details={"field": path})


def convert(body: object, shape: type[T]) -> T:
    """``body`` (decoded JSON) as ``shape``, or ``InvalidRequest`` naming the
    path of the wrong field."""
    try:
        return msgspec.convert(body, shape)
    except msgspec.ValidationError as exc:
        raise refusal(exc, shape, body) from None


def components(shapes: Iterable[Any], prefix: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """JSON Schema of each shape (a ``$ref`` under ``prefix``) and the schemas
    they refer to, by name."""
    refs, schemas = msgspec.json.schema_components(tuple(shapes), ref_template=prefix + "{name}")
    return list(refs), dict(schemas)
