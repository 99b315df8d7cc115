"""Bulk job outcomes and flow runs reach SQL (SQLite and PostgreSQL), leave
Redis after the hot window, and every read answers the same before and
after; a process killed mid-job and mid-archive loses and doubles nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import redis
import redis.asyncio as aioredis

from hub.domain.records import Org
from hub.embedded_redis import EmbeddedRedis
from hub.metrics import Metrics
from hub.providers.pool import ProviderPool
from hub.services.bulk_jobs import results_csv
from hub.services.context import Hub
from hub.services.job_history import archive_jobs, purge_jobs, sweep_jobs
from hub.settings import Settings
from hub.storage import keys
from hub.storage.sql import migrate, open_database
from hub.storage.sql.bulk_jobs import JobCopy, write_jobs
from hub.storage.sql.flow_runs import RunCopy, write_runs
from tests.flow_support import clients  # noqa: F401 (a fixture)
from tests.sql_support import SqlWriteLock
from tests.support import (
    ADMIN_TOKEN,
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    pages,
    phone,
    wait_for,
)
from tests.test_archiver import pending

Start = Callable[..., HubProcess]
CSV = {"Content-Type": "text/csv"}
HEADER = "tocontactid,channelid,optin,CustomerName,CaseName,entityrelationshipname,state\n"
JOB_TABLES = ("bulk_jobs", "bulk_outcomes", "flow_runs")


def csv_of(rows: list[str]) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def contacts(first: int, count: int) -> bytes:
    return csv_of([f"{phone(i)},sms,true,Name {i},CAS-{i},incident,open" for i in range(first, first + count)])


def set_limits(url: str, org_id: str, **limits: int) -> None:
    response = httpx.patch(
        f"{url}/v1/orgs/{org_id}", json={"limits": limits}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200, response.text


def upload(api: Api, config_id: str, data: bytes) -> str:
    job = api.ok("POST", "/v1/bulk-jobs", 201, params={"configuration_id": config_id}, content=data, headers=CSV)
    return str(job["id"])


def job_in(api: Api, job_id: str, *statuses: str) -> Any:
    job = api.ok("GET", f"/v1/bulk-jobs/{job_id}")
    return job if job["status"] in statuses else None


def results(api: Api, job_id: str) -> list[dict[str, str]]:
    response = api.get(f"/v1/bulk-jobs/{job_id}/results")
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        db = await open_database(url)
        try:
            return await db.fetch(query, *args)
        finally:
            await db.close()

    return asyncio.run(go())


def sql_outcomes(url: str, job_id: str) -> list[dict[str, str]]:
    """A job's rows in SQL, in the results download's shape."""
    rows = sql(
        url,
        "SELECT row_number, tocontactid, status, activity_id, error_code, error_message"
        " FROM bulk_outcomes WHERE job_id = ? ORDER BY row_number",
        job_id,
    )
    names = ("row", "tocontactid", "status", "activity_id", "error_code", "error_message")
    return [dict(zip(names, map(str, r))) for r in rows]


def job_archived(api: Api, url: str, job_id: str) -> bool:
    job = api.ok("GET", f"/v1/bulk-jobs/{job_id}")
    stored = sql(url, "SELECT record FROM bulk_jobs WHERE id = ?", job_id)
    return (
        bool(stored)
        and json.loads(stored[0][0])["status"] == job["status"]
        and sql_outcomes(url, job_id) == results(api, job_id)
    )


def runs_archived(api: Api, url: str, flow_id: str) -> bool:
    runs = api.ok("GET", f"/v1/flows/{flow_id}")["runs"]
    stored = sql(url, "SELECT run FROM flow_runs WHERE flow_id = ? ORDER BY entry_ms, entry_seq", flow_id)
    return [json.loads(r) for (r,) in stored] == runs


def in_redis(r: redis.Redis, org_id: str, job_id: str) -> list[str]:
    """The job's outcome and contact keys left in Redis (not its summary)."""
    return list(r.scan_iter(match=keys.bulk_job(org_id, job_id) + ":*"))


def reads(api: Api, jobs: list[str], flows: list[str]) -> dict[str, Any]:
    """Everything the API answers about these jobs and flows, every way it can be asked."""
    return {
        "jobs": {j: api.ok("GET", f"/v1/bulk-jobs/{j}") for j in jobs},
        "results": {j: results(api, j) for j in jobs},
        "list": pages(api, "/v1/bulk-jobs", limit=1),
        "flows": {f: api.ok("GET", f"/v1/flows/{f}") for f in flows},
    }


