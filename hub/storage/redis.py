"""Opening Redis from one URL (a standalone server or any node of a Redis
Cluster, told apart on connect), and loading the Lua scripts."""

from __future__ import annotations

import asyncio
import inspect
import re
import weakref
from importlib import resources

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hub.domain.statuses import FINAL, RANK, TERMINAL
from hub.logs import get_logger
from hub.storage import keys
from hub.storage.batch import GroupedScript
from hub.storage.lua_link import link

log = get_logger("hub.redis")


class ClusterClient(RedisCluster):
    """redis-py's cluster client, with what the hub learnt of the cluster on connect."""

    # Redis >= 7: agent wake-ups go by sharded pub/sub (SPUBLISH reaches only
    # the shard of the agent's org); 6.2 broadcasts PUBLISH to every node.
    sharded_pubsub: bool = False


def is_cluster(client: aioredis.Redis) -> bool:
    return isinstance(client, RedisCluster)


def sharded_pubsub(client: aioredis.Redis) -> bool:
    return isinstance(client, ClusterClient) and client.sharded_pubsub


async def connect(url: str, *, max_connections: int = 512) -> aioredis.Redis:
    """A client for ``url``: the cluster client when the server there runs in
    cluster mode (``INFO cluster``), else a pooled standalone client. Typed as
    ``Redis``: the cluster client answers the same commands the hub uses.

    A server that does not answer yet is taken for a standalone one, so the
    hub starts and journals webhooks meanwhile, as it always has;
    ``confirm_standalone`` then checks that guess once the server answers."""
    mode = await _server_mode(url)
    if mode is None:
        log.warning("Redis does not answer; taking it for a standalone server until it does")
        client = _standalone(url, max_connections)
        _UNCONFIRMED.add(client)
        return client
    cluster, version = mode
    if not cluster:
        return _standalone(url, max_connections)
    cluster_client = ClusterClient.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        socket_connect_timeout=5,
        # A node that stops answering makes the client reload the slot map and
        # try again, a few times quickly (the default backoff waits seconds):
        # while a master is down its slots' calls fail fast and the API says 503.
        retry=Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.5), 3),
    )
    cluster_client.sharded_pubsub = int(version.split(".")[0]) >= 7  # type: ignore[attr-defined]
    await cluster_client.initialize()
    return cluster_client  # type: ignore[return-value]


# Standalone clients made while their server did not answer.
_UNCONFIRMED: weakref.WeakSet[aioredis.Redis] = weakref.WeakSet()


class NotStandalone(Exception):
    """The server taken for a standalone one is a Redis Cluster node."""


async def confirm_standalone(client: aioredis.Redis, url: str) -> None:
    """For a client ``connect`` made without an answer: wait for the server,
    and raise ``NotStandalone`` if it is a cluster node (the process must
    start again to use the cluster client)."""
    if client not in _UNCONFIRMED:
        return
    while (mode := await _server_mode(url)) is None:
        await asyncio.sleep(0.5)
    _UNCONFIRMED.discard(client)
    if mode[0]:
        raise NotStandalone(f"REDIS_URL names a Redis Cluster node ({mode[1]})")


async def _server_mode(url: str) -> tuple[bool, str] | None:
    """(cluster mode?, version) of the server at ``url``; None if it does not answer."""
    probe = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, socket_timeout=5)
    try:
        cluster = bool((await probe.info("cluster")).get("cluster_enabled"))
        return cluster, str((await probe.info("server")).get("redis_version", "0"))
    except (RedisConnectionError, RedisTimeoutError):  # LOADING included
        return None
    finally:
        await probe.aclose()


async def check_ready(client: aioredis.Redis) -> None:
    """Raise unless Redis would serve the hub: a keyed read (routed like every
    hub command), and on a cluster every master answering with the cluster
    state ``ok`` (a master down fails its slots' commands; with
    ``cluster-require-full-coverage yes`` every command)."""
    await client.exists(keys.readiness_probe())
    if not isinstance(client, RedisCluster):
        return
    for node in client.get_primaries():
        info = await client.execute_command("CLUSTER INFO", target_nodes=node)
        state = info.get("cluster_state") if isinstance(info, dict) else None
        if state != "ok":
            raise RedisConnectionError(f"cluster state at {node.name}: {state}")


def _standalone(url: str, max_connections: int) -> aioredis.Redis:
    # A blocking pool: in a burst (thousands of sockets connecting at once)
    # callers wait for a connection instead of failing.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        timeout=30,
        # After Redis restarts, every pooled connection is dead, and the pool's
        # check on checkout misses a close it has not seen yet. A connection
        # idle for a second is PINGed first, and a call that fails on a closed
        # connection is tried once more on a new one, so a restart fails no
        # call once Redis answers again. While it is down, calls still fail
        # fast (a refused connect is not waited out) and the API answers 503.
        health_check_interval=1,
        retry=Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.1), 1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it


