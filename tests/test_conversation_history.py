"""Conversations and their messages reach SQL on every change; HUB_HOT_SECONDS
after a conversation closed it leaves Redis, and every read answers for it
from SQL exactly as before (SQLite and PostgreSQL). A reply days later opens
a linked, correlated conversation; a late status for an agent's reply applies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import redis
from twilio.request_validator import RequestValidator

from hub.storage import keys
from hub.storage.archive_queue import GROUP
from hub.storage.conversations import public_conversation
from hub.storage.sql import open_database
from hub.storage.sql.conversations import records
from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.sql_support import SqlWriteLock
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
    poll,
    wait_for,
)

Start = Callable[..., HubProcess]


def reads(api: Api, convs: list[str]) -> dict[str, Any]:
    """What the API answers about these conversations, every way it can be asked."""
    return {
        "conversations": {c: api.ok("GET", f"/v1/conversations/{c}") for c in convs},
        "list": pages(api, "/v1/conversations", limit=2),
        "closed": pages(api, "/v1/conversations", status="closed", limit=1),
        "assigned": pages(api, "/v1/conversations", status="assigned"),
        "timeline": pages(api, f"/v1/contacts/{phone(1)}/timeline", limit=2),
        "timeline_2": pages(api, f"/v1/contacts/{phone(2)}/timeline", limit=1),
    }


def sql_conversations(url: str, org_id: str, ids: list[str]) -> dict[str, Any]:
    """The conversations as SQL holds them, in the API's shape."""

    async def go() -> dict[str, Any]:
        db = await open_database(url)
        try:
            found = await records(db, org_id, ids, messages=True, min_created_ms=0)
            return {i: public_conversation(raw, messages) for i, (raw, messages) in found.items()}
        finally:
            await db.close()

    return asyncio.run(go())


def sql_counts(url: str, org_id: str) -> tuple[int, int]:
    async def go() -> tuple[int, int]:
        db = await open_database(url)
        try:
            convs = await db.fetchval("SELECT COUNT(*) FROM conversations WHERE org_id = ?", org_id)
            messages = await db.fetchval("SELECT COUNT(*) FROM conversation_messages WHERE org_id = ?", org_id)
            return int(convs), int(messages)
        finally:
            await db.close()

    return asyncio.run(go())


def archived(api: Api, url: str, org_id: str, convs: list[str]) -> dict[str, Any] | None:
    """The API's answers, once SQL holds exactly the same."""
    views = {c: api.ok("GET", f"/v1/conversations/{c}") for c in convs}
    return views if sql_conversations(url, org_id, convs) == views else None


def hot(r: redis.Redis, org_id: str, convs: list[str]) -> list[str]:
    return [c for c in convs if r.exists(keys.conversation(org_id, c))]


def callback(hub: HubProcess, channel_id: str, form: dict[str, str]) -> None:
    url = f"{hub.url}/webhooks/twilio/{channel_id}/status"
    form = {**form, "AccountSid": SANDBOX_SID}
    signature = RequestValidator(SANDBOX_TOKEN).compute_signature(url, form)
    assert httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}).status_code == 204


async def conversation_of(agent: AgentClient, customer: str, *, not_: tuple[str, ...] = ()) -> dict[str, Any]:
    frame = await agent.wait(
        lambda f: (
            f["type"] == "conversation.assigned"
            and f["conversation"]["customer"] == customer
            and f["conversation"]["id"] not in not_
        ),
        timeout=30,
    )
    return frame["conversation"]  # type: ignore[no-any-return]


async def reply_and_close(agent: AgentClient, conv: str, body: str) -> None:
    assert (await agent.command({"type": "reply", "conversation_id": conv, "body": body, "client_id": "c-" + conv}))[
        "type"
    ] == "ack"
    await agent.wait(
        lambda f: f["type"] == "message.status" and f["conversation_id"] == conv and f["status"] == "delivered",
        timeout=30,
    )
    assert (await agent.command({"type": "close", "conversation_id": conv}))["type"] == "ack"


