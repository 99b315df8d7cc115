"""The archiver copies every outbound activity, with its whole history, from
Redis to SQL (SQLite and PostgreSQL), also across a kill -9 mid-archive."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from hub.embedded_redis import EmbeddedRedis
from hub.metrics import Metrics
from hub.providers.pool import ProviderPool
from hub.services import history
from hub.services.context import Hub
from hub.settings import Settings
from hub.storage import keys
from hub.storage.activities import public_activity
from hub.storage.archive_queue import GROUP
from hub.storage.redis import connect
from hub.storage.sql import migrate, open_database
from hub.storage.sql.activities import ActivityCopy, load_activity, write_activities
from tests.sql_support import SqlWriteLock
from tests.support import Api, HubProcess, contact, create_org, outbound_setup, phone, redis_client, wait_for


def archived(url: str, org_id: str, ids: list[str]) -> dict[str, Any]:
    """The activities as SQL holds them, in the API's shape."""

    async def go() -> dict[str, Any]:
        db = await open_database(url)
        try:
            out = {}
            for act_id in ids:
                found = await load_activity(db, org_id, act_id)
                if found:
                    out[act_id] = public_activity(*found)
            return out
        finally:
            await db.close()

    return asyncio.run(go())


def send(api: Api, config_id: str, phones: list[str]) -> list[str]:
    answer = api.ok(
        "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(p) for p in phones]}
    )
    return [r["activity_id"] for r in answer["results"]]


def all_delivered(api: Api, ids: list[str]) -> dict[str, Any] | None:
    views = {i: api.ok("GET", f"/v1/outbound/activities/{i}") for i in ids}
    return views if all(v["status"] == "delivered" for v in views.values()) else None


def sql_matches(url: str, org_id: str, views: dict[str, Any]) -> bool:
    return archived(url, org_id, list(views)) == views


@pytest.fixture
def org_api(hub_factory, database_url: str) -> Iterator[tuple[Api, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    first = hub_factory(DATABASE_URL=database_url)
    org = create_org(first.url)
    with Api(first.url, org["api_key"]) as api:
        yield api, org


def test_every_activity_reaches_sql_with_its_whole_history(
    org_api: tuple[Api, dict[str, Any]],
    sandbox,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    api, org = org_api
    ids = outbound_setup(api, sandbox.url)
    # Late callbacks (after the send is recorded), read receipts, duplicates.
    for i, mode in ((1, "read"), (2, "duplicate"), (3, "undelivered")):
        httpx.post(
            sandbox.url + "/_sandbox/rules", json={"to": phone(i), "action": "callbacks", "mode": mode, "delay_ms": 300}
        )
    acts = send(api, ids["config"]["id"], [phone(i) for i in range(4)])
    answer = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(9), optin=False)]},
    )
    acts.append(answer["results"][0]["activity_id"])
    final = ["delivered", "read", "delivered", "undelivered", "skipped_no_optin"]

    def settled() -> dict[str, Any] | None:
        views = {i: api.ok("GET", f"/v1/outbound/activities/{i}") for i in acts}
        done = [v["status"] for v in views.values()] == final
        # Every callback is in (2 + 3 + 4 duplicates included + 2).
        return views if done and sandbox.state.stats()["callbacks_sent"] >= 11 else None

    views = wait_for(settled, timeout=30)
    wait_for(lambda: sql_matches(database_url, org["id"], views), timeout=30)

    # The columns that filters and reports will use are filled in too.
    async def columns() -> list[tuple[Any, ...]]:
        db = await open_database(database_url)
        try:
            return await db.fetch(
                "SELECT id, configuration_id, template_id, to_addr, status, provider_message_id,"
                " in_timeline FROM activities WHERE org_id = ? ORDER BY score",
                org["id"],
            )
        finally:
            await db.close()

    assert asyncio.run(columns()) == [
        (
            i,
            ids["config"]["id"],
            ids["template"]["id"],
            views[i]["to"],
            views[i]["status"],
            views[i]["provider_message_id"],
            1,
        )
        for i in acts
    ]


def sql_counts(url: str, org_id: str) -> tuple[int, int]:
    """Activity rows and history rows (the database holds one org)."""

    async def go() -> tuple[int, int]:
        db = await open_database(url)
        try:
            rows = await db.fetchval("SELECT COUNT(*) FROM activities WHERE org_id = ?", org_id)
            events = await db.fetchval("SELECT COUNT(*) FROM activity_history")
            return int(rows), int(events)
        finally:
            await db.close()

    return asyncio.run(go())