def pubsub_of(client: aioredis.Redis) -> PubSub:
    """A pub/sub on a pool of its own, without the health check and retry the
    command pool has: a subscriber and the reader share the one connection,
    and a PING or a reconnect-and-retry from the subscriber would read on it
    while the reader waits (asyncio: "read() called while another coroutine
    is already waiting"). The reader resubscribes after a failure itself."""
    source = client.connection_pool
    kwargs = {
        k: v
        for k, v in source.connection_kwargs.items()
        if k not in ("health_check_interval", "retry", "retry_on_error")
    }
    pool = aioredis.ConnectionPool(connection_class=source.connection_class, **kwargs)
    return PubSub(pool, ignore_subscribe_messages=True)


# What a cluster node's pub/sub connection keeps of the cluster client's settings.
_NODE_KWARGS = (
    "username",
    "password",
    "credential_provider",
    "encoding",
    "encoding_errors",
    "decode_responses",
    "socket_connect_timeout",
    "socket_keepalive",
)


class _NodePubSub(PubSub):
    """A cluster node's pub/sub. On reconnect redis-py would SSUBSCRIBE every
    channel in one command, which a node refuses when they span slots (orgs)."""

    async def _resubscribe_shard_channels(self) -> None:
        for channel, handler in list(self.shard_channels.items()):
            await self._resubscribe({channel: handler}, self.ssubscribe)


def channel_node(client: aioredis.Redis, channel: str) -> str:
    """Where a subscriber to ``channel`` listens: on a cluster, the master
    holding the channel's slot (by name); standalone, the one server ("")."""
    if isinstance(client, RedisCluster):
        return str(client.get_node_from_key(channel).name)
    return ""


def pubsub_on(client: aioredis.Redis, node_name: str) -> PubSub:
    """A pub/sub connection to one node (see ``channel_node``), as ``pubsub_of``."""
    if not isinstance(client, RedisCluster):
        return pubsub_of(client)
    node = client.get_node(node_name=node_name)
    kwargs = {k: v for k, v in node.connection_kwargs.items() if k in _NODE_KWARGS}
    pool = aioredis.ConnectionPool(connection_class=node.connection_class, host=node.host, port=node.port, **kwargs)
    return _NodePubSub(pool, ignore_subscribe_messages=True)


async def reload_slots(client: aioredis.Redis) -> None:
    """After a node failed: read the cluster's slot map again."""
    if isinstance(client, RedisCluster):
        await client.nodes_manager.initialize()


def _status_tables() -> str:
    ranks = ", ".join(f"['{s}'] = {r}" for s, r in RANK.items())
    terminal = ", ".join(f"['{s}'] = true" for s in sorted(TERMINAL))
    final = ", ".join(f"['{s}'] = true" for s in sorted(FINAL))
    return f"local RANK = {{{ranks}}}\nlocal TERMINAL = {{{terminal}}}\nlocal FINAL = {{{final}}}\n"


# Functions of keys.py that take no org (global keys) or name no key of their own.
_NOT_IN_LUA = {"org_prefix", "slot"}


def lua_keys() -> dict[str, str]:
    """Every per-org key of keys.py as a Lua function of the org prefix and
    the key's other arguments (``KEY.activity(prefix, id)``), built by
    calling the Python function with placeholders, so a script's keys are
    keys.py's by construction. A function that changes an argument (say,
    lowercases an email) has no Lua twin: it is left out."""
    out: dict[str, str] = {}
    org = "\x01Org\x02"
    for name, fn in inspect.getmembers(keys, inspect.isfunction):
        params = list(inspect.signature(fn).parameters)
        if name.startswith("_") or name in _NOT_IN_LUA or fn.__module__ != keys.__name__ or params[:1] != ["org_id"]:
            continue
        marks = {f"\x01Arg{i}\x02": p for i, p in enumerate(params[1:])}
        built = fn(org, *marks)
        prefix = keys.org_prefix(org)
        if not built.startswith(prefix) or any(built.count(m) != 1 for m in marks):
            continue
        expr = ["p"]
        rest = built[len(prefix) :]
        while rest:
            at = min(((rest.find(m), m) for m in marks if m in rest), default=(len(rest), ""))
            if at[0]:
                expr.append(repr(rest[: at[0]]))
            if at[1]:
                expr.append(marks[at[1]])
            rest = rest[at[0] + len(at[1]) :]
        args = ", ".join(["p", *marks.values()])
        out[name] = f"function({args}) return {' .. '.join(expr)} end"
    return out