def test_bulk_and_flow_reads_answer_the_same_before_and_after_the_hot_window(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    # A hub that keeps everything hot, to read the answers while Redis has them.
    first = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="0")
    org = create_org(first.url, limits={"contacts_per_request": 2, "requests_per_hour": 1})
    org_id = org["id"]
    with Api(first.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url, show_in_timeline=False)
        config = ids["config"]["id"]
        other = api.ok(
            "POST",
            "/v1/outbound-configurations",
            201,
            json={
                "name": "Reminders",
                "channel_type": "sms",
                "channel_id": ids["channel"]["id"],
                "template_id": ids["template"]["id"],
            },
        )["id"]
        # Canceled after its first chunk: two sent, three never.
        canceled = upload(api, config, contacts(0, 5))
        wait_for(lambda: api.ok("GET", f"/v1/bulk-jobs/{canceled}")["waiting"], timeout=30)
        assert api.ok("POST", f"/v1/bulk-jobs/{canceled}/cancel")["status"] == "canceled"
        # Failed: its configuration is deleted while it waits out the hourly limit.
        failed = upload(api, other, contacts(10, 3))
        wait_for(lambda: api.ok("GET", f"/v1/bulk-jobs/{failed}")["waiting"], timeout=30)
        assert api.delete(f"/v1/outbound-configurations/{other}").status_code == 204
        set_limits(first.url, org_id, requests_per_hour=1000)
        wait_for(lambda: job_in(api, failed, "failed"), timeout=30)
        # Done, with every kind of outcome.
        done = upload(
            api,
            config,
            contacts(20, 3)
            + csv_of(
                [f"{phone(30)},sms,false,Bob,CAS-30,incident,open", "not-a-number,sms,true,Cy,CAS-31,incident,open"]
            ).removeprefix(HEADER.encode()),
        )
        wait_for(lambda: job_in(api, done, "done"), timeout=30)
        # A cron flow every second, paused after a few runs, and a one-off.
        cron = api.ok(
            "POST",
            "/v1/flows",
            201,
            json={
                "kind": "scheduled",
                "configuration_id": config,
                "contacts": [contact(phone(40))],
                "cron": "* * * * * */1",
            },
        )["id"]
        once = api.ok(
            "POST",
            "/v1/flows",
            201,
            json={
                "kind": "scheduled",
                "configuration_id": config,
                "contacts": [contact(phone(41))],
                "delay_seconds": 1,
            },
        )["id"]
        wait_for(lambda: len(api.ok("GET", f"/v1/flows/{cron}")["runs"]) >= 3, timeout=30)
        api.ok("PATCH", f"/v1/flows/{cron}", json={"enabled": False})
        wait_for(lambda: api.ok("GET", f"/v1/flows/{once}")["runs"], timeout=30)
        jobs, flows = [canceled, failed, done], [cron, once]
        wait_for(
            lambda: (
                all(job_archived(api, database_url, j) for j in jobs)
                and all(runs_archived(api, database_url, f) for f in flows)
            ),
            timeout=45,
        )
        before = reads(api, jobs, flows)
    first.stop()
    assert [row["status"] for row in before["results"][canceled]] == ["queued"] * 2 + ["canceled"] * 3
    assert {row["error_code"] for row in before["results"][failed]} == {"not_found"}
    assert [row["status"] for row in before["results"][done]] == [
        "queued",
        "queued",
        "queued",
        "skipped_no_optin",
        "rejected",
    ]
    assert [j["id"] for j in before["list"]] == [done, failed, canceled]
    assert len(before["flows"][cron]["runs"]) >= 3 and len(before["flows"][once]["runs"]) == 1

    second = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    with Api(second.url, org["api_key"]) as api:
        # Outcomes, unsent contacts and runs leave Redis; job summaries stay.
        wait_for(
            lambda: (
                not any(in_redis(r, org_id, j) for j in jobs)
                and not any(r.exists(keys.flow_runs(org_id, f)) for f in flows)
            ),
            timeout=30,
        )
        assert all(r.exists(keys.bulk_job(org_id, j)) for j in jobs)
        assert sql(database_url, "SELECT COUNT(*) FROM bulk_jobs WHERE in_redis = 1") == [(0,)]
        assert reads(api, jobs, flows) == before

        # A one-off that already ran is not queued again when re-enabled.
        api.ok("PATCH", f"/v1/flows/{once}", json={"enabled": False})
        assert api.ok("PATCH", f"/v1/flows/{once}", json={"enabled": True})["next_run_at"] is None
        # Another org sees none of it.
        with Api(second.url, create_org(second.url)["api_key"]) as stranger:
            assert stranger.get(f"/v1/bulk-jobs/{done}").status_code == 404
            assert stranger.get(f"/v1/bulk-jobs/{done}/results").status_code == 404
            assert stranger.get(f"/v1/flows/{cron}").status_code == 404


