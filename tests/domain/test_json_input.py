"""The JSON parser for client input: what it refuses, and where it says the fault is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.domain.json_input import MAX_DEPTH, decode_json, parse_json
from hub.errors import InvalidRequest


def _decode(text: str | bytes) -> Any:
    return decode_json(text.encode() if isinstance(text, str) else text)


# ``decode_json`` (msgspec first, for the send request) takes and refuses what ``parse_json`` does.
PARSERS = pytest.mark.parametrize("parse", [parse_json, _decode], ids=["parse_json", "decode_json"])


@pytest.mark.parametrize(
    "text, value",
    [
        ('{"a": [1, 2.5, "x", null, true]}', {"a": [1, 2.5, "x", None, True]}),
        ('"\\ud83d\\ude00"', "\U0001f600"),  # a surrogate *pair* is one character
        ('"\\\\udfff"', "\\udfff"),  # an escaped backslash, not an escape
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),  # a UTF-8 byte order mark
        ("5", 5),
    ],
)
@PARSERS
def test_what_is_accepted(parse: Callable[[Any], Any], text: Any, value: Any) -> None:
    assert parse(text) == value


@PARSERS
def test_nesting_up_to_the_limit_is_accepted(parse: Callable[[Any], Any]) -> None:
    value = parse('{"a": ' * (MAX_DEPTH - 1) + "[]" + "}" * (MAX_DEPTH - 1))
    for _ in range(MAX_DEPTH - 1):
        value = value["a"]
    assert value == []


@pytest.mark.parametrize(
    "text, field",
    [
        ('{"a": [1, {"b": "x\\udfff"}]}', "a[1].b"),
        ('{"contacts": [{"CustomerName": "\\ud800"}]}', "contacts[0].CustomerName"),
        ('{"x\\udc00": 1}', "x\\udc00"),
        ('["\\uDBFF"]', "[0]"),
        ('{"a": NaN}', "a"),
        ('{"a": {"b": [1, Infinity]}}', "a.b[1]"),
        ("[-Infinity]", "[0]"),
        ('{"n": 1e999}', "n"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "body"),
        ('{"a": ' * 40 + "1" + "}" * 40, "body"),
        ("[" * 100_000 + "]" * 100_000, "body"),  # past the recursion limit
        ('{"a": 1', "body"),
        ("1" * 5000, "body"),  # past Python's digit limit
        (b"\xff\xfe{}", "body"),  # not UTF-8
        ('"a\\udfff', "body"),  # not closed: plain invalid JSON wins
    ],
)
@PARSERS
def test_what_is_refused_names_the_field(parse: Callable[[Any], Any], text: Any, field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(text)
    assert caught.value.details["field"] == field
    assert caught.value.status == 400
