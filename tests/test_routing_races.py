"""Routing under real concurrency: several `hub serve` processes on one Redis,
agents on real websockets spread over them, and signed Twilio webhooks fired
at the same moment at every process.

Nothing here is mocked and nothing waits a fixed time for a result: tests wait
for frames or for API state. Where a test checks that something did NOT
happen, it watches for a short, bounded window (QUIET_S).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.agents import AgentClient, create_agent, login
from tests.support import SANDBOX_SID, SANDBOX_TOKEN, Api, HubProcess, create_org, outbound_setup, phone

# Behind a load balancer every process is reached through one public URL, and
# Twilio signs that URL: both processes get the same HUB_PUBLIC_URL.
PUBLIC_URL = "http://hub.test"
QUIET_S = 0.4  # how long to watch for something that must not happen


async def until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Wait for ``check()`` (sync or async) to return something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} not met within {timeout}s; last value: {last!r}")


def is_assigned(frame: dict[str, Any]) -> bool:
    return frame["type"] == "conversation.assigned"


def assigned_ids(client: AgentClient) -> list[str]:
    return [f["conversation"]["id"] for f in client.of_type("conversation.assigned")]


def open_from_events(frames: list[dict[str, Any]]) -> set[str]:
    """The conversations an agent holds, as its event stream tells it."""
    held: set[str] = set()
    events = {f["id"]: f for f in frames if f["type"] != "hello" and isinstance(f.get("id"), int)}
    for _, f in sorted(events.items()):
        if f["type"] == "conversation.assigned":
            held.add(f["conversation"]["id"])
        elif f["type"] in ("conversation.closed", "conversation.transferred"):
            held.discard(f["conversation_id"])
    return held


class Cluster:
    """One org served by several hub processes that share one Redis."""

    def __init__(self, hubs: list[HubProcess], sandbox_url: str) -> None:
        self.hubs = hubs
        org = create_org(hubs[0].url)
        self.api = Api(hubs[0].url, org["api_key"])
        self.channel = outbound_setup(self.api, sandbox_url)["channel"]
        self.path = f"/webhooks/twilio/{self.channel['id']}/inbound"
        self.validator = RequestValidator(SANDBOX_TOKEN)
        self.http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {org['api_key']}"},
            timeout=30,
            limits=httpx.Limits(max_connections=400, max_keepalive_connections=100),
        )
        self.clients: list[AgentClient] = []

    # agents -----------------------------------------------------------------
    def new_agent(self, email: str, capacity: int = 3) -> dict[str, Any]:
        agent = create_agent(self.api, email, capacity=capacity)
        agent["token"] = login(self.hubs[0].url, email)
        return agent

    async def connect(self, agent: dict[str, Any], hub: HubProcess) -> AgentClient:
        client = AgentClient(hub.url, agent["token"])
        self.clients.append(client)
        return await client.connect()

    # webhooks ---------------------------------------------------------------
    def form(self, customer: str, body: str, sid: str | None = None) -> dict[str, str]:
        return {
            "MessageSid": sid or "SM" + secrets.token_hex(16),
            "AccountSid": SANDBOX_SID,
            "From": customer,
            "To": self.channel["address"],
            "Body": body,
            "NumMedia": "0",
        }

    async def post(self, hub: HubProcess, form: dict[str, str]) -> httpx.Response:
        signature = self.validator.compute_signature(PUBLIC_URL + self.path, form)
        return await self.http.post(hub.url + self.path, data=form, headers={"X-Twilio-Signature": signature})

    async def reply(self, hub: HubProcess, customer: str, body: str) -> None:
        response = await self.post(hub, self.form(customer, body))
        assert response.status_code == 200, response.text

    # the admin API ------------------------------------------------------------
    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(self.hubs[0].url + path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def conversations(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if status:
                params["status"] = status
            if cursor:
                params["cursor"] = cursor
            page = await self.get("/v1/conversations", **params)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    async def conversation(self, conv_id: str) -> dict[str, Any]:
        return dict(await self.get(f"/v1/conversations/{conv_id}"))

    async def agents(self) -> dict[str, dict[str, Any]]:
        return {a["id"]: a for a in (await self.get("/v1/agents"))["items"]}

    async def aclose(self) -> None:
        for client in self.clients:
            try:
                await client.close()
            except Exception:
                pass
        await self.http.aclose()
        self.api.http.close()


@pytest.fixture
async def cluster(hub_factory: Any, sandbox: Any) -> AsyncIterator[Callable[..., Awaitable[Cluster]]]:
    made: list[Cluster] = []

    async def make(processes: int = 2, **env: str) -> Cluster:
        hubs = [hub_factory(HUB_PUBLIC_URL=PUBLIC_URL, **env) for _ in range(processes)]
        made.append(Cluster(hubs, sandbox.url))
        return made[-1]

    yield make
    for c in made:
        await c.aclose()


# 1 ---------------------------------------------------------------------------


async def test_200_replies_at_once_over_two_processes_fill_every_agent_and_queue_the_rest(cluster) -> None:
    c = await cluster()
    agents = [c.new_agent(f"burst{i}@example.com", capacity=3) for i in range(10)]
    clients = list(await asyncio.gather(*(c.connect(agent, c.hubs[i % 2]) for i, agent in enumerate(agents))))
    by_id = {agent["id"]: client for agent, client in zip(agents, clients)}

    forms = [c.form(phone(i), f"reply {i}") for i in range(200)]
    responses = await asyncio.gather(*(c.post(c.hubs[i % 2], f) for i, f in enumerate(forms)))
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        assert "<Response" in response.text

    # Routing happened before each 200: wait for the frames, then watch for extras.
    await until(lambda: sum(len(assigned_ids(cl)) for cl in clients) >= 30, what="30 assignments")
    await asyncio.sleep(QUIET_S)
    held = {agent_id: assigned_ids(cl) for agent_id, cl in by_id.items()}
    every = [conv for ids in held.values() for conv in ids]
    assert len(every) == 30 and len(set(every)) == 30, held
    assert all(len(ids) == 3 for ids in held.values()), {a: len(ids) for a, ids in held.items()}

    conversations = await c.conversations()
    assert len(conversations) == 200
    assert len({conv["id"] for conv in conversations}) == 200
    assert sorted(conv["customer"] for conv in conversations) == sorted(phone(i) for i in range(200))
    assert Counter(conv["status"] for conv in conversations) == {"assigned": 30, "waiting": 170}
    for conv in conversations:
        if conv["status"] == "assigned":
            assert conv["id"] in held[conv["agent_id"]]
        else:
            assert conv["agent_id"] is None
    for agent in (await c.agents()).values():
        assert agent["open"] == 3 and agent["capacity"] == 3, agent

    # Close one at a time, from agents on both processes: each freed slot takes
    # the oldest waiting conversation (created_at, then id).
    for n in range(170):
        waiting = await c.conversations("waiting", limit=200)
        assert len(waiting) == 170 - n
        oldest = min(waiting, key=lambda conv: (conv["created_at"], conv["id"]))
        agent_id = agents[n % 10]["id"]
        client = by_id[agent_id]
        victim = held[agent_id].pop(0)
        mark = len(client.frames)
        ack = await client.command({"type": "close", "conversation_id": victim})
        assert ack["type"] == "ack", ack
        await client.wait(
            lambda f, victim=victim: f["type"] == "conversation.closed" and f["conversation_id"] == victim, start=mark
        )
        frame = await client.wait(is_assigned, start=mark)
        assert frame["conversation"]["id"] == oldest["id"], (n, frame["conversation"]["id"], oldest)
        held[agent_id].append(oldest["id"])

    await asyncio.sleep(QUIET_S)
    every = [conv for cl in clients for conv in assigned_ids(cl)]
    assert len(every) == 200 and len(set(every)) == 200
    assert all(len(assigned_ids(cl)) == 20 for cl in clients)
    for agent_id, client in by_id.items():  # each stream ends holding exactly its three
        assert open_from_events(client.frames) == set(held[agent_id])
    conversations = await c.conversations()
    assert Counter(conv["status"] for conv in conversations) == {"closed": 170, "assigned": 30}
    assert all(agent["open"] == 3 for agent in (await c.agents()).values())


# 2 ---------------------------------------------------------------------------


async def test_one_webhook_delivered_to_both_processes_at_once_is_processed_once(cluster) -> None:
    c = await cluster()
    agent = c.new_agent("dup@example.com", capacity=5)
    client = await c.connect(agent, c.hubs[1])
    customers = [phone(300 + i) for i in range(5)]
    forms = [c.form(customer, f"hello {i}") for i, customer in enumerate(customers)]

    # Each message three times to each process, all at the same moment.
    copies = [c.post(hub, form) for form in forms for hub in c.hubs for _ in range(3)]
    responses = await asyncio.gather(*copies)
    assert [r.status_code for r in responses] == [200] * len(copies), [r.text for r in responses]

    await until(lambda: len(assigned_ids(client)) >= 5, what="5 assignments")
    await asyncio.sleep(QUIET_S)
    frames = client.of_type("conversation.assigned")
    assert len(frames) == 5
    assert sorted(f["conversation"]["customer"] for f in frames) == sorted(customers)
    assert client.of_type("message.created") == []
    sid_of = {form["From"]: form["MessageSid"] for form in forms}
    for frame in frames:
        messages = frame["conversation"]["messages"]
        assert [m["provider_message_id"] for m in messages] == [sid_of[frame["conversation"]["customer"]]]

    conversations = await c.conversations()
    assert len(conversations) == 5
    for conv in conversations:
        stored = await c.conversation(conv["id"])
        assert [m["provider_message_id"] for m in stored["messages"]] == [sid_of[conv["customer"]]]

    # A later message of an open conversation, again duplicated everywhere.
    follow_up = c.form(customers[0], "one more thing")
    mark = len(client.frames)
    responses = await asyncio.gather(*(c.post(hub, follow_up) for hub in c.hubs for _ in range(3)))
    assert all(r.status_code == 200 for r in responses)
    created = await client.wait(lambda f: f["type"] == "message.created", start=mark)
    assert created["message"]["provider_message_id"] == follow_up["MessageSid"]
    await asyncio.sleep(QUIET_S)
    assert len([f for f in client.frames[mark:] if f["type"] == "message.created"]) == 1
    conv_id = next(f["conversation"]["id"] for f in frames if f["conversation"]["customer"] == customers[0])
    stored = await c.conversation(conv_id)
    assert [m["provider_message_id"] for m in stored["messages"]] == [sid_of[customers[0]], follow_up["MessageSid"]]
    assert len(await c.conversations()) == 5


# 3 ---------------------------------------------------------------------------


async def test_agent_disconnect_grace_period_requeue_to_front_and_resume(cluster) -> None:
    grace = 2.0
    c = await cluster(HUB_AGENT_GRACE_SECONDS=str(grace))
    a, b = c.hubs
    dropper = c.new_agent("dropper@example.com", capacity=2)
    helper = c.new_agent("helper@example.com", capacity=1)
    backup = c.new_agent("backup@example.com", capacity=2)

    # The helper takes W; then the dropper takes X1 and X2 (newer than W).
    h = await c.connect(helper, a)
    await c.reply(a, phone(400), "an older question")
    w = (await h.wait(is_assigned))["conversation"]["id"]
    first = await c.connect(dropper, a)
    await c.reply(b, phone(401), "first")
    await c.reply(a, phone(402), "second")
    await until(lambda: len(assigned_ids(first)) == 2, what="dropper's two assignments")
    xs = sorted(assigned_ids(first))
    bk = await c.connect(backup, b)  # available, free, nothing waiting

    # Within the grace period: a reload (even onto the other process) keeps everything.
    await first.close()
    dropped = time.monotonic()
    again = await c.connect(dropper, b)
    hello = again.of_type("hello")[0]
    assert sorted(conv["id"] for conv in hello["conversations"]) == xs
    await asyncio.sleep(max(0.0, dropped + grace + 1.0 - time.monotonic()))  # past the grace period
    assert assigned_ids(bk) == [] and assigned_ids(h) == [w]
    for x in xs:
        conv = await c.conversation(x)
        assert (conv["status"], conv["agent_id"]) == ("assigned", dropper["id"])
    assert [f["type"] for f in again.frames] == ["hello"]

    # W goes back to waiting while nobody else is free.
    for client, command in (
        (bk, {"type": "presence", "status": "away"}),
        (h, {"type": "presence", "status": "away"}),
        (h, {"type": "transfer", "conversation_id": w, "queue": "default"}),
    ):
        assert (await client.command(command))["type"] == "ack"
    assert (await c.conversation(w))["status"] == "waiting"

    # The dropper goes for good; its customers write in the meantime.
    last = again.last_id
    await again.close()
    await c.reply(a, phone(401), "are you there?")
    await c.reply(b, phone(402), "hello?")

    async def requeued() -> bool:
        convs = [await c.conversation(x) for x in xs]
        return all(conv["status"] == "waiting" and conv["agent_id"] is None for conv in convs)

    await until(requeued, timeout=grace + 8, what="requeue after the grace period")
    assert (await c.conversation(w))["status"] == "waiting"

    # They went to the front: the next free agent gets them before the older W.
    mark = len(bk.frames)
    assert (await bk.command({"type": "presence", "status": "available"}))["type"] == "ack"
    await until(lambda: len(assigned_ids(bk)) == 2, what="backup's two assignments")
    await asyncio.sleep(QUIET_S)
    taken = [f["conversation"] for f in bk.frames[mark:] if is_assigned(f)]
    assert sorted(conv["id"] for conv in taken) == xs
    for conv in taken:  # with what the customer wrote while nobody was there
        assert len(conv["messages"]) == 2
    assert (await c.conversation(w))["status"] == "waiting"
    assert assigned_ids(h) == [w]

    # The dropper comes back: it takes W (free capacity), and resuming from its
    # last id replays what it missed, in order, with no gap.
    back = await c.connect(dropper, a)
    await back.wait(lambda f: is_assigned(f) and f["conversation"]["id"] == w)  # live, after hello
    mark = len(back.frames)
    assert (await back.command({"type": "resume", "after": last}))["type"] == "ack"
    replayed = [f for f in back.frames[mark:] if isinstance(f.get("id"), int)]
    ids = [f["id"] for f in replayed]
    assert ids == list(range(last + 1, last + 1 + len(ids))), ids
    assert ids[-1] == max(f["id"] for f in back.frames if isinstance(f.get("id"), int))
    bodies = [f["message"]["body"] for f in replayed if f["type"] == "message.created"]
    assert bodies == ["are you there?", "hello?"]
    gone = [f for f in replayed if f["type"] == "conversation.transferred"]
    assert sorted(f["conversation_id"] for f in gone) == xs
    assert all(f["to_queue"] == "default" and f["to_agent_id"] is None for f in gone)
    assert [f["type"] for f in replayed][-1] == "conversation.assigned"
    # Replaying the stream leaves the agent with what the hub says it holds.
    resumed_view = open_from_events(first.frames + again.frames + replayed)
    assert resumed_view == {w}, resumed_view
    assert back.of_type("hello")[0]["conversations"] == []

    # Past the grace period, an agent's conversations go at once to an available
    # agent with room: the backup leaves, the dropper (one free slot) takes one.
    mark = len(back.frames)
    await bk.close()
    await until(
        lambda: any(is_assigned(f) for f in back.frames[mark:]),
        timeout=grace + 8,
        what="handoff to the available agent",
    )
    await asyncio.sleep(QUIET_S)
    handed = [f["conversation"]["id"] for f in back.frames[mark:] if is_assigned(f)]
    assert handed == [xs[0]]
    statuses = {x: (await c.conversation(x))["status"] for x in xs}
    assert statuses == {xs[0]: "assigned", xs[1]: "waiting"}
    agents = await c.agents()
    assert agents[dropper["id"]]["open"] == 2 and agents[backup["id"]]["open"] == 0


# 4 ---------------------------------------------------------------------------


async def test_events_reach_the_agent_on_whichever_process_holds_its_socket(cluster) -> None:
    c = await cluster()
    a, b = c.hubs
    on_b = await c.connect(c.new_agent("on-b@example.com"), b)

    await c.reply(a, phone(500), "hi from A")
    frame = await on_b.wait(is_assigned)
    conv_id = frame["conversation"]["id"]
    assert [m["body"] for m in frame["conversation"]["messages"]] == ["hi from A"]
    await c.reply(a, phone(500), "still there?")
    created = await on_b.wait(lambda f: f["type"] == "message.created")
    assert created["conversation_id"] == conv_id and created["message"]["body"] == "still there?"

    # And the other way round, with the agent's own reply coming back as an event.
    on_a = await c.connect(c.new_agent("on-a@example.com"), a)
    mark_a = len(on_a.frames)
    await c.reply(b, phone(501), "hi from B")
    other = (await on_a.wait(is_assigned, start=mark_a))["conversation"]["id"]
    await c.reply(b, phone(501), "more from B")
    await on_a.wait(lambda f: f["type"] == "message.created" and f["message"]["body"] == "more from B")
    ids = [f["id"] for f in on_b.frames if f["type"] != "hello"]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert other != conv_id and other not in assigned_ids(on_b)


# 5 ---------------------------------------------------------------------------


async def test_freeing_capacity_on_one_process_while_an_agent_arrives_on_another(cluster) -> None:
    c = await cluster()
    a, b = c.hubs
    holder_agent = c.new_agent("holder@example.com", capacity=1)
    holder = await c.connect(holder_agent, a)
    await c.reply(a, phone(600), "keep me busy")
    current = (await holder.wait(is_assigned))["conversation"]["id"]
    capacities = {holder_agent["id"]: 1}
    newcomer: dict[str, Any] = {}
    arrived: AgentClient | None = None
    close: dict[str, Any]
    available = {"type": "presence", "status": "available"}

    for n in range(8):
        # One conversation waits while the holder (on A) is full; the holder
        # frees its slot at the moment another agent comes online on B.
        await c.reply(b if n % 2 else a, phone(610 + n), f"round {n}")
        waiting = await c.conversations("waiting")
        assert len(waiting) == 1
        target = waiting[0]["id"]
        mark = len(holder.frames)
        close = {"type": "close", "conversation_id": current}
        variant = n % 4
        if variant in (0, 1):
            newcomer = c.new_agent(f"newcomer{n}@example.com", capacity=1)
            capacities[newcomer["id"]] = 1
        if variant == 0:  # a close and a new connection, sent together
            ack, arrived = await asyncio.gather(holder.command(close), c.connect(newcomer, b))
        elif variant == 1:  # the close leaves as the hello arrives, while B marks the agent online
            arrived = await c.connect(newcomer, b)
            ack = await holder.command(close)
        elif variant == 2:  # an agent who was away turns available, the close first
            assert arrived is not None
            ack, turned = await asyncio.gather(holder.command(close), arrived.command(dict(available)))
            assert turned["type"] == "ack", turned
        else:  # the same, the presence change first
            assert arrived is not None
            turned, ack = await asyncio.gather(arrived.command(dict(available)), holder.command(close))
            assert turned["type"] == "ack", turned
        assert ack["type"] == "ack", ack
        assert arrived is not None
        newcomer_client = arrived

        def winners(
            target: str = target, mark: int = mark, newcomer_client: AgentClient = newcomer_client
        ) -> list[str]:
            got = []
            if any(is_assigned(f) and f["conversation"]["id"] == target for f in holder.frames[mark:]):
                got.append("holder")
            if target in assigned_ids(newcomer_client):
                got.append("newcomer")
            return got

        await until(winners, what=f"round {n}: the waiting conversation assigned")
        await asyncio.sleep(QUIET_S)
        assert len(winners()) == 1, (n, winners())
        won = winners()[0]
        stored = await c.conversation(target)
        expected = holder_agent["id"] if won == "holder" else newcomer["id"]
        assert (stored["status"], stored["agent_id"]) == ("assigned", expected)
        everywhere = [conv for cl in c.clients for conv in assigned_ids(cl)]
        assert len(everywhere) == len(set(everywhere)), everywhere
        agents = await c.agents()
        assert all(agents[agent_id]["open"] <= cap for agent_id, cap in capacities.items()), agents
        assert sum(agents[agent_id]["open"] for agent_id in capacities) == 1

        # Back to the starting line: the newcomer away and empty, the holder busy.
        if won == "newcomer":
            assert (await arrived.command({"type": "close", "conversation_id": target}))["type"] == "ack"
        assert (await arrived.command({"type": "presence", "status": "away"}))["type"] == "ack"
        if won == "holder":
            current = target
        else:
            mark = len(holder.frames)
            await c.reply(a, phone(640 + n), f"busy again {n}")
            current = (await holder.wait(is_assigned, start=mark))["conversation"]["id"]
