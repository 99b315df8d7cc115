"""Outbound workers against the sandbox: retries, refusals, callbacks in any
order, forged callbacks, and a worker killed mid-batch."""

from __future__ import annotations

import httpx
from twilio.request_validator import RequestValidator

from tests.support import (
    SANDBOX_SID,
    SANDBOX_TOKEN,
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    phone,
    wait_for,
)


def rule(sandbox, **spec) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(sandbox.url + "/_sandbox/rules", json=spec)
    assert response.status_code == 201, response.text


def send(api: Api, config_id: str, *phones: str) -> list[str]:
    answer = api.ok(
        "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(p) for p in phones]}
    )
    return [r["activity_id"] for r in answer["results"]]


def wait_status(api: Api, activity_id: str, status: str, timeout: float = 15) -> dict:
    def check() -> dict | None:
        activity = api.ok("GET", f"/v1/outbound/activities/{activity_id}")
        return activity if activity["status"] == status else None

    return wait_for(check, timeout=timeout)  # type: ignore[no-any-return]


def sent_to(sandbox, number: str) -> list:  # type: ignore[no-untyped-def]
    return sandbox.state.list_messages(SANDBOX_SID, to=number)


def test_out_of_order_and_duplicate_callbacks_never_move_status_back(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    rule(sandbox, to=phone(1), action="callbacks", mode="out_of_order")
    rule(sandbox, to=phone(2), action="callbacks", mode="duplicate")
    a1, a2 = send(api, ids["config"]["id"], phone(1), phone(2))

    first = wait_status(api, a1, "delivered")
    wait_for(
        lambda: (
            [
                e["status"]
                for e in api.ok("GET", f"/v1/outbound/activities/{a1}")["history"]
                if e["source"] == "callback"
            ]
            == ["delivered", "sent"]
        )
    )
    first = api.ok("GET", f"/v1/outbound/activities/{a1}")
    assert first["status"] == "delivered"  # the late `sent` was kept but did not win

    second = wait_status(api, a2, "delivered")
    assert httpx.post(sandbox.url + "/_sandbox/drain?timeout=15").json()["pending_callbacks"] == 0
    second = api.ok("GET", f"/v1/outbound/activities/{a2}")
    # Both copies were posted; the second of each added nothing.
    assert [e["status"] for e in second["history"] if e["source"] == "callback"] == ["sent", "delivered"]
    report = api.ok("GET", f"/v1/outbound/report?configuration_id={ids['config']['id']}")
    assert report["counts"]["delivered"] == 2
    assert report["counts"]["sent"] == 0 and report["counts"]["sending"] == 0


def test_forged_status_callback_is_refused_and_changes_nothing(api: Api, hub: HubProcess, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    rule(sandbox, action="callbacks", mode="none")
    (activity_id,) = send(api, ids["config"]["id"], phone(3))
    activity = wait_for(
        lambda: (
            api.ok("GET", f"/v1/outbound/activities/{activity_id}").get("provider_message_id")
            and api.ok("GET", f"/v1/outbound/activities/{activity_id}")
        )
    )
    url = f"{hub.url}/webhooks/twilio/{ids['channel']['id']}/status"
    form = {"MessageSid": activity["provider_message_id"], "MessageStatus": "delivered", "AccountSid": SANDBOX_SID}
    wrong_key = RequestValidator("not-the-token").compute_signature(url, form)
    other_url = RequestValidator(SANDBOX_TOKEN).compute_signature(url + "x", form)
    for signature in (wrong_key, other_url, ""):
        response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    after = api.ok("GET", f"/v1/outbound/activities/{activity_id}")
    assert after["status"] == "sending"
    assert after["history"] == activity["history"]

    good = RequestValidator(SANDBOX_TOKEN).compute_signature(url, form)
    assert httpx.post(url, data=form, headers={"X-Twilio-Signature": good}).status_code == 204
    assert wait_status(api, activity_id, "delivered")


def test_a_repeated_status_callback_is_kept_once(api: Api, hub: HubProcess, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    rule(sandbox, action="callbacks", mode="none")
    (activity_id,) = send(api, ids["config"]["id"], phone(6))
    activity = wait_for(
        lambda: (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}")).get("provider_message_id") and a
    )
    url = f"{hub.url}/webhooks/twilio/{ids['channel']['id']}/status"
    validator = RequestValidator(SANDBOX_TOKEN)
    sid = activity["provider_message_id"]
    for form in (
        {"MessageSid": sid, "MessageStatus": "sent", "AccountSid": SANDBOX_SID},
        {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003", "AccountSid": SANDBOX_SID},
    ):
        for _ in range(5):
            response = httpx.post(
                url, data=form, headers={"X-Twilio-Signature": validator.compute_signature(url, form)}
            )
            assert response.status_code == 204
    after = api.ok("GET", f"/v1/outbound/activities/{activity_id}")
    callbacks = [(e["status"], e.get("error_code")) for e in after["history"] if e["source"] == "callback"]
    assert callbacks == [("sent", None), ("undelivered", "30003")]
    assert after["status"] == "undelivered"


def test_429_and_5xx_are_retried_and_sent_once(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    rule(sandbox, to=phone(4), action="http_error", status=429, code=20429, retry_after=1, times=1)
    rule(sandbox, to=phone(5), action="http_error", status=503, times=2)
    a4, a5 = send(api, ids["config"]["id"], phone(4), phone(5))
    delivered = wait_status(api, a4, "delivered")
    wait_status(api, a5, "delivered")
    assert len(sent_to(sandbox, phone(4))) == 1
    assert len(sent_to(sandbox, phone(5))) == 1
    # Retry-After: 1 was honoured before the second attempt.
    queued_at = delivered["history"][0]["at"]
    accepted_at = next(e["at"] for e in delivered["history"] if e["source"] == "provider")
    assert accepted_at - queued_at >= 1.0


def test_refusals_are_rejected_with_the_provider_code_and_not_retried(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    rule(sandbox, to=phone(6), action="refuse", code=21211)
    rule(sandbox, to=phone(7), action="refuse", code=21610)
    a6, a7 = send(api, ids["config"]["id"], phone(6), phone(7))
    rejected = wait_status(api, a6, "rejected")
    assert rejected["error_code"] == "21211"
    assert wait_status(api, a7, "rejected")["error_code"] == "21610"
    rules = httpx.get(sandbox.url + "/_sandbox/rules").json()["items"]
    assert all(r.get("hits", r.get("used", 1)) in (1, None) for r in rules if r.get("action") == "refuse")
    assert sent_to(sandbox, phone(6)) == []


def test_a_send_still_failing_past_the_retry_window_ends_failed_with_the_last_error(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(HUB_SEND_RETRY_WINDOW="3", HUB_SEND_RETRY_MAX_DELAY="0.5")
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        rule(sandbox, to=phone(8), action="http_error", status=500)
        (activity_id,) = send(api, ids["config"]["id"], phone(8))
        # Meanwhile it is a delay, not a verdict: still `sending`, with the retry shown.
        retrying = wait_for(
            lambda: (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}")).get("retrying") and a
        )
        assert retrying["status"] == "sending"
        assert retrying["retrying"]["attempts"] >= 1
        assert retrying["retrying"]["last_error"] == "20500"
        assert retrying["retrying"]["next_at"] >= retrying["created_at"]
        failed = wait_status(api, activity_id, "failed", timeout=30)
    assert failed["error_code"] == "20500"  # Twilio's code for its own 500s
    assert "retrying" not in failed
    tries = [e["at"] for e in failed["history"] if e["status"] in ("sending", "failed")]
    assert tries[-1] - tries[0] >= 3.0  # tried for the whole window, not five times in a row
    assert sent_to(sandbox, phone(8)) == []


def test_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    hub_factory,
    sandbox,
    redis_url,
    tmp_path,
    request,  # type: ignore[no-untyped-def]
) -> None:
    settings = {"HUB_CLAIM_IDLE_MS": "1500", "HUB_SEND_TIMEOUT": "30"}
    first = hub_factory(**settings)
    org = create_org(first.url)
    api = Api(first.url, org["api_key"])
    request.addfinalizer(api.http.close)
    ids = outbound_setup(api, sandbox.url)
    # Every send reaches the provider, but its answer is slow: the worker
    # dies holding 100 sends whose outcome it never saw.
    rule(sandbox, action="store_then_timeout", seconds=3)
    # Status callbacks come once the replacement process listens (the
    # provider does not retry them, and this test is about the sends).
    rule(sandbox, action="callbacks", mode="normal", delay_ms=5000)
    numbers = [phone(100 + i) for i in range(100)]
    activity_ids = send(api, ids["config"]["id"], *numbers)
    wait_for(lambda: len(sandbox.state.list_messages(SANDBOX_SID)) == 100, timeout=15)
    first.kill()
    httpx.delete(sandbox.url + "/_sandbox/rules")

    # Same public URL, so the provider's callbacks reach the new process.
    second = HubProcess(
        redis_url, sandbox_url=sandbox.url, port=first.port, env=settings, log_path=tmp_path / "second.log"
    ).start()
    try:

        def all_delivered() -> dict | None:
            report = api.ok("GET", f"/v1/outbound/report?configuration_id={ids['config']['id']}")
            return None if report["counts"]["delivered"] != 100 else report

        try:
            wait_for(all_delivered, timeout=45, interval=0.2)
        except AssertionError:
            report = api.ok("GET", f"/v1/outbound/report?configuration_id={ids['config']['id']}")
            raise AssertionError(report["counts"]) from None
        for number in numbers:
            assert len(sent_to(sandbox, number)) == 1, number
        activities = [api.ok("GET", f"/v1/outbound/activities/{a}") for a in activity_ids[:10]]
        for activity in activities:
            (message,) = sent_to(sandbox, activity["to"])
            assert activity["provider_message_id"] == message.resource["sid"]
    finally:
        second.stop()


def test_a_timed_out_send_is_looked_up_at_the_provider_before_its_retry(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(HUB_SEND_TIMEOUT="1", HUB_SEND_RETRY_MAX_DELAY="0.5")
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        # The provider takes the message but its answer never comes in time.
        rule(sandbox, to=phone(9), action="store_then_timeout", seconds=3, times=1)
        # And the next one would fail: a retry that resent instead of asking first would show it.
        (activity_id,) = send(api, ids["config"]["id"], phone(9))
        delivered = wait_status(api, activity_id, "delivered", timeout=30)
    (message,) = sent_to(sandbox, phone(9))
    assert delivered["provider_message_id"] == message.resource["sid"]
    assert any(e.get("provider_status") == "recovered" for e in delivered["history"])