def gauge(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def pending(r: redis.Redis, stream: str) -> int:
    try:
        return int(r.xpending(stream, GROUP)["pending"])
    except redis.ResponseError:  # no archiver has made the group yet
        return 0


def test_a_process_killed_mid_archive_loses_and_doubles_nothing(
    hub_factory,
    sandbox,
    redis_url: str,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    first = hub_factory(DATABASE_URL=database_url)
    org = create_org(first.url)
    r = redis_client(redis_url)
    stream = keys.archive_stream(org["id"])
    with Api(first.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        lock = SqlWriteLock(database_url)
        lock.take()
        try:
            acts = send(api, ids["config"]["id"], [phone(i) for i in range(10)])
            acts += send(api, ids["config"]["id"], [phone(i) for i in range(10, 20)])
            views = wait_for(lambda: all_delivered(api, acts), timeout=30)
            # The first process holds a batch it read and could not write yet.
            wait_for(lambda: pending(r, stream) > 0, timeout=15)
            assert archived(database_url, org["id"], acts) == {}
            # The lag shows: changes wait, the oldest for a while now.
            wait_for(lambda: gauge(first.url, "hub_archive_lag_seconds") >= 1, timeout=15)
            assert gauge(first.url, "hub_archive_backlog") > 0
            first.kill()
        finally:
            lock.release()
    second = hub_factory(DATABASE_URL=database_url, HUB_CLAIM_IDLE_MS="500")
    wait_for(lambda: sql_matches(database_url, org["id"], views), timeout=30)
    wait_for(lambda: pending(r, stream) == 0 and r.xlen(stream) == 0, timeout=15)
    assert gauge(second.url, "hub_archive_backlog") == 0
    assert gauge(second.url, "hub_archive_lag_seconds") == 0

    # Exactly once: one row per activity, one history row per event.
    assert sql_counts(database_url, org["id"]) == (len(acts), sum(len(v["history"]) for v in views.values()))
    second.stop()
    r.close()


def test_two_processes_archiving_at_once_write_each_change_once(
    hub_factory,
    sandbox,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    hubs = [hub_factory(DATABASE_URL=database_url) for _ in range(2)]
    org = create_org(hubs[0].url)
    clients = [Api(h.url, org["api_key"]) for h in hubs]
    try:
        ids = outbound_setup(clients[0], sandbox.url)
        acts: list[str] = []
        for n in range(6):  # both processes accept, send and archive
            acts += send(clients[n % 2], ids["config"]["id"], [phone(n * 10 + i) for i in range(10)])
        views = wait_for(lambda: all_delivered(clients[1], acts), timeout=60)
        wait_for(lambda: sql_matches(database_url, org["id"], views), timeout=60)
    finally:
        for c in clients:
            c.http.close()


def test_an_activity_gone_from_redis_is_read_from_sql(
    org_api: tuple[Api, dict[str, Any]],
    sandbox,
    redis_url: str,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    api, org = org_api
    ids = outbound_setup(api, sandbox.url)
    act = send(api, ids["config"]["id"], [phone(1)])[0]
    views = wait_for(lambda: all_delivered(api, [act]), timeout=30)
    wait_for(lambda: sql_matches(database_url, org["id"], views), timeout=30)
    # The record leaves Redis (as its TTL makes it do).
    r = redis_client(redis_url)
    assert r.delete(keys.activity(org["id"], act), keys.activity_history(org["id"], act)) == 2
    r.close()
    assert api.ok("GET", f"/v1/outbound/activities/{act}") == views[act]
    # Still the org's own: another org's key finds nothing.
    base = str(api.base_url).rstrip("/")
    with Api(base, create_org(base)["api_key"]) as stranger:
        assert stranger.get(f"/v1/outbound/activities/{act}").status_code == 404


async def test_an_archived_activity_past_retention_is_not_answered(redis_url: str, database_url: str) -> None:
    db = await open_database(database_url)
    client = await connect(redis_url)
    try:
        await migrate(db)
        created = int(time.time() * 1000) - 2 * 86_400_000  # two days ago
        raw = {
            "id": "act_1",
            "org": "org_a",
            "cfg": "cfg_1",
            "to": "+14155552671",
            "status": "delivered",
            "created": str(created),
        }
        event = json.dumps({"status": "delivered", "at": created, "source": "callback"})
        await write_activities(db, [ActivityCopy(raw, [event], created * 1000)])

        def hub(days: int) -> Hub:
            settings = Settings(redis_url=redis_url, retention_days=days, send_retry_window_s=3600)
            return Hub(settings=settings, redis=client, metrics=Metrics(), providers=ProviderPool(settings), history=db)

        assert (await history.activity(hub(90), "org_a", "act_1"))["status"] == "delivered"  # type: ignore[index]
        assert await history.activity(hub(1), "org_a", "act_1") is None
    finally:
        await client.aclose()
        await db.close()


def test_redis_restarted_from_its_aof_mid_archive_loses_and_doubles_nothing(
    hub_factory,
    sandbox,
    database_url: str,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendfsync="always").start()
    r = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        proc = HubProcess(
            server.url,
            sandbox_url=sandbox.url,
            log_path=tmp_path / "hub.log",
            env={"DATABASE_URL": database_url, "HUB_CLAIM_IDLE_MS": "1000"},
        ).start()
        org = create_org(proc.url)
        stream = keys.archive_stream(org["id"])
        with Api(proc.url, org["api_key"]) as api:
            ids = outbound_setup(api, sandbox.url)
            lock = SqlWriteLock(database_url)
            lock.take()
            try:
                acts = send(api, ids["config"]["id"], [phone(i) for i in range(10)])
                views = wait_for(lambda: all_delivered(api, acts), timeout=30)
                wait_for(lambda: pending(r, stream) > 0, timeout=15)
                server.kill()  # a crash, with a batch read and not yet written
            finally:
                lock.release()  # the batch is written while Redis is down; its ack may fail
            server.start()  # from the AOF: the stream and its pending entries are back
            wait_for(lambda: sql_matches(database_url, org["id"], views), timeout=30)
            wait_for(lambda: pending(r, stream) == 0 and r.xlen(stream) == 0, timeout=30)
            assert sql_counts(database_url, org["id"]) == (len(acts), sum(len(v["history"]) for v in views.values()))
            # Redis and SQL agree with what the API answered before the crash.
            assert all_delivered(api, acts) == views
        proc.stop()
    finally:
        r.close()
        server.stop()
