"""The event feed on real parts: a hub process, redis-server, the sandbox
provider, and a receiver (a real HTTP server) that goes down in the middle
of a push. Afterwards the receiver holds one event per state change, each
once, signed, in order, and GET /v1/events replays the same log."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import (
    SENDER,
    Api,
    ServerThread,
    contact,
    create_org,
    outbound_setup,
    phone,
    wait_for,
)

SECRET = "whsec-test-0123456789abcdef"


class Receiver:
    """A CRM's webhook receiver: checks each signature itself and keeps what it took."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server: ServerThread | None = None
        self.port: int | None = None

    async def take(self, request: Request) -> Response:
        body = await request.body()
        parts = dict(p.split("=", 1) for p in request.headers["hub-signature"].split(","))
        expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts["v1"]) or abs(time.time() - int(parts["t"])) > 300:
            self.bad_signatures += 1
            return Response(status_code=400)
        event = httpx.Response(200, content=body).json()
        assert request.headers["hub-event-id"] == event["id"]
        with self.lock:
            self.events.append(event)
        return Response(status_code=204)

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hooks", self.take, methods=["POST"])])
        self.server = ServerThread(app, port=self.port).start()
        self.port = self.server.port
        return self

    def stop(self) -> None:
        assert self.server is not None
        self.server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@pytest.fixture
def receiver() -> Any:
    r = Receiver().start()
    yield r
    r.stop()


def hub_with_receiver(hub_factory, sandbox, receiver: Receiver, **env: str):  # type: ignore[no-untyped-def]
    # The operator's host list (test and development only) lets the hub post to a loopback receiver.
    hosts = f"{urlsplit(sandbox.url).netloc},{urlsplit(receiver.url).netloc}"
    return hub_factory(HUB_ALLOWED_PROVIDER_HOSTS=hosts, **env)


def replay(api: Api, after: str | None = None) -> list[dict[str, Any]]:
    """Every event in the log, paging with ``after`` as a consumer would."""
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    if after:
        params["after"] = after
    while True:
        page = api.ok("GET", "/v1/events", params=params)
        events += page["events"]
        params["after"] = page["next_after"]
        if not page["has_more"]:
            return events


