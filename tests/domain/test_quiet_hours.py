"""Quiet hours: given now (UTC), the recipient's zones and a window, when may
a message go. Time passed in, never slept."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hub.domain.quiet_hours import UNKNOWN_ZONE, next_send_at, parse_quiet_hours, zones_for
from hub.errors import InvalidRequest

SYDNEY = ZoneInfo("Australia/Sydney")
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
PERTH = ZoneInfo("Australia/Perth")
KAMCHATKA = ZoneInfo("Asia/Kamchatka")
MOSCOW = ZoneInfo("Europe/Moscow")
KALININGRAD = ZoneInfo("Europe/Kaliningrad")

DAYTIME = parse_quiet_hours({"start": "08:00", "end": "21:00"})
WEEKDAYS = parse_quiet_hours({"start": "09:00", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]})
EARLY = parse_quiet_hours({"start": "02:30", "end": "05:00"})
NARROW = parse_quiet_hours({"start": "10:00", "end": "12:00"})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    "now, zones, window, expected",
    [
        # Sydney (AEDT, +11 in December): 10:00 local is open
        ("2026-12-02T23:00:00Z", [SYDNEY], DAYTIME, "2026-12-02T23:00:00Z"),
        # 22:00 local → tomorrow 08:00 local
        ("2026-12-03T11:00:00Z", [SYDNEY], DAYTIME, "2026-12-03T21:00:00Z"),
        # New York (EST, -5): 07:59:59 local → 08:00
        ("2026-12-03T12:59:59Z", [NY], DAYTIME, "2026-12-03T13:00:00Z"),
        # the window's start is open, its end is not
        ("2026-12-03T13:00:00Z", [NY], DAYTIME, "2026-12-03T13:00:00Z"),
        ("2026-12-04T02:00:00Z", [NY], DAYTIME, "2026-12-04T13:00:00Z"),
        # weekdays only: Friday 18:00 in New York → Monday 09:00
        ("2026-12-04T23:00:00Z", [NY], WEEKDAYS, "2026-12-07T14:00:00Z"),
        # Saturday in Sydney while it is still Friday in UTC → Monday 09:00 AEDT
        ("2026-12-04T22:00:00Z", [SYDNEY], WEEKDAYS, "2026-12-06T22:00:00Z"),
        # several zones: open only when open in all (New York and Los Angeles:
        # 08:00 in LA = 11:00 in NY)
        ("2026-12-03T14:00:00Z", [NY, LA], DAYTIME, "2026-12-03T16:00:00Z"),
        ("2026-12-03T16:30:00Z", [NY, LA], DAYTIME, "2026-12-03T16:30:00Z"),
        # 21:00 in NY closes it although LA is still open → next day 08:00 LA
        ("2026-12-04T02:00:00Z", [NY, LA], DAYTIME, "2026-12-04T16:00:00Z"),
        # never open in all (Kaliningrad +2 and Kamchatka +12, 10:00-12:00):
        # the earliest instant open in the most zones (one of two): whichever
        # opens next
        ("2026-12-03T00:00:00Z", [KALININGRAD, KAMCHATKA], NARROW, "2026-12-03T08:00:00Z"),
        ("2026-12-03T12:00:00Z", [KALININGRAD, KAMCHATKA], NARROW, "2026-12-03T22:00:00Z"),
        # ...but three zones where two overlap: the overlap wins (Moscow +3 and
        # Kaliningrad +2 both open 08:00-09:00 UTC)
        ("2026-12-03T00:00:00Z", [KAMCHATKA, MOSCOW, KALININGRAD], NARROW, "2026-12-03T08:00:00Z"),
        # Daylight saving, New York: spring forward 2026-03-08 02:00 EST → 03:00 EDT.
        # 08:00 EDT is 12:00 UTC, the day before it was 13:00 UTC
        ("2026-03-08T06:00:00Z", [NY], DAYTIME, "2026-03-08T12:00:00Z"),
        ("2026-03-07T06:00:00Z", [NY], DAYTIME, "2026-03-07T13:00:00Z"),
        # a start the clock skips (02:30) opens at 03:30 EDT
        ("2026-03-08T05:00:00Z", [NY], EARLY, "2026-03-08T07:30:00Z"),
        # fall back 2026-11-01 02:00 EDT → 01:00 EST: 08:00 EST is 13:00 UTC
        ("2026-11-01T05:00:00Z", [NY], DAYTIME, "2026-11-01T13:00:00Z"),
        # Sydney's spring forward 2026-10-04 02:00 AEST → 03:00 AEDT: 08:00 AEDT = 21:00 UTC
        ("2026-10-03T12:00:00Z", [SYDNEY], DAYTIME, "2026-10-03T21:00:00Z"),
        # no zone known (and no default): sent at once
        ("2026-12-03T11:00:00Z", [], DAYTIME, "2026-12-03T11:00:00Z"),
    ],
)
def test_next_send_at(now, zones, window, expected):
    assert next_send_at(utc(now), zones, window) == utc(expected)


def test_seconds_resolution_and_whole_day_end():
    window = parse_quiet_hours({"start": "10:00:30", "end": "24:00", "days": ["thu"]})
    assert next_send_at(utc("2026-12-03T10:00:00Z"), [ZoneInfo("UTC")], window) == utc("2026-12-03T10:00:30Z")
    assert next_send_at(utc("2026-12-03T23:59:59Z"), [ZoneInfo("UTC")], window) == utc("2026-12-03T23:59:59Z")
    # Friday 00:00 is closed: next Thursday
    assert next_send_at(utc("2026-12-04T00:00:00Z"), [ZoneInfo("UTC")], window) == utc("2026-12-10T10:00:30Z")
    assert window.public() == {"start": "10:00:30", "end": "24:00", "days": ["thu"]}


def test_zones_for():
    window = parse_quiet_hours({"start": "08:00", "end": "21:00", "default_timezone": "Europe/Paris"})
    assert zones_for(["Australia/Sydney"], "America/Chicago", DAYTIME) == [ZoneInfo("America/Chicago")]
    assert zones_for(["America/New_York", "America/Chicago"], None, DAYTIME) == [
        ZoneInfo("America/Chicago"),
        ZoneInfo("America/New_York"),
    ]
    assert zones_for([UNKNOWN_ZONE], None, DAYTIME) == []
    assert zones_for([UNKNOWN_ZONE], None, window) == [ZoneInfo("Europe/Paris")]


@pytest.mark.parametrize(
    "raw, field",
    [
        ("08:00-21:00", "quiet_hours"),
        ({"end": "21:00"}, "quiet_hours.start"),
        ({"start": "8:00", "end": "21:00"}, "quiet_hours.start"),
        ({"start": "08:00", "end": "24:01"}, "quiet_hours.end"),
        ({"start": "08:60", "end": "21:00"}, "quiet_hours.start"),
        ({"start": "21:00", "end": "08:00"}, "quiet_hours.end"),
        ({"start": "08:00", "end": "08:00"}, "quiet_hours.end"),
        ({"start": "08:00", "end": "21:00", "days": []}, "quiet_hours.days"),
        ({"start": "08:00", "end": "21:00", "days": ["monday"]}, "quiet_hours.days"),
        ({"start": "08:00", "end": "21:00", "days": "mon"}, "quiet_hours.days"),
        ({"start": "08:00", "end": "21:00", "default_timezone": "Mars/Base"}, "quiet_hours.default_timezone"),
        ({"start": "08:00", "end": "21:00", "default_timezone": "America"}, "quiet_hours.default_timezone"),
        ({"start": "08:00", "end": "21:00", "tz": "UTC"}, "quiet_hours.tz"),
    ],
)
def test_bad_quiet_hours_name_the_field(raw, field):
    with pytest.raises(InvalidRequest) as caught:
        parse_quiet_hours(raw)
    assert caught.value.details == {"field": field}
