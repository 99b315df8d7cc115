"""Outbound throughput: the hub's send path against a plain HTTP client.

Everything runs on 127.0.0.1, started by this script and torn down on exit
(Ctrl+C included): its own redis-server, a standalone sandbox provider
(`hub sandbox`) and one `hub serve` process (or several, --hubs).

Scenarios, each with the same N messages to N distinct valid numbers:

  baseline       one aiohttp client posts the N messages straight to the
                 sandbox's Messages API (bounded concurrency), callbacks off;
                 the most the sandbox takes from one cheap client
  hub            N/100 requests of 100 contacts to POST /v1/outbound/send,
                 callbacks off; timed from the first request until the
                 sandbox holds all N messages
  hub-callbacks  the same with the sandbox's status callbacks on; timed
                 until the configuration's report counts N delivered

After each scenario the sandbox's per-recipient counts (GET /_sandbox/stats,
`by_to`) are checked: no recipient missing (lost), none sent twice. Stats
builds that map over every stored message, so during a run the end is
detected from the org's outbound stream draining and stats is asked once.

Besides msgs/s, a second table gives the CPU seconds per 1,000 messages of
each process (bench, sandbox, hub, redis) and of the rest of the machine
("other"). On a small shared machine, msgs/s and the ratio move with
whatever else runs; the hub's CPU per message is the steadier figure.
Before each scenario the script waits (--quiet-wait) for the machine to idle.

Usage:
  .venv/bin/python bench/outbound.py --quick              # 10,000 messages
  .venv/bin/python bench/outbound.py                      # 100,000 messages
  .venv/bin/python bench/outbound.py --scenarios baseline,hub --messages 30000
  .venv/bin/python bench/outbound.py --hubs 2 --hub-env HUB_WORKERS=8
  .venv/bin/python bench/outbound.py --quick --redis-cluster 3   # on a 3-master cluster

Profiling the hub (py-spy: `.venv/bin/pip install py-spy`):
  .venv/bin/python bench/outbound.py --messages 30000 --profile py-spy
      one raw profile per hub scenario plus a summary (by part of the send
      path, self and inclusive time by function); re-summarize with
      --summarize FILE
  .venv/bin/python bench/outbound.py --quick --profile cprofile
      the whole hub under cProfile (slower; summary written at exit)

Logs and profiles go to a work directory that is kept (and printed) when
profiling, with --keep/--workdir or after a failure; otherwise removed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from hub.domain.phones import normalize_phone  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402
from hub.errors import InvalidPhone  # noqa: E402
from hub.storage import keys  # noqa: E402
from hub.storage.redis import connect  # noqa: E402

HOST = "127.0.0.1"
ADMIN_TOKEN = "bench-admin-token"
SID = "AC" + "b" * 32
TOKEN = "bench-auth-token"
SENDER = "+14155550100"
CONTACTS_PER_REQUEST = 100
AREA_CODES = ("415", "650", "212", "312", "617", "206", "303", "512", "305", "404")
BODY = "Hi {{CustomerName}}, case {{CaseName}} is {{state}}."


# -- small helpers ---------------------------------------------------------------


class Deadline:
    def __init__(self, seconds: float, what: str, cap: "Deadline | None" = None) -> None:
        self.at = time.monotonic() + seconds
        if cap is not None:
            self.at = min(self.at, cap.at)
        self.what = what

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self.left() <= 0:
            raise TimeoutError(f"{self.what}: deadline passed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, IndexError, ValueError):
        return float("nan")


def system_busy_cpu() -> float:
    """CPU seconds the whole machine spent busy (all processes, all cores)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_phones(n: int) -> list[str]:
    """n distinct numbers that the hub accepts, already in E.164 as it stores them."""
    out: list[str] = []
    for area in AREA_CODES:
        misses = 0
        for k in range(2_000_000, 10_000_000):
            if len(out) == n:
                return out
            try:
                out.append(normalize_phone(f"+1{area}{k:07d}"))
                misses = 0
            except InvalidPhone:
                misses += 1
                if misses > 10_000:  # this area's ranges are exhausted or invalid
                    break
    if len(out) < n:
        raise SystemExit(f"could only make {len(out)} valid numbers")
    return out


