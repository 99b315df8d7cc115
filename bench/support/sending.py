"""Outbound sends through the hub, shared by bench/outbound.py, bulk.py and
scale.py: the processes (Redis, the sandbox, `hub serve`), send requests in
flight, the end of a push, and what the sandbox received."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from hub.domain import partitions
from hub.embedded_redis import EmbeddedRedis
from hub.storage import keys

from . import processes
from .measure import CpuMeter, redis_commands
from .org import ACCOUNT, CONTACTS_PER_REQUEST, SENDER, SID, TOKEN, UNLIMITED, Org, call, create_org
from .processes import HOST, Child, Deadline, env_pairs, free_port, hub_env, wait_http
from .profiles import SEND_PATH, PySpy

BODY = "Hi {{CustomerName}}, case {{CaseName}} is {{state}}."
FINALS = ("delivered", "read", "undelivered", "failed", "rejected", "canceled", "skipped_no_optin", "skipped_opted_out")


@dataclass
class Env:
    workdir: Path
    redis: EmbeddedRedis | None = None
    sandbox: Child | None = None
    hubs: list[Child] = field(default_factory=list)
    hub_urls: list[str] = field(default_factory=list)
    redis_pid: int | None = None
    sandbox_url: str = ""
    cluster: Any = None  # tests.redis_cluster.RedisCluster with --redis-cluster
    server_pids: list[int] = field(default_factory=list)  # Redis servers started by the caller

    @property
    def redis_url(self) -> str:
        return self.cluster.url if self.cluster is not None else (self.redis.url if self.redis else "")

    @property
    def redis_pids(self) -> list[int]:
        if self.server_pids:
            return self.server_pids
        if self.cluster is not None:
            return [n.proc.pid for n in self.cluster.nodes if n.proc]
        return [self.redis_pid] if self.redis_pid else []

    @property
    def hub_url(self) -> str:
        return self.hub_urls[0]

    def cpu_meter(self, extra: dict[str, int] | None = None) -> CpuMeter:
        return CpuMeter(
            {
                "sandbox": self.sandbox.pid if self.sandbox else None,
                "hub": [h.pid for h in self.hubs],
                "redis": self.redis_pids,
                **(extra or {}),
            }
        ).begin()

    def stop_hubs(self) -> None:
        for hub in self.hubs:
            if hub.alive():
                hub.proc.send_signal(signal.SIGINT)  # stop them together, then wait
        for hub in self.hubs:
            hub.stop()
        self.hubs, self.hub_urls = [], []

    def print_tails(self) -> None:
        for child in [*self.hubs, self.sandbox]:
            if child is not None:
                print(f"--- {child.name} log tail ---\n{child.tail()}", file=sys.stderr)

    def teardown(self) -> None:
        self.stop_hubs()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.cluster is not None:
            self.cluster.stop()


def start_sandbox(env: Env) -> None:
    env.sandbox, env.sandbox_url = processes.start_sandbox(env.workdir, ACCOUNT)


def start_hubs(env: Env, n: int, redis_url: str, data_dir: Path, extra: dict[str, str], cprofile: bool = False) -> None:
    """n `hub serve` processes on one Redis, sharing one history database
    (data_dir), as a hub's processes must; with cprofile each one's whole
    lifetime under cProfile (written when it exits)."""
    allowed = {}  # the benchmark's channel points at the sandbox on loopback
    if env.sandbox_url:
        allowed["HUB_ALLOWED_PROVIDER_HOSTS"] = env.sandbox_url.split("://", 1)[1]
    for i in range(n):
        port = free_port()
        child_env = hub_env(port, data_dir, redis_url, **{**allowed, **extra})
        argv = [sys.executable, "-m", "hub", "serve"]
        if cprofile:
            argv[1:1] = ["-m", "cProfile", "-o", str(env.workdir / f"hub{i}.cprofile")]
        env.hubs.append(Child(f"hub{i}", argv, env.workdir / f"hub{i}.log", env=child_env))
        env.hub_urls.append(f"http://{HOST}:{port}")
    for hub, url in zip(env.hubs, env.hub_urls):
        wait_http(url + "/readyz", Deadline(60, "hub start"), hub)


def start_processes(env: Env, args: argparse.Namespace) -> None:
    """Redis (or a cluster), the sandbox and --hubs hub processes."""
    if getattr(args, "redis_cluster", 0):
        from tests.redis_cluster import RedisCluster

        env.cluster = RedisCluster(masters=args.redis_cluster).start()
    else:
        env.redis = EmbeddedRedis(env.workdir / "redis").start()
    start_sandbox(env)
    start_hubs(
        env,
        args.hubs,
        env.redis_url,
        env.workdir / "hub-data",
        env_pairs(args.hub_env),
        cprofile=args.profile == "cprofile",
    )


class Control:
    """The control-plane calls: the hub's API and the sandbox's /_sandbox/ API."""

    def __init__(self, env: Env, session: aiohttp.ClientSession) -> None:
        self.env = env
        self.http = session
        self.org = Org("", "")

    @property
    def api_key(self) -> str:
        return self.org.api_key

    async def setup(self, configs: tuple[str, ...], partitions: int = 1) -> Org:
        self.org = await create_org(
            self.env.hub_url,
            api_base_url=self.env.sandbox_url,
            body=BODY,
            configs=configs,
            limits=UNLIMITED,
            http=self.http,
            partitions=partitions,
        )
        return self.org

    async def sandbox(self, method: str, path: str, **kw: Any) -> Any:
        return await call(self.http, method, self.env.sandbox_url + path, **kw)

    async def stats(self) -> dict[str, Any]:
        return dict(await self.sandbox("GET", "/_sandbox/stats"))

    async def set_callbacks(self, enabled: bool) -> None:
        await self.sandbox("PUT", "/_sandbox/settings", json={"callbacks_enabled": enabled})

    async def reset_sandbox(self, deadline: Deadline) -> None:
        await self.wait_callbacks_idle(deadline)
        await self.sandbox("DELETE", "/_sandbox/messages")

    async def wait_callbacks_idle(self, deadline: Deadline) -> None:
        while (await self.sandbox("POST", "/_sandbox/drain", params={"timeout": "2"}))["pending_callbacks"]:
            deadline.check()

    async def report(self, config_id: str) -> dict[str, Any]:
        return dict(
            await call(
                self.http,
                "GET",
                self.env.hub_url + "/v1/outbound/report",
                token=self.api_key,
                params={"configuration_id": config_id},
            )
        )


@dataclass
class Outcome:
    name: str
    messages: int
    seconds: float
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


async def verify(ctl: Control, phones: list[str], outcome: Outcome) -> dict[str, Any]:
    """Per-recipient counts at the sandbox: lost, sent twice, or never asked for."""
    stats = await ctl.stats()
    by_to: dict[str, int] = stats["by_to"]
    expected = set(phones)
    outcome.lost = sum(1 for p in phones if by_to.get(p, 0) == 0)
    outcome.duplicated = sum(c - 1 for p, c in by_to.items() if c > 1)
    outcome.unexpected = sum(c for p, c in by_to.items() if p not in expected)
    if stats["created"] != len(phones):
        outcome.notes.append(f"sandbox created {stats['created']} for {len(phones)} asked")
    return stats


async def run_baseline(
    ctl: Control, phones: list[str], concurrency: int, deadline: Deadline, endpoint: tuple[Child, str] | None = None
) -> Outcome:
    """One aiohttp client posting the messages straight to the sandbox. With
    `endpoint` (a bare Starlette server, bench/support/bare_starlette.py) the
    sandbox's status callbacks are on and go to it, and the run is timed until
    it has answered two per message: what sending and hearing back costs
    without the hub."""
    url = f"{ctl.env.sandbox_url}/2010-04-01/Accounts/{SID}/Messages.json"
    if endpoint is None:
        callback = f"{ctl.env.hub_url}/webhooks/twilio/{ctl.org.channel_id}/status"
    else:
        callback = f"{endpoint[1]}/form/{ctl.org.channel_id}/status"
    errors = 0

    async def post_all(items: list[tuple[int, str]], session: aiohttp.ClientSession) -> None:
        it = iter(items)

        async def worker() -> None:
            nonlocal errors
            for i, phone in it:
                if deadline.left() <= 0:
                    return
                data = {
                    "To": phone,
                    "From": SENDER,
                    "Body": f"Hi Ada, case CAS-{i} is resolved.",
                    "StatusCallback": callback,
                }
                try:
                    async with session.post(url, data=data) as resp:
                        await resp.read()
                        if resp.status != 201:
                            errors += 1
                except (TimeoutError, aiohttp.ClientError):
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    await ctl.set_callbacks(endpoint is not None)
    connector = aiohttp.TCPConnector(limit=concurrency)
    auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    async with aiohttp.ClientSession(
        connector=connector, headers={"Authorization": auth}, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        # Warm-up (connections, first-request paths), then a clean slate.
        await post_all(list(enumerate(phones[: min(500, len(phones))])), session)
        await ctl.reset_sandbox(deadline)
        errors = 0
        meter = ctl.env.cpu_meter({"endpoint": endpoint[0].pid} if endpoint else None)
        t0 = time.perf_counter()
        if endpoint is None:
            await post_all(list(enumerate(phones)), session)
        else:
            posts = asyncio.create_task(post_all(list(enumerate(phones)), session))
            await wait_callbacks_answered(ctl, 2 * len(phones), posts, deadline, t0, "baseline, callbacks on")
        seconds = time.perf_counter() - t0
        cpu = meter.done()
    deadline.check()
    name = "baseline (aiohttp -> sandbox)" if endpoint is None else "baseline, callbacks to bare Starlette"
    outcome = Outcome(name, len(phones), seconds, errors=errors, cpu=cpu)
    stats = await verify(ctl, phones, outcome)
    if endpoint is not None:
        await ctl.wait_callbacks_idle(deadline)
        outcome.notes.append(f"sandbox callbacks sent {stats['callbacks_sent']}, failed {stats['callbacks_failed']}")
    return outcome


def start_bare_endpoint(workdir: Path) -> tuple[Child, str]:
    """The bare Starlette server that takes the callbacks baseline's callbacks."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.support.bare_starlette", str(port)]
    child = Child("bare-endpoint", argv, workdir / "endpoint.log")
    url = f"http://{HOST}:{port}"
    wait_http(url + "/ping", Deadline(30, "bare endpoint start"), child)
    return child, url


