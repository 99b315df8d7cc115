"""Which recent message a reply names: the content match and the key values."""

from __future__ import annotations

import json

import pytest

from hub.domain.correlation import (
    Candidate,
    content_match,
    key_values,
    mentions,
    recent_entry,
    validate_correlation_keys,
)
from hub.errors import InvalidRequest


@pytest.mark.parametrize("text, value, expected", [
    ("Any news on CAS-1?", "CAS-1", True),
    ("any news on cas-1", "CAS-1", True),  # case-insensitive
    ("about CAS-12 please", "CAS-1", False),  # glued to a digit
    ("about XCAS-1", "CAS-1", False),  # glued to a letter
    ("(CAS-1)", "CAS-1", True),
    ("CAS-1的狀態如何？", "CAS-1", True),  # no spaces in Chinese
    ("訂單A100已收到", "A100", True),
    ("Order   ORD 77 arrived", "ord 77", True),  # runs of spaces
    ("my parcel to Lyon", "Lyon", True),
    ("Lyonnais", "Lyon", False),
    ("number 12", "12", False),  # too short to count
    ("", "CAS-1", False),
    ("物流單號 順豐 可以查嗎", "順豐", False),  # under three characters
    ("CAS-1 and CAS-1x", "CAS-1", True),  # the first occurrence counts
    ("CAS-1x then CAS-1", "CAS-1", True),  # a later one too
])
def test_mentions(text: str, value: str, expected: bool) -> None:
    assert mentions(text, value) is expected


OLD = Candidate("act_old", 1_000, ("CAS-100",))
NEW = Candidate("act_new", 2_000, ("CAS-200",))
SAME_CASE = Candidate("act_same", 3_000, ("CAS-100",))


@pytest.mark.parametrize("text, candidates, expected", [
    ("Is CAS-100 fixed?", [OLD, NEW], "act_old"),
    ("Is cas-200 fixed?", [OLD, NEW], "act_new"),
    ("Is it fixed?", [OLD, NEW], None),  # nothing named: the latest, by the caller
    ("Is CAS-100 fixed?", [OLD], None),  # one message: no choice to make
    ("CAS-100 or CAS-200?", [OLD, NEW], "act_new"),  # both named: the newer
    ("CAS-100?", [OLD, NEW, SAME_CASE], "act_same"),  # the newest naming it
    ("CAS-1000?", [OLD, NEW], None),
    ("anything", [], None),
    ("CAS-100", [OLD, Candidate("act_nokeys", 5_000, ())], "act_old"),
])
def test_content_match(text: str, candidates: list[Candidate], expected: str | None) -> None:
    assert content_match(text, candidates) == expected


@pytest.mark.parametrize("names, case, context, expected", [
    (["case_name"], "CAS-1", {}, ["CAS-1"]),
    (["case_name", "order"], "CAS-1", {"order": "ORD-9"}, ["CAS-1", "ORD-9"]),
    (["order", "case_name"], "CAS-1", {"order": 12345}, ["12345", "CAS-1"]),
    (["order"], "CAS-1", {}, []),  # missing context item
    (["order"], "CAS-1", {"order": True}, []),  # not text
    (["order"], "CAS-1", {"order": {"a": 1}}, []),
    (["order"], "CAS-1", {"order": "  A  B  "}, ["A B"]),
    (["case_name", "dup"], "CAS-1", {"dup": "CAS-1"}, ["CAS-1"]),
    (["case_name"], "ab", {}, []),  # too short to ever match
    (["case_name"], "x" * 100, {}, ["x" * 64]),  # trimmed
    ([], "CAS-1", {}, []),
])
def test_key_values(names: list[str], case: str, context: dict, expected: list[str]) -> None:
    assert key_values(names, case, context) == expected


def test_recent_entry_is_small_json() -> None:
    entry = recent_entry("act_0123456789abcdef0123", "support", "CAS-1", ["CAS-1"])
    assert json.loads(entry) == {"id": "act_0123456789abcdef0123", "q": "support", "c": "CAS-1", "k": ["CAS-1"]}
    assert len(entry.encode()) < 80
    assert "k" not in json.loads(recent_entry("act_1", "default", "案件", []))
    assert "案件" in recent_entry("act_1", "default", "案件", [])  # kept as UTF-8, not escaped


@pytest.mark.parametrize("raw, expected", [
    (["case_name"], ["case_name"]),
    ([" order ", "order", "case_name"], ["order", "case_name"]),
    ([], []),
])
def test_valid_correlation_keys(raw: list[str], expected: list[str]) -> None:
    assert validate_correlation_keys(raw) == expected


@pytest.mark.parametrize("raw", ["case_name", [""], [1], ["a"] * 6, [" "], ["x" * 101], None])
def test_invalid_correlation_keys(raw: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_correlation_keys(raw)
    assert caught.value.details == {"field": "correlation_keys"}