# -- child processes ---------------------------------------------------------------


class Child:
    """A child process in its own session (a Ctrl+C reaches only this script,
    which then stops the children in order)."""

    def __init__(self, name: str, argv: list[str], log_path: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        try:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


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

    @property
    def redis_url(self) -> str:
        return self.cluster.url if self.cluster is not None else (self.redis.url if self.redis else "")

    @property
    def redis_pids(self) -> list[int]:
        if self.cluster is not None:
            return [n.proc.pid for n in self.cluster.nodes if n.proc]
        return [self.redis_pid] if self.redis_pid else []

    @property
    def hub_url(self) -> str:
        return self.hub_urls[0]
    profilers: list[Child] = field(default_factory=list)

    def teardown(self) -> None:
        for child in self.profilers:
            child.stop(timeout=30)
        for hub in self.hubs:
            if hub.alive():
                hub.proc.send_signal(signal.SIGINT)  # stop them together, then wait
        for hub in self.hubs:
            hub.stop()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.cluster is not None:
            self.cluster.stop()


def wait_http(url: str, deadline: Deadline, child: Child) -> None:
    import urllib.error
    import urllib.request

    while True:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited at start:\n{child.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        deadline.check()
        time.sleep(0.05)


def start_processes(env: Env, args: argparse.Namespace) -> None:
    py = sys.executable
    if args.redis_cluster:
        from tests.redis_cluster import RedisCluster

        env.cluster = RedisCluster(masters=args.redis_cluster).start()
    else:
        env.redis = EmbeddedRedis(env.workdir / "redis").start()

    sandbox_port = free_port()
    env.sandbox_url = f"http://{HOST}:{sandbox_port}"
    env.sandbox = Child("sandbox", [py, "-m", "hub", "sandbox", "--host", HOST, "--port",
                                    str(sandbox_port), "--account", f"{SID}:{TOKEN}"],
                        env.workdir / "sandbox.log")

    for i in range(args.hubs):
        hub_port = free_port()
        url = f"http://{HOST}:{hub_port}"
        hub_env = {
            **os.environ,
            "REDIS_URL": env.redis_url,
            "HUB_PROCESSES": "1",  # one process per --hubs, each on its port
            "HUB_HOST": HOST,
            "HUB_PORT": str(hub_port),
            "HUB_PUBLIC_URL": url,
            "HUB_ADMIN_TOKEN": ADMIN_TOKEN,
            "HUB_LOG_LEVEL": "warning",
            "HUB_DATA_DIR": str(env.workdir / "hub-data"),
            # The benchmark's channel points at the sandbox on loopback.
            "HUB_ALLOWED_PROVIDER_HOSTS": env.sandbox_url.split("://", 1)[1],
        }
        for pair in args.hub_env:
            name, _, value = pair.partition("=")
            hub_env[name] = value
        argv = [py, "-m", "hub", "serve"]
        if args.profile == "cprofile":
            # The whole hub lifetime under cProfile; written when the hub exits on SIGINT.
            argv = [py, "-m", "cProfile", "-o", str(env.workdir / f"hub{i}.cprofile"),
                    "-m", "hub", "serve"]
        env.hubs.append(Child(f"hub{i}", argv, env.workdir / f"hub{i}.log", env=hub_env))
        env.hub_urls.append(url)

    wait_http(env.sandbox_url + "/_sandbox/stats", Deadline(30, "sandbox start"), env.sandbox)
    for hub, url in zip(env.hubs, env.hub_urls):
        wait_http(url + "/readyz", Deadline(60, "hub start"), hub)


# -- HTTP calls ------------------------------------------------------------------------


class Control:
    """The control-plane calls: hub admin/API and the sandbox's /_sandbox/ API."""

    def __init__(self, env: Env, session: aiohttp.ClientSession) -> None:
        self.env = env
        self.http = session
        self.api_key = ""
        self.org_id = ""

    async def call(self, method: str, url: str, expect: tuple[int, ...] = (200,),
                   token: str | None = None, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, url, headers=headers, **kw) as resp:
            text = await resp.text()
            if resp.status not in expect:
                raise RuntimeError(f"{method} {url} -> {resp.status}: {text[:500]}")
            return json.loads(text) if text else None

    async def hub(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kw: Any) -> Any:
        return await self.call(method, self.env.hub_url + path, expect, token=self.api_key, **kw)

    async def sandbox(self, method: str, path: str, **kw: Any) -> Any:
        return await self.call(method, self.env.sandbox_url + path, **kw)

    async def stats(self) -> dict[str, Any]:
        return dict(await self.sandbox("GET", "/_sandbox/stats"))

    async def set_callbacks(self, enabled: bool) -> None:
        await self.sandbox("PUT", "/_sandbox/settings", json={"callbacks_enabled": enabled})

    async def reset_sandbox(self, deadline: Deadline) -> None:
        await self.wait_callbacks_idle(deadline)
        await self.sandbox("DELETE", "/_sandbox/messages")

    async def wait_callbacks_idle(self, deadline: Deadline) -> None:
        while (await self.sandbox("POST", "/_sandbox/drain", params={"timeout": "2"}))[
                "pending_callbacks"]:
            deadline.check()

    async def setup(self, configs: list[str]) -> dict[str, Any]:
        org = await self.call("POST", self.env.hub_url + "/v1/orgs", (201,), token=ADMIN_TOKEN,
                              json={"name": "Bench org", "limits": {
                                  "contacts_per_request": CONTACTS_PER_REQUEST,
                                  "requests_per_hour": 10_000_000}})
        self.api_key, self.org_id = org["api_key"], org["id"]
        channel = await self.hub("POST", "/v1/channels", (201,), json={
            "type": "sms", "provider": "sandbox", "address": SENDER,
            "credentials": {"account_sid": SID, "auth_token": TOKEN},
            "api_base_url": self.env.sandbox_url,
        })
        template = await self.hub("POST", "/v1/templates", (201,), json={
            "name": "Case update", "channel_types": ["sms"], "default_locale": "en-US",
            "bodies": {"en-US": BODY},
        })
        out: dict[str, Any] = {"channel": channel, "template": template, "configs": {}}
        for name in configs:
            out["configs"][name] = await self.hub("POST", "/v1/outbound-configurations", (201,),
                                                  json={"name": f"Bench {name}",
                                                        "show_in_timeline": False,
                                                        "channel_type": "sms",
                                                        "channel_id": channel["id"],
                                                        "template_id": template["id"]})
        return out

    async def report(self, config_id: str) -> dict[str, Any]:
        return dict(await self.hub("GET", "/v1/outbound/report",
                                   params={"configuration_id": config_id}))


# -- scenarios --------------------------------------------------------------------------


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


async def wait_quiet(env: Env, seconds: float, threshold: float = 0.25) -> None:
    """Wait (at most `seconds`) until the rest of the machine uses under
    `threshold` cores over one second: other test runs skew the figures."""
    if seconds <= 0:
        return
    ours = [h.pid for h in env.hubs] + env.redis_pids + \
        ([env.sandbox.pid] if env.sandbox else [])
    deadline = Deadline(seconds, "quiet wait")
    busy = float("nan")
    while deadline.left() > 0:
        m0, o0, s0 = system_busy_cpu(), sum(cpu_seconds(p) for p in ours), self_cpu()
        await asyncio.sleep(1.0)
        m1, o1, s1 = system_busy_cpu(), sum(cpu_seconds(p) for p in ours), self_cpu()
        busy = (m1 - m0) - (o1 - o0) - (s1 - s0)
        if busy < threshold:
            return
    print(f"  (machine still busy: {busy:.2f} cores used by other processes)", flush=True)


class CpuMeter:
    def __init__(self, env: Env) -> None:
        self.pids = {"sandbox": env.sandbox.pid if env.sandbox else None}
        self.hub_pids = [h.pid for h in env.hubs]
        self.redis_pids = env.redis_pids
        self.start: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        out = {name: cpu_seconds(pid) for name, pid in self.pids.items() if pid}
        out["hub"] = sum(cpu_seconds(pid) for pid in self.hub_pids)
        out["redis"] = sum(cpu_seconds(pid) for pid in self.redis_pids)
        out["bench"] = self_cpu()
        out["machine"] = system_busy_cpu()
        return out

    def __enter__(self) -> "CpuMeter":
        self.start = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def done(self) -> dict[str, float]:
        end = self._read()
        used = {k: end[k] - self.start[k] for k in end}
        machine = used.pop("machine")
        # Whatever else ran on the machine meanwhile (other test runs, py-spy...).
        used["other"] = max(0.0, machine - sum(used.values()))
        return used


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


async def run_baseline(ctl: Control, phones: list[str], channel_id: str, hub_url: str,
                       concurrency: int, deadline: Deadline, env: Env) -> Outcome:
    url = f"{ctl.env.sandbox_url}/2010-04-01/Accounts/{SID}/Messages.json"
    callback = f"{hub_url}/webhooks/twilio/{channel_id}/status"
    errors = 0

    async def post_all(items: list[tuple[int, str]], session: aiohttp.ClientSession) -> None:
        nonlocal errors
        it = iter(items)

        async def worker() -> None:
            nonlocal errors
            for i, phone in it:
                if deadline.left() <= 0:
                    return
                data = {"To": phone, "From": SENDER,
                        "Body": f"Hi Ada, case CAS-{i} is resolved.", "StatusCallback": callback}
                try:
                    async with session.post(url, data=data) as resp:
                        await resp.read()
                        if resp.status != 201:
                            errors += 1
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    await ctl.set_callbacks(False)
    connector = aiohttp.TCPConnector(limit=concurrency)
    auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": auth},
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        # Warm-up (connections, first-request paths), then a clean slate.
        await post_all(list(enumerate(phones[:min(500, len(phones))])), session)
        await ctl.reset_sandbox(deadline)
        errors = 0
        with CpuMeter(env) as meter:
            t0 = time.perf_counter()
            await post_all(list(enumerate(phones)), session)
            seconds = time.perf_counter() - t0
            cpu = meter.done()
    deadline.check()
    outcome = Outcome("baseline (aiohttp -> sandbox)", len(phones), seconds, errors=errors, cpu=cpu)
    await verify(ctl, phones, outcome)
    return outcome


def send_bodies(config_id: str, phones: list[str]) -> list[bytes]:
    bodies = []
    for start in range(0, len(phones), CONTACTS_PER_REQUEST):
        contacts = [{"tocontactid": p, "channelid": "sms", "optin": True, "CustomerName": "Ada",
                     "CaseName": f"CAS-{start + j}", "entityrelationshipname": "incident",
                     "contextitems": {"state": "resolved"}}
                    for j, p in enumerate(phones[start:start + CONTACTS_PER_REQUEST])]
        bodies.append(json.dumps({"configuration_id": config_id, "contacts": contacts}).encode())
    return bodies


async def push(ctl: Control, bodies: list[bytes], concurrency: int,
               deadline: Deadline) -> tuple[int, int]:
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
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                refused += 1
                first_error[:] = first_error or [repr(exc)]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if first_error:
        print(f"  send refused (first of {refused}): {first_error[0]}", flush=True)
    return queued, refused


async def wait_sandbox_has(ctl: Control, r: aioredis.Redis, n: int, push_task: asyncio.Task,
                           deadline: Deadline, t0: float, label: str) -> None:
    """Until the sandbox holds n messages. Cheap gate first (the org's outbound
    stream is empty once every job has been sent and recorded), then one stats
    call to confirm: stats builds a per-recipient map, O(messages) each time."""
    stream = keys.outbound_stream(ctl.org_id)
    last_print = time.monotonic()
    while True:
        deadline.check()
        if push_task.done():
            push_task.result()
            if await r.xlen(stream) == 0:
                break
        now = time.monotonic()
        if now - last_print >= 5:
            last_print = now
            left = await r.xlen(stream)
            print(f"  [{label}] {time.perf_counter() - t0:6.1f}s  jobs in stream {left}", flush=True)
        await asyncio.sleep(0.05)
    grace = Deadline(10, "sandbox count", deadline)
    while (await ctl.stats())["created"] < n and grace.left() > 0:
        await asyncio.sleep(0.1)


async def wait_delivered(ctl: Control, config_id: str, n: int, push_task: asyncio.Task,
                         deadline: Deadline, t0: float, label: str) -> dict[str, Any]:
    last_print = time.monotonic()
    finals = ("delivered", "read", "undelivered", "failed", "rejected", "canceled",
              "skipped_no_optin", "skipped_opted_out")
    while True:
        deadline.check()
        report = await ctl.report(config_id)
        counts = report["counts"]
        if push_task.done():
            push_task.result()
            if counts.get("delivered", 0) >= n or sum(counts.get(s, 0) for s in finals) >= n:
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
        done = sum(counts.get(s, 0) for s in finals)
        await asyncio.sleep(1.0 if done < 0.9 * n else 0.1)


def start_profiler(env: Env, args: argparse.Namespace, label: str) -> Child | None:
    """py-spy on the first hub process for one scenario. It pauses the hub for
    each sample (more accurate stacks, a few % slower) unless --profile-nonblocking."""
    if args.profile != "py-spy" or not env.hubs:
        return None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = env.workdir / f"profile-{label}.txt"
    argv = [py_spy, "record", "--pid", str(env.hubs[0].pid), "--rate", str(args.profile_rate),
            "--format", "raw", "--output", str(out)]
    if args.profile_nonblocking:
        argv.append("--nonblocking")
    child = Child(f"py-spy {label}", argv, env.workdir / f"py-spy-{label}.log")
    env.profilers.append(child)
    time.sleep(1.0)  # let it attach before the clock starts
    return child


def stop_profiler(env: Env, child: Child | None, label: str) -> None:
    if child is None:
        return
    child.stop(timeout=60)
    out = env.workdir / f"profile-{label}.txt"
    if out.exists():
        summary = summarize_collapsed(out)
        (env.workdir / f"profile-{label}-summary.txt").write_text(summary)
        print(f"  profile: {out}\n  summary: {env.workdir / f'profile-{label}-summary.txt'}",
              flush=True)
    else:
        print(f"  py-spy wrote nothing; log:\n{child.tail()}", flush=True)


async def run_hub(ctl: Control, r: aioredis.Redis, phones: list[str], config_id: str,
                  callbacks: bool, args: argparse.Namespace, deadline: Deadline,
                  env: Env, label: str) -> Outcome:
    n = len(phones)
    await ctl.reset_sandbox(deadline)
    await ctl.set_callbacks(callbacks)
    bodies = send_bodies(config_id, phones)
    profiler = start_profiler(env, args, label)
    push_task: asyncio.Task | None = None
    try:
        with CpuMeter(env) as meter:
            t0 = time.perf_counter()
            push_task = asyncio.create_task(push(ctl, bodies, args.hub_concurrency, deadline))
            if callbacks:
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
        stop_profiler(env, profiler, label)
    hubs = f"hub x{len(env.hubs)}" if len(env.hubs) > 1 else "hub"
    name = f"{hubs}, callbacks on" if callbacks else f"{hubs}, callbacks off"
    outcome = Outcome(name, n, seconds, errors=refused, cpu=cpu)
    if queued != n:
        outcome.notes.append(f"{queued} of {n} contacts queued")
    if callbacks:
        await ctl.wait_callbacks_idle(deadline)
    stats = await verify(ctl, phones, outcome)
    if callbacks:
        counts = {k: v for k, v in report["counts"].items() if v}
        outcome.notes.append(f"report at end {counts}; sandbox callbacks sent "
                             f"{stats['callbacks_sent']}, failed {stats['callbacks_failed']}")
    else:
        counts = {k: v for k, v in (await ctl.report(config_id))["counts"].items() if v}
        outcome.notes.append(f"report {counts}")
    return outcome


# -- profiles ----------------------------------------------------------------------------


# Where the hub's time goes, by part of the send path: the innermost listed
# frame of a sample claims it (so "twilio library" excludes the aiohttp I/O it
# awaits). Order matters only for frames that nest.
SECTIONS = (
    ("POST /v1/outbound/send: accept_send script call", "ActivityStore.accept"),
    ("POST /v1/outbound/send: validate + render", "send_request"),
    ("POST /v1/outbound/send: other (auth, body, JSON)", "send (hub/api/outbound.py)"),
    ("webhook: signature check", "verify_signature"),
    ("webhook: apply_callback script call", "ActivityStore.apply_callback"),
    ("webhook: other (form parse, lookup, metrics)", "status_callback"),
    ("worker: mark_sending script call", "ActivityStore.mark_sending"),
    ("worker: record_results script call", "ActivityStore.record_results"),
    ("worker: keep_claimed / ack / xreadgroup", "OutboundQueue."),
    ("worker send: aiohttp request/response", "ClientSession._request"),
    ("worker send: twilio library (params, headers, logging, parsing)", "MessageList.create_async"),
    ("worker send: adapter + dispatch (hub code)", "Dispatcher._send"),
    ("worker: other", "Dispatcher."),
    ("HTTP server (uvicorn/starlette) outside handlers", "starlette/"),
    ("HTTP server (uvicorn/starlette) outside handlers", "uvicorn/protocols/"),
)


def _strip_line(frame: str) -> str:
    """'name (file:line)' -> 'name (file)' so a function's lines add up."""
    head, sep, loc = frame.rpartition(" (")
    if not sep:
        return frame
    return f"{head} ({loc.rsplit(':', 1)[0]})" if ":" in loc else frame


def summarize_collapsed(path: Path, top: int = 35) -> str:
    """Self and inclusive sample shares per function from py-spy's raw
    (collapsed-stack) output, and shares by part of the send path."""
    self_counts: collections.Counter[str] = collections.Counter()
    incl_counts: collections.Counter[str] = collections.Counter()
    sections: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [_strip_line(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] += count
        for f in set(frames):
            incl_counts[f] += count
        sections[_section_of(frames)] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples (busy time only: py-spy skips idle waits)\n",
             "== by part of the path (innermost match wins) =="]
    for name, c in sections.most_common():
        lines.append(f"{100 * c / total:6.2f}%  {name}")
    lines.append("\n== self (leaf function) ==")
    for name, c in self_counts.most_common(top):
        lines.append(f"{100 * c / total:6.2f}%  {name}")
    lines.append("\n== inclusive ==")
    for name, c in incl_counts.most_common(top * 2):
        lines.append(f"{100 * c / total:6.2f}%  {name}")
    for focus in FOCUS:
        lines.append(f"\n== inside {focus}: share of all samples by callee (one level down) ==")
        for name, c in _callees(path, focus).most_common(15):
            lines.append(f"{100 * c / total:6.2f}%  {name}")
    return "\n".join(lines) + "\n"


FOCUS = ("send_request", "Dispatcher._send", "MessageList._create_async",
         "AsyncTwilioHttpClient.request", "status_callback", "Dispatcher.process")


def _callees(path: Path, focus: str) -> collections.Counter[str]:
    out: collections.Counter[str] = collections.Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not count_s.isdigit():
            continue
        frames = [_strip_line(f) for f in stack.split(";") if " (" in f]
        idx = max((i for i, f in enumerate(frames) if f.startswith(focus + " (")), default=None)
        if idx is None:
            continue
        out[frames[idx + 1] if idx + 1 < len(frames) else "(self)"] += int(count_s)
    return out


def _section_of(frames: list[str]) -> str:
    for f in reversed(frames):
        for name, needle in SECTIONS:
            if needle in f:
                return name
    return "event loop, GC and other"


def summarize_cprofile(path: Path, top: int = 40) -> str:
    import io
    import pstats

    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


# -- main --------------------------------------------------------------------------------


def print_table(outcomes: list[Outcome], baseline: Outcome | None) -> None:
    print()
    head = (f"{'scenario':<32} {'messages':>9} {'seconds':>8} {'msgs/s':>8} {'ratio':>6} "
            f"{'lost':>5} {'dup':>5} {'errors':>6}")
    print(head)
    print("-" * len(head))
    for o in outcomes:
        ratio = f"{o.rate / baseline.rate:6.2f}" if baseline else "   n/a"
        print(f"{o.name:<32} {o.messages:>9} {o.seconds:>8.2f} {o.rate:>8.0f} {ratio} "
              f"{o.lost:>5} {o.duplicated:>5} {o.errors:>6}")
    print()
    print(f"CPU seconds used during each scenario, per 1,000 messages; 'other' is the rest of "
          f"the machine; 'busy' = cores in use on average, of {os.cpu_count()}:")
    names = ["bench", "sandbox", "hub", "redis", "other"]
    print(f"{'scenario':<32} " + " ".join(f"{n:>8}" for n in names) + f" {'total':>8}"
          + f" {'busy':>6}")
    for o in outcomes:
        per_k = {k: 1000 * v / o.messages for k, v in o.cpu.items()}
        total = sum(v for v in o.cpu.values() if v == v)
        print(f"{o.name:<32} " + " ".join(f"{per_k.get(n, float('nan')):>8.3f}" for n in names)
              + f" {1000 * total / o.messages:>8.3f} {total / o.seconds:>5.2f}c")
    for o in outcomes:
        extra = [f"unexpected recipients {o.unexpected}"] if o.unexpected else []
        for note in o.notes + extra:
            print(f"  {o.name}: {note}")


async def run(env: Env, args: argparse.Namespace, phones: list[str], overall: Deadline) -> None:
    n = len(phones)
    phase_s = args.phase_timeout or max(180.0, n / 100)
    scenarios = set(args.scenarios.split(","))
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=max(32, args.hub_concurrency * 2))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        ctl = Control(env, session)
        r = await connect(env.redis_url)
        outcomes: list[Outcome] = []
        baseline = None
        try:
            if env.cluster is None:
                env.redis_pid = int((await r.info("server"))["process_id"])
            ids = await ctl.setup(["warmup", "callbacks-off", "callbacks-on"])
            channel_id = ids["channel"]["id"]
            configs = {k: v["id"] for k, v in ids["configs"].items()}

            if "baseline" in scenarios:
                await wait_quiet(env, args.quiet_wait)
                print(f"baseline: {n} messages, {args.baseline_concurrency} in flight", flush=True)
                baseline = await run_baseline(ctl, phones, channel_id, env.hub_url,
                                              args.baseline_concurrency,
                                              Deadline(phase_s, "baseline", overall), env)
                outcomes.append(baseline)
                print(f"  {baseline.seconds:.2f}s, {baseline.rate:.0f} msgs/s", flush=True)

            if scenarios & {"hub", "hub-callbacks"}:
                # Warm-up of the hub's paths (provider client, scripts, phone metadata).
                await ctl.reset_sandbox(Deadline(60, "reset", overall))
                await ctl.set_callbacks(False)
                warm = phones[:CONTACTS_PER_REQUEST * 5]
                wd = Deadline(60, "hub warm-up", overall)
                task = asyncio.create_task(push(ctl, send_bodies(configs["warmup"], warm), 5, wd))
                try:
                    await wait_sandbox_has(ctl, r, len(warm), task, wd, time.perf_counter(),
                                           "warm-up")
                finally:
                    if not task.done():
                        task.cancel()
                        await asyncio.gather(task, return_exceptions=True)

            for label, callbacks in (("hub", False), ("hub-callbacks", True)):
                if label not in scenarios:
                    continue
                print(f"{label}: {n} messages as {n // CONTACTS_PER_REQUEST} requests, "
                      f"{args.hub_concurrency} in flight", flush=True)
                cfg = configs["callbacks-on" if callbacks else "callbacks-off"]
                await wait_quiet(env, args.quiet_wait)
                o = await run_hub(ctl, r, phones, cfg, callbacks, args,
                                  Deadline(phase_s, label, overall), env, label)
                outcomes.append(o)
                print(f"  {o.seconds:.2f}s, {o.rate:.0f} msgs/s", flush=True)
        finally:
            if outcomes:  # what was measured, even when a later scenario failed
                print_table(outcomes, baseline)
            await r.aclose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--quick", action="store_true", help="10,000 messages")
    p.add_argument("--baseline-concurrency", type=int, default=128)
    p.add_argument("--hub-concurrency", type=int, default=12,
                   help="send requests (of 100 contacts) in flight")
    p.add_argument("--scenarios", default="baseline,hub,hub-callbacks",
                   help="comma-separated subset of baseline,hub,hub-callbacks")
    p.add_argument("--profile", choices=("none", "py-spy", "cprofile"), default="none",
                   help="py-spy: sample the hub during each hub scenario; cprofile: run the "
                        "whole hub under cProfile (slows it down)")
    p.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--profile-nonblocking", action="store_true",
                   help="py-spy without pausing the hub (less overhead, some stacks cut short)")
    p.add_argument("--redis-cluster", type=int, default=0, metavar="MASTERS",
                   help="run on a Redis Cluster of that many masters (tests/redis_cluster.py)")
    p.add_argument("--hubs", type=int, default=1,
                   help="hub processes sharing the Redis (send requests spread round-robin)")
    p.add_argument("--hub-env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for the hub process (repeatable)")
    p.add_argument("--phase-timeout", type=float, default=0.0,
                   help="seconds allowed per scenario (default max(180, messages/100))")
    p.add_argument("--quiet-wait", type=float, default=60.0,
                   help="before each scenario, wait up to this long for other processes on "
                        "the machine to go idle (0: don't)")
    p.add_argument("--max-seconds", type=float, default=3600.0, help="the whole run's bound")
    p.add_argument("--workdir", help="where logs/profiles go (default: a new temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--summarize", metavar="FILE", help="only print the summary of a py-spy raw "
                                                       "profile written by an earlier run")
    args = p.parse_args()
    if args.summarize:
        print(summarize_collapsed(Path(args.summarize)))
        return 0
    unknown = set(args.scenarios.split(",")) - {"baseline", "hub", "hub-callbacks"}
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    n = 10_000 if args.quick else args.messages
    n -= n % CONTACTS_PER_REQUEST
    if n <= 0:
        p.error("--messages must be at least 100")

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Also when started with SIGINT ignored (e.g. as a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    overall = Deadline(args.max_seconds, "whole run")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    keep = args.keep or args.profile != "none" or bool(args.workdir)
    env = Env(workdir)
    print(f"{n} messages; work dir {workdir}; {os.cpu_count()} CPUs "
          "(every process shares them: expect contention)", flush=True)
    ok = False
    try:
        t = time.perf_counter()
        phones = make_phones(n)
        print(f"{n} valid distinct numbers in {time.perf_counter() - t:.1f}s", flush=True)
        start_processes(env, args)
        asyncio.run(run(env, args, phones, overall))
        ok = True
    except KeyboardInterrupt:
        print("\ninterrupted; tearing down", flush=True)
    except Exception:
        for child in [*env.hubs, env.sandbox]:
            if child is not None:
                print(f"--- {child.name} log tail ---\n{child.tail()}", file=sys.stderr)
        raise
    finally:
        env.teardown()
        for prof in sorted(workdir.glob("hub*.cprofile")) if args.profile == "cprofile" else []:
            summary_path = prof.with_name(prof.stem + "-cprofile-summary.txt")
            summary_path.write_text(summarize_cprofile(prof))
            print(f"cProfile summary: {summary_path}")
        if keep or not ok:
            print(f"logs/profiles kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
