"""The pure routing-policy rules: validation, waiting order, skills, hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.domain.routing_policy import (
    BAND,
    DEFAULT_INACTIVE_CLOSE_S,
    closed_reply_text,
    is_open,
    next_change,
    qualifies,
    validate_agent_skills,
    validate_conversation_patch,
    validate_queue,
    validate_required_skills,
    waiting_score,
)
from hub.errors import InvalidRequest

HOURS: dict[str, Any] = {
    "timezone": "Europe/Paris",
    "weekly": {
        "mon": [["08:00", "12:00"], ["13:00", "18:00"]],
        "tue": [["08:00", "18:00"]],
        "sat": [["22:00", "24:00"]],
        "sun": [["00:00", "02:00"]],
    },
    "holidays": ["2026-12-25"],
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((90, 2_000), (50, 1_000)),  # higher priority first, even if younger
        ((50, 1_000), (50, 2_000)),  # same priority: oldest first
        ((0, 1), (0, 2)),
        ((100, 4_102_444_800_000), (99, 0)),  # a band holds any arrival time (year 2100)
    ],
)
def test_waiting_order_is_priority_then_arrival(a: tuple[int, int], b: tuple[int, int]) -> None:
    assert waiting_score(*a) < waiting_score(*b)


def test_scores_stay_exact_in_a_double() -> None:
    top = waiting_score(0, 4_102_444_800_000)
    assert top < 2**53 and float(top) == top and BAND > 4_102_444_800_000


@pytest.mark.parametrize(
    ("skills", "required", "expected"),
    [
        ({}, [], True),
        ({"es": 3}, [{"name": "es", "min_level": 3}], True),
        ({"es": 2}, [{"name": "es", "min_level": 3}], False),
        ({"es": 5}, [{"name": "es", "min_level": 1}, {"name": "billing", "min_level": 1}], False),
        ({"es": 5, "billing": 1}, [{"name": "es", "min_level": 1}, {"name": "billing", "min_level": 1}], True),
    ],
)
def test_an_agent_qualifies_with_every_required_skill_at_its_level(
    skills: dict[str, int], required: list[dict[str, Any]], expected: bool
) -> None:
    assert qualifies(skills, required) is expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], None),
        ({"es": 0}, "es"),
        ({"es": 6}, "es"),
        ({"es": True}, "es"),
        ({"bad name": 1}, "bad name"),
        ({"es": "3"}, "es"),
    ],
)
def test_agent_skills_refused(body: Any, field: str | None) -> None:
    with pytest.raises(InvalidRequest) as e:
        validate_agent_skills(body)
    assert (e.value.details or {}).get("field") == field


def test_agent_skills_sorted() -> None:
    assert validate_agent_skills({"zh": 2, "billing": 5}) == {"billing": 5, "zh": 2}


def test_required_skills_merge_duplicates_at_the_highest_level() -> None:
    assert validate_required_skills([{"name": "es"}, {"name": "es", "min_level": 4}]) == [
        {"name": "es", "min_level": 4}
    ]


@pytest.mark.parametrize(
    "value", [{}, [{"name": "es", "level": 2}], [{"name": ""}], [{"name": "es", "min_level": 9}], ["es"]]
)
def test_required_skills_refused(value: Any) -> None:
    with pytest.raises(InvalidRequest):
        validate_required_skills(value)


def test_queue_defaults() -> None:
    assert validate_queue("sales", {}) == {
        "name": "sales",
        "required_skills": [],
        "inactive_close_seconds": DEFAULT_INACTIVE_CLOSE_S,
        "overflow": None,
        "hours": None,
        "closed_reply": {},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inactive_close_seconds": 59}, "inactive_close_seconds"),
        ({"inactive_close_seconds": 31 * 86400}, "inactive_close_seconds"),
        ({"overflow": {"queue": "sales", "after_seconds": 5}}, "overflow.queue"),
        ({"overflow": {"queue": "b"}}, "overflow"),
        ({"overflow": {"queue": "b", "after_seconds": 5, "waiting_over": 3}}, "overflow"),
        ({"overflow": {"queue": "b", "after_seconds": 0}}, "overflow.after_seconds"),
        ({"overflow": {"queue": "b", "waiting_over": -1}}, "overflow.waiting_over"),
        ({"hours": {"timezone": "Mars/Olympus", "weekly": {}}}, "hours.timezone"),
        ({"hours": {"weekly": {"mon": [["18:00", "08:00"]]}}}, "hours.weekly.mon"),
        ({"hours": {"weekly": {"mon": [["8:00", "18:00"]]}}}, "hours.weekly.mon"),
        ({"hours": {"weekly": {"mon": [["08:00", "24:30"]]}}}, "hours.weekly.mon"),
        ({"hours": {"weekly": {"monday": []}}}, "hours.weekly.monday"),
        ({"hours": {"weekly": {}, "holidays": ["25/12/2026"]}}, "hours.holidays"),
        ({"closed_reply": {"en": ""}}, "closed_reply"),
        ({"closed_reply": {"not a locale": "x"}}, "closed_reply"),
        ({"name": "other"}, "name"),
        ({"priority": 3}, "priority"),
    ],
)
def test_queue_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as e:
        validate_queue("sales", body)
    assert (e.value.details or {}).get("field") == field


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"priority": 0}, True),
        ({"priority": 100}, True),
        ({"priority": 101}, False),
        ({"priority": 5.5}, False),
        ({"priority": True}, False),
        ({}, False),
        ({"priority": 1, "x": 1}, False),
    ],
)
def test_conversation_patch(body: dict[str, Any], ok: bool) -> None:
    if ok:
        assert validate_conversation_patch(body) == body["priority"]
    else:
        with pytest.raises(InvalidRequest):
            validate_conversation_patch(body)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-12-07T07:00:00", True),  # Monday 08:00 Paris (UTC+1)
        ("2026-12-07T06:59:00", False),
        ("2026-12-07T11:30:00", False),  # lunch
        ("2026-12-07T16:59:00", True),
        ("2026-12-07T17:00:00", False),  # 18:00 local: closed
        ("2026-12-09T10:00:00", False),  # Wednesday: no hours
        ("2026-12-12T21:30:00", True),  # Saturday 22:30 local, open until midnight
        ("2026-12-13T00:30:00", True),  # ... and Sunday 01:30 local
        ("2026-12-13T01:00:00", False),
        ("2026-07-06T06:00:00", True),  # summer (UTC+2): Monday 08:00 local
        ("2026-07-06T05:59:00", False),
    ],
)
def test_is_open_in_the_queue_time_zone(at: str, expected: bool) -> None:
    assert is_open(validate_queue("q", {"hours": HOURS})["hours"], utc(at)) is expected


def test_holidays_are_closed_and_no_hours_is_always_open() -> None:
    hours = validate_queue("q", {"hours": {**HOURS, "weekly": {"fri": [["00:00", "24:00"]]}}})["hours"]
    assert not is_open(hours, utc("2026-12-25T12:00:00"))  # a Friday, but a holiday
    assert is_open(hours, utc("2027-01-01T12:00:00"))
    assert is_open(None, utc("2026-12-25T12:00:00"))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-12-07T06:00:00", "2026-12-07T07:00:00"),  # opens at 08:00 local
        ("2026-12-07T07:00:00", "2026-12-07T11:00:00"),  # at opening: closes for lunch
        ("2026-12-07T17:30:00", "2026-12-08T07:00:00"),  # Tuesday 08:00
        ("2026-12-08T18:00:00", "2026-12-12T21:00:00"),  # Saturday 22:00 local
        ("2026-12-12T22:00:00", "2026-12-13T01:00:00"),  # midnight is no change
    ],
)
def test_next_change(at: str, expected: str) -> None:
    hours = validate_queue("q", {"hours": HOURS})["hours"]
    assert next_change(hours, utc(at)) == utc(expected)


def test_next_change_none_without_hours_or_without_any_open_span() -> None:
    assert next_change(None, utc("2026-12-07T06:00:00")) is None
    never = validate_queue("q", {"hours": {"weekly": {}}})["hours"]
    assert next_change(never, utc("2026-12-07T06:00:00")) is None
    assert not is_open(never, utc("2026-12-07T06:00:00"))


@pytest.mark.parametrize(
    ("replies", "locale", "expected"),
    [
        ({}, "en-US", None),
        ({"en": "closed", "fr": "fermé"}, "fr-FR", "fermé"),
        ({"en": "closed", "fr-CA": "fermé (CA)", "fr-FR": "fermé"}, "fr-FR", "fermé"),
        ({"en": "closed", "fr-CA": "fermé (CA)"}, "fr-FR", "fermé (CA)"),  # same language
        ({"en": "closed", "zh-TW": "休息中"}, "zh-TW", "休息中"),
        ({"en": "closed", "zh-TW": "休息中"}, "de-DE", "closed"),  # else English
        ({"en": "closed", "zh-TW": "休息中"}, None, "closed"),
        ({"es": "cerrado"}, "de", "cerrado"),  # else the first
    ],
)
def test_closed_reply_in_the_customer_locale(replies: dict[str, str], locale: str | None, expected: str | None) -> None:
    assert closed_reply_text(replies, locale) == expected
