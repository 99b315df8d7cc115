"""Quiet hours by the recipient's time zone, through real hub processes and
the sandbox provider: a contact outside its local hours is accepted as
`deferred` with its `send_at`, held, and sent once when the window opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support import ADMIN_TOKEN, SANDBOX_SID, Api, contact, create_org, outbound_setup, phone, wait_for

SEND = "/v1/outbound/send"
SYDNEY = "+61293744000"  # +61 2: Australia/Sydney
NEW_YORK = "+12125550123"  # +1 212: America/New_York
UNKNOWN = "+80012345678"  # international freephone: no zone
UTC = UTC


def hhmm(at: datetime) -> str:
    # As the hub writes a time back: seconds only when there are some (a
    # window starting at local midnight is "00:00").
    return at.strftime("%H:%M:%S" if at.second else "%H:%M")


def around_now(zone: str, *, minutes: int = 60) -> tuple[str, str]:
    """A window open now in ``zone`` (within one local day)."""
    local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(midnight, local - timedelta(minutes=minutes))
    end = local + timedelta(minutes=minutes)
    return hhmm(start), ("24:00" if end.date() != local.date() else hhmm(end))


def next_opening(zone: str, start: str, now: datetime) -> datetime:
    """When a window of every day starting at ``start`` next opens in ``zone``."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), clock.fromisoformat(start), tz)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), clock.fromisoformat(start), tz)
    return at.astimezone(UTC)


def midday_zone(shift: int = 0) -> str:
    """A fixed-offset zone where it is about noon (plus ``shift`` hours) now:
    a window a few seconds ahead never crosses local midnight."""
    hours = 12 + shift - datetime.now(UTC).hour
    hours += 24 if hours < -12 else -24 if hours > 14 else 0  # the Etc zones run -12 to +14
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"


def opening_in(seconds: float) -> tuple[str, dict[str, Any], datetime]:
    """(zone, window, when it opens): a window opening ``seconds`` from now."""
    zone = midday_zone()
    opens = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0) + timedelta(seconds=1)
    local = opens.astimezone(ZoneInfo(zone))
    return zone, {"start": hhmm(local), "end": hhmm(local + timedelta(hours=3))}, opens


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def send(api: Api, config_id: str, *contacts: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.ok("POST", SEND, 202, json={"configuration_id": config_id, "contacts": list(contacts)})["results"])


def activity(api: Api, activity_id: str) -> dict[str, Any]:
    return dict(api.ok("GET", f"/v1/outbound/activities/{activity_id}"))


def sandbox_messages(sandbox, to: str) -> list[Any]:  # type: ignore[no-untyped-def]
    return list(sandbox.state.list_messages(SANDBOX_SID, to=to))


