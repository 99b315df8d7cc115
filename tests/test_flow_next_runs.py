"""GET of one scheduled flow lists its coming runs, in its time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.support import Api, contact, outbound_setup, phone


def test_a_cron_flow_lists_its_next_five_runs_and_none_while_paused(api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]
    flow = api.ok(
        "POST",
        "/v1/flows",
        201,
        json={
            "kind": "scheduled",
            "configuration_id": config_id,
            "cron": "30 9 * * 1-5",
            "timezone": "Europe/Paris",
            "contacts": [contact(phone(1))],
        },
    )
    shown = api.ok("GET", f"/v1/flows/{flow['id']}")
    runs = [datetime.fromisoformat(r.replace("Z", "+00:00")) for r in shown["next_runs"]]
    assert len(runs) == 5 and runs == sorted(set(runs))
    assert shown["next_runs"][0] == shown["next_run_at"]
    paris = [r.astimezone(ZoneInfo("Europe/Paris")) for r in runs]
    assert all((p.hour, p.minute, p.weekday() < 5) == (9, 30, True) for p in paris)

    paused = api.ok("PATCH", f"/v1/flows/{flow['id']}", json={"enabled": False})
    assert (paused["enabled"], paused["next_run_at"], paused["next_runs"]) == (False, None, [])

    once = api.ok(
        "POST",
        "/v1/flows",
        201,
        json={
            "kind": "scheduled",
            "configuration_id": config_id,
            "delay_seconds": 3600,
            "contacts": [contact(phone(2))],
        },
    )
    assert api.ok("GET", f"/v1/flows/{once['id']}")["next_runs"] == [once["next_run_at"]]
    assert "next_runs" not in api.ok("GET", "/v1/flows")["items"][0]