def send_bodies(config_id: str, phones: list[str]) -> list[bytes]:
    bodies = []
    for start in range(0, len(phones), CONTACTS_PER_REQUEST):
        contacts = [
            {
                "tocontactid": p,
                "channelid": "sms",
                "optin": True,
                "CustomerName": "Ada",
                "CaseName": f"CAS-{start + j}",
                "entityrelationshipname": "incident",
                "contextitems": {"state": "resolved"},
            }
            for j, p in enumerate(phones[start : start + CONTACTS_PER_REQUEST])
        ]
        bodies.append(json.dumps({"configuration_id": config_id, "contacts": contacts}).encode())
    return bodies


async def push(ctl: Control, bodies: list[bytes], concurrency: int, deadline: Deadline) -> tuple[int, int]:
    """POST the send requests; returns (contacts queued, requests or contacts refused)."""
    urls = [u + "/v1/outbound/send" for u in ctl.env.hub_urls]
    headers = {"Authorization": f"Bearer {ctl.api_key}", "Content-Type": "application/json"}
    it = iter(enumerate(bodies))
    queued = refused = 0
    first_error: list[str] = []

    async def worker() -> None:
        nonlocal queued, refused
        for i, body in it:
            if deadline.left() <= 0:
                return
            try:  # requests spread round-robin over the hub processes
                async with ctl.http.post(urls[i % len(urls)], data=body, headers=headers) as resp:
                    text = await resp.text()
                    if resp.status != 202:
                        refused += 1
                        first_error[:] = first_error or [f"{resp.status}: {text[:300]}"]
                        continue
                    for r in json.loads(text)["results"]:
                        if r["status"] == "queued":
                            queued += 1
                        else:
                            refused += 1
                            first_error[:] = first_error or [json.dumps(r)[:300]]
            except (TimeoutError, aiohttp.ClientError) as exc:
                refused += 1
                first_error[:] = first_error or [repr(exc)]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if first_error:
        print(f"  send refused (first of {refused}): {first_error[0]}", flush=True)
    return queued, refused


