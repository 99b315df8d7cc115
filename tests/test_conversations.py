"""Replies become conversations routed to agents over the real websocket."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import websockets
from twilio.request_validator import RequestValidator

from hub.domain.keywords import OPT_OUT_CONFIRMATION
from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import (
    SANDBOX_SID,
    SANDBOX_TOKEN,
    SENDER,
    Api,
    contact,
    outbound_setup,
    phone,
    redis_client,
    wait_for,
)


async def connected_agent(api: Api, hub_url: str, email: str, **kw) -> AgentClient:  # type: ignore[no-untyped-def]
    create_agent(api, email, **kw)
    return await AgentClient(hub_url, login(hub_url, email)).connect()


def send_and_wait_sent(api: Api, config_id: str, number: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    answer = api.ok(
        "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(number, **extra)]}
    )
    activity_id = answer["results"][0]["activity_id"]
    return wait_for(
        lambda: (
            (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"]  # type: ignore[no-any-return]
            == "delivered"
            and a
        )
    )


async def test_reply_reaches_an_agent_with_the_message_it_answers_and_the_answer_goes_back(
    api: Api, hub, sandbox
) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    customer = phone(1)
    activity = send_and_wait_sent(api, ids["config"]["id"], customer, CaseName="CAS-42")
    agent = await connected_agent(api, hub.url, "ana@example.com")
    try:
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], customer, "Is it really fixed?", SENDER)
        assigned = await agent.wait(lambda f: f["type"] == "conversation.assigned")
        conv = assigned["conversation"]
        assert conv["customer"] == customer and conv["status"] == "assigned"
        assert conv["correlated"] is True
        assert conv["activity"]["id"] == activity["id"]
        assert conv["activity"]["body"] == activity["body"]
        assert conv["activity"]["case_name"] == "CAS-42"
        assert conv["activity"]["configuration_name"] == "Case updates"
        assert [m["body"] for m in conv["messages"]] == ["Is it really fixed?"]

        ack = await agent.command(
            {"type": "reply", "conversation_id": conv["id"], "body": "Yes, all done.", "client_id": "r1"}
        )
        assert ack["type"] == "ack"
        created = await agent.wait(lambda f: f["type"] == "message.created" and f["message"]["direction"] == "outbound")
        await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered")
        replies = [
            m for m in sandbox.state.list_messages(SANDBOX_SID, to=customer) if m.resource["body"] == "Yes, all done."
        ]
        assert len(replies) == 1 and replies[0].resource["from"] == SENDER

        # Later customer messages stay with the same agent, in the same conversation.
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], customer, "Thanks!", SENDER)
        later = await agent.wait(lambda f: f["type"] == "message.created" and f["message"]["direction"] == "inbound")
        assert later["conversation_id"] == conv["id"]
        full = api.ok("GET", f"/v1/conversations/{conv['id']}")
        assert [m["body"] for m in full["messages"]] == ["Is it really fixed?", "Yes, all done.", "Thanks!"]
        assert full["messages"][1]["status"] == "delivered"
        assert created["message"]["id"] == full["messages"][1]["id"]
        ids_seen = [f["id"] for f in agent.frames if f["type"] not in ("ack", "error", "hello")]
        assert ids_seen == sorted(ids_seen) and len(set(ids_seen)) == len(ids_seen)
        timeline = api.ok("GET", f"/v1/contacts/{customer}/timeline")["items"]
        assert [i["kind"] for i in timeline][:3] == ["message", "message", "message"]
    finally:
        await agent.close()


async def test_uncorrelated_reply_still_opens_a_conversation(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    agent = await connected_agent(api, hub.url, "bo@example.com")
    try:
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(2), "hello?", SENDER)
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        assert conv["correlated"] is False and conv["activity"] is None
        metrics = httpx.get(hub.url + "/metrics").text
        assert "hub_wait_to_assign_seconds_count 1.0" in metrics
        # Cumulative buckets: the wait is under the largest one, whichever it fell in.
        assert 'hub_wait_to_assign_seconds_bucket{le="1800"} 1.0' in metrics
        assert "hub_available_agents 1.0" in metrics
        assert "hub_open_websockets 1.0" in metrics
        assert 'hub_webhook_seconds_count{kind="inbound"} 1.0' in metrics
    finally:
        await agent.close()


def test_forged_inbound_is_refused_and_nothing_is_stored(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    url = f"{hub.url}/webhooks/twilio/{ids['channel']['id']}/inbound"
    form = {
        "MessageSid": "SM" + "1" * 32,
        "From": phone(3),
        "To": SENDER,
        "Body": "hi",
        "AccountSid": SANDBOX_SID,
        "NumMedia": "0",
    }
    bad = RequestValidator("wrong").compute_signature(url, form)
    response = httpx.post(url, data=form, headers={"X-Twilio-Signature": bad})
    assert response.status_code == 403
    assert api.ok("GET", "/v1/conversations")["items"] == []
    good = RequestValidator(SANDBOX_TOKEN).compute_signature(url, form)
    response = httpx.post(url, data=form, headers={"X-Twilio-Signature": good})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text
    assert len(api.ok("GET", "/v1/conversations")["items"]) == 1


def confirmations_to(sandbox, customer: str) -> list:  # type: ignore[no-untyped-def]
    return [
        m for m in sandbox.state.list_messages(SANDBOX_SID, to=customer) if m.resource["body"] == OPT_OUT_CONFIRMATION
    ]


async def test_a_bare_stop_opts_out_opens_nothing_and_is_confirmed_once(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    customer = phone(6)
    for _ in range(3):  # the provider repeats the webhook: one opt-out, one confirmation
        await customer_replies(
            sandbox.url, hub.url, ids["channel"]["id"], customer, "STOP", SENDER, message_sid="SM" + "6" * 32
        )
    (confirmation,) = wait_for(lambda: confirmations_to(sandbox, customer))
    assert confirmation.resource["from"] == SENDER
    assert api.ok("GET", "/v1/conversations")["items"] == []
    answer = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": ids["config"]["id"], "contacts": [contact(customer)]},
    )
    assert answer["results"][0]["status"] == "skipped_opted_out"
    assert httpx.post(sandbox.url + "/_sandbox/drain").status_code == 200
    assert len(confirmations_to(sandbox, customer)) == 1


async def test_stop_in_an_open_conversation_opts_out_and_start_opts_back_in(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    customer = phone(4)
    channel_id, config_id = ids["channel"]["id"], ids["config"]["id"]
    agent = await connected_agent(api, hub.url, "cy@example.com")
    try:
        await customer_replies(sandbox.url, hub.url, channel_id, customer, "Who is this?", SENDER)
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        await customer_replies(sandbox.url, hub.url, channel_id, customer, " stop ", SENDER)
        stop = await agent.wait(lambda f: f["type"] == "message.created")
        assert stop["conversation_id"] == conv["id"] and stop["message"]["body"] == " stop "
        wait_for(lambda: len(confirmations_to(sandbox, customer)) == 1)
        refused = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "bye?"})
        assert refused["type"] == "error" and refused["error"]["code"] == "recipient_opted_out"
        answer = api.ok(
            "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(customer)]}
        )
        assert answer["results"][0]["status"] == "skipped_opted_out"

        await customer_replies(sandbox.url, hub.url, channel_id, customer, "HELP", SENDER)
        answer = api.ok(
            "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(customer)]}
        )
        assert answer["results"][0]["status"] == "skipped_opted_out"

        await customer_replies(sandbox.url, hub.url, channel_id, customer, "START", SENDER)
        answer = api.ok(
            "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(customer)]}
        )
        assert answer["results"][0]["status"] == "queued"
        ack = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "welcome back"})
        assert ack["type"] == "ack"
        assert len(confirmations_to(sandbox, customer)) == 1
    finally:
        await agent.close()


async def test_close_transfer_and_a_message_after_close_opens_a_linked_conversation(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    channel_id = ids["channel"]["id"]
    first = await connected_agent(api, hub.url, "di@example.com", queues=["default"])
    second = await connected_agent(api, hub.url, "ed@example.com", queues=["billing"])
    try:
        await customer_replies(sandbox.url, hub.url, channel_id, phone(5), "one", SENDER)
        conv = (await first.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]

        assert (await first.command({"type": "transfer", "conversation_id": conv["id"], "queue": "billing"}))[
            "type"
        ] == "ack"
        await first.wait(lambda f: f["type"] == "conversation.transferred")
        moved = await second.wait(lambda f: f["type"] == "conversation.assigned")
        assert moved["conversation"]["id"] == conv["id"]
        assert moved["conversation"]["queue"] == "billing"
        not_mine = await first.command({"type": "close", "conversation_id": conv["id"]})
        assert not_mine["type"] == "error" and not_mine["error"]["code"] == "not_your_conversation"

        second_id = login(hub.url, "ed@example.com")
        del second_id
        agents = {a["email"]: a for a in api.ok("GET", "/v1/agents")["items"]}
        back = await second.command(
            {"type": "transfer", "conversation_id": conv["id"], "agent_id": agents["di@example.com"]["id"]}
        )
        assert back["type"] == "ack"
        await first.wait(
            lambda f: f["type"] == "conversation.assigned" and f["conversation"]["id"] == conv["id"], start=1
        )

        assert (await first.command({"type": "close", "conversation_id": conv["id"]}))["type"] == "ack"
        await first.wait(lambda f: f["type"] == "conversation.closed")
        assert api.ok("GET", f"/v1/conversations/{conv['id']}")["status"] == "closed"

        await customer_replies(sandbox.url, hub.url, channel_id, phone(5), "one more thing", SENDER)
        again = await first.wait(
            lambda f: f["type"] == "conversation.assigned" and f["conversation"]["id"] != conv["id"]
        )
        assert again["conversation"]["previous_conversation_id"] == conv["id"]
        assert [m["body"] for m in again["conversation"]["messages"]] == ["one more thing"]
    finally:
        await first.close()
        await second.close()


async def test_duplicate_client_id_sends_once_and_resume_replays_missed_events(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    channel_id = ids["channel"]["id"]
    create_agent(api, "fa@example.com")
    token = login(hub.url, "fa@example.com")
    agent = await AgentClient(hub.url, token).connect()
    await customer_replies(sandbox.url, hub.url, channel_id, phone(6), "hi", SENDER)
    conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
    frame = {"type": "reply", "conversation_id": conv["id"], "body": "once", "client_id": "same"}
    assert (await agent.command(dict(frame)))["type"] == "ack"
    assert (await agent.command(dict(frame)))["type"] == "ack"
    wait_for(lambda: len(sandbox.state.list_messages(SANDBOX_SID, to=phone(6))) >= 1)
    await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered")
    assert [m.resource["body"] for m in sandbox.state.list_messages(SANDBOX_SID, to=phone(6))] == ["once"]
    last = agent.last_id
    await agent.close()

    # While the agent is away (within the grace period) the customer writes twice.
    await customer_replies(sandbox.url, hub.url, channel_id, phone(6), "are you there?", SENDER)
    await customer_replies(sandbox.url, hub.url, channel_id, phone(6), "hello??", SENDER)
    again = await AgentClient(hub.url, token).connect()
    try:
        hello = again.of_type("hello")[0]
        assert [c["id"] for c in hello["conversations"]] == [conv["id"]]
        mark = len(again.frames)
        await again.ws.send(json.dumps({"type": "resume", "after": last, "client_id": "r"}))
        await again.wait(lambda f: f["type"] == "message.created" and f["message"]["body"] == "hello??", start=mark)
        replayed = [f for f in again.frames[mark:] if isinstance(f.get("id"), int)]
        assert [f["id"] for f in replayed] == list(range(last + 1, last + 1 + len(replayed)))
        bodies = [f["message"]["body"] for f in replayed if f["type"] == "message.created"]
        assert bodies == ["are you there?", "hello??"]
    finally:
        await again.close()

    # Resuming on connect (?after=) replays right after hello, before anything else.
    await customer_replies(sandbox.url, hub.url, channel_id, phone(6), "third", SENDER)
    third = await AgentClient(hub.url, token, after=last).connect()
    try:
        await third.wait(lambda f: f.get("message", {}).get("body") == "third")
        events = [f for f in third.frames if f["type"] != "hello"]
        assert [f["id"] for f in events][:3] == [last + 1, last + 2, last + 3]
        assert [f["id"] for f in events] == sorted(f["id"] for f in events)
    finally:
        await third.close()


async def test_bad_or_revoked_token_closes_the_socket_with_4401(api: Api, hub) -> None:  # type: ignore[no-untyped-def]
    base = hub.url.replace("http://", "ws://")
    async with websockets.connect(base + "/v1/agent/ws?token=nope") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4401
    create_agent(api, "gi@example.com")
    token = login(hub.url, "gi@example.com")
    assert httpx.post(hub.url + "/v1/agents/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    async with websockets.connect(base + f"/v1/agent/ws?token={token}") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4401
    wrong = httpx.post(hub.url + "/v1/agents/login", json={"email": "gi@example.com", "password": "nope-nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"


async def test_whatsapp_free_form_only_within_24_hours(api: Api, hub, sandbox, redis_url) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url, channel_type="whatsapp", address="+14155550101")
    channel_id = ids["channel"]["id"]
    agent = await connected_agent(api, hub.url, "ha@example.com")
    try:
        await customer_replies(
            sandbox.url, hub.url, channel_id, "whatsapp:" + phone(7), "hola", "whatsapp:+14155550101"
        )
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        assert conv["customer"] == phone(7)
        assert (await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "hi"}))["type"] == "ack"
        sent = wait_for(lambda: sandbox.state.list_messages(SANDBOX_SID, to="whatsapp:" + phone(7)))
        assert sent[0].resource["from"] == "whatsapp:+14155550101"

        # A day passes since the customer's last message.
        client = redis_client(redis_url)
        org_id = api.org["id"]  # type: ignore[attr-defined]
        day_ago = int((time.time() - 25 * 3600) * 1000)
        client.hset(f"hub:{{{org_id}}}:contact:{phone(7)}", f"last_in:{channel_id}", day_ago)
        client.close()
        late = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "still there?"})
        assert late["type"] == "error" and late["error"]["code"] == "whatsapp_window_closed"
    finally:
        await agent.close()
