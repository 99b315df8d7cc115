"""Webhooks that arrive while Redis is down are journaled on disk, answered
as usual, and applied once when Redis is back, by the same process or, if it
died, by the next one to start. Each test runs its own redis-server, which it
stops and starts again on the same socket and AOF."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from hub.embedded_redis import EmbeddedRedis
from tests.support import (
    SANDBOX_SID,
    SANDBOX_TOKEN,
    SENDER,
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    phone,
    wait_for,
)
from tests.test_telesign import NUMBER as TELESIGN_NUMBER
from tests.test_telesign import signed, telesign_setup

OTHER_NUMBER = "+14155550101"
VALIDATOR = RequestValidator(SANDBOX_TOKEN)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


def start_hub(redis: EmbeddedRedis, sandbox_url: str, data_dir: Path, log: Path) -> HubProcess:
    return HubProcess(redis.url, sandbox_url=sandbox_url, env={"HUB_DATA_DIR": str(data_dir)}, log_path=log).start()


def journal_bytes(data_dir: Path) -> int:
    folder = data_dir / "journal"
    return sum(p.stat().st_size for p in folder.glob("*.log")) if folder.exists() else 0


def inbound_form(sid: str, customer: str, to: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": SANDBOX_SID,
        "From": customer,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def status_form(sid: str, status: str) -> dict[str, str]:
    return {"MessageSid": sid, "MessageStatus": status, "AccountSid": SANDBOX_SID}


async def post_all(
    url_and_forms: list[tuple[str, dict[str, str]]], *, token: str = SANDBOX_TOKEN, concurrency: int = 16
) -> list[int]:
    """Signed webhooks, ``concurrency`` at a time, in order within each wave."""
    validator = RequestValidator(token)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:

        async def post(url: str, form: dict[str, str]) -> int:
            async with gate:
                response = await client.post(
                    url, data=form, headers={"X-Twilio-Signature": validator.compute_signature(url, form)}
                )
                return response.status_code

        return list(await asyncio.gather(*(post(u, f) for u, f in url_and_forms)))


def all_conversations(api: Api) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = api.ok("GET", "/v1/conversations", params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def thread_bodies(api: Api) -> dict[str, list[str]]:
    """Each customer's messages, in conversation order."""
    threads: dict[str, list[str]] = {}
    for conv in all_conversations(api):
        full = api.ok("GET", f"/v1/conversations/{conv['id']}")
        threads.setdefault(conv["customer"], []).extend(m["body"] for m in full["messages"])
    return threads


def send_and_wait_accepted(api: Api, config_id: str, numbers: list[str]) -> dict[str, str]:
    """activity id -> provider message id, once the worker recorded every send."""
    ids: list[str] = []
    for start in range(0, len(numbers), 100):
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": config_id, "contacts": [contact(n) for n in numbers[start : start + 100]]},
        )
        ids += [r["activity_id"] for r in answer["results"]]

    def accepted() -> dict[str, str] | None:
        found: dict[str, str] = {}
        cursor = None
        while True:
            page = api.ok(
                "GET", "/v1/outbound/activities", params={"limit": 200, **({"cursor": cursor} if cursor else {})}
            )
            found.update({a["id"]: a["provider_message_id"] for a in page["items"] if a.get("provider_message_id")})
            cursor = page["next_cursor"]
            if not cursor:
                return found if set(ids) <= set(found) else None

    return wait_for(accepted, timeout=60, interval=0.3)  # type: ignore[no-any-return]


