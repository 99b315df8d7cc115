"""A provider that is down delays messages, it does not fail them: the
sandbox answers 503, then refuses connections (it is stopped and started
again on the same port), while a push of 1,000 is under way."""

from __future__ import annotations

import re
import time

import httpx

from hub.sandbox import build_sandbox_app
from tests.support import Api, HubProcess, ServerThread, contact, create_org, outbound_setup, phone, wait_for

# Scaled down from a 60 s outage: the backoff's cap and the circuit's cool-down
# are scaled with it, so the hub goes through the same states.
FAST_RETRIES = {"HUB_SEND_RETRY_MAX_DELAY": "1", "HUB_CIRCUIT_COOLDOWN": "1", "HUB_CIRCUIT_THRESHOLD": "5"}


def rule(sandbox_url: str, **spec) -> dict:  # type: ignore[no-untyped-def]
    response = httpx.post(sandbox_url + "/_sandbox/rules", json=spec)
    assert response.status_code == 201, response.text
    return dict(response.json())


def metric(hub_url: str, name: str) -> float:
    text = httpx.get(hub_url + "/metrics").text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match, name
    return float(match.group(1))


def push(api: Api, config_id: str, numbers: list[str]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(numbers), 100):
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": config_id, "contacts": [contact(n) for n in numbers[start : start + 100]]},
        )
        ids += [r["activity_id"] for r in answer["results"]]
    return ids


def activities(api: Api, config_id: str) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        page = api.ok(
            "GET",
            "/v1/outbound/activities",
            params={"configuration_id": config_id, "limit": 200, **({"cursor": cursor} if cursor else {})},
        )
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def test_provider_down_during_a_push_of_1000_then_all_delivered_once(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(**FAST_RETRIES)
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        config_id = ids["config"]["id"]
        numbers = [phone(i) for i in range(1000)]
        rule(sandbox.url, action="http_error", status=503)
        outage_started = time.monotonic()
        activity_ids = push(api, config_id, numbers)
        assert len(activity_ids) == 1000

        # During the outage: every one `sending`, waiting on its next attempt; none failed.
        def all_retrying() -> list[dict] | None:
            items = activities(api, config_id)
            return items if all(a["status"] == "sending" and a.get("retrying") for a in items) else None

        waiting = wait_for(all_retrying, timeout=60, interval=0.5)
        assert len(waiting) == 1000
        assert {a["retrying"]["last_error"] for a in waiting} <= {"20503", "circuit_open"}
        assert metric(hub.url, "hub_open_circuits") == 1.0
        assert sandbox.state.stats()["created"] == 0

        # Then the provider is unreachable: connections refused on its port.
        sandbox.stop()

        def refused() -> bool:
            return any((a.get("retrying") or {}).get("last_error") == "unreachable" for a in activities(api, config_id))

        wait_for(refused, timeout=30, interval=0.5)  # a probe met the closed port
        wait_for(lambda: time.monotonic() - outage_started > 6, timeout=30, interval=0.2)
        assert not [a for a in activities(api, config_id) if a["status"] != "sending"]
        # Nothing reached the provider during the outage. (Checked before it comes back:
        # once it listens, a half-open probe may go through at any moment.)
        assert sandbox.state.stats()["created"] == 0
        sandbox.state.clear_rules()
        back = ServerThread(build_sandbox_app(sandbox.state), port=sandbox.port).start()
        try:

            def all_delivered() -> dict | None:
                report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})
                return report if report["counts"].get("delivered") == 1000 else None

            try:
                wait_for(all_delivered, timeout=120, interval=0.5)
            except AssertionError:
                report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})
                raise AssertionError(report["counts"]) from None
            by_to = sandbox.state.stats()["by_to"]
            assert sorted(by_to) == sorted(numbers)
            assert set(by_to.values()) == {1}  # each delivered exactly once
            done = api.ok("GET", f"/v1/outbound/activities/{activity_ids[0]}")
            assert "retrying" not in done
            wait_for(lambda: metric(hub.url, "hub_open_circuits") == 0.0, timeout=10)
            assert metric(hub.url, "hub_send_retries_waiting") == 0.0
        finally:
            back.stop()


def test_an_open_circuit_probes_the_provider_instead_of_hammering_it(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(HUB_SEND_RETRY_MAX_DELAY="0.2", HUB_CIRCUIT_COOLDOWN="2", HUB_CIRCUIT_THRESHOLD="3")
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        down = rule(sandbox.url, action="http_error", status=503, times=100_000)
        numbers = [phone(i) for i in range(20)]
        push(api, ids["config"]["id"], numbers)

        def calls() -> int:
            (r,) = [r for r in httpx.get(sandbox.url + "/_sandbox/rules").json()["items"] if r["id"] == down["id"]]
            return 100_000 - int(r["times"])

        wait_for(lambda: metric(hub.url, "hub_open_circuits") == 1.0, timeout=20)
        channel_url = f"/v1/channels/{ids['channel']['id']}"
        assert api.ok("GET", channel_url)["circuit"] in ("open", "half_open")
        started, first = time.monotonic(), calls()
        time.sleep(5)  # how much the provider is called over a while, not a result to wait for
        # Without the breaker, 20 sends backing off at most 0.2 s would call ~500
        # times in 5 s; with it, one probe per cool-down.
        assert calls() - first <= 8, (first, calls(), time.monotonic() - started)
        httpx.delete(sandbox.url + "/_sandbox/rules")

        def delivered() -> bool:
            report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": ids["config"]["id"]})
            return report["counts"].get("delivered") == 20

        wait_for(delivered, timeout=30, interval=0.3)
        assert api.ok("GET", channel_url)["circuit"] == "closed"
        assert all(len(sandbox.state.list_messages("AC" + "a" * 32, to=n)) == 1 for n in numbers)


def test_sends_waiting_on_a_retry_survive_their_process(hub_factory, sandbox, redis_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = {**FAST_RETRIES, "HUB_CLAIM_IDLE_MS": "1500"}  # some may be mid-attempt when it dies
    first = hub_factory(**settings)
    org = create_org(first.url)
    api = Api(first.url, org["api_key"])
    try:
        ids = outbound_setup(api, sandbox.url)
        config_id = ids["config"]["id"]
        numbers = [phone(i) for i in range(50)]
        rule(sandbox.url, action="http_error", status=503)
        push(api, config_id, numbers)
        wait_for(lambda: all(a.get("retrying") for a in activities(api, config_id)), timeout=30, interval=0.3)
        first.kill()
        httpx.delete(sandbox.url + "/_sandbox/rules")

        # Another process, same Redis and public URL: the retries are in Redis, not in the dead process.
        second = HubProcess(
            redis_url, sandbox_url=sandbox.url, port=first.port, env=settings, log_path=tmp_path / "second.log"
        ).start()
        try:

            def all_delivered() -> bool:
                report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})
                return report["counts"].get("delivered") == 50

            wait_for(all_delivered, timeout=60, interval=0.3)
            by_to = sandbox.state.stats()["by_to"]
            assert sorted(by_to) == sorted(numbers) and set(by_to.values()) == {1}
        finally:
            second.stop()
    finally:
        api.http.close()
