"""Next occurrences and catch-up for scheduled flows: time passed in, never slept."""

from datetime import UTC, datetime, timedelta

import pytest

from hub.domain.schedules import (
    CATCH_UP_LIMIT,
    due_firing,
    from_ms,
    iso,
    next_occurrence,
    parse_at,
    parse_cron,
    parse_zone,
    to_ms,
)
from hub.errors import InvalidRequest

UTC = UTC
NY = parse_zone("America/New_York")
PARIS = parse_zone("Europe/Paris")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    "cron, zone, after, expected",
    [
        # plain UTC
        ("*/15 * * * *", UTC, "2024-01-01T10:07:00Z", "2024-01-01T10:15:00Z"),
        ("*/15 * * * *", UTC, "2024-01-01T10:15:00Z", "2024-01-01T10:30:00Z"),  # strictly after
        ("0 9 * * 1-5", UTC, "2024-01-05T09:00:00Z", "2024-01-08T09:00:00Z"),  # Fri → Mon
        ("* * * * * */5", UTC, "2024-01-01T10:00:01Z", "2024-01-01T10:00:05Z"),  # seconds, last field
        # New York, spring forward 2024-03-10 02:00 EST → 03:00 EDT
        ("0 9 * * *", NY, "2024-03-09T14:00:00Z", "2024-03-10T13:00:00Z"),  # 09:00 EST → 09:00 EDT
        ("30 2 * * *", NY, "2024-03-09T12:00:00Z", "2024-03-10T07:30:00Z"),  # skipped 02:30 → 03:30 EDT
        ("30 2 * * *", NY, "2024-03-10T07:30:00Z", "2024-03-11T06:30:00Z"),  # back to 02:30 EDT
        ("0 * * * *", NY, "2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z"),  # 01:00 EST → 03:00 EDT
        ("0 * * * *", NY, "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z"),  # no double fire at 03:00
        # New York, fall back 2024-11-03 02:00 EDT → 01:00 EST: 01:30 happens twice, fires once
        ("30 1 * * *", NY, "2024-11-02T12:00:00Z", "2024-11-03T05:30:00Z"),  # the first 01:30 (EDT)
        ("30 1 * * *", NY, "2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"),  # not the second one
        ("0 * * * *", NY, "2024-11-03T05:00:00Z", "2024-11-03T07:00:00Z"),  # 01:00 EST is not new
        ("0 9 * * *", NY, "2024-11-02T13:00:00Z", "2024-11-03T14:00:00Z"),  # 09:00 EDT → 09:00 EST
        # Paris, spring forward 2024-03-31 02:00 CET → 03:00 CEST
        ("0 9 * * 1-5", PARIS, "2024-03-29T08:00:00Z", "2024-04-01T07:00:00Z"),  # Fri CET → Mon CEST
        ("30 2 * * *", PARIS, "2024-03-30T12:00:00Z", "2024-03-31T01:30:00Z"),  # skipped → 03:30 CEST
        # Paris, fall back 2024-10-27 03:00 CEST → 02:00 CET
        ("30 2 * * *", PARIS, "2024-10-26T12:00:00Z", "2024-10-27T00:30:00Z"),  # the first 02:30
        ("30 2 * * *", PARIS, "2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"),
        ("0 * * * *", PARIS, "2024-10-27T00:00:00Z", "2024-10-27T02:00:00Z"),  # 02:00 CET not again
    ],
)
def test_next_occurrence(cron, zone, after, expected):
    assert iso(next_occurrence(parse_cron(cron), zone, utc(after))) == expected


@pytest.mark.parametrize(
    "cron, due, now, occurrence, skipped, next_at, late",
    [
        # on time: fires, not late, moves on
        (
            "0 * * * *",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00.400Z",
            "2024-01-01T10:00:00Z",
            0,
            "2024-01-01T11:00:00Z",
            False,
        ),
        # a little behind (within the tolerance)
        (
            "0 * * * *",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:20Z",
            "2024-01-01T10:00:00Z",
            0,
            "2024-01-01T11:00:00Z",
            False,
        ),
        # far behind, nothing missed: late
        (
            "0 * * * *",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:40:00Z",
            "2024-01-01T10:00:00Z",
            0,
            "2024-01-01T11:00:00Z",
            True,
        ),
        # down for hours: the latest fires once, the others are counted
        (
            "0 * * * *",
            "2024-01-01T10:00:00Z",
            "2024-01-01T13:30:00Z",
            "2024-01-01T13:00:00Z",
            3,
            "2024-01-01T14:00:00Z",
            True,
        ),
        # missed some but the latest is fresh: still late (occurrences were skipped)
        (
            "* * * * * */2",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:06.100Z",
            "2024-01-01T10:00:06Z",
            3,
            "2024-01-01T10:00:08Z",
            True,
        ),
    ],
)
def test_due_firing_cron(cron, due, now, occurrence, skipped, next_at, late):
    firing = due_firing(cron=parse_cron(cron), zone=UTC, due=utc(due), now=utc(now), late_after_s=30)
    assert (iso(firing.occurrence), firing.skipped, iso(firing.next_at), firing.late) == (
        occurrence,
        skipped,
        next_at,
        late,
    )


def test_due_firing_catch_up_is_bounded():
    due = utc("2024-01-01T00:00:00Z")
    now = due + timedelta(days=2, seconds=3.5)
    firing = due_firing(cron="* * * * * *", zone=UTC, due=due, now=now, late_after_s=30)
    assert firing.skipped == CATCH_UP_LIMIT
    assert iso(firing.occurrence) == "2024-01-03T00:00:03Z"
    assert iso(firing.next_at) == "2024-01-03T00:00:04Z"


@pytest.mark.parametrize("lag_s, late", [(0.3, False), (29, False), (31, True)])
def test_due_firing_one_off(lag_s, late):
    due = utc("2024-05-01T12:00:00Z")
    firing = due_firing(cron=None, zone=UTC, due=due, now=due + timedelta(seconds=lag_s), late_after_s=30)
    assert (firing.occurrence, firing.skipped, firing.next_at, firing.late) == (due, 0, None, late)


@pytest.mark.parametrize(
    "text, zone, expected",
    [
        ("2024-05-01T12:00:00Z", UTC, "2024-05-01T12:00:00Z"),
        ("2024-05-01T12:00:00+02:00", UTC, "2024-05-01T10:00:00Z"),
        ("2024-05-01T12:00:00", PARIS, "2024-05-01T10:00:00Z"),  # no offset: read in the zone
        ("2024-05-01T12:00:00.250Z", UTC, "2024-05-01T12:00:00.250Z"),
    ],
)
def test_parse_at(text, zone, expected):
    assert iso(parse_at(text, zone)) == expected


@pytest.mark.parametrize("bad", ["", "every day", "61 * * * *", "* * *", 5, None, "* * * * * * * *"])
def test_bad_cron_is_refused(bad):
    with pytest.raises(InvalidRequest) as info:
        parse_cron(bad)
    assert info.value.details == {"field": "cron"}


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", None, 3, "../etc"])
def test_bad_zone_is_refused(bad):
    with pytest.raises(InvalidRequest):
        parse_zone(bad)


@pytest.mark.parametrize("ms", [0, 1, 1_700_000_000_123, 1_999_999_999_999])
def test_milliseconds_round_trip_exactly(ms):
    assert to_ms(from_ms(ms)) == ms
    assert iso(from_ms(1_700_000_000_123)) == "2023-11-14T22:13:20.123Z"
