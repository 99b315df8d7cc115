"""What an agent sends that is not a good command gets an error frame, and
the socket stays up; transfers go only to queues that exist."""

from __future__ import annotations

import json

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SENDER, Api, outbound_setup, phone


async def connected(api: Api, hub_url: str, email: str, **kw) -> AgentClient:  # type: ignore[no-untyped-def]
    create_agent(api, email, **kw)
    return await AgentClient(hub_url, login(hub_url, email)).connect()


async def still_up(agent: AgentClient) -> None:
    assert (await agent.command({"type": "presence", "status": "available"}))["type"] == "ack"


async def assigned_conversation(api: Api, hub, sandbox, agent: AgentClient, customer: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    ids = outbound_setup(api, sandbox.url)
    await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], customer, "Hello?", SENDER)
    frame = await agent.wait(lambda f: f["type"] == "conversation.assigned")
    return frame["conversation"]  # type: ignore[no-any-return]


async def test_frames_that_are_no_command_get_an_error_and_the_socket_stays(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    agent = await connected(api, hub.url, "val@example.com")
    try:
        conv = await assigned_conversation(api, hub, sandbox, agent, phone(31))

        mark = len(agent.frames)
        await agent.ws.send(b'{"type": "presence", "status": "away"}')
        error = await agent.wait(lambda f: f["type"] == "error", start=mark)
        assert error["error"]["code"] == "invalid_command" and "binary" in error["error"]["message"]
        await still_up(agent)

        mark = len(agent.frames)
        await agent.ws.send("[" * 30_000 + "]" * 30_000)
        error = await agent.wait(lambda f: f["type"] == "error", start=mark)
        assert error["error"]["code"] == "invalid_command"
        nested = {"type": "presence", "status": "available", "client_id": "deep"}
        nested["x"] = json.loads("[" * 50 + "]" * 50)
        refused = await agent.command(nested)
        assert refused["type"] == "error" and refused["error"]["code"] == "invalid_command"
        await still_up(agent)

        # A lone surrogate (as JSON escapes it) in a reply to a real conversation.
        refused = await agent.command(
            {"type": "reply", "conversation_id": conv["id"], "body": "fixed \udfff", "client_id": "r1"}
        )
        assert refused["type"] == "error" and refused["error"]["details"] == {"field": "body"}
        refused = await agent.command({"type": "close", "conversation_id": "conv_\udfff"})
        assert refused["type"] == "error" and refused["error"]["details"] == {"field": "conversation_id"}
        replied = await agent.command(
            {"type": "reply", "conversation_id": conv["id"], "body": "It is fixed.", "client_id": "r2"}
        )
        assert replied["type"] == "ack"
        await agent.wait(lambda f: f["type"] == "message.created" and f["message"].get("body") == "It is fixed.")
    finally:
        await agent.close()


async def test_a_transfer_to_a_queue_that_does_not_exist_changes_nothing(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    agent = await connected(api, hub.url, "wes@example.com")
    create_agent(api, "xia@example.com", queues=["billing"])
    try:
        conv = await assigned_conversation(api, hub, sandbox, agent, phone(32))

        refused = await agent.command({"type": "transfer", "conversation_id": conv["id"], "queue": "nowhere"})
        assert refused["type"] == "error"
        assert refused["error"]["code"] == "queue_not_found"
        assert refused["error"]["details"] == {"field": "queue"}
        still = api.ok("GET", f"/v1/conversations/{conv['id']}")
        assert (still["status"], still["agent_id"]) == ("assigned", agent.frames[0]["agent"]["id"])
        assert not agent.of_type("conversation.transferred")

        # A queue some agent serves exists (its agent is offline: it waits there).
        moved = await agent.command({"type": "transfer", "conversation_id": conv["id"], "queue": "billing"})
        assert moved["type"] == "ack"
        await agent.wait(lambda f: f["type"] == "conversation.transferred")
        waiting = api.ok("GET", f"/v1/conversations/{conv['id']}")
        assert (waiting["status"], waiting["queue"]) == ("waiting", "billing")
    finally:
        await agent.close()


async def test_a_queue_named_only_by_a_configuration_exists(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    agent = await connected(api, hub.url, "yan@example.com")
    try:
        conv = await assigned_conversation(api, hub, sandbox, agent, phone(33))
        ids = outbound_setup(api, sandbox.url, address="+14155550102")
        api.ok("PATCH", f"/v1/outbound-configurations/{ids['config']['id']}", json={"queue": "escalations"})
        moved = await agent.command({"type": "transfer", "conversation_id": conv["id"], "queue": "escalations"})
        assert moved["type"] == "ack", moved
    finally:
        await agent.close()
