"""The hub the inbound benchmark drives, on its embedded Redis, and the
calls that prepare it: an org, agents, outbound sends to correlate with."""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.support.org import UNLIMITED, Org, call, create_org
from bench.support.processes import Child, Children, Deadline, env_pairs
from bench.support.processes import start_hub as start_hub_process
from hub.storage import keys

from .loadgen import INBOUND

PASSWORD = "correct horse battery"
CAPACITY = 100  # the most an agent may take
BODY = "Hi {{CustomerName}}, your case {{CaseName}} is {{state}}."
children = Children()  # everything started, stopped in reverse order at exit


def hub_log_errors(path: Path) -> str:
    """Error lines the hub logged (JSON lines), counted by event and exception."""
    counts: collections.Counter[str] = collections.Counter()
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") not in ("error", "critical"):
            continue
        exc = (entry.get("exc") or "").strip().splitlines()
        counts[f"{entry.get('event', '').strip()} [{exc[-1] if exc else ''}]"] += 1
    return "; ".join(f"{n} x {k}" for k, n in counts.most_common())


@dataclass
class HubEnv:
    workdir: Path
    hub: Child
    url: str
    data_dir: Path
    redis_pid: int | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/v1/agent/ws"

    @property
    def redis_url(self) -> str:
        return f"unix://{self.data_dir.resolve() / 'redis.sock'}"


async def start_hub(workdir: Path, name: str, args: argparse.Namespace, sandbox_url: str | None) -> HubEnv:
    """One hub process on its embedded Redis; under cProfile or tracemalloc
    when asked."""
    extra = env_pairs(args.hub_env)
    if sandbox_url:
        extra = {"HUB_SANDBOX_URL": sandbox_url, **extra}
    py, argv = sys.executable, None
    if args.profile == "cprofile":
        argv = [py, "-m", "cProfile", "-o", str(workdir / f"{name}.cprofile"), "-m", "hub", "serve"]
    elif args.tracemalloc and name.startswith("memory"):
        extra.update(BENCH_TRACEMALLOC_DIR=str(workdir), BENCH_TRACEMALLOC_NAME=name)
        argv = [py, "-X", "tracemalloc=1", str(INBOUND), "_hub_traced"]
    child, url = start_hub_process(workdir, name, None, extra, start=children.start, argv=argv, nofile=True)
    henv = HubEnv(workdir, child, url, workdir / f"{name}-data")
    r = aioredis.Redis.from_url(henv.redis_url, decode_responses=True)
    try:
        henv.redis_pid = int((await r.info("server"))["process_id"])
    finally:
        await r.aclose()
    return henv


def hub_traced_main() -> int:
    """`hub serve` with tracemalloc on (python -X tracemalloc): SIGUSR1 writes a
    snapshot, numbered, into BENCH_TRACEMALLOC_DIR. Bench-only launcher."""
    import runpy
    import tracemalloc

    out = Path(os.environ["BENCH_TRACEMALLOC_DIR"])
    name = os.environ.get("BENCH_TRACEMALLOC_NAME", "hub")
    count = [0]

    def dump(signum: int, frame: Any) -> None:
        count[0] += 1
        tracemalloc.take_snapshot().dump(str(out / f"{name}-{count[0]}.tracemalloc"))

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["hub", "serve"]
    runpy.run_module("hub", run_name="__main__", alter_sys=True)
    return 0


class Control:
    def __init__(self, session: Any, hub: HubEnv) -> None:
        self.http = session
        self.hub = hub
        self.org = Org("", "")

    @property
    def org_id(self) -> str:
        return self.org.id

    @property
    def channel_id(self) -> str:
        return self.org.channel_id

    async def call(
        self, method: str, path: str, expect: tuple[int, ...] = (200,), token: str | None = None, **kw: Any
    ) -> Any:
        return await call(
            self.http, method, self.hub.url + path, expect, self.org.api_key if token is None else token, **kw
        )

    async def setup(self, sandbox_url: str | None) -> None:
        self.org = await create_org(self.hub.url, api_base_url=sandbox_url, body=BODY, limits=UNLIMITED, http=self.http)

    async def create_agents(self, n: int, tag: str, concurrency: int, deadline: Deadline) -> list[tuple[str, str]]:
        """n agents through the API, logged in; returns (agent id, token)."""
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> tuple[str, str]:
            async with sem:
                deadline.check()
                email = f"bench-{tag}-{i}@example.com"
                agent = await self.call(
                    "POST",
                    "/v1/agents",
                    (201,),
                    json={
                        "name": f"Agent {tag} {i}",
                        "email": email,
                        "password": PASSWORD,
                        "queues": ["default"],
                        "capacity": CAPACITY,
                    },
                )
                login = await self.call(
                    "POST", "/v1/agents/login", (200,), token="", json={"email": email, "password": PASSWORD}
                )
                return agent["id"], login["token"]

        return list(await asyncio.gather(*(one(i) for i in range(n))))

    async def correlate(self, customers: list[str], deadline: Deadline) -> float:
        """Send each customer an outbound message, so their replies correlate;
        returns seconds until the hub recorded every send."""
        t0 = time.perf_counter()
        sem = asyncio.Semaphore(4)

        async def send(chunk: list[str]) -> None:
            async with sem:
                await self.call(
                    "POST",
                    "/v1/outbound/send",
                    (202,),
                    json={
                        "configuration_id": self.org.configs["bench"],
                        "contacts": [
                            {
                                "tocontactid": p,
                                "channelid": "sms",
                                "optin": True,
                                "CustomerName": "Ada",
                                "CaseName": "CAS-1042",
                                "contextitems": {"state": "on its way"},
                            }
                            for p in chunk
                        ],
                    },
                )

        await asyncio.gather(*(send(customers[i : i + 100]) for i in range(0, len(customers), 100)))
        prefix = keys.org_prefix(self.org_id)
        r = aioredis.Redis.from_url(self.hub.redis_url, decode_responses=True)
        try:
            missing = list(customers)
            while missing:
                async with r.pipeline(transaction=False) as p:
                    for c in missing:
                        p.exists(f"{prefix}:lastout:{self.channel_id}:{c}")
                    found = await p.execute()
                missing = [c for c, f in zip(missing, found) if not f]
                if missing:
                    if deadline.left() <= 0:
                        raise TimeoutError(f"{len(missing)} outbound sends not recorded in time")
                    await asyncio.sleep(0.2)
        finally:
            await r.aclose()
        return time.perf_counter() - t0
