"""Agents see the whole customer: the timeline of a customer they serve or
have served (hot and archived), and nobody else's (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
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
    poll,
)

Start = Callable[..., HubProcess]


def timeline(base_url: str, token: str, customer: str) -> httpx.Response:
    return httpx.get(
        f"{base_url}/v1/contacts/{customer}/timeline",
        params={"limit": 200},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


async def assigned(agent: AgentClient, customer: str, *, not_: tuple[str, ...] = ()) -> dict[str, Any]:
    frame = await agent.wait(
        lambda f: (
            f["type"] == "conversation.assigned"
            and f["conversation"]["customer"] == customer
            and f["conversation"]["id"] not in not_
        ),
        timeout=30,
    )
    return frame["conversation"]  # type: ignore[no-any-return]


async def test_an_agent_reads_the_timeline_of_customers_it_serves_and_no_other(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    hub = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    org, other = create_org(hub.url), create_org(hub.url, name="Other org")
    with Api(hub.url, org["api_key"]) as api, Api(hub.url, other["api_key"]) as other_api:
        ids = outbound_setup(api, sandbox.url)
        channel = ids["channel"]["id"]
        sent = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(1))]},
        )
        act = sent["results"][0]["activity_id"]
        create_agent(api, "ana@example.com", queues=["default"])
        create_agent(api, "bo@example.com", queues=["vip"])
        other_ids = outbound_setup(other_api, sandbox.url, address="+14155550199")
        create_agent(other_api, "cy@example.com")
        ana_token, bo_token = login(hub.url, "ana@example.com"), login(hub.url, "bo@example.com")
        cy_token = login(hub.url, "cy@example.com")
        ana = await AgentClient(hub.url, ana_token).connect()
        cy = await AgentClient(hub.url, cy_token).connect()
        try:
            # An earlier conversation, closed and archived out of Redis; then an open one.
            await customer_replies(sandbox.url, hub.url, channel, phone(1), "Is it fixed?", SENDER)
            first = await assigned(ana, phone(1))
            assert (await ana.command({"type": "close", "conversation_id": first["id"]}))["type"] == "ack"
            await poll(lambda: not r.exists(keys.conversation(org["id"], first["id"])), timeout=30)
            await customer_replies(sandbox.url, hub.url, channel, phone(1), "Back again", SENDER)
            second = await assigned(ana, phone(1), not_=(first["id"],))
            # Served, then handed on: still a customer the agent has served.
            await customer_replies(sandbox.url, hub.url, channel, phone(4), "Help", SENDER)
            handed = await assigned(ana, phone(4))
            assert (await ana.command({"type": "transfer", "conversation_id": handed["id"], "queue": "vip"}))[
                "type"
            ] == "ack"
            # The other org's agent serves phone(2) there.
            await customer_replies(sandbox.url, hub.url, other_ids["channel"]["id"], phone(2), "Hi", "+14155550199")
            await assigned(cy, phone(2))
        finally:
            await ana.close()
            await cy.close()

        answer = timeline(hub.url, ana_token, phone(1))
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        assert [i["activity"]["id"] for i in items if i["kind"] == "activity"] == [act]
        bodies = {(i["conversation_id"], i["message"]["body"]) for i in items if i["kind"] == "message"}
        assert bodies == {(first["id"], "Is it fixed?"), (second["id"], "Back again")}
        # As the org's API key reads it.
        assert items == api.ok("GET", f"/v1/contacts/{phone(1)}/timeline", params={"limit": 200})["items"]

        # Not a customer of theirs: in the documented error shape.
        for token, customer in [
            (bo_token, phone(1)),
            (ana_token, phone(2)),
            (cy_token, phone(1)),
            (ana_token, phone(3)),
        ]:
            refused = timeline(hub.url, token, customer)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "not_your_customer"
        assert timeline(hub.url, cy_token, phone(2)).status_code == 200
        assert timeline(hub.url, ana_token, phone(4)).status_code == 200
        assert timeline(hub.url, "at_nobody", phone(1)).status_code == 401


async def test_an_internal_note_is_kept_with_the_conversation_and_never_sent(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    hub = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    org, other = create_org(hub.url), create_org(hub.url, name="Other org")
    with Api(hub.url, org["api_key"]) as api, Api(hub.url, other["api_key"]) as other_api:
        ids = outbound_setup(api, sandbox.url)
        channel = ids["channel"]["id"]
        create_agent(api, "ana@example.com")
        create_agent(other_api, "cy@example.com")
        ana = await AgentClient(hub.url, login(hub.url, "ana@example.com")).connect()
        cy = await AgentClient(hub.url, login(hub.url, "cy@example.com")).connect()
        try:
            await customer_replies(sandbox.url, hub.url, channel, phone(1), "My parcel is late", SENDER)
            conv = (await assigned(ana, phone(1)))["id"]
            note = {"type": "note", "conversation_id": conv, "body": "Called the courier: Friday", "client_id": "n-1"}
            assert (await ana.command(dict(note)))["type"] == "ack"
            pushed = await ana.wait(lambda f: f["type"] == "message.created" and f["message"]["direction"] == "note")
            assert pushed["conversation_id"] == conv
            assert (await ana.command(dict(note)))["type"] == "ack"  # the same client_id: once
            # Another org's agent cannot write on it.
            refused = await cy.command({**note, "client_id": "n-x"})
            assert refused["type"] == "error" and refused["error"]["code"] == "not_found"
            assert (
                await ana.command(
                    {"type": "reply", "conversation_id": conv, "body": "It arrives on Friday.", "client_id": "r-1"}
                )
            )["type"] == "ack"
            await ana.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered", timeout=30)
            hot_view = api.ok("GET", f"/v1/conversations/{conv}")
            assert (await ana.command({"type": "close", "conversation_id": conv}))["type"] == "ack"
            await poll(lambda: not r.exists(keys.conversation(org["id"], conv)), timeout=30)
        finally:
            await ana.close()
            await cy.close()

        bodies = [m.resource["body"] for m in sandbox.state.list_messages(SANDBOX_SID, to=phone(1))]
        assert "It arrives on Friday." in bodies and "Called the courier: Friday" not in bodies
        notes = [m for m in hot_view["messages"] if m["direction"] == "note"]
        assert [(n["body"], n["agent_id"]) for n in notes] == [("Called the courier: Friday", ana_id(api))]
        assert "status" not in notes[0]
        # Archived to SQL and read back from there, unchanged.
        archived = api.ok("GET", f"/v1/conversations/{conv}")
        assert archived["status"] == "closed" and archived["messages"] == hot_view["messages"]
        items = api.ok("GET", f"/v1/contacts/{phone(1)}/timeline")["items"]
        assert [
            i["message"]["body"] for i in items if i["kind"] == "message" and i["message"]["direction"] == "note"
        ] == ["Called the courier: Friday"]
        # Another org sees none of it.
        assert other_api.get(f"/v1/conversations/{conv}").status_code == 404
        assert other_api.ok("GET", f"/v1/contacts/{phone(1)}/timeline")["items"] == []


def ana_id(api: Api) -> str:
    return next(a["id"] for a in api.ok("GET", "/v1/agents")["items"] if a["email"] == "ana@example.com")
