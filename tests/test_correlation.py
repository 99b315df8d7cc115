"""A reply is linked to the message it answers, with two cases open for one
customer: the message the provider names (a WhatsApp quoted reply), else the
one whose case (or other configured key) the reply mentions, else the latest;
the conversation says which and how, to the API and the agent, and keeps
saying it once archived."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from hub.storage import keys
from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import (
    SANDBOX_SID,
    SENDER,
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    phone,
    redis_client,
    wait_for,
)
from tests.test_whatsapp import WA_SENDER, whatsapp_setup

Start = Callable[..., HubProcess]


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis_client(redis_url)
    yield client
    client.close()


def send_cases(
    api: Api, config_id: str, customer: str, cases: list[str], channelid: str = "sms", **extra: Any
) -> list[str]:
    """One message per case, in order: each taken by the provider before the next is sent."""
    sent = []
    for case in cases:
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={
                "configuration_id": config_id,
                "contacts": [contact(customer, channelid=channelid, CaseName=case, **extra.get(case, {}))],
            },
        )
        act = answer["results"][0]["activity_id"]
        wait_for(
            lambda act=act: api.ok("GET", f"/v1/outbound/activities/{act}")["status"] in ("delivered", "read"),
            timeout=30,
        )
        sent.append(act)
    return sent


async def assigned(agent: AgentClient, customer: str) -> dict[str, Any]:
    frame = await agent.wait(
        lambda f: f["type"] == "conversation.assigned" and f["conversation"]["customer"] == customer, timeout=30
    )
    return frame["conversation"]  # type: ignore[no-any-return]


async def test_sms_replies_link_to_the_case_they_name_else_to_the_latest(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    channel, config = ids["channel"]["id"], ids["config"]["id"]
    assert ids["config"]["correlation_keys"] == ["case_name"]
    # An order number is a key too, for this configuration.
    updated = api.ok(
        "PATCH", f"/v1/outbound-configurations/{config}", json={"correlation_keys": ["case_name", "order"]}
    )
    assert updated["correlation_keys"] == ["case_name", "order"]
    refused = api.patch(f"/v1/outbound-configurations/{config}", json={"correlation_keys": "order"})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"field": "correlation_keys"}

    older, newer = send_cases(api, config, phone(1), ["CAS-100", "CAS-200"])
    latest_older, latest_newer = send_cases(api, config, phone(2), ["CAS-300", "CAS-400"])
    ordered = send_cases(
        api,
        config,
        phone(3),
        ["CAS-500", "CAS-600"],
        **{
            "CAS-500": {"contextitems": {"state": "shipped", "order": "ORD-5551"}},
            "CAS-600": {"contextitems": {"state": "shipped", "order": "ORD-5552"}},
        },
    )
    create_agent(api, "corr@example.com", capacity=5)
    agent = await AgentClient(hub.url, login(hub.url, "corr@example.com")).connect()
    try:
        # (b) The reply names the older case: linked to it.
        await customer_replies(sandbox.url, hub.url, channel, phone(1), "Any news on cas-100?", SENDER)
        by_content = await assigned(agent, phone(1))
        # (c) It names neither: the latest.
        await customer_replies(sandbox.url, hub.url, channel, phone(2), "Is it fixed?", SENDER)
        by_latest = await assigned(agent, phone(2))
        # A context item the configuration marks as a key.
        await customer_replies(sandbox.url, hub.url, channel, phone(3), "Where is ORD-5551?", SENDER)
        by_order = await assigned(agent, phone(3))
    finally:
        await agent.close()

    assert by_content["correlation"] == {"activity_id": older, "method": "content_match"}
    assert by_content["activity"]["id"] == older and by_content["activity"]["case_name"] == "CAS-100"
    assert by_latest["correlation"] == {"activity_id": latest_newer, "method": "latest"}
    assert by_latest["activity"]["case_name"] == "CAS-400"
    assert by_order["correlation"] == {"activity_id": ordered[0], "method": "content_match"}
    # The API says the same as the agent's frames.
    for conv in (by_content, by_latest, by_order):
        assert api.ok("GET", f"/v1/conversations/{conv['id']}")["correlation"] == conv["correlation"]
    assert newer != older and latest_older != latest_newer


async def test_a_whatsapp_quoted_reply_links_to_the_message_it_quotes(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = whatsapp_setup(api, sandbox.url)
    channel, config = ids["channel"]["id"], ids["config"]["id"]
    quoted, other = send_cases(api, config, phone(11), ["CAS-700", "CAS-800"], channelid="whatsapp")
    unknown, _ = send_cases(api, config, phone(12), ["CAS-710", "CAS-810"], channelid="whatsapp")
    (own,) = send_cases(api, config, phone(13), ["CAS-720"], channelid="whatsapp")
    quoted_sid = api.ok("GET", f"/v1/outbound/activities/{quoted}")["provider_message_id"]
    create_agent(api, "wa-corr@example.com", capacity=5)
    agent = await AgentClient(hub.url, login(hub.url, "wa-corr@example.com")).connect()

    async def reply(customer: str, body: str, replied_to: str) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                sandbox.url + "/_sandbox/replies",
                json={
                    "account_sid": SANDBOX_SID,
                    "from": "whatsapp:" + customer,
                    "to": "whatsapp:" + WA_SENDER,
                    "body": body,
                    "replied_to": replied_to,
                    "url": f"{hub.url}/webhooks/twilio/{channel}/inbound",
                },
            )
        assert response.json()["status"] == 200

    try:
        # (a) The customer quotes the older message (and names the newer case):
        # the provider's word wins.
        await reply(phone(11), "Thanks! And CAS-800?", quoted_sid)
        by_provider = await assigned(agent, phone(11))
        # A quoted message the hub does not know: the next method decides.
        await reply(phone(12), "About CAS-710", "SM" + "0" * 32)
        fell_through = await assigned(agent, phone(12))
        # One quoting a message sent to someone else (no such quote comes from
        # a real provider): the hub does not take another customer's message.
        other_sid = api.ok("GET", f"/v1/outbound/activities/{other}")["provider_message_id"]
        await reply(phone(13), "Hello", other_sid)
        not_theirs = await assigned(agent, phone(13))
    finally:
        await agent.close()
    assert by_provider["correlation"] == {"activity_id": quoted, "method": "provider_context"}
    assert by_provider["activity"]["case_name"] == "CAS-700"
    assert fell_through["correlation"] == {"activity_id": unknown, "method": "content_match"}
    assert not_theirs["correlation"] == {"activity_id": own, "method": "latest"}


async def test_the_correlation_survives_the_hot_window_and_archiving(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    hub = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        channel = ids["channel"]["id"]
        older, newer = send_cases(api, ids["config"]["id"], phone(1), ["CAS-100", "CAS-200"])
        quoted, latest = send_cases(api, ids["config"]["id"], phone(2), ["CAS-300", "CAS-400"])
        quoted_sid = api.ok("GET", f"/v1/outbound/activities/{quoted}")["provider_message_id"]
        # The activities leave Redis, with their provider-id pointers; what
        # correlation needs of them stays.
        gone = [older, newer, quoted, latest]
        await asyncio.to_thread(wait_for, lambda: not any(r.exists(keys.activity(org["id"], a)) for a in gone), 30)
        assert r.llen(keys.recent_outbound(org["id"], channel, phone(1))) == 2
        create_agent(api, "arch@example.com")
        agent = await AgentClient(hub.url, login(hub.url, "arch@example.com")).connect()
        try:
            await customer_replies(sandbox.url, hub.url, channel, phone(1), "CAS-100: still broken", SENDER)
            conv = await assigned(agent, phone(1))
            assert (await agent.command({"type": "close", "conversation_id": conv["id"]}))["type"] == "ack"
            async with httpx.AsyncClient(timeout=30) as client:
                await client.post(
                    sandbox.url + "/_sandbox/replies",
                    json={
                        "account_sid": SANDBOX_SID,
                        "from": phone(2),
                        "to": SENDER,
                        "body": "Thanks",
                        "replied_to": quoted_sid,
                        "url": f"{hub.url}/webhooks/twilio/{channel}/inbound",
                    },
                )
            by_provider = await assigned(agent, phone(2))
        finally:
            await agent.close()
        assert conv["correlation"] == {"activity_id": older, "method": "content_match"}
        assert conv["activity"]["id"] == older and conv["activity"]["case_name"] == "CAS-100"
        assert by_provider["correlation"] == {"activity_id": quoted, "method": "provider_context"}
        assert by_provider["activity"]["case_name"] == "CAS-300"
        # (d) Closed, archived and gone from Redis: SQL answers the same.
        await asyncio.to_thread(wait_for, lambda: not r.exists(keys.conversation(org["id"], conv["id"])), 30)
        archived = api.ok("GET", f"/v1/conversations/{conv['id']}")
        assert archived["correlation"] == conv["correlation"]
        assert archived["activity"]["case_name"] == "CAS-100"