def test_sydney_new_york_and_an_unknown_zone(api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    cfg = ids["config"]["id"]
    start, end = around_now("Australia/Sydney")
    window = {"start": start, "end": end, "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    api.ok("PATCH", f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": window})

    now = datetime.now(UTC)
    sydney, new_york, unknown = send(api, cfg, contact(SYDNEY), contact(NEW_YORK), contact(UNKNOWN))
    # Open in Sydney now; New York is 14 to 16 hours behind, so closed there.
    assert sydney["status"] == "queued" and "send_at" not in sydney
    assert new_york["status"] == "deferred"
    expected = next_opening("America/New_York", start, now)
    assert iso(new_york["send_at"]) == expected
    # No zone for the number and no default_timezone: not held.
    assert unknown["status"] == "queued"

    wait_for(lambda: activity(api, sydney["activity_id"])["status"] == "delivered", timeout=20)
    wait_for(lambda: activity(api, unknown["activity_id"])["status"] == "delivered", timeout=20)
    held = activity(api, new_york["activity_id"])
    assert held["status"] == "deferred" and held["send_at"] == new_york["send_at"]
    assert [h["status"] for h in held["history"]] == ["deferred"]
    assert sandbox_messages(sandbox, NEW_YORK) == []
    listed = api.ok("GET", "/v1/outbound/activities", params={"status": "deferred"})["items"]
    assert [a["id"] for a in listed] == [new_york["activity_id"]]

    # The window's default_timezone places numbers of unknown zone.
    api.ok(
        "PATCH",
        f"/v1/outbound-configurations/{cfg}",
        json={"quiet_hours": {**window, "default_timezone": "America/New_York"}},
    )
    (again,) = send(api, cfg, contact(UNKNOWN))
    assert again["status"] == "deferred" and iso(again["send_at"]) == expected

    # A timezone context item overrides the number's zone, both ways.
    to_ny, to_sydney = send(
        api,
        cfg,
        contact(SYDNEY, contextitems={"state": "open", "timezone": "America/New_York"}),
        contact(NEW_YORK, contextitems={"state": "open", "timezone": "Australia/Sydney"}),
    )
    assert to_ny["status"] == "deferred" and iso(to_ny["send_at"]) == expected
    assert to_sydney["status"] == "queued"
    (bad,) = send(api, cfg, contact(SYDNEY, contextitems={"timezone": "Mars/Olympus_Mons"}))
    assert bad["status"] == "rejected"
    assert bad["error"]["code"] == "invalid_field"
    assert bad["error"]["details"] == {"field": "contextitems.timezone"}