def _key_table(source: str) -> str:
    """The ``KEY`` table with the builders ``source`` calls (``KEY.<name>``)."""
    builders = lua_keys()
    used = sorted(set(re.findall(r"\bKEY\.(\w+)", source)))
    missing = [name for name in used if name not in builders]
    if missing:
        raise LookupError(f"Lua calls keys that hub/storage/keys.py does not build: {missing}")
    body = "".join(f"  {name} = {builders[name]},\n" for name in used)
    return f"local KEY = {{\n{body}}}\n"


def script_parts(name: str, *, publish: str = "PUBLISH") -> tuple[list[str], str]:
    """The libraries a script asks for (``-- requires: lib ...``, after the
    status tables), whole, and its own code."""
    folder = resources.files("hub.storage") / "scripts"
    body = (folder / f"{name}.lua").read_text()
    first = body.split("\n", 1)[0]
    if not first.startswith("-- requires:"):
        return [], body
    libraries = [_status_tables() + f"local PUBLISH_COMMAND = '{publish}'\n"]
    libraries += [(folder / f"{lib}.lua").read_text() for lib in first.split(":", 1)[1].split()]
    return libraries, body


def with_key_table(source: str) -> str:
    """``source`` after the ``KEY`` table it needs."""
    return "\n".join([_key_table(source), source])


def script_source(name: str, *, publish: str = "PUBLISH") -> str:
    """A script with the key table (``KEY``, from keys.py) and the libraries
    its first line asks for (``-- requires: lib ...``); ``publish``: the
    command its agent events go out with (PUBLISH_COMMAND). Of the libraries,
    only the definitions the script reaches (hub.storage.lua_link)."""
    libraries, body = script_parts(name, publish=publish)
    return with_key_table(link(libraries, body) if libraries else body)


class Scripts:
    """The hub's Lua scripts, registered on one client (EVALSHA, loaded on demand).
    Agent events go out with SPUBLISH on a cluster that has it (see ``sharded_pubsub``)."""

    def __init__(self, client: aioredis.Redis) -> None:
        publish = "SPUBLISH" if sharded_pubsub(client) else "PUBLISH"

        def load(name: str) -> AsyncScript:
            return client.register_script(script_source(name, publish=publish))

        self.accept_send = load("accept_send")
        self.accept_reserve = load("accept_reserve")
        self.accept_part = load("accept_part")
        self.accept_finish = load("accept_finish")
        self.rate_outbox_done = load("rate_outbox_done")
        self.mark_sending = load("mark_sending")
        self.record_results = load("record_results")
        self.apply_callback = GroupedScript(client, load("apply_callback"), grouped=not is_cluster(client))
        self.pace_reserve = load("pace_reserve")
        self.list_page = load("list_page")
        self.sweep_activity = load("sweep_activity")
        self.sweep_conversation = load("sweep_conversation")
        self.conversation_copies = load("conversation_copies")
        # The webhooks' scripts: concurrent calls go as one pipeline.
        self.ingest_inbound = GroupedScript(client, load("ingest_inbound"), grouped=not is_cluster(client))
        self.consent_set = load("consent_set")
        self.erase_contact = load("erase_contact")
        self.erase_activities = load("erase_activities")
        self.agent_presence = load("agent_presence")
        self.agent_update = load("agent_update")
        self.agent_deactivate = load("agent_deactivate")
        self.agent_connection = load("agent_connection")
        self.conversation_close = load("conversation_close")
        self.conversation_transfer = load("conversation_transfer")
        self.queue_policy = load("queue_policy")
        self.agent_skills = load("agent_skills")
        self.conversation_priority = load("conversation_priority")
        self.queue_hours = load("queue_hours")
        self.policy_due = load("policy_due")
        self.reply_message = load("reply_message")
        self.conversation_note = load("conversation_note")
        self.retry_due = load("retry_due")
        self.release_deferred = load("release_deferred")
        self.circuit_probe = load("circuit_probe")
        self.circuit_failure = load("circuit_failure")
        self.circuit_close = load("circuit_close")
        self.conversation_view = load("conversation_view")
        self.board_snapshot = load("board_snapshot")
        self.conversation_page = load("conversation_page")
        self.schedule_claim = load("schedule_claim")
        self.schedule_done = load("schedule_done")
        self.score_swap = load("score_swap")
        self.bulk_claim = load("bulk_claim")
        self.bulk_renew = load("bulk_renew")
        self.bulk_chunk_done = load("bulk_chunk_done")
        self.bulk_stop = load("bulk_stop")
        self.bulk_sweep = load("bulk_sweep")
        self.event_endpoint = load("event_endpoint")
        self.event_delivery = load("event_delivery")
        self.event_lease = load("event_lease")
        self.event_trim = load("event_trim")