async def wait_sandbox_has(
    ctl: Control, r: aioredis.Redis, n: int, push_task: asyncio.Task, deadline: Deadline, t0: float, label: str
) -> None:
    """Until the sandbox holds n messages. Cheap gate first (the org's outbound
    stream is empty once every job has been sent and recorded), then one stats
    call to confirm: stats builds a per-recipient map, O(messages) each time."""
    streams = [keys.outbound_stream(u) for u in partitions.units(ctl.org.id, ctl.org.partitions)]

    async def jobs() -> int:
        return sum([await r.xlen(stream) for stream in streams])

    last_print = time.monotonic()
    while True:
        deadline.check()
        if push_task.done():
            push_task.result()
            if await jobs() == 0:
                break
        now = time.monotonic()
        if now - last_print >= 5:
            last_print = now
            left = await jobs()
            print(f"  [{label}] {time.perf_counter() - t0:6.1f}s  jobs in stream {left}", flush=True)
        await asyncio.sleep(0.05)
    grace = Deadline(10, "sandbox count", deadline)
    while (await ctl.stats())["created"] < n and grace.left() > 0:
        await asyncio.sleep(0.1)


async def warm_up(ctl: Control, r: aioredis.Redis, config_id: str, phones: list[str], deadline: Deadline) -> None:
    """The hub's send path once (provider client, scripts, phone metadata), callbacks off."""
    await ctl.reset_sandbox(deadline)
    await ctl.set_callbacks(False)
    requests = len(phones) // CONTACTS_PER_REQUEST
    task = asyncio.create_task(push(ctl, send_bodies(config_id, phones), requests, deadline))
    try:
        await wait_sandbox_has(ctl, r, len(phones), task, deadline, time.perf_counter(), "warm-up")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def wait_delivered(
    ctl: Control, config_id: str, n: int, push_task: asyncio.Task, deadline: Deadline, t0: float, label: str
) -> dict[str, Any]:
    last_print = time.monotonic()
    while True:
        deadline.check()
        report = await ctl.report(config_id)
        counts = report["counts"]
        if push_task.done():
            push_task.result()
            if counts.get("delivered", 0) >= n or sum(counts.get(s, 0) for s in FINALS) >= n:
                return report
        now = time.monotonic()
        if now - last_print >= 5:
            last_print = now
            shown = {k: v for k, v in counts.items() if v}
            print(f"  [{label}] {time.perf_counter() - t0:6.1f}s  {shown}", flush=True)
        # The report costs the hub more per call while many messages are in
        # flight (see README, "The report"): asked once a second until the end
        # nears, then often, so that the bench measures the send path rather
        # than its own polling, and the end is still timed to 0.1 s.
        done = sum(counts.get(s, 0) for s in FINALS)
        await asyncio.sleep(1.0 if done < 0.9 * n else 0.1)