def test_the_configuration_overrides_the_org(api: Api, sandbox, hub) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    cfg = ids["config"]["id"]
    org_path = f"/v1/orgs/{api.org['id']}"  # type: ignore[attr-defined]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    start, end = around_now("America/New_York")
    answer = httpx.patch(
        hub.url + org_path,
        headers=admin,
        json={"quiet_hours": {"start": start, "end": end, "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["quiet_hours"]["start"] == start

    # The org's window: open in New York, closed in Sydney.
    sydney, new_york = send(api, cfg, contact(SYDNEY), contact(NEW_YORK))
    assert (sydney["status"], new_york["status"]) == ("deferred", "queued")
    # The configuration's own window wins...
    s_start, s_end = around_now("Australia/Sydney")
    api.ok("PATCH", f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": {"start": s_start, "end": s_end}})
    sydney, new_york = send(api, cfg, contact(SYDNEY), contact(NEW_YORK))
    assert (sydney["status"], new_york["status"]) == ("queued", "deferred")
    # ...false sends at any hour, null falls back to the org's.
    config = api.ok("PATCH", f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": False})
    assert config["quiet_hours"] is False
    assert [r["status"] for r in send(api, cfg, contact(SYDNEY), contact(NEW_YORK))] == ["queued", "queued"]
    config = api.ok("PATCH", f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": None})
    assert "quiet_hours" not in config
    assert [r["status"] for r in send(api, cfg, contact(SYDNEY), contact(NEW_YORK))] == ["deferred", "queued"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "8:00", "end": "21:00"}, "quiet_hours.start"),
        ({"start": "21:00", "end": "08:00"}, "quiet_hours.end"),
        ({"start": "08:00", "end": "21:00", "days": ["someday"]}, "quiet_hours.days"),
        ({"start": "08:00", "end": "21:00", "default_timezone": "Nowhere/Town"}, "quiet_hours.default_timezone"),
        ("08:00-21:00", "quiet_hours"),
    ],
)
def test_bad_quiet_hours_are_refused_naming_the_field(api: Api, sandbox, hub, body, field) -> None:  # type: ignore[no-untyped-def]
    cfg = outbound_setup(api, sandbox.url)["config"]["id"]
    for answer in (
        api.patch(f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": body}),
        httpx.patch(
            f"{hub.url}/v1/orgs/{api.org['id']}",  # type: ignore[attr-defined]
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={"quiet_hours": body},
        ),
        httpx.post(
            f"{hub.url}/v1/orgs",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={"name": "Quiet", "quiet_hours": body},
        ),
    ):
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_request" and error["details"] == {"field": field}
    # Only a configuration may say false (no quiet hours whatever the org's).
    answer = httpx.patch(
        f"{hub.url}/v1/orgs/{api.org['id']}",  # type: ignore[attr-defined]
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        json={"quiet_hours": False},
    )
    assert answer.status_code == 400 and answer.json()["error"]["details"] == {"field": "quiet_hours"}


def test_a_deferred_message_is_sent_once_at_send_at_and_counted_then(hub_factory, sandbox, database_url: str) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(DATABASE_URL=database_url)
    org = create_org(hub.url, limits={"requests_per_hour": 2})
    with Api(hub.url, org["api_key"]) as api:
        cfg = outbound_setup(api, sandbox.url)["config"]["id"]
        zone, window, opens = opening_in(4)
        api.ok("PATCH", f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": window})
        number = phone(1)
        (held,) = send(api, cfg, contact(number, contextitems={"state": "open", "timezone": zone}))
        assert held["status"] == "deferred" and iso(held["send_at"]) == opens
        report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": cfg})
        assert report["counts"]["deferred"] == 1 and report["total"] == 1

        # Held, it does not count against requests_per_hour (2): one more
        # request sending now and another held one are taken.
        # (An hour later in the day, the window is open; two hours earlier, not yet.)
        (now_sent,) = send(api, cfg, contact(phone(2), contextitems={"state": "open", "timezone": midday_zone(1)}))
        assert now_sent["status"] == "queued"
        (later,) = send(api, cfg, contact(phone(3), contextitems={"state": "open", "timezone": midday_zone(-2)}))
        assert later["status"] == "deferred"

        assert sandbox_messages(sandbox, number) == []
        wait_for(lambda: activity(api, held["activity_id"])["status"] == "delivered", timeout=30)
        (message,) = sandbox_messages(sandbox, number)
        assert message.sent_at >= opens.timestamp()
        done = activity(api, held["activity_id"])
        statuses = [h["status"] for h in done["history"]]
        assert statuses[:3] == ["deferred", "queued", "sending"] and statuses[-1] == "delivered"
        queued_at = next(h["at"] for h in done["history"] if h["status"] == "queued")
        assert queued_at >= opens.timestamp()

        report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": cfg})
        assert report["counts"]["deferred"] == 1
        assert report["counts"]["delivered"] >= 2
        # Sent, it counts from now: the hour now holds two requests.
        refused = api.post(SEND, json={"configuration_id": cfg, "contacts": [contact(phone(4))]})
        assert refused.status_code == 429, refused.text
        assert len(sandbox_messages(sandbox, number)) == 1


def test_two_processes_send_a_deferred_message_exactly_once(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    first, second = hub_factory(), hub_factory()
    org = create_org(first.url)
    with Api(first.url, org["api_key"]) as api_a, Api(second.url, org["api_key"]) as api_b:
        cfg = outbound_setup(api_a, sandbox.url)["config"]["id"]
        zone, window, opens = opening_in(3)
        api_a.ok("PATCH", f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": window})
        numbers = [phone(100 + i) for i in range(20)]
        held = []
        for i, number in enumerate(numbers):
            client = api_a if i % 2 == 0 else api_b
            held += send(client, cfg, contact(number, contextitems={"state": "open", "timezone": zone}))
        assert {r["status"] for r in held} == {"deferred"}
        assert {iso(r["send_at"]) for r in held} == {opens}

        def all_delivered() -> bool:
            return all(activity(api_a, r["activity_id"])["status"] == "delivered" for r in held)

        wait_for(all_delivered, timeout=30, interval=0.2)
        sent = sandbox.state.list_messages(SANDBOX_SID)
        assert sorted(m.resource["to"] for m in sent) == sorted(numbers)
        assert min(m.sent_at for m in sent) >= opens.timestamp()