def test_a_bulk_job_killed_mid_job_and_mid_archive_lands_in_sql_once(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,
    clients,  # type: ignore[no-untyped-def]
) -> None:
    env = {"DATABASE_URL": database_url, "HUB_BULK_LEASE_MS": "1000"}
    first = hub_factory(**env)
    api = clients(first.url, limits={"contacts_per_request": 5, "requests_per_hour": 1_000_000})
    org_id = api.org["id"]
    config = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
    total = 300
    lock = SqlWriteLock(database_url, ("activities", "activity_history") + JOB_TABLES)
    lock.take()
    try:
        job = upload(api, config, contacts(0, total))
        wait_for(lambda: api.ok("GET", f"/v1/bulk-jobs/{job}")["processed"] >= 50, timeout=30)
        # The first process holds archive entries it read and could not write yet.
        wait_for(lambda: pending(r, keys.archive_stream(org_id)) > 0, timeout=15)
        first.kill()  # mid-job and mid-archive, no goodbye
    finally:
        lock.release()
    second = hub_factory(**env, HUB_CLAIM_IDLE_MS="500")
    api2 = clients(second.url, api.org["api_key"])
    wait_for(lambda: job_in(api2, job, "done"), timeout=60)
    wait_for(lambda: job_archived(api2, database_url, job), timeout=30)
    rows = sql_outcomes(database_url, job)
    assert [int(row["row"]) for row in rows] == list(range(1, total + 1))
    assert {row["status"] for row in rows} == {"queued"}
    assert len({row["activity_id"] for row in rows}) == total
    stored = json.loads(sql(database_url, "SELECT record FROM bulk_jobs WHERE id = ?", job)[0][0])
    assert (stored["status"], stored["processed"]) == ("done", str(total))


