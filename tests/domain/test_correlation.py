"""Which recent message a reply names: the content match and the key values."""

from __future__ import annotations

import pytest

from hub.domain.correlation import (
    RecentEntry,
    content_match,
    key_values,
    mentions,
    parse_recent,
    recent_entry,
    sid_tail,
    validate_correlation_keys,
)
from hub.errors import InvalidRequest


@pytest.mark.parametrize(
    "text, value, expected",
    [
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
    ],
)
def test_mentions(text: str, value: str, expected: bool) -> None:
    assert mentions(text, value) is expected


def sent(activity_id: str, at: int, *keys: str) -> RecentEntry:
    return RecentEntry(activity_id, at, "default", keys[0] if keys else "", keys)


OLD = sent("act_old", 1_000, "CAS-100")
NEW = sent("act_new", 2_000, "CAS-200")
SAME_CASE = sent("act_same", 3_000, "CAS-100")


@pytest.mark.parametrize(
    "text, candidates, expected",
    [
        ("Is CAS-100 fixed?", [OLD, NEW], "act_old"),
        ("Is cas-200 fixed?", [OLD, NEW], "act_new"),
        ("Is it fixed?", [OLD, NEW], None),  # nothing named: the latest, by the caller
        ("Is CAS-100 fixed?", [OLD], None),  # one message: no choice to make
        ("CAS-100 or CAS-200?", [OLD, NEW], "act_new"),  # both named: the newer
        ("CAS-100?", [OLD, NEW, SAME_CASE], "act_same"),  # the newest naming it
        ("CAS-1000?", [OLD, NEW], None),
        ("anything", [], None),
        ("CAS-100", [OLD, sent("act_nokeys", 5_000)], "act_old"),
    ],
)
def test_content_match(text: str, candidates: list[RecentEntry], expected: str | None) -> None:
    assert content_match(text, candidates) == expected


@pytest.mark.parametrize(
    "names, case, context, expected",
    [
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
    ],
)
def test_key_values(names: list[str], case: str, context: dict, expected: list[str]) -> None:
    assert key_values(names, case, context) == expected


@pytest.mark.parametrize(
    "queue, case, values",
    [
        ("default", "CAS-1", ["CAS-1"]),
        ("support", "CAS-1", ["CAS-1", "ORD-9"]),
        ("default", "CAS-1", []),  # content matching off
        ("billing", "案件-7", ["ORD-9", "案件-7"]),
        ("default", "a\x1fb", ["a\x1fb"]),  # the separator cannot split a value
    ],
)
def test_a_recent_entry_reads_back_as_written(queue: str, case: str, values: list[str]) -> None:
    raw = recent_entry("act_0123456789abcdef0123", queue, case, values)
    entry = parse_recent("1733250000000\x1f" + sid_tail("SM" + "0123456789abcdef" * 2) + "\x1f" + raw)
    clean = [v.replace("\x1f", " ") for v in values]
    assert entry == RecentEntry(
        "act_0123456789abcdef0123", 1733250000000, queue, case.replace("\x1f", " "), tuple(clean), "6789abcdef"
    )


def test_a_recent_entry_is_small() -> None:
    # What a customer keeps per message for the whole window: the default
    # queue and a key equal to the case name cost nothing.
    raw = recent_entry("act_0123456789abcdef0123", "default", "CAS-01234", ["CAS-01234"])
    assert raw == "act_0123456789abcdef0123\x1f\x1fCAS-01234\x1f"
    assert len(raw.encode()) < 40


@pytest.mark.parametrize(
    "raw, expected",
    [
        (["case_name"], ["case_name"]),
        ([" order ", "order", "case_name"], ["order", "case_name"]),
        ([], []),
    ],
)
def test_valid_correlation_keys(raw: list[str], expected: list[str]) -> None:
    assert validate_correlation_keys(raw) == expected


@pytest.mark.parametrize("raw", ["case_name", [""], [1], ["a"] * 6, [" "], ["x" * 101], None])
def test_invalid_correlation_keys(raw: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_correlation_keys(raw)
    assert caught.value.details == {"field": "correlation_keys"}
