"""Flow and event bodies (pure validation)."""

from datetime import UTC, datetime

import pytest

from hub.domain.flows import chunks, validate_event, validate_flow, validate_flow_patch
from hub.errors import InvalidRequest

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
C = [{"tocontactid": "+14155552000"}]


def test_automated_flow():
    assert validate_flow(
        {"kind": "automated", "event_type": "case.created", "configuration_id": "cfg_1", "delay_seconds": 60}, NOW
    ) == {
        "kind": "automated",
        "name": None,
        "configuration_id": "cfg_1",
        "enabled": True,
        "event_type": "case.created",
        "delay_seconds": 60,
    }


@pytest.mark.parametrize(
    "extra, expected",
    [
        (
            {"at": "2024-06-01T13:00:00Z"},
            {
                "at": "2024-06-01T13:00:00Z",
                "cron": None,
                "timezone": "UTC",
                "delay_seconds": None,
                "first_run_at": "2024-06-01T13:00:00Z",
            },
        ),
        (
            {"at": "2024-06-01T15:00:00", "timezone": "Europe/Paris"},
            {
                "at": "2024-06-01T13:00:00Z",
                "cron": None,
                "timezone": "Europe/Paris",
                "delay_seconds": None,
                "first_run_at": "2024-06-01T13:00:00Z",
            },
        ),
        (
            {"cron": "0  9 * * 1-5", "timezone": "America/New_York"},
            {
                "at": None,
                "cron": "0 9 * * 1-5",
                "timezone": "America/New_York",
                "delay_seconds": None,
                "first_run_at": "2024-06-03T13:00:00Z",
            },
        ),
        (
            {"delay_seconds": 90},
            {
                "at": "2024-06-01T12:01:30Z",
                "cron": None,
                "timezone": "UTC",
                "delay_seconds": 90,
                "first_run_at": "2024-06-01T12:01:30Z",
            },
        ),
    ],
)
def test_scheduled_flow(extra, expected):
    record = validate_flow({"kind": "scheduled", "configuration_id": "cfg_1", "contacts": C, **extra}, NOW)
    assert record == {
        "kind": "scheduled",
        "name": None,
        "configuration_id": "cfg_1",
        "enabled": True,
        "contacts": C,
        **expected,
    }


@pytest.mark.parametrize(
    "body, field",
    [
        ([], None),
        ({"kind": "manual"}, "kind"),
        ({"kind": "automated", "configuration_id": "c"}, "event_type"),
        ({"kind": "automated", "event_type": "e", "configuration_id": ""}, "configuration_id"),
        ({"kind": "automated", "event_type": "e", "configuration_id": "c", "delay_seconds": -1}, "delay_seconds"),
        ({"kind": "automated", "event_type": "e", "configuration_id": "c", "delay_seconds": True}, "delay_seconds"),
        ({"kind": "automated", "event_type": "e", "configuration_id": "c", "cron": "* * * * *"}, "cron"),
        ({"kind": "scheduled", "configuration_id": "c", "contacts": C}, "at"),
        (
            {
                "kind": "scheduled",
                "configuration_id": "c",
                "contacts": C,
                "at": "2024-07-01T00:00:00Z",
                "cron": "* * * * *",
            },
            "at",
        ),
        ({"kind": "scheduled", "configuration_id": "c", "contacts": C, "at": "yesterday"}, "at"),
        (
            {"kind": "scheduled", "configuration_id": "c", "contacts": C, "at": "2024-05-01T00:00:00Z"},
            "at",
        ),  # in the past
        ({"kind": "scheduled", "configuration_id": "c", "contacts": C, "cron": "0 25 * * *"}, "cron"),
        (
            {
                "kind": "scheduled",
                "configuration_id": "c",
                "contacts": C,
                "cron": "* * * * *",
                "timezone": "Nowhere/Town",
            },
            "timezone",
        ),
        (
            {"kind": "scheduled", "configuration_id": "c", "contacts": C, "delay_seconds": 5, "timezone": "UTC"},
            "timezone",
        ),
        ({"kind": "scheduled", "configuration_id": "c", "contacts": [], "delay_seconds": 5}, "contacts"),
        ({"kind": "scheduled", "configuration_id": "c", "contacts": ["x"], "delay_seconds": 5}, "contacts"),
    ],
)
def test_bad_flows(body, field):
    with pytest.raises(InvalidRequest) as info:
        validate_flow(body, NOW)
    assert (info.value.details or {}).get("field") == field


def test_patch_changes_only_enabled():
    assert validate_flow_patch({"enabled": False}) is False
    for bad in ({"enabled": "no"}, {"enabled": True, "cron": "x"}, {}, []):
        with pytest.raises(InvalidRequest):
            validate_flow_patch(bad)


def test_events():
    event = validate_event({"id": "e1", "type": "case.created", "data": {"contacts": C}})
    assert (event.id, event.type, event.contacts) == ("e1", "case.created", C)
    assert validate_event({"id": "e2", "type": "t"}).contacts == []
    for bad in (
        {"type": "t"},
        {"id": "e", "type": ""},
        {"id": "e", "type": "t", "data": []},
        {"id": "e", "type": "t", "data": {"contacts": {}}},
        {"id": "x" * 201, "type": "t"},
    ):
        with pytest.raises(InvalidRequest):
            validate_event(bad)


def test_chunks():
    assert list(chunks(list(range(5)), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunks([], 100)) == []