def test_redis_restarted_from_its_aof_mid_archive_loses_and_doubles_no_outcome(
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
        org = create_org(proc.url, limits={"contacts_per_request": 5})
        stream = keys.archive_stream(org["id"])
        with Api(proc.url, org["api_key"]) as api:
            config = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
            lock = SqlWriteLock(database_url, ("activities", "activity_history") + JOB_TABLES)
            lock.take()
            try:
                job = upload(api, config, contacts(0, 20))
                flow = api.ok(
                    "POST",
                    "/v1/flows",
                    201,
                    json={
                        "kind": "scheduled",
                        "configuration_id": config,
                        "contacts": [contact(phone(40))],
                        "delay_seconds": 1,
                    },
                )["id"]
                wait_for(lambda: job_in(api, job, "done"), timeout=30)
                wait_for(lambda: api.ok("GET", f"/v1/flows/{flow}")["runs"], timeout=30)
                wait_for(lambda: pending(r, stream) > 0, timeout=15)
                server.kill()  # a crash, with a batch read and not yet written
            finally:
                lock.release()  # the batch is written while Redis is down; its ack may fail
            server.start()  # from the AOF: the stream and its pending entries are back
            wait_for(
                lambda: job_archived(api, database_url, job) and runs_archived(api, database_url, flow), timeout=30
            )
            wait_for(lambda: pending(r, stream) == 0 and r.xlen(stream) == 0, timeout=30)
            assert [int(row["row"]) for row in sql_outcomes(database_url, job)] == list(range(1, 21))
            assert len(sql(database_url, "SELECT run FROM flow_runs WHERE flow_id = ?", flow)) == 1
        proc.stop()
    finally:
        r.close()
        server.stop()


async def test_a_late_chunk_of_a_canceled_job_wins_and_holds_its_outcomes_in_redis(
    redis_url: str, database_url: str
) -> None:
    """The chunk a canceled job still had on its way is recorded after the
    stop: SQL ends with its real outcomes whichever is archived first, and
    the sweep keeps Redis' copy until SQL has caught up with it."""
    db = await open_database(database_url)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    settings = Settings(redis_url=redis_url)
    hub = Hub(settings=settings, redis=client, metrics=Metrics(), providers=ProviderPool(settings), history=db)
    store, org, job = hub.bulk_jobs, "org_a", "blk_1"
    stream = keys.archive_stream(org)

    async def archive() -> None:
        entries = await client.xrange(stream)
        await archive_jobs(hub, org, entries)
        await client.xtrim(stream, maxlen=0)

    async def rows() -> list[list[str]]:
        text = "".join(
            [
                part
                async for part in results_csv(
                    hub, Org(id=org, name="A", created_at=0.0, limits={}), await store.load(org, job) or {}
                )
            ]
        )
        return [line.split(",")[2:4] for line in text.splitlines()[1:]]

    def sent(first: int) -> list[list[Any]]:
        return [[n, phone(n), "queued", f"act_{n}", "", ""] for n in (first, first + 1)]

    try:
        await migrate(db)
        now = 1_700_000_000_000
        chunk = json.dumps([contact(phone(1)), contact(phone(2))])
        await store.save_chunks(org, job, 0, [chunk] * 3, 3600)
        await store.create(
            org,
            {
                "id": job,
                "org": org,
                "cfg": "cfg_1",
                "status": "pending",
                "format": "csv",
                "total": 6,
                "processed": 0,
                "chunks": 3,
                "chunk_size": 2,
                "next": 0,
                "created": now,
                "updated": now,
            },
            3600,
        )
        assert await store.claim(org, job, 0, "runner", now + 60_000, now)
        await store.record_chunk(org, job, 0, sent(1), {"queued": 2}, now, 3600, 3600)
        assert await store.stop(org, job, "canceled", now, 3600) == "ok"
        await archive()
        # Chunk 1 was on its way: recorded after the stop (and after its archive).
        assert await store.record_chunk(org, job, 1, sent(3), {"queued": 2}, now, 3600, 3600) == "canceled"
        expected = [["queued", f"act_{n}"] for n in range(1, 5)] + [["canceled", ""]] * 2
        assert await rows() == expected

        later = int(time.time() * 1000) + 60_000
        assert await sweep_jobs(hub, org, later) == 0  # SQL's copy is older than Redis'
        assert await client.exists(keys.bulk_results(org, job, 1))
        await archive()
        assert await sweep_jobs(hub, org, later) == 1
        assert [k async for k in client.scan_iter(match=keys.bulk_job(org, job) + ":*")] == []
        assert await rows() == expected  # now from SQL
        assert await db.fetchval("SELECT COUNT(*) FROM bulk_outcomes") == 6
    finally:
        await client.aclose()
        await db.close()


async def test_retention_deletes_jobs_outcomes_and_runs_in_sql(redis_url: str, database_url: str) -> None:
    db = await open_database(database_url)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    settings = Settings(redis_url=redis_url)
    hub = Hub(settings=settings, redis=client, metrics=Metrics(), providers=ProviderPool(settings), history=db)
    try:
        await migrate(db)
        day = 86_400_000
        for org, created in (("org_a", 1_000 * day), ("org_b", 1_000 * day), ("org_a", 1_200 * day)):
            raw = {
                "id": f"blk_{org}_{created}",
                "org": org,
                "cfg": "cfg_1",
                "status": "done",
                "total": "2500",
                "processed": "2500",
                "created": str(created),
                "next": "1",
            }
            rows = [[n, phone(n % 100), "queued", f"act_{n}", "", ""] for n in range(1, 2501)]
            await write_jobs(db, [JobCopy(raw, sent=rows)])
            await write_runs(db, [RunCopy(org, f"flw_{org}", f"{created}-{n}", '{"counts": {}}') for n in range(3)])

        async def left() -> list[Any]:
            return [
                await db.fetch("SELECT id FROM bulk_jobs ORDER BY id"),
                await db.fetchval("SELECT COUNT(*) FROM bulk_outcomes"),
                await db.fetch("SELECT org_id, entry_ms FROM flow_runs ORDER BY org_id, entry_ms"),
            ]

        everything = await left()
        assert await purge_jobs(hub, "org_a", 1_000 * day) == 0  # nothing is older
        assert await left() == everything
        # One job of 2,500 rows (deleted in batches) and its org's three runs go.
        assert await purge_jobs(hub, "org_a", 1_100 * day) == 4
        assert await left() == [
            [("blk_org_a_103680000000",), ("blk_org_b_86400000000",)],
            5000,
            [("org_a", 1_200 * day)] * 3 + [("org_b", 1_000 * day)] * 3,
        ]
    finally:
        await client.aclose()
        await db.close()
