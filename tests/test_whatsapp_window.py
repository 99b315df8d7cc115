"""The WhatsApp 24-hour window at the agent's side: the conversation says
when it closes; once it has, free text is refused and the agent sends one of
the org's approved templates (by ContentSid, in the customer's locale)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from hub.storage import keys
from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SANDBOX_SID, Api, contact, phone, redis_client, wait_for
from tests.test_whatsapp import WA_SENDER, whatsapp_setup

FRENCH_SID = "HX" + "c" * 32


def whatsapp_to(sandbox: Any, customer: str) -> list[Any]:
    return list(sandbox.state.list_messages(SANDBOX_SID, to="whatsapp:" + customer))


async def test_once_the_window_closed_the_agent_sends_an_approved_template(
    api: Api, hub, sandbox, redis_url: str
) -> None:  # type: ignore[no-untyped-def]
    ids = whatsapp_setup(api, sandbox.url)
    channel = ids["channel"]["id"]
    approved = api.ok(
        "POST",
        "/v1/templates",
        201,
        json={
            "name": "Follow-up",
            "channel_types": ["whatsapp"],
            "default_locale": "en-US",
            "bodies": {
                "en-US": "Hi {{CustomerName}}, can we still help with {{CaseName}}?",
                "fr-FR": "Bonjour {{CustomerName}}, pouvons-nous encore aider pour {{CaseName}} ?",
            },
            "content_sids": {"en-US": "HX" + "b" * 32, "fr-FR": FRENCH_SID},
        },
    )
    unapproved = api.ok(
        "POST",
        "/v1/templates",
        201,
        json={
            "name": "Free text",
            "channel_types": ["whatsapp"],
            "default_locale": "en-US",
            "bodies": {"en-US": "Hello {{CustomerName}}"},
        },
    )
    customer = phone(14)
    api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={
            "configuration_id": ids["config"]["id"],
            "contacts": [contact(customer, channelid="whatsapp", locale="fr-CA")],
        },
    )
    wait_for(lambda: whatsapp_to(sandbox, customer), timeout=30)
    create_agent(api, "wa@example.com")
    token = login(hub.url, "wa@example.com")
    agent = await AgentClient(hub.url, token).connect()
    try:
        await customer_replies(
            sandbox.url, hub.url, channel, "whatsapp:" + customer, "Still waiting", "whatsapp:" + WA_SENDER
        )
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        assert abs(conv["whatsapp_window_closes_at"] - (time.time() + 24 * 3600)) < 120

        # A day and an hour later (the customer's last message, moved back in time).
        r = redis_client(redis_url)
        org_id = me(hub.url, token)["org_id"]
        r.hset(
            f"{keys.org_prefix(org_id)}:contact:{customer}", f"last_in:{channel}", int((time.time() - 25 * 3600) * 1000)
        )
        r.close()
        refused = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "Hello?"})
        assert refused["error"]["code"] == "whatsapp_window_closed"
        refused = await agent.command(
            {"type": "template", "conversation_id": conv["id"], "template_id": unapproved["id"]}
        )
        assert refused["error"]["code"] == "template_not_approved"
        ack = await agent.command(
            {"type": "template", "conversation_id": conv["id"], "template_id": approved["id"], "client_id": "t-1"}
        )
        assert ack["type"] == "ack", ack
        await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered", timeout=30)
    finally:
        await agent.close()

    sent = [m for m in whatsapp_to(sandbox, customer) if m.content_sid == FRENCH_SID]
    assert len(sent) == 1
    assert json.loads(sent[0].content_variables) == {"1": "Ada", "2": "CAS-1"}
    view = api.ok("GET", f"/v1/conversations/{conv['id']}")
    assert view["whatsapp_window_closes_at"] < time.time()
    last = view["messages"][-1]
    assert (last["direction"], last["template_id"], last["locale"], last["status"]) == (
        "outbound",
        approved["id"],
        "fr-FR",
        "delivered",
    )
    assert last["body"] == "Bonjour Ada, pouvons-nous encore aider pour CAS-1 ?"
    # The console's list: the approved templates only.
    offered = me(hub.url, token)["whatsapp_templates"]
    assert sorted(t["id"] for t in offered) == sorted([ids["template"]["id"], approved["id"]])


def me(base_url: str, token: str) -> dict[str, Any]:
    return dict(httpx.get(base_url + "/v1/agents/me", headers={"Authorization": f"Bearer {token}"}).json())