def test_webhooks_during_a_redis_outage_are_applied_once_when_it_is_back(
    own_redis: EmbeddedRedis, sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "hub"
    hub = start_hub(own_redis, sandbox.url, data_dir, tmp_path / "hub.log")
    api = Api(hub.url, create_org(hub.url)["api_key"])
    try:
        ids = outbound_setup(api, sandbox.url)
        seen, unseen = (
            ids["channel"]["id"],
            api.ok(
                "POST",
                "/v1/channels",
                201,
                json={
                    "type": "sms",
                    "provider": "sandbox",
                    "address": OTHER_NUMBER,
                    "api_base_url": sandbox.url,
                    "credentials": {"account_sid": SANDBOX_SID, "auth_token": SANDBOX_TOKEN},
                },
            )["id"],
        )
        assert (
            httpx.post(sandbox.url + "/_sandbox/rules", json={"action": "callbacks", "mode": "none"}).status_code == 201
        )
        activities = send_and_wait_accepted(api, ids["config"]["id"], [phone(i) for i in range(250)])
        # A first webhook makes the process know the channel (`unseen` stays unknown to it).
        inbound_url = {c: f"{hub.url}/webhooks/twilio/{c}/inbound" for c in (seen, unseen)}
        status_url = f"{hub.url}/webhooks/twilio/{seen}/status"
        assert asyncio.run(
            post_all([(inbound_url[seen], inbound_form("SM" + "f" * 32, phone(999), SENDER, "before"))])
        ) == [200]

        own_redis.stop()
        down_at = time.monotonic()
        statuses = [(status_url, status_form(sid, s)) for s in ("sent", "delivered") for sid in activities.values()]
        customers = [(seen, SENDER, phone(300 + i)) for i in range(40)] + [
            (unseen, OTHER_NUMBER, phone(400 + i)) for i in range(10)
        ]

        def wave(n: int) -> list[tuple[str, dict[str, str]]]:
            return [
                (inbound_url[c], inbound_form(f"SM{n}{i:031d}", who, to, f"message {n}"))
                for i, (c, to, who) in enumerate(customers)
            ]

        first, second = wave(1), wave(2)
        assert set(asyncio.run(post_all(statuses[:250]))) == {204}
        assert set(asyncio.run(post_all(first))) == {200}
        assert set(asyncio.run(post_all(statuses[250:] + statuses[:20]))) == {204}  # with 20 repeats
        assert set(asyncio.run(post_all(second + first[:10]))) == {200}  # with 10 repeats
        # Forged: refused at once where the channel is known, dropped at replay where it is not.
        forged = [
            (u, inbound_form("SM" + "e" * 32, phone(998), to, "forged"))
            for u, to in ((inbound_url[seen], SENDER), (inbound_url[unseen], OTHER_NUMBER))
        ]
        assert asyncio.run(post_all(forged, token="wrong")) == [403, 200]
        assert journal_bytes(data_dir) > 0
        time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))  # ten seconds down in all
        own_redis.start()

        def all_delivered() -> bool:
            report = api.ok("GET", f"/v1/outbound/report?configuration_id={ids['config']['id']}")
            return report["counts"].get("delivered") == 250

        wait_for(all_delivered, timeout=60, interval=0.3)

        def every_message() -> dict[str, list[str]] | None:
            threads = thread_bodies(api)
            return threads if sum(map(len, threads.values())) >= 101 else None

        threads = wait_for(every_message, timeout=30, interval=0.3)
        assert threads.pop(phone(999)) == ["before"]
        assert threads == {who: ["message 1", "message 2"] for _, _, who in customers}
        for activity_id in list(activities)[::25]:
            history = api.ok("GET", f"/v1/outbound/activities/{activity_id}")["history"]
            assert [e["status"] for e in history if e["source"] == "callback"] == ["sent", "delivered"]
        wait_for(lambda: journal_bytes(data_dir) == 0 and not list((data_dir / "journal").glob("*.log")))
        metrics = httpx.get(hub.url + "/metrics").text
        assert 'hub_webhook_journal_total{outcome="unverified"} 21.0' in metrics
        assert 'hub_webhook_journal_total{outcome="replayed"} 630.0' in metrics
        assert 'hub_webhook_journal_total{outcome="rejected"} 1.0' in metrics
    finally:
        api.http.close()
        hub.stop()


