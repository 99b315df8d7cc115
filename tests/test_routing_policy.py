"""Routing policy per queue, over real hub processes sharing one Redis:
the queues API, priority, skills, overflow and the inactivity close."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import pytest

from hub.domain.routing_policy import DAYS
from hub.metrics import Metrics
from hub.providers.pool import ProviderPool
from hub.routing.policy import look_once
from hub.services.context import Hub
from hub.settings import Settings
from hub.storage.queues import QueueStore
from hub.storage.redis import Scripts, connect
from hub.storage.sql import open_database
from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SANDBOX_SID, SENDER, Api, HubProcess, outbound_setup, phone, redis_client
from tests.test_conversations import send_and_wait_sent
from tests.test_routing_races import PUBLIC_URL, QUIET_S, Cluster, until


@pytest.fixture
async def cluster(hub_factory: Any, sandbox: Any) -> AsyncIterator[Callable[..., Awaitable[Cluster]]]:
    made: list[Cluster] = []

    async def make(processes: int = 2) -> Cluster:
        hubs = [hub_factory(HUB_PUBLIC_URL=PUBLIC_URL) for _ in range(processes)]
        made.append(Cluster(hubs, sandbox.url))
        return made[-1]

    yield make
    for c in made:
        await c.aclose()


async def put(c: Cluster, path: str, body: Any, status: int = 200) -> Any:
    response = await c.http.put(c.hubs[0].url + path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def only_org(redis_url: str) -> str:
    client = redis_client(redis_url)
    try:
        found = [k for k in client.scan_iter("hub:{*}:org")]
    finally:
        client.close()
    assert len(found) == 1, found
    key = found[0].decode() if isinstance(found[0], bytes) else found[0]
    return str(key.split("{", 1)[1].split("}", 1)[0])


async def by_customer(c: Cluster) -> dict[str, dict[str, Any]]:
    return {conv["customer"]: conv for conv in await c.conversations()}


# the API -------------------------------------------------------------------------


def test_queues_api_contract(api: Api, hub: HubProcess) -> None:
    create_agent(api, "q@example.com", queues=["default", "sales"])
    created = api.ok(
        "PUT",
        "/v1/queues/vip",
        201,
        json={
            "required_skills": [{"name": "spanish", "min_level": 2}],
            "overflow": {"queue": "default", "after_seconds": 120},
            "hours": {"timezone": "Europe/Madrid", "weekly": {"mon": [["08:00", "18:00"]]}, "holidays": ["2026-12-25"]},
            "closed_reply": {"es": "Cerrado", "en": "Closed"},
        },
    )
    assert created["name"] == "vip" and created["configured"] is True and created["waiting"] == 0
    assert created["inactive_close_seconds"] == 86400
    assert created["overflow"] == {"queue": "default", "after_seconds": 120}
    assert created["hours"]["weekly"]["tue"] == []
    again = api.ok("PUT", "/v1/queues/vip", 200, json={"inactive_close_seconds": 600})
    assert again["inactive_close_seconds"] == 600 and again["overflow"] is None and again["hours"] is None
    assert api.ok("GET", "/v1/queues/vip")["inactive_close_seconds"] == 600
    # A queue an agent serves has the defaults until a policy is set.
    sales = api.ok("GET", "/v1/queues/sales")
    assert sales["configured"] is False and sales["required_skills"] == [] and sales["open"] is True
    listed = api.ok("GET", "/v1/queues")["items"]
    assert [q["name"] for q in listed] == ["default", "sales", "vip"]
    assert [q["configured"] for q in listed] == [False, False, True]

    for body, field in [
        ({"inactive_close_seconds": 5}, "inactive_close_seconds"),
        ({"overflow": {"queue": "vip", "waiting_over": 2}}, "overflow.queue"),
        ({"hours": {"timezone": "Nowhere/None", "weekly": {}}}, "hours.timezone"),
        ({"surprise": 1}, "surprise"),
        ([], None),
    ]:
        response = api.http.put("/v1/queues/vip", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_request"
        assert response.json()["error"].get("details", {}).get("field") == field
    missing = api.http.get("/v1/queues/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "queue_not_found"
    assert api.http.delete("/v1/queues/vip").status_code == 204
    assert api.http.delete("/v1/queues/vip").status_code == 404

    agent = api.ok("GET", "/v1/agents")["items"][0]
    assert agent["skills"] == {}
    updated = api.ok("PUT", f"/v1/agents/{agent['id']}/skills", json={"spanish": 3, "billing": 1})
    assert updated["skills"] == {"billing": 1, "spanish": 3}
    assert api.http.put("/v1/agents/agt_nobody/skills", json={}).status_code == 404
    bad = api.http.put(f"/v1/agents/{agent['id']}/skills", json={"spanish": 9})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "spanish"
    no_conv = api.http.patch("/v1/conversations/conv_nobody", json={"priority": 10})
    assert no_conv.status_code == 404
    bad = api.http.patch("/v1/conversations/conv_nobody", json={"priority": 101})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "priority"


# priority ------------------------------------------------------------------------


async def test_higher_priority_is_assigned_first_then_oldest(cluster) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    agent = c.new_agent("prio@example.com", capacity=1)
    client = await c.connect(agent, c.hubs[0])
    await c.reply(c.hubs[1], phone(1), "first")
    first = (await client.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
    for i in (2, 3, 4):
        await c.reply(c.hubs[i % 2], phone(i), f"customer {i}")
    convs = await by_customer(c)
    assert all(convs[phone(i)]["status"] == "waiting" and convs[phone(i)]["priority"] == 50 for i in (2, 3, 4))
    # The youngest is made urgent through the other process.
    response = await c.http.patch(c.hubs[1].url + f"/v1/conversations/{convs[phone(4)]['id']}", json={"priority": 90})
    assert response.status_code == 200 and response.json()["priority"] == 90, response.text

    order = []
    current = first["id"]
    for _ in range(3):
        mark = len(client.frames)
        ack = await client.command({"type": "close", "conversation_id": current})
        assert ack["type"] == "ack", ack
        nxt = await client.wait(lambda f: f["type"] == "conversation.assigned", start=mark)
        current = nxt["conversation"]["id"]
        order.append(nxt["conversation"]["customer"])
    assert order == [phone(4), phone(2), phone(3)]
    closed = await c.conversation(first["id"])
    assert closed["status"] == "closed" and "close_reason" not in closed
    refused = await c.http.patch(c.hubs[0].url + f"/v1/conversations/{first['id']}", json={"priority": 1})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conversation_closed"


async def test_a_configuration_sets_the_priority_and_skills_of_the_replies_to_it(
    api: Api, hub: HubProcess, sandbox: Any
) -> None:
    ids = outbound_setup(api, sandbox.url)
    api.ok(
        "PATCH",
        f"/v1/outbound-configurations/{ids['config']['id']}",
        json={"priority": 80, "required_skills": [{"name": "billing", "min_level": 2}]},
    )
    email = "cfg@example.com"
    agent = create_agent(api, email)
    client = await AgentClient(hub.url, login(hub.url, email)).connect()
    try:
        send_and_wait_sent(api, ids["config"]["id"], phone(7))
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(7), "About my bill", SENDER)
        conv = api.ok("GET", "/v1/conversations")["items"][0]
        assert conv["priority"] == 80 and conv["status"] == "waiting"  # nobody has the skill
        await asyncio.sleep(QUIET_S)
        assert not client.of_type("conversation.assigned")
        api.ok("PUT", f"/v1/agents/{agent['id']}/skills", json={"billing": 2})
        got = await client.wait(lambda f: f["type"] == "conversation.assigned")
        assert got["conversation"]["id"] == conv["id"] and got["conversation"]["priority"] == 80
    finally:
        await client.close()


# skills --------------------------------------------------------------------------


async def test_only_agents_with_the_queue_skills_are_offered_its_conversations(cluster) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    await put(c, "/v1/queues/default", {"required_skills": [{"name": "spanish", "min_level": 2}]}, 201)
    novice, expert = c.new_agent("novice@example.com"), c.new_agent("expert@example.com")
    await put(c, f"/v1/agents/{novice['id']}/skills", {"spanish": 1})
    novice_ws = await c.connect(novice, c.hubs[0])
    await c.reply(c.hubs[1], phone(1), "hola")
    await asyncio.sleep(QUIET_S)
    assert not novice_ws.of_type("conversation.assigned")
    assert (await by_customer(c))[phone(1)]["status"] == "waiting"
    # An expert who comes online takes it; the novice still gets nothing.
    await put(c, f"/v1/agents/{expert['id']}/skills", {"spanish": 4, "billing": 1})
    expert_ws = await c.connect(expert, c.hubs[1])
    got = await expert_ws.wait(lambda f: f["type"] == "conversation.assigned")
    assert got["conversation"]["customer"] == phone(1)
    # Raising the novice's level makes it eligible at once for what waits.
    await c.reply(c.hubs[0], phone(2), "hola otra vez")
    await c.reply(c.hubs[0], phone(3), "y yo")
    await c.reply(c.hubs[0], phone(4), "yo también")
    await expert_ws.wait(lambda f: f["type"] == "conversation.assigned" and f["conversation"]["customer"] == phone(3))
    await asyncio.sleep(QUIET_S)
    assert not novice_ws.of_type("conversation.assigned")
    await put(c, f"/v1/agents/{novice['id']}/skills", {"spanish": 2})
    got = await novice_ws.wait(lambda f: f["type"] == "conversation.assigned")
    assert got["conversation"]["customer"] == phone(4)


# overflow ------------------------------------------------------------------------


async def test_a_conversation_waiting_past_the_threshold_moves_to_the_overflow_queue(cluster) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    vip = c.new_agent("vip@example.com")
    spill = {
        **create_agent(c.api, "spill@example.com", queues=["spill"]),
        "token": login(c.hubs[0].url, "spill@example.com"),
    }
    await put(c, "/v1/queues/default", {"overflow": {"queue": "spill", "after_seconds": 1}}, 201)
    vip_ws = await c.connect(vip, c.hubs[0])
    # The default queue's only agent is busy elsewhere: away.
    assert (await vip_ws.command({"type": "presence", "status": "away"}))["type"] == "ack"
    spill_ws = await c.connect(spill, c.hubs[1])
    started = time.monotonic()
    await c.reply(c.hubs[0], phone(1), "anyone?")
    got = await spill_ws.wait(lambda f: f["type"] == "conversation.assigned", timeout=15)
    waited = time.monotonic() - started
    assert got["conversation"]["customer"] == phone(1) and got["conversation"]["queue"] == "spill"
    assert 0.9 <= waited < 8, waited
    assert not vip_ws.of_type("conversation.assigned")


async def test_a_queue_with_too_many_waiting_moves_the_last_ones_in_arrival_order(cluster) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    spill = {
        **create_agent(c.api, "spill@example.com", queues=["spill"], capacity=5),
        "token": login(c.hubs[0].url, "spill@example.com"),
    }
    c.new_agent("nobody@example.com")  # serves default, never online
    await put(c, "/v1/queues/default", {"overflow": {"queue": "spill", "waiting_over": 1}}, 201)
    for i in range(1, 5):
        await c.reply(c.hubs[i % 2], phone(i), f"customer {i}")
    convs = await by_customer(c)
    assert convs[phone(1)]["queue"] == "default"
    assert [convs[phone(i)]["queue"] for i in (2, 3, 4)] == ["spill"] * 3
    queues = {q["name"]: q for q in (await c.get("/v1/queues"))["items"]}
    assert queues["default"]["waiting"] == 1 and queues["spill"]["waiting"] == 3
    spill_ws = await c.connect(spill, c.hubs[1])
    await until(lambda: len(spill_ws.of_type("conversation.assigned")) == 3, what="3 assigned")
    assert [f["conversation"]["customer"] for f in spill_ws.of_type("conversation.assigned")] == [
        phone(2),
        phone(3),
        phone(4),
    ]


# inactivity ------------------------------------------------------------------------


async def test_a_silent_customer_conversation_closes_once_and_frees_the_agent(cluster, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    await put(c, "/v1/queues/default", {"inactive_close_seconds": 60}, 201)
    # A CRM subscribed to closes hears of this one too (the feed keeps it even while delivery fails).
    c.api.ok(
        "POST",
        "/v1/event-endpoints",
        201,
        json={
            "url": "https://crm.example.com/hooks",
            "secret": "whsec-test-0123456789abcdef",
            "event_types": ["conversation.closed"],
        },
    )
    agent = c.new_agent("idle@example.com", capacity=1)
    client = await c.connect(agent, c.hubs[0])
    await c.reply(c.hubs[1], phone(1), "hello")
    conv = (await client.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
    await asyncio.sleep(0.05)
    await c.reply(c.hubs[1], phone(2), "me too")  # waits: the agent is full
    org_id = only_org(redis_url)

    # Two processes' loops look at once (their clocks past the deadline):
    # the script closes it once.
    clients = [await connect(redis_url) for _ in range(2)]
    try:
        stores = [QueueStore(r, Scripts(r)) for r in clients]
        # The first deadline: 60 s after the first customer's message.
        first = await stores[0].next_due_ms(org_id)
        assert first is not None and abs(first - (time.time() * 1000 + 60_000)) < 5_000
        assert await stores[0].run_due(org_id, int(first) - 1, 100) == (0, 0)  # not yet
        results = await asyncio.gather(*(s.run_due(org_id, int(first), 100) for s in stores))
        assert sorted(closed for closed, _ in results) == [0, 1], results
        later = await stores[0].next_due_ms(org_id)  # the second customer's deadline remains
        assert later is not None and later > first
    finally:
        for r in clients:
            await r.aclose()
    closed = await client.wait(lambda f: f["type"] == "conversation.closed")
    assert closed == {**closed, "conversation_id": conv["id"], "reason": "inactive"}
    # The freed capacity went to the waiting customer at once.
    nxt = await client.wait(
        lambda f: f["type"] == "conversation.assigned" and f["conversation"]["customer"] == phone(2)
    )
    assert nxt
    await asyncio.sleep(QUIET_S)
    assert len(client.of_type("conversation.closed")) == 1
    stored = await c.conversation(conv["id"])
    assert stored["status"] == "closed" and stored["close_reason"] == "inactive"
    feed = c.api.ok("GET", "/v1/events")["events"]
    assert [(e["type"], e["data"]["conversation_id"], e["data"]["reason"]) for e in feed] == [
        ("conversation.closed", conv["id"], "inactive")
    ]
    # The customer writes again: a new conversation, linked to the closed one.
    await c.reply(c.hubs[0], phone(1), "still there?")
    again = [x for x in await c.conversations() if x["customer"] == phone(1) and x["id"] != conv["id"]]
    assert len(again) == 1 and again[0]["previous_conversation_id"] == conv["id"], again
    assert again[0]["status"] == "waiting"  # the agent holds the second customer (capacity 1)


# operating hours -----------------------------------------------------------------


async def test_outside_hours_conversations_wait_and_get_the_closed_reply_once(cluster, sandbox: Any) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    agent = c.new_agent("hours@example.com")
    client = await c.connect(agent, c.hubs[0])
    closed = await put(
        c,
        "/v1/queues/default",
        {
            "hours": {"timezone": "America/New_York", "weekly": {}},  # never open
            "closed_reply": {"fr": "Nous sommes fermés.", "en": "We are closed; we answer from 8:00."},
        },
        201,
    )
    assert closed["open"] is False
    await c.reply(c.hubs[1], phone(1), "hello?")
    await c.reply(c.hubs[1], phone(1), "anyone?")

    def replies() -> list[str]:
        return [m.resource["body"] for m in sandbox.state.list_messages(SANDBOX_SID, to=phone(1))]

    await until(lambda: replies() == ["We are closed; we answer from 8:00."], what="the closed reply")
    conv = (await by_customer(c))[phone(1)]
    assert conv["status"] == "waiting"
    full = await c.conversation(conv["id"])
    assert [(m["direction"], m["body"]) for m in full["messages"]] == [
        ("inbound", "hello?"),
        ("outbound", "We are closed; we answer from 8:00."),
        ("inbound", "anyone?"),
    ]
    await asyncio.sleep(QUIET_S)
    assert len(replies()) == 1 and not client.of_type("conversation.assigned")

    # Open every day from now on: routing resumes at once, and no closed reply.
    always = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    opened = await put(c, "/v1/queues/default", {"hours": {"timezone": "America/New_York", "weekly": always}})
    assert opened["open"] is True
    got = await client.wait(lambda f: f["type"] == "conversation.assigned")
    assert got["conversation"]["id"] == conv["id"]
    await c.reply(c.hubs[0], phone(2), "hi")
    await client.wait(lambda f: f["type"] == "conversation.assigned" and f["conversation"]["customer"] == phone(2))
    await asyncio.sleep(QUIET_S)
    assert not [m for m in sandbox.state.list_messages(SANDBOX_SID, to=phone(2))]


async def test_the_policy_look_opens_and_closes_a_queue_at_its_hours(cluster, redis_url: str, tmp_path: Any) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    agent = c.new_agent("shift@example.com")
    client = await c.connect(agent, c.hubs[1])
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).date()
    day = DAYS[tomorrow.weekday()]
    await put(
        c,
        "/v1/queues/default",
        {
            "inactive_close_seconds": 30 * 86400,  # not before opening time
            "hours": {"timezone": "UTC", "weekly": {day: [["09:00", "17:00"]]}},
        },
        201,
    )
    await c.reply(c.hubs[0], phone(1), "hello?")
    await asyncio.sleep(QUIET_S)
    assert not client.of_type("conversation.assigned")
    org_id = only_org(redis_url)

    settings = Settings(redis_url=redis_url)
    redis = await connect(redis_url)
    db = await open_database(f"sqlite:///{tmp_path / 'look.sqlite3'}")
    hub = Hub(settings=settings, redis=redis, metrics=Metrics(), providers=ProviderPool(settings), history=db)
    try:
        # Looked at before opening: nothing changes, and it says when to look again.
        opening = datetime.combine(tomorrow, dt_time(9, 0), tzinfo=UTC)
        changed, due = await look_once(hub, org_id, now)
        assert changed == 0 and due == opening.timestamp() * 1000
        # At opening time: the queue opens and what waited is assigned at once.
        changed, due = await look_once(hub, org_id, opening + timedelta(seconds=1))
        assert changed == 1 and due == (opening + timedelta(hours=8)).timestamp() * 1000
        got = await client.wait(lambda f: f["type"] == "conversation.assigned")
        assert got["conversation"]["customer"] == phone(1)
        assert (await c.get("/v1/queues/default"))["open"] is True
        # Past closing: closed again; a new customer waits.
        await look_once(hub, org_id, opening + timedelta(hours=8, seconds=1))
        assert (await c.get("/v1/queues/default"))["open"] is False
        await c.reply(c.hubs[0], phone(2), "too late?")
        await asyncio.sleep(QUIET_S)
        assert len(client.of_type("conversation.assigned")) == 1
    finally:
        await redis.aclose()
        await db.close()


async def test_two_agents_qualifying_at_once_on_two_processes_take_one_conversation_each(cluster) -> None:  # type: ignore[no-untyped-def]
    c = await cluster()
    await put(c, "/v1/queues/default", {"required_skills": [{"name": "legal"}]}, 201)
    agents = [c.new_agent(f"legal{i}@example.com", capacity=1) for i in range(2)]
    clients = [await c.connect(a, c.hubs[i]) for i, a in enumerate(agents)]
    for i in range(3):
        await c.reply(c.hubs[i % 2], phone(i), f"question {i}")
    # Both gain the skill at the same moment, each through its own process.
    responses = await asyncio.gather(
        *(c.http.put(c.hubs[i].url + f"/v1/agents/{a['id']}/skills", json={"legal": 1}) for i, a in enumerate(agents))
    )
    assert [r.status_code for r in responses] == [200, 200]
    await until(lambda: sum(len(cl.of_type("conversation.assigned")) for cl in clients) == 2, what="2 assigned")
    await asyncio.sleep(QUIET_S)
    taken = [f["conversation"]["customer"] for cl in clients for f in cl.of_type("conversation.assigned")]
    assert sorted(taken) == [phone(0), phone(1)], taken  # the two oldest, once each
    convs = await by_customer(c)
    assert convs[phone(2)]["status"] == "waiting"