async def wait_callbacks_answered(
    ctl: Control, n: int, push_task: asyncio.Task, deadline: Deadline, t0: float, label: str
) -> dict[str, Any]:
    """Until the hub has answered n status callbacks (it records each before
    it answers), read from the sandbox's counters: unlike the report, whose
    cost grows with what is in flight, asking costs the hub and Redis nothing,
    so a slower run is not charged more of the bench's own polling."""
    last_print = time.monotonic()
    while True:
        deadline.check()
        stats = await ctl.stats()
        answered = stats["callbacks_sent"] + stats["callbacks_failed"]
        if push_task.done():
            push_task.result()
            if answered >= n:
                return stats
        now = time.monotonic()
        if now - last_print >= 5:
            last_print = now
            print(f"  [{label}] {time.perf_counter() - t0:6.1f}s  callbacks answered {answered} of {n}", flush=True)
        await asyncio.sleep(1.0 if answered < 0.9 * n else 0.1)


async def run_hub(
    ctl: Control,
    r: aioredis.Redis,
    phones: list[str],
    config_id: str,
    callbacks: bool,
    args: argparse.Namespace,
    deadline: Deadline,
    label: str,
    end_at_sandbox: bool = False,
) -> Outcome:
    """The phones as send requests of 100 (--hub-concurrency in flight), timed
    until the sandbox holds them all, or with callbacks until the report
    counts them delivered (end_at_sandbox: until the hub has answered the
    sandbox's two callbacks per message, sent and delivered, and then the
    report is asked once)."""
    env, n = ctl.env, len(phones)
    await ctl.reset_sandbox(deadline)
    await ctl.set_callbacks(callbacks)
    bodies = send_bodies(config_id, phones)
    profiler = None
    if getattr(args, "profile", "none") == "py-spy":
        profiler = PySpy(env.hubs[0].pid, env.workdir, label, args.profile_rate, args.profile_nonblocking, SEND_PATH)
        profiler.start()
    push_task: asyncio.Task | None = None
    if env.cluster is None:
        await r.config_resetstat()
    try:
        meter = env.cpu_meter()
        t0 = time.perf_counter()
        push_task = asyncio.create_task(push(ctl, bodies, args.hub_concurrency, deadline))
        if callbacks and end_at_sandbox:
            await wait_callbacks_answered(ctl, 2 * n, push_task, deadline, t0, label)
        elif callbacks:
            report = await wait_delivered(ctl, config_id, n, push_task, deadline, t0, label)
        else:
            await wait_sandbox_has(ctl, r, n, push_task, deadline, t0, label)
        seconds = time.perf_counter() - t0
        cpu = meter.done()
        queued, refused = push_task.result()
    finally:
        if push_task is not None and not push_task.done():
            push_task.cancel()
            await asyncio.gather(push_task, return_exceptions=True)
        if profiler is not None:
            profiler.stop()
    commands = await redis_commands(r, n, "message") if env.cluster is None else ""
    if callbacks and end_at_sandbox:
        report = await ctl.report(config_id)
    hubs = f"hub x{len(env.hubs)}" if len(env.hubs) > 1 else "hub"
    name = f"{hubs}, callbacks on" if callbacks else f"{hubs}, callbacks off"
    outcome = Outcome(name, n, seconds, errors=refused, cpu=cpu)
    if queued != n:
        outcome.notes.append(f"{queued} of {n} contacts queued")
    if commands:
        outcome.notes.append(commands)
    if callbacks:
        await ctl.wait_callbacks_idle(deadline)
    stats = await verify(ctl, phones, outcome)
    if callbacks:
        counts = {k: v for k, v in report["counts"].items() if v}
        outcome.notes.append(
            f"report at end {counts}; sandbox callbacks sent "
            f"{stats['callbacks_sent']}, failed {stats['callbacks_failed']}"
        )
    else:
        counts = {k: v for k, v in (await ctl.report(config_id))["counts"].items() if v}
        outcome.notes.append(f"report {counts}")
    return outcome