def all_activities(api: Api) -> dict[str, str]:
    statuses: dict[str, str] = {}
    cursor = None
    while True:
        page = api.ok("GET", "/v1/outbound/activities", params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        statuses.update({a["id"]: a["status"] for a in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return statuses


def check_push(api: Api, receiver: Receiver, activities: dict[str, str]) -> None:
    """Events = state changes: per activity a chain from queued to its final
    status with no link missing or doubled; no id twice; ids in order; the
    receiver holds exactly the log's events."""
    got = receiver.events
    ids = [e["id"] for e in got]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    as_pairs = [tuple(int(x) for x in i.split("-")) for i in ids]
    assert as_pairs == sorted(as_pairs), "events arrived out of order"
    assert receiver.bad_signatures == 0
    logged = [e for e in replay(api) if e["type"] == "activity.status"]
    assert got == logged
    chains: dict[str, list[dict[str, Any]]] = {}
    for event in got:
        assert event["type"] == "activity.status"
        chains.setdefault(event["data"]["activity_id"], []).append(event["data"])
    assert set(chains) == set(activities)
    for activity_id, chain in chains.items():
        assert chain[0]["previous_status"] == "queued"
        for before, after in zip(chain, chain[1:], strict=False):
            assert after["previous_status"] == before["status"], (activity_id, chain)
        assert chain[-1]["status"] == activities[activity_id]


def push_with_receiver_down(api: Api, sandbox, receiver: Receiver, total: int, timeout: float) -> dict[str, str]:  # type: ignore[no-untyped-def]
    config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
    endpoint = api.ok(
        "POST",
        "/v1/event-endpoints",
        201,
        json={"url": receiver.url, "secret": SECRET, "event_types": ["activity.status"]},
    )
    assert "secret" not in endpoint

    def send(start: int, stop: int) -> None:
        for first in range(start, stop, 100):
            api.ok(
                "POST",
                "/v1/outbound/send",
                202,
                json={
                    "configuration_id": config_id,
                    "contacts": [contact(phone(i % 5000)) for i in range(first, min(first + 100, stop))],
                },
            )

    third = max(1, total // 3)
    send(0, third)
    wait_for(lambda: len(receiver.events) >= 3, timeout=timeout)
    receiver.stop()  # down for the rest of the push
    send(third, total)

    def settled() -> dict[str, str] | None:
        statuses = all_activities(api)
        done = len(statuses) == total and all(s == "delivered" for s in statuses.values())
        return statuses if done else None

    activities = wait_for(settled, timeout=timeout, interval=0.5)
    failing = wait_for(
        lambda: (e := api.ok("GET", f"/v1/event-endpoints/{endpoint['id']}"))["delivery"]["failures"] and e, timeout=30
    )
    assert failing["delivery"]["last_error"].startswith("unreachable")
    receiver.start()  # back up: the hub catches up by itself
    expected = 3 * total  # sending, sent, delivered
    wait_for(lambda: len(receiver.events) >= expected, timeout=timeout, interval=0.5)
    time.sleep(1.5)  # nothing more arrives
    assert api.ok("GET", f"/v1/event-endpoints/{endpoint['id']}")["delivery"]["failures"] == 0
    return activities


def test_a_receiver_down_during_a_push_misses_nothing_and_gets_nothing_twice(
    hub_factory, sandbox, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    hub = hub_with_receiver(hub_factory, sandbox, receiver)
    with Api(hub.url, create_org(hub.url)["api_key"]) as api:
        activities = push_with_receiver_down(api, sandbox, receiver, 150, timeout=60)
        check_push(api, receiver, activities)


@pytest.mark.timeout(900)
@pytest.mark.heavy
def test_a_receiver_down_during_a_push_of_10000_messages(hub_factory, sandbox, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    """HEAVY (HUB_SKIP_HEAVY=1 skips it): 10,000 messages, the receiver down
    for the last two thirds of the push; afterwards 30,000 events, each once."""
    hub = hub_with_receiver(hub_factory, sandbox, receiver)
    org = create_org(hub.url, limits={"requests_per_hour": 1_000_000})
    with Api(hub.url, org["api_key"]) as api:
        started = time.monotonic()
        activities = push_with_receiver_down(api, sandbox, receiver, 10_000, timeout=600)
        check_push(api, receiver, activities)
        print(
            f"\n10k push, receiver down for two thirds: {len(receiver.events)} events "
            f"delivered in {time.monotonic() - started:.1f}s"
        )


async def test_conversations_replies_and_opt_outs_reach_the_feed(hub_factory, sandbox, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    hub = hub_with_receiver(hub_factory, sandbox, receiver)
    with Api(hub.url, create_org(hub.url)["api_key"]) as api:
        channel_id = outbound_setup(api, sandbox.url)["channel"]["id"]
        api.ok(
            "POST",
            "/v1/event-endpoints",
            201,
            json={
                "url": receiver.url,
                "secret": SECRET,
                "event_types": [
                    "conversation.opened",
                    "conversation.assigned",
                    "conversation.closed",
                    "message.received",
                    "contact.opted_out",
                ],
            },
        )
        create_agent(api, "ada@example.com")
        agent = await AgentClient(hub.url, login(hub.url, "ada@example.com")).connect()
        try:
            await customer_replies(sandbox.url, hub.url, channel_id, phone(7), "where is my parcel?", SENDER)
            conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
            assert (await agent.command({"type": "close", "conversation_id": conv["id"]}))["type"] == "ack"
            await customer_replies(sandbox.url, hub.url, channel_id, phone(8), "STOP", SENDER)
            api.ok("POST", f"/v1/contacts/{phone(9)}/consent", json={"channel_id": channel_id, "action": "opt_out"})
        finally:
            await agent.close()
        wait_for(lambda: len(receiver.events) >= 6, timeout=20)
        time.sleep(1.5)
        kinds = [(e["type"], e["data"].get("conversation_id") or e["data"].get("phone")) for e in receiver.events]
        assert kinds == [
            ("conversation.opened", conv["id"]),
            ("message.received", conv["id"]),
            ("conversation.assigned", conv["id"]),
            ("conversation.closed", conv["id"]),
            ("contact.opted_out", phone(8)),
            ("contact.opted_out", phone(9)),
        ]
        assert receiver.events[1]["data"]["message"]["body"] == "where is my parcel?"
        assert [e["data"]["source"] for e in receiver.events[4:]] == ["keyword", "api"]
        assert replay(api) == receiver.events
        assert replay(api, after=receiver.events[3]["id"]) == receiver.events[4:]


def test_endpoints_keep_their_secret_to_themselves_and_an_org_has_at_most_20(api: Api, hub) -> None:  # type: ignore[no-untyped-def]
    body = {"url": "https://crm.example.com/hooks", "secret": SECRET, "event_types": ["activity.status"]}
    first = api.ok("POST", "/v1/event-endpoints", 201, json=body)
    assert "secret" not in first and first["enabled"] is True
    assert "secret" not in api.ok("GET", f"/v1/event-endpoints/{first['id']}")
    patched = api.ok(
        "PATCH", f"/v1/event-endpoints/{first['id']}", json={"secret": "another-secret-0123456789", "enabled": False}
    )
    assert "secret" not in patched and patched["enabled"] is False
    assert SECRET not in api.get("/v1/event-endpoints").text
    for _ in range(19):
        api.ok("POST", "/v1/event-endpoints", 201, json=body)
    full = api.post("/v1/event-endpoints", json=body)
    assert full.status_code == 409 and full.json()["error"]["code"] == "too_many_endpoints"
    assert len(api.ok("GET", "/v1/event-endpoints")["items"]) == 20
    assert api.delete(f"/v1/event-endpoints/{first['id']}").status_code == 204
    assert api.get(f"/v1/event-endpoints/{first['id']}").status_code == 404
    api.ok("POST", "/v1/event-endpoints", 201, json=body)
    # Another org sees none of them.
    with Api(hub.url, create_org(hub.url)["api_key"]) as other:
        assert other.ok("GET", "/v1/event-endpoints")["items"] == []
        assert other.get(f"/v1/event-endpoints/{first['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://127.0.0.1/hooks"}, "url"),
        ({"url": "https://169.254.169.254/latest"}, "url"),
        ({"url": "http://crm.example.com/hooks"}, "url"),
        ({"secret": "short"}, "secret"),
        ({"event_types": ["everything"]}, "event_types"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_its_field(api: Api, body: dict[str, Any], field: str) -> None:
    good = {"url": "https://crm.example.com/hooks", "secret": SECRET, "event_types": ["activity.status"]}
    answer = api.post("/v1/event-endpoints", json={**good, **body})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"]["field"] == field


def test_a_cursor_older_than_the_retention_answers_410(api: Api, sandbox, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
    api.ok(
        "POST",
        "/v1/event-endpoints",
        201,
        json={"url": "https://crm.example.com/hooks", "secret": SECRET, "event_types": ["activity.status"]},
    )
    api.ok("POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(phone(1))]})
    events = wait_for(lambda: len(e := replay(api)) >= 3 and e, timeout=20)
    first, last = events[0]["id"], events[-1]["id"]
    assert api.get("/v1/events", params={"after": "12-x"}).json()["error"]["details"]["field"] == "after"
    # What the trim does once the retention has passed for all but the last event.
    trim_log(redis_url, api.org["id"], last)  # type: ignore[attr-defined]
    gone = api.get("/v1/events", params={"after": first})
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "cursor_expired"
    assert [e["id"] for e in replay(api)] == [last]  # no cursor: from the oldest kept
    assert replay(api, after=events[-2]["id"]) == [events[-1]]  # a cursor at the edge is fine


def trim_log(redis_url: str, org_id: str, keep_from: str) -> None:
    import asyncio

    from hub.storage.event_feed import EventFeedStore
    from hub.storage.redis import Scripts, connect

    async def go() -> None:
        client = await connect(redis_url)
        try:
            await EventFeedStore(client, Scripts(client)).trim(org_id, keep_from)
        finally:
            await client.aclose()

    asyncio.run(go())


async def test_each_endpoint_gets_only_its_types(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    statuses, opt_outs = Receiver().start(), Receiver().start()
    try:
        hosts = ",".join(urlsplit(u).netloc for u in (sandbox.url, statuses.url, opt_outs.url))
        hub = hub_factory(HUB_ALLOWED_PROVIDER_HOSTS=hosts)
        with Api(hub.url, create_org(hub.url)["api_key"]) as api:
            ids = outbound_setup(api, sandbox.url)
            for receiver, types in ((statuses, ["activity.status"]), (opt_outs, ["contact.opted_out"])):
                api.ok(
                    "POST",
                    "/v1/event-endpoints",
                    201,
                    json={"url": receiver.url, "secret": SECRET, "event_types": types},
                )
            api.ok(
                "POST",
                "/v1/outbound/send",
                202,
                json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(2))]},
            )
            await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(2), "STOP", SENDER)
            wait_for(lambda: len(statuses.events) >= 3 and opt_outs.events, timeout=20)
            time.sleep(1.5)
            assert {e["type"] for e in statuses.events} == {"activity.status"}
            assert [(e["type"], e["data"]["phone"]) for e in opt_outs.events] == [("contact.opted_out", phone(2))]
            # The log holds both kinds, in one order.
            assert {e["type"] for e in replay(api)} == {"activity.status", "contact.opted_out"}
    finally:
        statuses.stop()
        opt_outs.stop()


def test_two_processes_deliver_one_endpoint_in_order_and_once_when_one_stops(
    hub_factory, sandbox, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    hosts = f"{urlsplit(sandbox.url).netloc},{urlsplit(receiver.url).netloc}"
    first, second = (hub_factory(HUB_ALLOWED_PROVIDER_HOSTS=hosts) for _ in range(2))
    org = create_org(first.url)
    with Api(first.url, org["api_key"]) as api, Api(second.url, org["api_key"]) as other:
        config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
        api.ok(
            "POST",
            "/v1/event-endpoints",
            201,
            json={"url": receiver.url, "secret": SECRET, "event_types": ["activity.status"]},
        )
        for n, client in enumerate((api, other, api)):
            client.ok(
                "POST",
                "/v1/outbound/send",
                202,
                json={"configuration_id": config_id, "contacts": [contact(phone(100 * n + i)) for i in range(40)]},
            )
        wait_for(lambda: len(receiver.events) >= 30, timeout=30)
        first.stop()  # whichever held the lease, the other goes on
        wait_for(lambda: len(receiver.events) >= 3 * 120, timeout=60, interval=0.2)
        time.sleep(1.5)
        check_push(other, receiver, all_activities(other))


def test_events_past_the_retention_are_skipped_and_delivery_goes_on(
    hub_factory, sandbox, receiver: Receiver, redis_url: str
) -> None:  # type: ignore[no-untyped-def]
    hub = hub_with_receiver(hub_factory, sandbox, receiver)
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
        endpoint = api.ok(
            "POST",
            "/v1/event-endpoints",
            201,
            json={"url": receiver.url, "secret": SECRET, "event_types": ["activity.status"]},
        )
        receiver.stop()
        api.ok("POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(phone(3))]})
        events = wait_for(lambda: len(e := replay(api)) >= 3 and e, timeout=20)
        wait_for(lambda: api.ok("GET", f"/v1/event-endpoints/{endpoint['id']}")["delivery"]["failures"], timeout=20)
        trim_log(redis_url, org["id"], events[-1]["id"])  # the retention passed for the first two
        receiver.start()
        wait_for(lambda: receiver.events, timeout=30)
        time.sleep(1.5)
        assert receiver.events == [events[-1]]
        assert api.ok("GET", f"/v1/event-endpoints/{endpoint['id']}")["delivery"]["cursor"] == events[-1]["id"]
