"""Once an activity has been final for HUB_HOT_SECONDS its full record leaves
Redis, and every read answers for it from SQL exactly as before (SQLite and
PostgreSQL); a late callback still applies and a reply still correlates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import redis
from twilio.request_validator import RequestValidator

from hub.storage import keys
from hub.storage.sql import open_database
from tests.support import (
    SANDBOX_SID,
    SANDBOX_TOKEN,
    SENDER,
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    pages,
    phone,
    wait_for,
)

Start = Callable[..., HubProcess]


def send(api: Api, config_id: str, contacts: list[dict[str, Any]]) -> list[str]:
    answer = api.ok("POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": contacts})
    return [r["activity_id"] for r in answer["results"]]


def reads(api: Api, config_id: str, acts: list[str]) -> dict[str, Any]:
    """What the API answers about these activities, every way it can be asked."""
    return {
        "activities": {a: api.ok("GET", f"/v1/outbound/activities/{a}") for a in acts},
        "list": pages(api, "/v1/outbound/activities", limit=2),
        "delivered": pages(api, "/v1/outbound/activities", status="delivered", limit=1),
        "read": pages(api, "/v1/outbound/activities", status="read", configuration_id=config_id),
        "config": pages(api, "/v1/outbound/activities", configuration_id=config_id, limit=3),
        "timeline": pages(api, f"/v1/contacts/{phone(1)}/timeline", limit=1),
        "report": api.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id}),
    }


def archived_versions(url: str, org_id: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        db = await open_database(url)
        try:
            rows = await db.fetch("SELECT id, version FROM activities WHERE org_id = ?", org_id)
            return {i: int(v) for i, v in rows}
        finally:
            await db.close()

    return asyncio.run(go())


def hot(r: redis.Redis, org_id: str, acts: list[str]) -> list[str]:
    return [a for a in acts if r.exists(keys.activity(org_id, a))]


def settled_and_archived(api: Api, r: redis.Redis, url: str, org_id: str, acts: list[str], final: list[str]) -> bool:
    statuses = [api.ok("GET", f"/v1/outbound/activities/{a}")["status"] for a in acts]
    if statuses != final:
        return False
    versions = archived_versions(url, org_id)
    return all(versions.get(a) == r.llen(keys.activity_history(org_id, a)) for a in acts)


def test_reads_answer_the_same_before_and_after_the_hot_window(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    # A hub that keeps everything hot, to read the answers while Redis has them.
    first = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="0")
    org = create_org(first.url)
    with Api(first.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        hidden = api.ok(
            "POST",
            "/v1/outbound-configurations",
            201,
            json={
                "name": "Reminders",
                "show_in_timeline": False,
                "channel_type": "sms",
                "channel_id": ids["channel"]["id"],
                "template_id": ids["template"]["id"],
            },
        )
        for i, mode in ((1, "read"), (3, "undelivered")):
            httpx.post(sandbox.url + "/_sandbox/rules", json={"to": phone(i), "action": "callbacks", "mode": mode})
        config = ids["config"]["id"]
        acts = send(api, config, [contact(phone(i)) for i in range(4)])
        acts += send(api, config, [contact(phone(1), CaseName="CAS-2"), contact(phone(9), optin=False)])
        acts += send(api, hidden["id"], [contact(phone(1))])
        final = ["delivered", "read", "delivered", "undelivered", "read", "skipped_no_optin", "read"]
        wait_for(lambda: settled_and_archived(api, r, database_url, org["id"], acts, final), timeout=45)
        before = reads(api, config, acts)
    first.stop()
    assert len(before["timeline"]) == 2 and len(before["read"]) == 2

    second = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    with Api(second.url, org["api_key"]) as api:
        wait_for(lambda: not hot(r, org["id"], acts), timeout=30)
        # Gone from Redis with their index entries; the report's counters stay.
        assert r.zcard(keys.activities(org["id"])) == 0
        assert r.zcard(keys.activities_by_config(org["id"], config)) == 0
        assert r.zcard(keys.timeline(org["id"], phone(1))) == 0
        assert reads(api, config, acts) == before

        # Read-your-writes: a new activity shows at once, first, beside the archived ones.
        (new,) = send(api, config, [contact(phone(1), optin=False)])
        listed = api.ok("GET", "/v1/outbound/activities", params={"limit": 3})["items"]
        assert [a["id"] for a in listed] == [new] + [a["id"] for a in before["list"][:2]]
        timeline = api.ok("GET", f"/v1/contacts/{phone(1)}/timeline")["items"]
        assert [t["activity"]["id"] for t in timeline] == [new] + [t["activity"]["id"] for t in before["timeline"]]


def callback(hub: HubProcess, channel_id: str, form: dict[str, str]) -> None:
    url = f"{hub.url}/webhooks/twilio/{channel_id}/status"
    form = {**form, "AccountSid": SANDBOX_SID}
    signature = RequestValidator(SANDBOX_TOKEN).compute_signature(url, form)
    assert httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}).status_code == 204


def test_a_late_callback_and_a_reply_apply_to_an_archived_activity(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    hub = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        config = ids["config"]["id"]
        (act,) = send(api, config, [contact(phone(5))])
        delivered = wait_for(
            lambda: (a := api.ok("GET", f"/v1/outbound/activities/{act}"))["status"] == "delivered" and a, timeout=30
        )
        report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": config})
        wait_for(lambda: not hot(r, org["id"], [act]), timeout=30)
        assert api.ok("GET", f"/v1/outbound/activities/{act}") == delivered
        # Nothing of it is left in Redis but the customer's correlation pointer.
        sid = delivered["provider_message_id"]
        assert not r.exists(f"{keys.org_prefix(org['id'])}:sid:{sid}")

        # Days later, the customer reads it; the provider repeats itself.
        for _ in range(3):
            callback(hub, ids["channel"]["id"], {"MessageSid": sid, "MessageStatus": "read"})
        read = wait_for(
            lambda: (a := api.ok("GET", f"/v1/outbound/activities/{act}"))["status"] == "read" and a, timeout=30
        )
        assert read["history"][:-1] == delivered["history"]
        assert [(e["status"], e["source"]) for e in read["history"][-1:]] == [("read", "callback")]
        assert read["delivered_at"] == delivered["delivered_at"]
        after = api.ok("GET", "/v1/outbound/report", params={"configuration_id": config})
        assert after["counts"] == {
            **report["counts"],
            "delivered": report["counts"]["delivered"] - 1,
            "read": report["counts"]["read"] + 1,
        }
        assert after["time_to_deliver"] == report["time_to_deliver"]
        # A lower status changes nothing but the history, once.
        for _ in range(2):
            callback(
                hub, ids["channel"]["id"], {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
            )
        wait_for(
            lambda: len(api.ok("GET", f"/v1/outbound/activities/{act}")["history"]) == len(read["history"]) + 1,
            timeout=30,
        )
        final = api.ok("GET", f"/v1/outbound/activities/{act}")
        assert final["status"] == "read" and final["error_code"] is None
        assert final["history"][-1]["error_code"] == "30003"
        assert pages(api, "/v1/outbound/activities", status="read") == [
            {k: v for k, v in api.ok("GET", f"/v1/outbound/activities/{act}").items() if k != "history"}
        ]

        # And answers: the conversation shows the activity it answers.
        reply = httpx.post(
            sandbox.url + "/_sandbox/replies",
            json={
                "account_sid": SANDBOX_SID,
                "from": phone(5),
                "to": SENDER,
                "body": "Thanks",
                "url": f"{hub.url}/webhooks/twilio/{ids['channel']['id']}/inbound",
            },
        )
        assert reply.status_code == 200, reply.text
        (conv,) = wait_for(lambda: api.ok("GET", "/v1/conversations")["items"], timeout=30)
        assert conv["correlated"] is True
        assert conv["activity"] == {
            "id": act,
            "body": delivered["body"],
            "configuration_id": config,
            "configuration_name": "Case updates",
            "case_name": "CAS-1",
            "customer_name": "Ada",
            "sent_at": delivered["created_at"],
            "locale": delivered["locale"],
        }


def test_a_process_killed_mid_sweep_loses_nothing(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    first = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="0")
    org = create_org(first.url)
    with Api(first.url, org["api_key"]) as api:
        config = outbound_setup(api, sandbox.url)["config"]["id"]
        acts: list[str] = []
        for n in range(3):
            acts += send(api, config, [contact(phone(100 * n + i)) for i in range(50)])
        wait_for(
            lambda: settled_and_archived(api, r, database_url, org["id"], acts, ["delivered"] * len(acts)), timeout=60
        )
        before = {a: api.ok("GET", f"/v1/outbound/activities/{a}") for a in acts}
        listed = pages(api, "/v1/outbound/activities", limit=40)
    first.stop()

    second = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    wait_for(lambda: len(hot(r, org["id"], acts)) < len(acts), timeout=30, interval=0.005)
    second.kill()

    third = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    with Api(third.url, org["api_key"]) as api:
        wait_for(lambda: not hot(r, org["id"], acts), timeout=30)
        assert {a: api.ok("GET", f"/v1/outbound/activities/{a}") for a in acts} == before
        assert pages(api, "/v1/outbound/activities", limit=40) == listed
