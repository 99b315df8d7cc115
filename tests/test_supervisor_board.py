"""The supervisors' live board over the agent websocket (across hub
processes, one org only), and monitoring, whispering, taking over and
reassigning a conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SENDER, Api, HubProcess, create_org, outbound_setup, phone
from tests.test_supervisors import create_supervisor

Start = Callable[..., HubProcess]


def board_of(frame: dict[str, Any]) -> dict[str, Any]:
    return frame["board"]  # type: ignore[no-any-return]


def queue(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(q for q in board["queues"] if q["name"] == name)


def agent_row(board: dict[str, Any], agent_id: str) -> dict[str, Any]:
    return next(a for a in board["agents"] if a["id"] == agent_id)


async def test_agents_may_not_use_the_supervisors_commands(api: Api, hub: HubProcess, sandbox) -> None:  # type: ignore[no-untyped-def]
    create_agent(api, "ann@example.com")
    agent = await AgentClient(hub.url, login(hub.url, "ann@example.com")).connect()
    try:
        for frame in (
            {"type": "board.subscribe"},
            {"type": "monitor", "conversation_id": "conv_x"},
            {"type": "takeover", "conversation_id": "conv_x"},
        ):
            refused = await agent.command(frame)
            assert refused["type"] == "error" and refused["error"]["code"] == "supervisor_only", refused
        assert not agent.of_type("board")
    finally:
        await agent.close()


async def test_the_board_is_pushed_across_processes_and_shows_only_the_org(hub_factory: Start, sandbox) -> None:  # type: ignore[no-untyped-def]
    """The agent's socket and the webhooks on one process, the supervisor's on
    another: every change reaches the board without anyone asking."""
    one, two = hub_factory(), hub_factory()
    org, other = create_org(one.url), create_org(one.url, name="Other org")
    with Api(one.url, org["api_key"]) as api, Api(one.url, other["api_key"]) as other_api:
        ids = outbound_setup(api, sandbox.url)
        channel = ids["channel"]["id"]
        ann = create_agent(api, "ann@example.com", capacity=1)
        create_supervisor(api, "sue@example.com")
        create_supervisor(other_api, "oz@example.com")
        create_agent(other_api, "olga@example.com", queues=["default", "other"])
        sue = await AgentClient(two.url, login(two.url, "sue@example.com")).connect()
        oz = await AgentClient(two.url, login(two.url, "oz@example.com")).connect()
        agent = await AgentClient(one.url, login(one.url, "ann@example.com")).connect()
        try:
            assert (await sue.command({"type": "board.subscribe"}))["type"] == "ack"
            assert (await oz.command({"type": "board.subscribe"}))["type"] == "ack"
            first = board_of(await sue.wait(lambda f: f["type"] == "board"))
            row = agent_row(first, ann["id"])
            assert (row["presence"], row["open"], row["free_capacity"]) == ("available", 0, 1)
            assert row["presence_since"] is not None
            assert queue(first, "default") == {
                "name": "default",
                "waiting": 0,
                "longest_waiting_since": None,
                "agents": 1,
                "agents_available": 1,
                "free_capacity": 1,
            }

            # A customer writes (webhook on process one): assigned to the agent.
            await customer_replies(sandbox.url, one.url, channel, phone(1), "Hello?", SENDER)
            conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
            board = board_of(
                await sue.wait(lambda f: f["type"] == "board" and agent_row(f["board"], ann["id"])["open"] == 1)
            )
            row = agent_row(board, ann["id"])
            assert [c["id"] for c in row["conversations"]] == [conv["id"]]
            assert row["conversations"][0]["customer"] == phone(1)
            assert queue(board, "default")["free_capacity"] == 0

            # A second customer waits: the agent is at capacity.
            await customer_replies(sandbox.url, one.url, channel, phone(2), "Anyone?", SENDER)
            board = board_of(
                await sue.wait(lambda f: f["type"] == "board" and queue(f["board"], "default")["waiting"] == 1)
            )
            assert [w["customer"] for w in board["waiting"]] == [phone(2)]
            since = board["waiting"][0]["waiting_since"]
            assert queue(board, "default")["longest_waiting_since"] == since
            assert board["at"] - 30 < since <= board["at"]

            # Presence: the agent steps away.
            assert (await agent.command({"type": "presence", "status": "away"}))["type"] == "ack"
            board = board_of(
                await sue.wait(
                    lambda f: f["type"] == "board" and agent_row(f["board"], ann["id"])["presence"] == "away"
                )
            )
            assert agent_row(board, ann["id"])["presence_since"] >= row["presence_since"]
            assert queue(board, "default")["agents_available"] == 0

            # The other org's supervisor saw none of it.
            for frame in oz.of_type("board"):
                seen = frame["board"]
                assert {a["name"] for a in seen["agents"]} == {"oz", "olga"}
                assert all(q["waiting"] == 0 for q in seen["queues"])
                assert seen["waiting"] == []
            refused = await oz.command({"type": "monitor", "conversation_id": conv["id"]})
            assert refused["type"] == "error" and refused["error"]["code"] == "not_found"
            refused = await oz.command({"type": "takeover", "conversation_id": conv["id"]})
            assert refused["type"] == "error" and refused["error"]["code"] == "not_found"
            refused = await oz.command(
                {"type": "note", "conversation_id": conv["id"], "body": "psst", "client_id": "n1"}
            )
            assert refused["type"] == "error" and refused["error"]["code"] == "not_found"
        finally:
            for client in (sue, oz, agent):
                await client.close()


async def test_a_supervisor_monitors_whispers_takes_over_and_reassigns(hub_factory: Start, sandbox) -> None:  # type: ignore[no-untyped-def]
    one, two = hub_factory(), hub_factory()
    org = create_org(one.url)
    with Api(one.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        channel = ids["channel"]["id"]
        ann = create_agent(api, "ann@example.com")
        ben = create_agent(api, "ben@example.com", queues=["vip"])
        sup = create_supervisor(api, "sue@example.com")
        agent = await AgentClient(one.url, login(one.url, "ann@example.com")).connect()
        other = await AgentClient(one.url, login(one.url, "ben@example.com")).connect()
        sue = await AgentClient(two.url, login(two.url, "sue@example.com")).connect()
        try:
            await customer_replies(sandbox.url, one.url, channel, phone(3), "My order is late", SENDER)
            conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]

            assert (await sue.command({"type": "monitor", "conversation_id": conv["id"]}))["type"] == "ack"
            started = await sue.wait(lambda f: f["type"] == "monitor.started")
            assert [m["body"] for m in started["conversation"]["messages"]] == ["My order is late"]

            # Both sides, live: the agent's reply and the customer's next message.
            await agent.command(
                {"type": "reply", "conversation_id": conv["id"], "body": "Looking into it", "client_id": "r1"}
            )
            await customer_replies(sandbox.url, one.url, channel, phone(3), "Thanks", SENDER)
            for body in ("Looking into it", "Thanks"):
                await sue.wait(
                    lambda f, b=body: (
                        f["type"] == "monitor.message"
                        and f["conversation_id"] == conv["id"]
                        and f["message"]["body"] == b
                    )
                )

            # A whisper: the agent sees it, the customer never gets it.
            whisper = await sue.command(
                {"type": "note", "conversation_id": conv["id"], "body": "Offer a refund", "client_id": "w1"}
            )
            assert whisper["type"] == "ack", whisper
            seen = await agent.wait(
                lambda f: f["type"] == "message.created" and f["message"]["body"] == "Offer a refund"
            )
            assert seen["message"]["direction"] == "note"
            assert (seen["message"]["agent_id"], seen["message"]["author_role"]) == (sup["id"], "supervisor")
            await sue.wait(lambda f: f["type"] == "monitor.message" and f["message"]["body"] == "Offer a refund")
            stored = api.ok("GET", f"/v1/conversations/{conv['id']}")
            assert [m["direction"] for m in stored["messages"]] == ["inbound", "outbound", "inbound", "note"]
            sent = httpx.get(sandbox.url + "/_sandbox/messages", params={"to": phone(3)}).json()
            assert all("refund" not in m["body"] for m in sent["items"]), sent

            # Take over: the supervisor is now the conversation's agent and answers.
            assert (await sue.command({"type": "takeover", "conversation_id": conv["id"]}))["type"] == "ack"
            await agent.wait(
                lambda f: (
                    f["type"] == "conversation.transferred"
                    and f["conversation_id"] == conv["id"]
                    and f["to_agent_id"] == sup["id"]
                )
            )
            taken = await sue.wait(lambda f: f["type"] == "conversation.assigned")
            assert taken["conversation"]["id"] == conv["id"]
            await sue.wait(lambda f: f["type"] == "monitor.conversation" and f["conversation"]["agent_id"] == sup["id"])
            answer = await sue.command(
                {"type": "reply", "conversation_id": conv["id"], "body": "Refund on its way", "client_id": "r2"}
            )
            assert answer["type"] == "ack", answer

            # Reassign to another agent (of another queue), as any conversation.
            moved = await sue.command({"type": "transfer", "conversation_id": conv["id"], "agent_id": ben["id"]})
            assert moved["type"] == "ack", moved
            handed = await other.wait(lambda f: f["type"] == "conversation.assigned")
            assert handed["conversation"]["id"] == conv["id"]
            assert api.ok("GET", f"/v1/conversations/{conv['id']}")["agent_id"] == ben["id"]

            # The agent's own transfer rules are unchanged: not its conversation.
            refused = await agent.command({"type": "transfer", "conversation_id": conv["id"], "queue": "default"})
            assert refused["type"] == "error" and refused["error"]["code"] == "not_your_conversation"
            assert ann["role"] == "agent"
        finally:
            for client in (sue, agent, other):
                await client.close()


async def test_supervisors_of_one_org_share_a_process_and_one_leaving_stops_nothing(
    api: Api, hub: HubProcess, sandbox, r
) -> None:  # type: ignore[no-untyped-def]
    from hub.storage import keys

    ids = outbound_setup(api, sandbox.url)
    ann = create_agent(api, "ann@example.com")
    create_supervisor(api, "sue@example.com")
    create_supervisor(api, "sid@example.com")
    assert not r.exists(keys.board_watch(api.org["id"]))  # type: ignore[attr-defined]  # nobody watches yet
    sue = await AgentClient(hub.url, login(hub.url, "sue@example.com")).connect()
    sid = await AgentClient(hub.url, login(hub.url, "sid@example.com")).connect()
    agent = await AgentClient(hub.url, login(hub.url, "ann@example.com")).connect()
    try:
        for boss in (sue, sid):
            assert (await boss.command({"type": "board.subscribe"}))["type"] == "ack"
        assert r.pttl(keys.board_watch(api.org["id"])) > 0  # type: ignore[attr-defined]
        await sue.close()
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(5), "Hi", SENDER)
        board = board_of(
            await sid.wait(lambda f: f["type"] == "board" and agent_row(f["board"], ann["id"])["open"] == 1)
        )
        assert agent_row(board, ann["id"])["conversations"][0]["customer"] == phone(5)
        # board.unsubscribe: no more boards for this socket.
        assert (await sid.command({"type": "board.unsubscribe"}))["type"] == "ack"
        mark = len(sid.frames)
        assert (await agent.command({"type": "presence", "status": "away"}))["type"] == "ack"
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(6), "Hello", SENDER)
        await asyncio.sleep(1.0)  # a board would have come by now (at most 0.2 s apart)
        assert not [f for f in sid.frames[mark:] if f["type"] == "board"]
    finally:
        for client in (sid, agent):
            await client.close()
