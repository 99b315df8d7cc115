"""Flows: automated (events), scheduled (at, cron, delay) — over HTTP against
real hub processes, a real redis-server and the sandbox provider.

Bulk jobs (the instant trigger) are in test_bulk_jobs.py.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.flow_support import QUIET_S, clients, sent_to  # noqa: F401 (a fixture)
from tests.support import Api, contact, outbound_setup, phone, wait_for


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def event(event_id: str, numbers: list[str], type_: str = "case.created") -> dict[str, Any]:
    return {"id": event_id, "type": type_, "data": {"contacts": [contact(n) for n in numbers]}}


def automated(api: Api, config_id: str, event_type: str = "case.created", **extra: Any) -> Any:
    return api.ok(
        "POST",
        "/v1/flows",
        201,
        json={"kind": "automated", "event_type": event_type, "configuration_id": config_id, **extra},
    )


# -- automated ------------------------------------------------------------------------


def test_automated_flow_fires_once_per_event_id(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    flow = automated(api, ids["config"]["id"])
    assert flow["enabled"] is True and flow["id"].startswith("flw_")
    automated(api, ids["config"]["id"], event_type="case.closed")  # another type: stays quiet
    listed = api.ok("GET", "/v1/flows")
    assert {f["id"] for f in listed["items"]} >= {flow["id"]} and listed["next_cursor"] is None

    numbers = [phone(1), phone(2)]
    first = api.ok("POST", "/v1/events", 202, json=event("evt-1", numbers))
    assert [f["flow_id"] for f in first["flows"]] == [flow["id"]]
    assert first["flows"][0]["status"] == "sent"
    assert first["flows"][0]["counts"] == {"queued": 2}
    wait_for(lambda: all(sent_to(sandbox, n) == 1 for n in numbers))

    again = api.ok("POST", "/v1/events", 202, json=event("evt-1", numbers))
    assert again == first  # the first answer, nothing sent again
    conflict = api.post("/v1/events", json=event("evt-1", [phone(3)]))
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_key_reused"

    api.ok("POST", "/v1/events", 202, json=event("evt-2", numbers))  # a new event id sends
    wait_for(lambda: all(sent_to(sandbox, n) == 2 for n in numbers))
    time.sleep(QUIET_S)
    assert [sent_to(sandbox, n) for n in numbers + [phone(3)]] == [2, 2, 0]


def test_disabled_or_deleted_flow_does_not_fire(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    kept = automated(api, ids["config"]["id"])
    paused = automated(api, ids["config"]["id"])
    changed = api.ok("PATCH", f"/v1/flows/{paused['id']}", json={"enabled": False})
    assert changed["enabled"] is False
    assert api.ok("GET", f"/v1/flows/{paused['id']}")["enabled"] is False

    answer = api.ok("POST", "/v1/events", 202, json=event("evt-a", [phone(1)]))
    assert [f["flow_id"] for f in answer["flows"]] == [kept["id"]]
    wait_for(lambda: sent_to(sandbox, phone(1)) == 1)

    api.ok("DELETE", f"/v1/flows/{kept['id']}", 204)
    assert api.get(f"/v1/flows/{kept['id']}").status_code == 404
    answer = api.ok("POST", "/v1/events", 202, json=event("evt-b", [phone(2)]))
    assert answer["flows"] == []
    time.sleep(QUIET_S)
    assert (sent_to(sandbox, phone(1)), sent_to(sandbox, phone(2))) == (1, 0)


def test_two_processes_racing_on_one_event_send_once(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    hubs = [hub_factory(), hub_factory()]
    # Two contacts per request: the event's 5 contacts go out as 3 send requests.
    apis = [clients(hubs[0].url, limits={"contacts_per_request": 2})]
    apis.append(clients(hubs[1].url, apis[0].org["api_key"]))  # type: ignore[attr-defined]
    ids = outbound_setup(apis[0], sandbox.url)
    automated(apis[0], ids["config"]["id"])
    numbers = [phone(i) for i in range(5)]
    body = event("evt-race", numbers)

    def post(i: int) -> httpx.Response:
        return apis[i % 2].post("/v1/events", json=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert [r.status_code for r in answers] == [202] * 8
    request_ids = {tuple(r.json()["flows"][0]["request_ids"]) for r in answers}
    assert len(request_ids) == 1 and len(next(iter(request_ids))) == 3
    wait_for(lambda: all(sent_to(sandbox, n) == 1 for n in numbers))
    time.sleep(QUIET_S)
    assert [sent_to(sandbox, n) for n in numbers] == [1] * 5


def test_event_retried_after_a_crash_halfway_sends_only_the_rest(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory()
    api = clients(hub.url, limits={"contacts_per_request": 2})
    ids = outbound_setup(api, sandbox.url)
    flow = automated(api, ids["config"]["id"])
    numbers = [phone(i) for i in range(5)]
    body = event("evt-crash", numbers)
    # The first attempt got as far as its first send request, then died:
    # exactly what that request left behind is its idempotency record.
    first_chunk = {"configuration_id": ids["config"]["id"], "contacts": body["data"]["contacts"][:2]}
    sent = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json=first_chunk,
        headers={"Idempotency-Key": f"event:evt-crash:{flow['id']}:0"},
    )
    wait_for(lambda: sent_to(sandbox, numbers[0]) == 1 and sent_to(sandbox, numbers[1]) == 1)

    answer = api.ok("POST", "/v1/events", 202, json=body)
    assert answer["flows"][0]["request_ids"][0] == sent["request_id"]  # replayed, not resent
    wait_for(lambda: all(sent_to(sandbox, n) == 1 for n in numbers))
    time.sleep(QUIET_S)
    assert [sent_to(sandbox, n) for n in numbers] == [1] * 5


def test_automated_flow_with_delay(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    automated(api, ids["config"]["id"], delay_seconds=2)
    started = time.monotonic()
    answer = api.ok("POST", "/v1/events", 202, json=event("evt-later", [phone(7)]))
    assert answer["flows"][0]["status"] == "scheduled" and answer["flows"][0]["send_at"]
    again = api.ok("POST", "/v1/events", 202, json=event("evt-later", [phone(7)]))
    assert again == answer
    assert sent_to(sandbox, phone(7)) == 0
    wait_for(lambda: sent_to(sandbox, phone(7)) == 1, timeout=10)
    assert time.monotonic() - started >= 1.9
    time.sleep(QUIET_S)
    assert sent_to(sandbox, phone(7)) == 1


def test_flow_requests_are_checked(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    cases = [
        ({"kind": "sometimes"}, 400, "invalid_request"),
        ({"kind": "automated", "event_type": "e", "configuration_id": "cfg_nope"}, 404, "not_found"),
        (
            {
                "kind": "scheduled",
                "configuration_id": ids["config"]["id"],
                "contacts": [contact(phone(1))],
                "cron": "0 9 * * *",
                "at": iso_in(60),
            },
            400,
            "invalid_request",
        ),
        (
            {
                "kind": "scheduled",
                "configuration_id": ids["config"]["id"],
                "contacts": [contact(phone(1))],
                "cron": "0 9 * * *",
                "timezone": "Atlantis/Capital",
            },
            400,
            "invalid_request",
        ),
    ]
    for body, status, code in cases:
        response = api.post("/v1/flows", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    assert api.get("/v1/flows/flw_nope").status_code == 404
    assert api.patch("/v1/flows/flw_nope", json={"enabled": False}).status_code == 404
    response = api.post("/v1/events", json={"type": "case.created"})
    assert response.status_code == 400 and response.json()["error"]["details"] == {"field": "id"}


# -- scheduled ------------------------------------------------------------------------


def scheduled(api: Api, config_id: str, numbers: list[str], **when: Any) -> Any:
    return api.ok(
        "POST",
        "/v1/flows",
        201,
        json={"kind": "scheduled", "configuration_id": config_id, "contacts": [contact(n) for n in numbers], **when},
    )


def runs_of(api: Api, flow_id: str) -> list[dict[str, Any]]:
    return list(api.ok("GET", f"/v1/flows/{flow_id}")["runs"])


def test_scheduled_at_and_delay_fire_once(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    at = scheduled(api, ids["config"]["id"], [phone(1)], at=iso_in(1.5))
    delayed = scheduled(api, ids["config"]["id"], [phone(2), phone(3)], delay_seconds=1)
    assert at["next_run_at"] and at["runs"] == [] and at["contact_count"] == 1
    assert delayed["delay_seconds"] == 1 and delayed["next_run_at"]

    for flow, numbers in ((at, [phone(1)]), (delayed, [phone(2), phone(3)])):
        wait_for(lambda numbers=numbers: all(sent_to(sandbox, n) == 1 for n in numbers), timeout=10)
        runs = wait_for(lambda flow=flow: runs_of(api, flow["id"]))
        assert len(runs) == 1 and runs[0]["late"] is False and runs[0]["skipped"] == 0
        assert runs[0]["occurrence"] == flow["next_run_at"]
        assert runs[0]["counts"] == {"queued": len(numbers)} and runs[0]["request_id"]
    time.sleep(QUIET_S)
    assert [sent_to(sandbox, phone(i)) for i in (1, 2, 3)] == [1, 1, 1]
    shown = api.ok("GET", f"/v1/flows/{at['id']}")
    assert shown["next_run_at"] is None and len(shown["runs"]) == 1


def test_scheduled_flow_can_be_canceled(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    flow = scheduled(api, ids["config"]["id"], [phone(4)], at=iso_in(1))
    api.ok("DELETE", f"/v1/flows/{flow['id']}", 204)
    time.sleep(1 + QUIET_S)
    assert sent_to(sandbox, phone(4)) == 0


def test_cron_with_two_processes_fires_each_occurrence_once(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    hubs = [hub_factory(), hub_factory()]
    api = clients(hubs[0].url)
    ids = outbound_setup(api, sandbox.url)
    flow = scheduled(api, ids["config"]["id"], [phone(5)], cron="* * * * * */2", timezone="Europe/Paris")
    assert flow["cron"] == "* * * * * */2" and flow["timezone"] == "Europe/Paris"
    wait_for(lambda: len(runs_of(api, flow["id"])) >= 3, timeout=15)
    api.ok("PATCH", f"/v1/flows/{flow['id']}", json={"enabled": False})
    time.sleep(QUIET_S)
    runs = runs_of(api, flow["id"])
    occurrences = [r["occurrence"] for r in runs]
    assert len(set(occurrences)) == len(occurrences) == sent_to(sandbox, phone(5))
    assert api.ok("GET", f"/v1/flows/{flow['id']}")["next_run_at"] is None


def test_restart_across_a_scheduled_time_fires_late_once(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    env = {"HUB_SCHEDULE_LATE_SECONDS": "1"}
    first = hub_factory(**env)
    api = clients(first.url)
    ids = outbound_setup(api, sandbox.url)
    cron = scheduled(api, ids["config"]["id"], [phone(7)], cron="* * * * * */2")
    wait_for(lambda: len(runs_of(api, cron["id"])) >= 1, timeout=10)
    assert runs_of(api, cron["id"])[0]["late"] is False
    once = scheduled(api, ids["config"]["id"], [phone(6)], at=iso_in(3))
    first.stop()
    stopped = time.time()
    seen = sent_to(sandbox, phone(7))
    assert sent_to(sandbox, phone(6)) == 0
    # The hub is down while the one-off's time and several cron occurrences pass.
    time.sleep(max(0.0, datetime.fromisoformat(once["next_run_at"].replace("Z", "+00:00")).timestamp() + 3 - stopped))

    second = hub_factory(**env)
    api2 = clients(second.url, api.org["api_key"])  # type: ignore[attr-defined]
    wait_for(lambda: sent_to(sandbox, phone(6)) == 1, timeout=10)
    runs = wait_for(lambda: runs_of(api2, once["id"]))
    assert len(runs) == 1 and runs[0]["late"] is True and runs[0]["skipped"] == 0
    # The occurrences missed while down fire once, as the latest, late.
    caught_up = wait_for(lambda: [r for r in runs_of(api2, cron["id"]) if r["skipped"]], timeout=10)
    assert len(caught_up) == 1 and caught_up[0]["late"] is True
    api2.ok("PATCH", f"/v1/flows/{cron['id']}", json={"enabled": False})
    time.sleep(QUIET_S)
    assert sent_to(sandbox, phone(6)) == 1
    assert sent_to(sandbox, phone(7)) == len(runs_of(api2, cron["id"])) >= seen + 1