async def test_conversations_read_the_same_before_and_after_the_hot_window(
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
        channel = ids["channel"]["id"]
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(1)), contact(phone(2))]},
        )
        act = answer["results"][0]["activity_id"]
        wait_for(lambda: api.ok("GET", f"/v1/outbound/activities/{act}")["status"] == "delivered", timeout=30)
        create_agent(api, "ana@example.com", capacity=5)
        agent = await AgentClient(first.url, login(first.url, "ana@example.com")).connect()
        try:
            convs = []
            # Correlated, answered, closed; then the customer writes again.
            await customer_replies(sandbox.url, first.url, channel, phone(1), "Is it fixed?", SENDER)
            a = await conversation_of(agent, phone(1))
            await customer_replies(sandbox.url, first.url, channel, phone(1), "Really?", SENDER)
            await reply_and_close(agent, a["id"], "Yes, all done.")
            await customer_replies(sandbox.url, first.url, channel, phone(1), "One more thing", SENDER)
            b = await conversation_of(agent, phone(1), not_=(a["id"],))
            await reply_and_close(agent, b["id"], "Sure.")
            # Another customer's, closed with no answer; and one left open.
            await customer_replies(sandbox.url, first.url, channel, phone(2), "Hello?", SENDER)
            c = await conversation_of(agent, phone(2))
            assert (await agent.command({"type": "close", "conversation_id": c["id"]}))["type"] == "ack"
            await customer_replies(sandbox.url, first.url, channel, phone(3), "Anyone?", SENDER)
            d = await conversation_of(agent, phone(3))
            convs = [a["id"], b["id"], c["id"], d["id"]]
            views = await poll(lambda: archived(api, database_url, org["id"], convs), timeout=30)
        finally:
            await agent.close()
        assert views[b["id"]]["previous_conversation_id"] == a["id"]
        assert [m["status"] for m in views[a["id"]]["messages"] if m["direction"] == "outbound"] == ["delivered"]
        before = reads(api, convs)
        reply_sid = next(
            m.resource["sid"]
            for m in sandbox.state.list_messages(SANDBOX_SID, to=phone(1))
            if m.resource["body"] == "Yes, all done."
        )
    first.stop()
    assert len(before["timeline"]) == 6 and len(before["closed"]) == 3 and len(before["list"]) == 4

    second = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    closed = convs[:3]
    with Api(second.url, org["api_key"]) as api:
        await poll(lambda: not hot(r, org["id"], closed), timeout=30)
        # Gone from Redis with their messages and index entries; the open one stays.
        assert hot(r, org["id"], convs) == [d["id"]]
        for conv in closed:
            assert not r.exists(keys.conversation_messages(org["id"], conv))
            assert not r.exists(keys.conversation_reply_statuses(org["id"], conv))
        assert r.zrange(keys.conversations(org["id"]), 0, -1) == [d["id"]]
        assert not any(m.startswith("msg:") for m in r.zrange(keys.timeline(org["id"], phone(1)), 0, -1))
        assert reads(api, convs) == before

        # An archived conversation is closed, not missing, to its agent.
        agent = await AgentClient(second.url, login(second.url, "ana@example.com")).connect()
        try:
            refused = await agent.command({"type": "close", "conversation_id": a["id"]})
            assert refused["type"] == "error" and refused["error"]["code"] == "conversation_closed"

            # Days later: the customer reads the agent's reply, the provider says so twice.
            for _ in range(2):
                callback(second, channel, {"MessageSid": reply_sid, "MessageStatus": "read"})
            await poll(
                lambda: api.ok("GET", f"/v1/conversations/{a['id']}")["messages"][2]["status"] == "read", timeout=30
            )
            after = api.ok("GET", f"/v1/conversations/{a['id']}")
            assert after["messages"][2] == {**before["conversations"][a["id"]]["messages"][2], "status": "read"}
            assert not hot(r, org["id"], [a["id"]])

            # And writes again: a new conversation, linked to the archived one,
            # correlated to the message it answers.
            await customer_replies(sandbox.url, second.url, channel, phone(1), "Back again", SENDER)
            e = await conversation_of(agent, phone(1), not_=(a["id"], b["id"]))
        finally:
            await agent.close()
        assert e["previous_conversation_id"] == b["id"]
        assert e["activity"] == before["conversations"][a["id"]]["activity"]
        assert e["activity"]["id"] == act
        listed = api.ok("GET", "/v1/conversations", params={"limit": 3})["items"]
        assert [i["id"] for i in listed] == [e["id"], d["id"], c["id"]]


def pending(r: redis.Redis, stream: str) -> int:
    try:
        return int(r.xpending(stream, GROUP)["pending"])
    except redis.ResponseError:
        return 0


def test_a_process_killed_mid_archive_loses_and_doubles_no_conversation(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    first = hub_factory(DATABASE_URL=database_url)
    org = create_org(first.url)
    stream = keys.archive_stream(org["id"])
    with Api(first.url, org["api_key"]) as api:
        channel = outbound_setup(api, sandbox.url)["channel"]["id"]
        lock = SqlWriteLock(database_url, ("conversations", "conversation_messages"))
        lock.take()
        try:
            for i in range(6):
                asyncio.run(customer_replies(sandbox.url, first.url, channel, phone(i), f"hello {i}", SENDER))
            asyncio.run(customer_replies(sandbox.url, first.url, channel, phone(0), "again", SENDER))
            convs = wait_for(lambda: len(c := pages(api, "/v1/conversations")) == 6 and c, timeout=30)
            views = {c["id"]: api.ok("GET", f"/v1/conversations/{c['id']}") for c in convs}
            # The process holds a batch it read and could not write yet.
            wait_for(lambda: pending(r, stream) > 0, timeout=15)
            assert sql_counts(database_url, org["id"]) == (0, 0)
            first.kill()
        finally:
            lock.release()
    hub_factory(DATABASE_URL=database_url, HUB_CLAIM_IDLE_MS="500")
    wait_for(lambda: sql_conversations(database_url, org["id"], list(views)) == views, timeout=30)
    wait_for(lambda: pending(r, stream) == 0 and r.xlen(stream) == 0, timeout=15)
    assert sql_counts(database_url, org["id"]) == (6, 7)