def test_a_journal_left_by_a_killed_process_is_replayed_by_the_next_one(
    own_redis: EmbeddedRedis, sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "hub"
    hub = start_hub(own_redis, sandbox.url, data_dir, tmp_path / "hub-1.log")
    api = Api(hub.url, create_org(hub.url)["api_key"])
    try:
        channel = outbound_setup(api, sandbox.url)["channel"]["id"]
        url = f"{hub.url}/webhooks/twilio/{channel}/inbound"
        assert asyncio.run(post_all([(url, inbound_form("SM" + "f" * 32, phone(999), SENDER, "0"))])) == [200]
        own_redis.stop()
        forms = [(url, inbound_form(f"SM{i:032d}", phone(i), SENDER, f"hello {i}")) for i in range(20)]
        assert set(asyncio.run(post_all(forms))) == {200}
        assert journal_bytes(data_dir) > 0
        hub.kill()  # -9: the journal stays, unlocked
        own_redis.start()

        second = start_hub(own_redis, sandbox.url, data_dir, tmp_path / "hub-2.log")
        try:
            api.http.base_url = httpx.URL(second.url)
            threads = wait_for(lambda: len(thread_bodies(api)) == 21 and thread_bodies(api), timeout=30)
            assert threads == {phone(999): ["0"], **{phone(i): [f"hello {i}"] for i in range(20)}}
            wait_for(lambda: not list((data_dir / "journal").glob("*.log")))
        finally:
            second.stop()
    finally:
        api.http.close()
        hub.stop()


def test_a_full_journal_refuses_with_503_and_keeps_what_it_took(
    own_redis: EmbeddedRedis, sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "hub"
    hub = HubProcess(
        own_redis.url,
        sandbox_url=sandbox.url,
        log_path=tmp_path / "hub.log",
        env={"HUB_DATA_DIR": str(data_dir), "HUB_JOURNAL_MAX_MB": "0.004"},
    ).start()
    api = Api(hub.url, create_org(hub.url)["api_key"])
    try:
        channel = outbound_setup(api, sandbox.url)["channel"]["id"]
        url = f"{hub.url}/webhooks/twilio/{channel}/inbound"
        own_redis.stop()
        answers = []
        validator = RequestValidator(SANDBOX_TOKEN)
        for i in range(20):  # one at a time: each record is about 500 bytes
            form = inbound_form(f"SM{i:032d}", phone(i), SENDER, f"hello {i}")
            answers.append(
                httpx.post(url, data=form, headers={"X-Twilio-Signature": validator.compute_signature(url, form)})
            )
        taken = [i for i, a in enumerate(answers) if a.status_code == 200]
        refused = [a for a in answers if a.status_code != 200]
        assert taken == list(range(len(taken))) and 0 < len(taken) < 20
        assert {a.status_code for a in refused} == {503}
        assert refused[0].json()["error"]["code"] == "journal_unavailable"
        own_redis.start()
        threads = wait_for(lambda: len(thread_bodies(api)) == len(taken) and thread_bodies(api), timeout=30)
        assert threads == {phone(i): [f"hello {i}"] for i in taken}
    finally:
        api.http.close()
        hub.stop()


def test_a_redis_that_hangs_is_given_up_on_and_the_webhooks_journaled(
    own_redis: EmbeddedRedis, sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "hub"
    hub = start_hub(own_redis, sandbox.url, data_dir, tmp_path / "hub.log")
    api = Api(hub.url, create_org(hub.url)["api_key"])
    assert own_redis._proc is not None
    redis_pid = own_redis._proc.pid
    try:
        channel = outbound_setup(api, sandbox.url)["channel"]["id"]
        url = f"{hub.url}/webhooks/twilio/{channel}/inbound"
        assert asyncio.run(post_all([(url, inbound_form("SM" + "f" * 32, phone(999), SENDER, "0"))])) == [200]
        os.kill(redis_pid, signal.SIGSTOP)  # up, but answering nothing
        try:
            started = time.monotonic()
            forms = [(url, inbound_form(f"SM{i:032d}", phone(i), SENDER, f"hello {i}")) for i in range(10)]
            assert set(asyncio.run(post_all(forms, concurrency=1))) == {200}
            assert time.monotonic() - started < 12  # the first waits 5 s, the rest none
            assert journal_bytes(data_dir) > 0
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        threads = wait_for(lambda: len(thread_bodies(api)) == 11 and thread_bodies(api), timeout=30)
        assert threads == {phone(999): ["0"], **{phone(i): [f"hello {i}"] for i in range(10)}}
    finally:
        api.http.close()
        hub.stop()


def test_telesign_webhooks_for_a_channel_never_seen_are_checked_when_redis_is_back(
    own_redis: EmbeddedRedis, sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    hub = start_hub(own_redis, sandbox.url, tmp_path / "hub", tmp_path / "hub.log")
    api = Api(hub.url, create_org(hub.url)["api_key"])
    try:
        ids = telesign_setup(api, sandbox.url)
        httpx.post(sandbox.url + "/_sandbox/rules", json={"action": "callbacks", "mode": "none"})
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(1))]},
        )
        activity_id = answer["results"][0]["activity_id"]
        reference = wait_for(lambda: api.ok("GET", f"/v1/outbound/activities/{activity_id}").get("provider_message_id"))
        dlr = json.dumps({"reference_id": reference, "status": {"code": 200, "description": "Delivered"}})
        mo = json.dumps(
            {
                "reference_id": "AB" * 16,
                "sub_resource": "mo_sms",
                "user_response": {"phone_number": phone(2)[1:], "sender_id": TELESIGN_NUMBER[1:], "mo_message": "hi"},
            }
        )
        forged = mo.replace("AB" * 16, "CD" * 16).replace("hi", "forged")
        url = f"{hub.url}/webhooks/telesign/{ids['channel']['id']}"
        own_redis.stop()
        wrong_key = base64.b64encode(b"x" * 32).decode()
        for path, body, headers in (
            ("/status", dlr, signed(dlr.encode())),
            ("/status", dlr, signed(dlr.encode())),
            ("/inbound", mo, signed(mo.encode())),
            ("/inbound", forged, signed(forged.encode(), wrong_key)),
        ):
            # The process never looked this channel up: all four wait unverified.
            assert httpx.post(url + path, content=body, headers=headers).status_code == 200
        own_redis.start()

        delivered = wait_for(
            lambda: (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"] == "delivered" and a,
            timeout=30,
        )
        assert [e["status"] for e in delivered["history"] if e["source"] == "callback"] == ["delivered"]
        assert wait_for(lambda: thread_bodies(api)) == {phone(2): ["hi"]}
        rejected = 'hub_webhook_journal_total{outcome="rejected"} 1.0'
        wait_for(lambda: rejected in httpx.get(hub.url + "/metrics").text)  # the forged one
    finally:
        api.http.close()
        hub.stop()
