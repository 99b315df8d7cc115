"""Agents' replies go out through the outbound workers: durable, retried
through a provider outage, and recovered by another process after a crash."""

from __future__ import annotations

import json

import httpx

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SANDBOX_SID, SENDER, Api, HubProcess, create_org, outbound_setup, phone, wait_for


def rule(sandbox_url: str, **spec) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(sandbox_url + "/_sandbox/rules", json=spec)
    assert response.status_code == 201, response.text


def replies_to(sandbox, customer: str, body: str) -> list:  # type: ignore[no-untyped-def]
    return [m for m in sandbox.state.list_messages(SANDBOX_SID, to=customer) if m.resource["body"] == body]


async def assigned_conversation(
    api: Api, hub_url: str, sandbox_url: str, channel_id: str, customer: str, email: str
) -> tuple[AgentClient, dict]:
    create_agent(api, email)
    agent = await AgentClient(hub_url, login(hub_url, email)).connect()
    await customer_replies(sandbox_url, hub_url, channel_id, customer, "Any news?", SENDER)
    conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
    return agent, conv


def log_problems(path) -> list[dict]:  # type: ignore[no-untyped-def]
    problems = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append({"raw": line})  # a bare traceback, not one of the hub's log lines
            continue
        if entry.get("level") in ("error", "critical"):
            problems.append(entry)
    return problems


async def test_a_reply_logs_no_error(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    agent, conv = await assigned_conversation(
        api, hub.url, sandbox.url, ids["channel"]["id"], phone(1), "di@example.com"
    )
    try:
        ack = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "On it."})
        assert ack["type"] == "ack"
        await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered")
    finally:
        await agent.close()
    hub.stop()  # all it had to say is in the log
    assert log_problems(hub.log_path) == []


async def test_a_reply_waits_out_a_provider_outage_and_goes_once(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(HUB_SEND_RETRY_MAX_DELAY="0.5", HUB_CIRCUIT_COOLDOWN="1")
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        customer = phone(2)
        agent, conv = await assigned_conversation(
            api, hub.url, sandbox.url, ids["channel"]["id"], customer, "el@example.com"
        )
        try:
            rule(sandbox.url, to=customer, action="http_error", status=503, times=8)
            ack = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "Soon."})
            assert ack["type"] == "ack"
            await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered", timeout=60)
            assert len(replies_to(sandbox, customer, "Soon.")) == 1
            statuses = [f["status"] for f in agent.of_type("message.status")]
            assert "failed" not in statuses
        finally:
            await agent.close()


async def test_a_reply_in_flight_when_its_process_is_killed_is_delivered_once_by_another(
    hub_factory, sandbox, redis_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings = {"HUB_CLAIM_IDLE_MS": "1500", "HUB_SEND_TIMEOUT": "30"}
    first = hub_factory(**settings)
    org = create_org(first.url)
    api = Api(first.url, org["api_key"])
    ids = outbound_setup(api, sandbox.url)
    customer = phone(3)
    agent, conv = await assigned_conversation(
        api, first.url, sandbox.url, ids["channel"]["id"], customer, "fa@example.com"
    )
    # The provider takes the reply but answers late: the process dies with the
    # send in flight, its outcome never seen. Callbacks come once the next process listens.
    rule(sandbox.url, to=customer, action="store_then_timeout", seconds=5)
    # (Late enough that the next process listens by then even on a busy machine.)
    rule(sandbox.url, to=customer, action="callbacks", mode="normal", delay_ms=12000)
    ack = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "Fixed now."})
    assert ack["type"] == "ack"
    wait_for(lambda: replies_to(sandbox, customer, "Fixed now."), timeout=15)
    first.kill()
    await agent.close()
    httpx.delete(sandbox.url + "/_sandbox/rules")

    # Same public URL, so the provider's callbacks reach the new process.
    second = HubProcess(
        redis_url, sandbox_url=sandbox.url, port=first.port, env=settings, log_path=tmp_path / "second.log"
    ).start()
    resumed = AgentClient(second.url, login(second.url, "fa@example.com"), after=agent.last_id)
    try:
        await resumed.connect()
        status = await resumed.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered", timeout=60)
        full = api.ok("GET", f"/v1/conversations/{conv['id']}")
        sent = [m for m in full["messages"] if m["direction"] == "outbound"]
        assert len(sent) == 1 and sent[0]["status"] == "delivered"
        assert status["message_id"] == sent[0]["id"]
        assert len(replies_to(sandbox, customer, "Fixed now.")) == 1  # recovered, not sent again
    finally:
        await resumed.close()
        second.stop()
        api.http.close()
