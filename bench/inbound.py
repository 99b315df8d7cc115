"""Inbound throughput, latency and socket memory: customer replies through the hub.

Everything runs on 127.0.0.1, started by this script and torn down on exit
(Ctrl+C included): one `hub serve` on its embedded Redis (HUB_DATA_DIR in a
temp dir, no REDIS_URL), a standalone sandbox provider (only for the outbound
sends that make replies correlate), a bare Starlette app for the baseline,
and a load generator (aiohttp, bounded concurrency) in a process of its own.

Figures, all in one run:

  baseline       a bare Starlette endpoint on uvicorn (same settings as the
                 hub: one worker, uvloop, httptools) that reads the same
                 Twilio-sized form and answers 200 with empty TwiML; two
                 variants: `await request.form()` and
                 `parse_qsl(await request.body())`. Requests/s.
  hub new        signed inbound webhooks/s, each from a new customer: stored,
                 correlated to the outbound message sent to that customer,
                 a conversation opened, routed and pushed to a connected agent
                 (conversation.assigned frames counted on real websockets)
  hub append     the same from a fixed set of customers whose conversations
                 are already open and assigned (message.created frames)
  latency        webhook -> agent websocket frame at a steady rate of half
                 the measured max of each kind: the body carries time.time()
                 at send; the receiving side subtracts on frame receipt
  memory         hub process RSS before and after connecting N idle agent
                 websockets (10,000; 1,000 with --quick): once with N distinct
                 agents (created straight in Redis through the hub's
                 AgentStore: the API's argon2 hashing takes ~0.2 s per agent
                 here, hours for 10,000) and once with N sockets shared by a
                 few agents created through the API

Signatures (X-Twilio-Signature over the hub's public URL + path) are computed
before the timed loop, except in the latency runs where the body carries the
send time and is signed at send time. The machine has 2 cores shared by the
hub, its Redis, the load generator and the websocket receiver: every figure
includes that contention (the CPU table shows who used what).

Usage:
  .venv/bin/python bench/inbound.py --quick
  .venv/bin/python bench/inbound.py
  .venv/bin/python bench/inbound.py --quick --profile py-spy     # sample the hub
  .venv/bin/python bench/inbound.py --quick --profile cprofile
  .venv/bin/python bench/inbound.py --quick --tracemalloc         # memory by line
  .venv/bin/python bench/inbound.py --only memory --browser-headers
  .venv/bin/python bench/inbound.py --only new,append,latency --latency-fractions 0.25,0.5
  .venv/bin/python bench/inbound.py --summarize WORKDIR/pyspy-new.raw

Profiles and process logs go to a work directory that is kept (and printed)
when profiling or with --keep; otherwise it is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from outbound import (  # noqa: E402  (plumbing shared with the outbound benchmark)
    Deadline,
    _strip_line,
    free_port,
    self_cpu,
    summarize_cprofile,
    system_busy_cpu,
)

HOST = "127.0.0.1"
ADMIN_TOKEN = "bench-admin-token"
SID = "AC" + "c" * 32
TOKEN = "bench-inbound-auth-token"
SENDER = "+14155550100"
PASSWORD = "correct horse battery"
AREA_CODES = ("415", "650", "212", "312", "617", "206", "303", "512", "305", "404")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
CAPACITY = 100  # the most an agent may take
BODY_TEXT = "Hi, my parcel still has not arrived, can someone help me with case CAS-1042?"
# What a browser sends on the console's websocket besides the handshake headers
# (with --browser-headers): the hub keeps every request header for the
# socket's lifetime, so this changes the memory per socket.
BROWSER_HEADERS = {
    "Origin": "https://hub.example.com",
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Accept-Language": "en-US,en;q=0.9,fr;q=0.8",
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
}
WS_HEADERS: dict[str, str] = {}  # set from --browser-headers

BODY_RE = re.compile(r"bench (\w+) #(\d+)")
STAMP_RE = re.compile(r" t=(\d+\.\d+)$")


# -- small helpers ---------------------------------------------------------------






def cpu_seconds(pid: int | None) -> float:
    """User+system CPU of a process (all its threads), from /proc."""
    if not pid:
        return float("nan")
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")






def rss_kb(pid: int) -> int:
    """Resident set size in KiB (psutil when installed, else /proc)."""
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss // 1024)
    except ImportError:
        pass
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def code_state() -> str:
    """Which hub code ran: git HEAD, local changes, and a digest of the sources
    (hub/, routing/, webhooks/), since the tree may change between runs."""
    import hashlib

    digest = hashlib.sha1()
    for folder in ("hub", "routing", "webhooks"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".lua") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    head = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, timeout=10).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hub", "routing",
                                "webhooks"], cwd=ROOT, text=True, capture_output=True,
                               timeout=10).stdout.strip()
        if dirty:
            head += f" + {len(dirty.splitlines())} changed files"
    return f"{head}; sources digest {digest.hexdigest()[:12]}"


def raise_nofile() -> int:
    """Soft open-files limit up to the hard one (10,000 sockets need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1_048_576
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _child_preexec() -> None:  # runs in the child between fork and exec
    raise_nofile()


class PhonePool:
    """Distinct numbers the hub accepts, in E.164 as it stores them; handed out once."""

    def __init__(self) -> None:
        from hub.domain.phones import normalize_phone

        self._normalize = normalize_phone
        self._gen = self._numbers()

    def _numbers(self) -> Iterable[str]:
        from hub.errors import InvalidPhone

        for area in AREA_CODES:
            misses = 0
            for k in range(2_000_000, 10_000_000):
                try:
                    yield self._normalize(f"+1{area}{k:07d}")
                    misses = 0
                except InvalidPhone:
                    misses += 1
                    if misses > 10_000:
                        break

    def take(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            try:
                out.append(next(self._gen))  # type: ignore[call-overload]
            except StopIteration:
                raise SystemExit("ran out of valid phone numbers") from None
        return out


def inbound_form(sid: str, customer: str, body: str) -> dict[str, str]:
    """What Twilio posts for an inbound SMS (the full field set, ~600 bytes)."""
    return {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0",
        "ToCity": "SAN FRANCISCO", "FromZip": "94105", "SmsSid": sid, "FromState": "CA",
        "SmsStatus": "received", "FromCity": "SAN FRANCISCO", "Body": body, "FromCountry": "US",
        "To": SENDER, "MessagingServiceSid": "MG" + "0" * 32, "ToZip": "94105",
        "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": SID,
        "From": customer, "ApiVersion": "2010-04-01",
    }


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


# -- child processes ---------------------------------------------------------------


class Child:
    """A child process in its own session (a Ctrl+C reaches only this script,
    which then stops the children in order)."""

    def __init__(self, name: str, argv: list[str], log_path: Path,
                 env: dict[str, str] | None = None, nofile: bool = False) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True,
                                         preexec_fn=_child_preexec if nofile else None)

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


CHILDREN: list[Child] = []  # everything started, stopped in reverse order at exit


def start_child(*args: Any, **kw: Any) -> Child:
    child = Child(*args, **kw)
    CHILDREN.append(child)
    return child


def stop_child(child: Child | None, timeout: float = 20.0) -> None:
    if child is not None:
        child.stop(timeout)
        if child in CHILDREN:
            CHILDREN.remove(child)


def stop_all_children() -> None:
    while CHILDREN:
        child = CHILDREN.pop()
        try:
            child.stop()
        except Exception as exc:  # keep stopping the others
            print(f"stopping {child.name}: {exc!r}", file=sys.stderr)


async def wait_http(url: str, deadline: Deadline, child: Child) -> None:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as s:
        while True:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited at start:\n{child.tail()}")
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError, OSError):
                async with s.get(url) as resp:
                    if resp.status == 200:
                        return
            deadline.check()
            await asyncio.sleep(0.05)


# -- the baseline app (run as `inbound.py _baseline PORT` in its own process) ---------


def baseline_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def form(request: Request) -> Response:
        data = await request.form()
        if not data.get("MessageSid"):
            return Response(status_code=400)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def qsl(request: Request) -> Response:
        data = dict(parse_qsl((await request.body()).decode("utf-8", "replace"),
                              keep_blank_values=True))
        if not data.get("MessageSid"):
            return Response(status_code=400)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def ping(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/form/{channel_id}/inbound", form, methods=["POST"]),
        Route("/qsl/{channel_id}/inbound", qsl, methods=["POST"]),
        Route("/ping", ping),
    ])


def baseline_main(port: int) -> int:
    import uvicorn

    # The same settings as `hub serve` (hub/cli.py): one worker, auto loop/http.
    uvicorn.run(baseline_app(), host=HOST, port=port, log_level="warning", access_log=False,
                log_config=None, ws_per_message_deflate=False)
    return 0


# -- the load generator (run as `inbound.py _loadgen SPEC` in its own process) ----------
#
# Reads a JSON spec (items: [path, params]), prepares bodies and signatures,
# prints "ready", waits for "go" on stdin, posts, writes the results file and
# prints "done". Mode "max": precomputed bodies, `concurrency` in flight.
# Mode "paced": request i leaves at t0 + i/rate; the Body gets " t=<time.time()>"
# and is signed at send time.


def loadgen_main(spec_path: str) -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    spec = json.loads(Path(spec_path).read_text())
    asyncio.run(_loadgen(spec))
    return 0


async def _loadgen(spec: dict[str, Any]) -> None:
    import aiohttp
    from twilio.request_validator import RequestValidator

    items: list[tuple[str, dict[str, str]]] = [(p, d) for p, d in spec["items"]]
    base, public, mode = spec["base_url"], spec["public_url"], spec["mode"]
    concurrency, rate = int(spec["concurrency"]), float(spec.get("rate") or 0)
    sign = bool(spec.get("sign", True))
    validator = RequestValidator(spec["token"])
    n = len(items)
    sent_at = [0.0] * n
    done_at = [0.0] * n
    status = [0] * n
    errors: collections.Counter[str] = collections.Counter()
    form_type = "application/x-www-form-urlencoded"

    def prepare(path: str, params: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
        headers = {"Content-Type": form_type}
        if sign:
            headers["X-Twilio-Signature"] = validator.compute_signature(public + path, params)
        return base + path, urlencode(params).encode(), headers

    prepared = [prepare(p, d) for p, d in items] if mode == "max" else []

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     skip_auto_headers=("User-Agent",)) as session:

        async def post(i: int, url: str, body: bytes, headers: dict[str, str]) -> None:
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    status[i] = resp.status
            except Exception as exc:  # counted, never fatal
                status[i] = -1
                errors[type(exc).__name__] += 1
            done_at[i] = time.time()

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        print("ready", flush=True)
        line = await asyncio.wait_for(reader.readline(), timeout=600)
        if line.strip() != b"go":
            return
        cpu0 = self_cpu()
        t_go = time.time()
        stop_at = time.monotonic() + float(spec["max_seconds"])
        late = 0

        if mode == "max":
            it = iter(range(n))

            async def worker() -> None:
                for i in it:
                    if time.monotonic() > stop_at:
                        return
                    url, body, headers = prepared[i]
                    sent_at[i] = time.time()
                    await post(i, url, body, headers)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            sem = asyncio.Semaphore(concurrency)
            tasks: set[asyncio.Task[None]] = set()
            m0 = time.monotonic()

            async def one(i: int) -> None:
                try:
                    path, params = items[i]
                    ts = time.time()
                    params = {**params, "Body": f"{params['Body']} t={ts:.6f}"}
                    url, body, headers = prepare(path, params)
                    sent_at[i] = ts
                    await post(i, url, body, headers)
                finally:
                    sem.release()

            for i in range(n):
                target = m0 + i / rate
                delay = target - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if time.monotonic() > stop_at:
                    break
                await sem.acquire()
                if time.monotonic() - target > 0.005:
                    late += 1
                task = asyncio.create_task(one(i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            left = stop_at - time.monotonic()
            if tasks and left > 0:
                await asyncio.wait(list(tasks), timeout=left)
            for task in list(tasks):
                task.cancel()
        t_end = time.time()
        cpu = self_cpu() - cpu0

    Path(spec["out"]).write_text(json.dumps({
        "t_go": t_go, "t_end": t_end, "sent_at": sent_at, "done_at": done_at, "status": status,
        "errors": dict(errors), "late": late, "cpu": cpu,
    }))
    print("done", flush=True)


@dataclass
class LoadResult:
    t_go: float
    t_end: float
    sent_at: list[float]
    done_at: list[float]
    status: list[int]
    errors: dict[str, int]
    late: int
    cpu: float

    @property
    def ok(self) -> int:
        return sum(1 for s in self.status if s == 200)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.status if s != 200)

    @property
    def seconds(self) -> float:
        last = max((d for d in self.done_at if d), default=self.t_end)
        return max(last - self.t_go, 1e-9)

    def http_latencies_ms(self) -> list[float]:
        return [1000 * (d - s) for s, d, st in zip(self.sent_at, self.done_at, self.status)
                if st == 200 and s and d]

    def status_summary(self) -> str:
        c = collections.Counter(self.status)
        c.pop(200, None)
        parts = [f"{k if k != -1 else 'exception'}: {v}" for k, v in sorted(c.items())]
        parts += [f"{k}: {v}" for k, v in self.errors.items()]
        return ", ".join(parts)


class LoadGen:
    """Drives one `_loadgen` process: prepare (untimed), go, collect."""

    def __init__(self, workdir: Path, name: str, spec: dict[str, Any]) -> None:
        self.workdir, self.name = workdir, name
        self.spec_path = workdir / f"loadgen-{name}.json"
        self.out_path = workdir / f"loadgen-{name}.out.json"
        self.spec = {**spec, "out": str(self.out_path)}
        self.proc: asyncio.subprocess.Process | None = None
        self.cpu_start = 0.0

    async def prepare(self, deadline: Deadline) -> None:
        self.spec_path.write_text(json.dumps(self.spec))
        log = open(self.workdir / f"loadgen-{self.name}.log", "ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).resolve()), "_loadgen", str(self.spec_path),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                cwd=str(ROOT), start_new_session=True)
        finally:
            log.close()
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), max(1.0, deadline.left()))
        if line.strip() != b"ready":
            raise RuntimeError(f"load generator did not start: {line!r}; see "
                               f"{self.workdir / f'loadgen-{self.name}.log'}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def go(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()

    async def result(self, deadline: Deadline) -> LoadResult:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), max(1.0, deadline.left()))
            if line.strip() != b"done":
                raise RuntimeError(f"load generator failed: {line!r}")
            await asyncio.wait_for(self.proc.wait(), 30)
        finally:
            await self.kill()
        return LoadResult(**{k: v for k, v in json.loads(self.out_path.read_text()).items()})

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 10)


# -- CPU accounting ------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds by process over a span; 'other' is the rest of the machine."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {k: v for k, v in pids.items() if v}
        self.start: dict[str, float] = {}
        self.wall = 0.0

    def _read(self) -> dict[str, float]:
        out = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        out["bench"] = self_cpu()
        out["machine"] = system_busy_cpu()
        return out

    def begin(self) -> "CpuMeter":
        self.start = self._read()
        self.wall = time.monotonic()
        return self

    def add(self, name: str, pid: int | None) -> None:
        """A process that started after begin() (its whole CPU time counts)."""
        if pid:
            self.pids[name] = pid
            self.start[name] = 0.0

    def done(self, known: dict[str, float] | None = None) -> dict[str, float]:
        """`known`: CPU of processes that counted their own (and have exited)."""
        end = self._read()
        used = {k: end[k] - self.start.get(k, 0.0) for k in end}
        used.update(known or {})
        machine = used.pop("machine")
        used["other"] = max(0.0, machine - sum(v for v in used.values() if v == v))
        used["wall"] = time.monotonic() - self.wall
        return used


async def wait_quiet(pids: list[int], seconds: float, threshold: float = 0.3) -> str:
    """Wait (at most `seconds`) until the rest of the machine uses under
    `threshold` cores over one second: other runs on the machine skew figures."""
    if seconds <= 0:
        return ""
    deadline = Deadline(seconds, "quiet wait")
    busy = float("nan")
    while deadline.left() > 0:
        m0, o0, s0 = system_busy_cpu(), sum(cpu_seconds(p) for p in pids), self_cpu()
        await asyncio.sleep(1.0)
        m1, o1, s1 = system_busy_cpu(), sum(cpu_seconds(p) for p in pids), self_cpu()
        busy = (m1 - m0) - (o1 - o0) - (s1 - s0)
        if busy < threshold:
            return ""
    note = f"machine busy: {busy:.2f} cores used by other processes"
    print(f"  ({note})", flush=True)
    return note


# -- the hub and its control plane ----------------------------------------------------------


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


async def start_hub(workdir: Path, name: str, args: argparse.Namespace,
                    sandbox_url: str | None, deadline: Deadline) -> HubEnv:
    port = free_port()
    url = f"http://{HOST}:{port}"
    data_dir = workdir / f"{name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({
        "HUB_HOST": HOST, "HUB_PORT": str(port), "HUB_PUBLIC_URL": url,
        "HUB_ADMIN_TOKEN": ADMIN_TOKEN, "HUB_LOG_LEVEL": "warning",
        "HUB_DATA_DIR": str(data_dir),
        "HUB_PROCESSES": "1",  # the figures are one process's
    })
    if sandbox_url:
        env["HUB_SANDBOX_URL"] = sandbox_url
    for pair in args.hub_env:
        k, _, v = pair.partition("=")
        env[k] = v
    py = sys.executable
    argv = [py, "-m", "hub", "serve"]
    if args.profile == "cprofile":
        argv = [py, "-m", "cProfile", "-o", str(workdir / f"{name}.cprofile"), "-m", "hub", "serve"]
    elif args.tracemalloc and name.startswith("memory"):
        env["BENCH_TRACEMALLOC_DIR"] = str(workdir)
        env["BENCH_TRACEMALLOC_NAME"] = name
        argv = [py, "-X", "tracemalloc=1", str(Path(__file__).resolve()), "_hub_traced"]
    child = start_child(name, argv, workdir / f"{name}.log", env=env, nofile=True)
    await wait_http(url + "/readyz", Deadline(60, f"{name} start", deadline), child)
    henv = HubEnv(workdir, child, url, data_dir)
    import redis.asyncio as aioredis

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
        self.api_key = ""
        self.org_id = ""
        self.channel_id = ""
        self.config_id = ""

    async def call(self, method: str, path: str, expect: tuple[int, ...] = (200,),
                   token: str | None = None, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        token = token if token is not None else self.api_key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.hub.url + path, headers=headers, **kw) as resp:
            text = await resp.text()
            if resp.status not in expect:
                raise RuntimeError(f"{method} {path} -> {resp.status}: {text[:500]}")
            return json.loads(text) if text else None

    async def setup(self, sandbox_url: str | None) -> None:
        org = await self.call("POST", "/v1/orgs", (201,), token=ADMIN_TOKEN, json={
            "name": "Inbound bench", "limits": {"contacts_per_request": 100,
                                                "requests_per_hour": 10_000_000}})
        self.api_key, self.org_id = org["api_key"], org["id"]
        channel: dict[str, Any] = {
            "type": "sms", "provider": "sandbox", "address": SENDER,
            "credentials": {"account_sid": SID, "auth_token": TOKEN}}
        if sandbox_url:
            channel["api_base_url"] = sandbox_url
        self.channel_id = (await self.call("POST", "/v1/channels", (201,), json=channel))["id"]
        template = await self.call("POST", "/v1/templates", (201,), json={
            "name": "Delivery update", "channel_types": ["sms"], "default_locale": "en-US",
            "bodies": {"en-US": "Hi {{CustomerName}}, your case {{CaseName}} is {{state}}."}})
        self.config_id = (await self.call("POST", "/v1/outbound-configurations", (201,), json={
            "name": "Delivery updates", "show_in_timeline": False, "channel_type": "sms",
            "channel_id": self.channel_id, "template_id": template["id"]}))["id"]

    async def create_agents(self, n: int, tag: str, concurrency: int,
                            deadline: Deadline) -> list[tuple[str, str]]:
        """n agents through the API, logged in; returns (agent id, token)."""
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> tuple[str, str]:
            async with sem:
                deadline.check()
                email = f"bench-{tag}-{i}@example.com"
                agent = await self.call("POST", "/v1/agents", (201,), json={
                    "name": f"Agent {tag} {i}", "email": email, "password": PASSWORD,
                    "queues": ["default"], "capacity": CAPACITY})
                login = await self.call("POST", "/v1/agents/login", (200,), token="",
                                        json={"email": email, "password": PASSWORD})
                return agent["id"], login["token"]

        return list(await asyncio.gather(*(one(i) for i in range(n))))

    async def correlate(self, customers: list[str], deadline: Deadline) -> float:
        """Send each customer an outbound message, so their replies correlate;
        returns seconds until the hub recorded every send."""
        import redis.asyncio as aioredis

        t0 = time.perf_counter()
        sem = asyncio.Semaphore(4)

        async def send(chunk: list[str]) -> None:
            async with sem:
                await self.call("POST", "/v1/outbound/send", (202,), json={
                    "configuration_id": self.config_id,
                    "contacts": [{"tocontactid": p, "channelid": "sms", "optin": True,
                                  "CustomerName": "Ada", "CaseName": "CAS-1042",
                                  "contextitems": {"state": "on its way"}} for p in chunk]})

        await asyncio.gather(*(send(customers[i:i + 100]) for i in range(0, len(customers), 100)))
        from hub.storage import keys

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


# -- agents on real websockets ----------------------------------------------------------------


class Receiver:
    """Every frame of every bench agent; what a phase counts."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.got: dict[str, dict[int, float]] = collections.defaultdict(dict)  # tag -> i -> recv
        self.stamp: dict[str, dict[int, float]] = collections.defaultdict(dict)  # tag -> i -> t
        self.dups: collections.Counter[str] = collections.Counter()
        self.correlated: collections.Counter[str] = collections.Counter()
        self.errors: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    def on_body(self, body: str, now: float, correlated: bool | None) -> None:
        m = BODY_RE.search(body)
        if not m:
            return
        tag, i = m.group(1), int(m.group(2))
        if i in self.got[tag]:
            self.dups[tag] += 1
            return
        self.got[tag][i] = now
        stamp = STAMP_RE.search(body)
        if stamp:
            self.stamp[tag][i] = float(stamp.group(1))
        if correlated:
            self.correlated[tag] += 1
        self.changed.set()

    def received(self, tag: str) -> int:
        return len(self.got.get(tag, ()))


class AgentConn:
    def __init__(self, receiver: Receiver, agent_id: str, token: str, ws_url: str) -> None:
        self.rx = receiver
        self.agent_id = agent_id
        self.url = f"{ws_url}?token={token}"
        self.ws: Any = None
        self.hello = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None
        self.open: set[str] = set()
        self.pending: set[str] = set()
        self.acked = asyncio.Event()
        self.seq = 0

    async def connect(self, timeout: float) -> None:
        import websockets

        self.ws = await asyncio.wait_for(
            websockets.connect(self.url, compression=None, max_size=None, ping_interval=None,
                               open_timeout=timeout, close_timeout=5,
                               additional_headers=WS_HEADERS or None), timeout)
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.hello.wait(), timeout)

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                self.on_frame(raw)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.hello.set()
            self.acked.set()

    def on_frame(self, raw: str | bytes) -> None:
        now = time.time()
        frame = json.loads(raw)
        kind = frame.get("type")
        self.rx.counts[kind] += 1
        if kind == "conversation.assigned":
            conv = frame["conversation"]
            self.open.add(conv["id"])
            messages = conv.get("messages") or []
            if messages:
                self.rx.on_body(messages[-1].get("body", ""), now, bool(conv.get("correlated")))
        elif kind == "message.created":
            self.rx.on_body((frame.get("message") or {}).get("body", ""), now, None)
        elif kind == "hello":
            for conv in frame.get("conversations") or []:
                self.open.add(conv["id"])
            self.hello.set()
        elif kind in ("ack", "error"):
            if kind == "error":
                self.rx.errors.append(frame)
            self.pending.discard(frame.get("client_id") or "")
            if not self.pending:
                self.acked.set()
        elif kind == "conversation.closed":
            self.open.discard(frame.get("conversation_id") or "")

    async def close_conversations(self, deadline: Deadline) -> int:
        ids = sorted(self.open)
        self.open.clear()
        if not ids or self.ws is None:
            return 0
        self.acked.clear()
        for cid in ids:
            self.seq += 1
            client_id = f"close-{self.seq}"
            self.pending.add(client_id)
            await self.ws.send(json.dumps({"type": "close", "conversation_id": cid,
                                           "client_id": client_id}))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.acked.wait(), max(0.1, deadline.left()))
        return len(ids)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


async def connect_all(conns: list[AgentConn], concurrency: int, deadline: Deadline) -> int:
    """Connects with bounded concurrency; returns how many failed."""
    sem = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(c: AgentConn) -> None:
        nonlocal failed
        async with sem:
            if deadline.left() <= 0:
                failed += 1
                return
            try:
                await c.connect(min(60.0, max(1.0, deadline.left())))
            except Exception:
                failed += 1

    await asyncio.gather(*(one(c) for c in conns))
    return failed


async def close_all_conversations(conns: list[AgentConn], deadline: Deadline) -> int:
    counts = await asyncio.gather(*(c.close_conversations(deadline) for c in conns))
    return sum(counts)


async def wait_frames(rx: Receiver, tag: str, n: int, deadline: Deadline,
                      quiet_s: float = 5.0) -> None:
    """Until n frames of `tag` arrived, the deadline passed, or nothing came for quiet_s."""
    last, last_change = rx.received(tag), time.monotonic()
    while rx.received(tag) < n and deadline.left() > 0:
        rx.changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(rx.changed.wait(), min(0.5, max(0.01, deadline.left())))
        got = rx.received(tag)
        if got != last:
            last, last_change = got, time.monotonic()
        elif time.monotonic() - last_change > quiet_s:
            break


# -- phases -----------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    sent: int = 0
    ok: int = 0
    seconds: float = 0.0  # first send -> last HTTP answer
    e2e_seconds: float = 0.0  # first send -> last frame
    frames: int = 0
    dups: int = 0
    correlated: int = 0
    http_ms: list[float] = field(default_factory=list)
    frame_ms: list[float] = field(default_factory=list)  # webhook send -> frame (stamp)
    cpu: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rate_target: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else float("nan")

    @property
    def frame_rate(self) -> float:
        return self.frames / self.e2e_seconds if self.e2e_seconds else float("nan")


def webhook_items(channel_id: str, tag: str, customers: list[str], count: int,
                  start: int = 0) -> list[tuple[str, dict[str, str]]]:
    path = f"/webhooks/twilio/{channel_id}/inbound"
    return [(path, inbound_form(new_sid(), customers[(start + i) % len(customers)],
                                f"bench {tag} #{start + i} {BODY_TEXT}"))
            for i in range(count)]


async def run_load(workdir: Path, name: str, base_url: str, public_url: str,
                   items: list[tuple[str, dict[str, str]]], args: argparse.Namespace,
                   deadline: Deadline, pids: dict[str, int | None], *, mode: str = "max",
                   rate: float = 0.0, sign: bool = True,
                   after_go: Callable[[LoadResult | None], Any] | None = None,
                   profile: "Profiler | None" = None) -> tuple[LoadResult, dict[str, float], Any]:
    """One load generator run; `after_go` (awaited after the load finishes, while
    the CPU meter still runs) waits for whatever else the phase counts."""
    lg = LoadGen(workdir, name, {
        "base_url": base_url, "public_url": public_url, "token": TOKEN, "items": items,
        "mode": mode, "rate": rate, "concurrency": args.concurrency, "sign": sign,
        "max_seconds": max(5.0, deadline.left() - 10)})
    try:
        await lg.prepare(deadline)
        meter = CpuMeter(pids).begin()
        meter.add("loadgen", lg.pid)
        if profile:
            profile.start()
        try:
            await lg.go()
            result = await lg.result(deadline)
            extra = await after_go(result) if after_go else None
        finally:
            if profile:
                profile.stop()
        cpu = meter.done({"loadgen": result.cpu})  # it counted its own; it has exited
        return result, cpu, extra
    finally:
        await lg.kill()


async def run_baseline(workdir: Path, args: argparse.Namespace, phones: PhonePool,
                       deadline: Deadline) -> list[Phase]:
    port = free_port()
    child = start_child("baseline", [sys.executable, str(Path(__file__).resolve()), "_baseline",
                                     str(port)], workdir / "baseline.log", nofile=True)
    phases = []
    try:
        url = f"http://{HOST}:{port}"
        await wait_http(url + "/ping", Deadline(30, "baseline start", deadline), child)
        customers = phones.take(1000)
        for variant, label in (("form", "await request.form()"),
                               ("qsl", "parse_qsl(await request.body())")):
            items = [(f"/{variant}/CH0/inbound", params) for _, params in
                     webhook_items("CH0", "base", customers, args.baseline_requests)]
            warm = items[:min(500, len(items))]
            await run_load(workdir, f"baseline-{variant}-warm", url, url, warm, args,
                           Deadline(120, "baseline warm-up", deadline), {"server": child.pid})
            note = await wait_quiet([child.pid], args.quiet_wait)
            print(f"baseline {label}: {len(items)} requests, {args.concurrency} in flight",
                  flush=True)
            result, cpu, _ = await run_load(workdir, f"baseline-{variant}", url, url, items, args,
                                            Deadline(args.phase_timeout, "baseline", deadline),
                                            {"server": child.pid})
            p = Phase(f"bare Starlette, {label}", sent=len(items), ok=result.ok,
                      seconds=result.seconds, http_ms=result.http_latencies_ms(), cpu=cpu)
            if result.failed:
                p.notes.append(f"failed: {result.status_summary()}")
            if note:
                p.notes.append(note)
            print(f"  {p.rate:.0f} requests/s", flush=True)
            phases.append(p)
    finally:
        stop_child(child)
    return phases


class Profiler:
    """py-spy sampling the hub during a timed span (raw collapsed stacks)."""

    def __init__(self, args: argparse.Namespace, workdir: Path, pid: int, label: str) -> None:
        self.args, self.workdir, self.pid, self.label = args, workdir, pid, label
        self.child: Child | None = None
        self.path = workdir / f"pyspy-{label}.raw"

    def start(self) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        argv = [exe, "record", "--pid", str(self.pid), "--rate", str(self.args.profile_rate),
                "--format", "raw", "--output", str(self.path)]
        if self.args.profile_nonblocking:
            argv.append("--nonblocking")
        self.child = start_child(f"py-spy-{self.label}", argv, self.workdir / f"pyspy-{self.label}.log")
        time.sleep(0.5)  # attached before the load starts

    def stop(self) -> None:
        stop_child(self.child, timeout=60)
        self.child = None


async def throughput_phase(name: str, tag: str, hub: HubEnv, rx: Receiver,
                           items: list[tuple[str, dict[str, str]]],
                           args: argparse.Namespace, deadline: Deadline,
                           expect_frames: bool = True) -> Phase:
    pids = {"hub": hub.hub.pid, "redis": hub.redis_pid}
    note = await wait_quiet([p for p in pids.values() if p], args.quiet_wait)
    print(f"{name}: {len(items)} webhooks, {args.concurrency} in flight", flush=True)
    profile = Profiler(args, hub.workdir, hub.hub.pid, tag) if args.profile == "py-spy" else None

    async def frames(result: LoadResult | None) -> float:
        await wait_frames(rx, tag, result.ok if result else len(items),
                          Deadline(60, f"{name} frames", deadline))
        return time.time()

    result, cpu, t_last = await run_load(
        hub.workdir, tag, hub.url, hub.url, items, args,
        Deadline(args.phase_timeout, name, deadline), pids, after_go=frames, profile=profile)
    got = rx.got.get(tag, {})
    p = Phase(name, sent=len(items), ok=result.ok, seconds=result.seconds,
              frames=len(got), dups=rx.dups[tag], correlated=rx.correlated[tag],
              http_ms=result.http_latencies_ms(), cpu=cpu)
    if got:
        p.e2e_seconds = max(got.values()) - result.t_go
        # Bodies are numbered 0..n-1 in send order (webhook_items), as are sent_at.
        p.frame_ms = [1000 * (got[i] - result.sent_at[i]) for i in got
                      if 0 <= i < len(result.sent_at) and result.sent_at[i]]
    if result.failed:
        p.notes.append(f"failed webhooks: {result.status_summary()}")
    if expect_frames and len(got) < result.ok:
        p.notes.append(f"{result.ok - len(got)} answered webhooks never reached an agent")
    if note:
        p.notes.append(note)
    if profile:
        p.notes.append(f"py-spy profile: {profile.path}")
    print(f"  {p.rate:.0f} webhooks/s; {p.frames} frames, {p.frame_rate:.0f} frames/s end to end",
          flush=True)
    return p


async def latency_phase(name: str, tag: str, hub: HubEnv, rx: Receiver,
                        items: list[tuple[str, dict[str, str]]], rate: float,
                        args: argparse.Namespace, deadline: Deadline) -> Phase:
    pids = {"hub": hub.hub.pid, "redis": hub.redis_pid}
    note = await wait_quiet([p for p in pids.values() if p], args.quiet_wait)
    print(f"{name}: {len(items)} webhooks at {rate:.0f}/s", flush=True)

    async def frames(result: LoadResult | None) -> None:
        await wait_frames(rx, tag, result.ok if result else len(items),
                          Deadline(30, f"{name} frames", deadline))

    result, cpu, _ = await run_load(
        hub.workdir, tag, hub.url, hub.url, items, args,
        Deadline(args.phase_timeout, name, deadline), pids, mode="paced", rate=rate,
        after_go=frames)
    got, stamps = rx.got.get(tag, {}), rx.stamp.get(tag, {})
    p = Phase(name, sent=len(items), ok=result.ok, seconds=result.seconds, frames=len(got),
              dups=rx.dups[tag], correlated=rx.correlated[tag],
              http_ms=result.http_latencies_ms(), cpu=cpu, rate_target=rate)
    p.frame_ms = [1000 * (got[i] - stamps[i]) for i in got if i in stamps]
    if got:
        p.e2e_seconds = max(got.values()) - result.t_go
    if result.late:
        p.notes.append(f"{result.late} sends left >5 ms after their slot (load generator or "
                       f"{args.concurrency} in flight saturated)")
    if result.failed:
        p.notes.append(f"failed webhooks: {result.status_summary()}")
    if len(got) < result.ok:
        p.notes.append(f"{result.ok - len(got)} answered webhooks never reached an agent")
    if note:
        p.notes.append(note)
    print(f"  frame latency p50 {percentile(p.frame_ms, 50):.1f} ms, "
          f"p99 {percentile(p.frame_ms, 99):.1f} ms", flush=True)
    return p


async def run_hub_phases(workdir: Path, args: argparse.Namespace, phones: PhonePool,
                         deadline: Deadline) -> tuple[list[Phase], list[str]]:
    import aiohttp

    notes: list[str] = []
    phases: list[Phase] = []
    py = sys.executable
    sandbox_url = None
    if args.correlate:
        port = free_port()
        sandbox_url = f"http://{HOST}:{port}"
        sandbox = start_child("sandbox", [py, "-m", "hub", "sandbox", "--host", HOST, "--port",
                                          str(port), "--account", f"{SID}:{TOKEN}"],
                              workdir / "sandbox.log")
        await wait_http(sandbox_url + "/_sandbox/stats", Deadline(30, "sandbox", deadline), sandbox)
    hub = await start_hub(workdir, "hub", args, sandbox_url, deadline)
    rx = Receiver()
    conns: list[AgentConn] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    try:
        if sandbox_url:
            async with session.put(sandbox_url + "/_sandbox/settings",
                                   json={"callbacks_enabled": False}) as resp:
                await resp.read()
        ctl = Control(session, hub)
        await ctl.setup(sandbox_url)
        n_agents = max(args.agents, math.ceil(args.webhooks / CAPACITY) + 1)
        t = time.perf_counter()
        agents = await ctl.create_agents(n_agents, "t", 4, Deadline(600, "agents", deadline))
        took = time.perf_counter() - t
        notes.append(f"{n_agents} agents (capacity {CAPACITY}) created and logged in through the "
                     f"API in {took:.1f}s ({took / n_agents * 1000:.0f} ms per agent: argon2 "
                     f"hash + verify)")
        print(notes[-1], flush=True)
        conns = [AgentConn(rx, aid, tok, hub.ws_url) for aid, tok in agents]
        failed = await connect_all(conns, 50, Deadline(120, "connect", deadline))
        if failed:
            raise RuntimeError(f"{failed} agent websockets failed to connect")
        capacity = n_agents * CAPACITY

        async def correlate(customers: list[str]) -> None:
            if args.correlate:
                secs = await ctl.correlate(customers, Deadline(300, "correlate", deadline))
                print(f"  (outbound sent to {len(customers)} customers in {secs:.1f}s, so that "
                      "their replies correlate)", flush=True)

        async def reset() -> None:
            closed = await close_all_conversations(conns, Deadline(300, "close all", deadline))
            if rx.errors:
                notes.append(f"{len(rx.errors)} error frames, first: {rx.errors[0]}")
                rx.errors.clear()
            if closed:
                print(f"  (closed {closed} conversations)", flush=True)

        # Warm-up: connections, scripts loaded, code paths hot.
        warm_customers = phones.take(args.warmup)
        await correlate(warm_customers)
        warm = webhook_items(ctl.channel_id, "warm", warm_customers, len(warm_customers))
        await run_load(workdir, "hub-warm", hub.url, hub.url, warm, args,
                       Deadline(120, "warm-up", deadline), {},
                       after_go=lambda r: wait_frames(rx, "warm", len(warm),
                                                      Deadline(30, "warm frames", deadline)))
        await reset()

        only = set(args.only.split(","))
        new_rate = append_rate = 0.0
        if "new" in only:
            customers = phones.take(args.webhooks)
            await correlate(customers)
            items = webhook_items(ctl.channel_id, "new", customers, len(customers))
            p = await throughput_phase("hub, new conversation per webhook", "new", hub, rx,
                                       items, args, deadline)
            phases.append(p)
            new_rate = p.rate
            await reset()

        fixed_items: list[tuple[str, dict[str, str]]] = []
        fixed: list[str] = []
        if "append" in only or "latency" in only:
            fixed = phones.take(args.fixed_customers)
            await correlate(fixed)

        async def open_fixed(tag: str) -> None:
            opening = webhook_items(ctl.channel_id, tag, fixed, len(fixed))
            await run_load(workdir, tag, hub.url, hub.url, opening, args,
                           Deadline(120, tag, deadline), {},
                           after_go=lambda r: wait_frames(rx, tag, len(opening),
                                                          Deadline(30, tag, deadline)))

        if "append" in only:
            await open_fixed("open1")
            fixed_items = webhook_items(ctl.channel_id, "append", fixed, args.webhooks)
            p = await throughput_phase(
                f"hub, append to {len(fixed)} open conversations", "append", hub, rx,
                fixed_items, args, deadline)
            phases.append(p)
            append_rate = p.rate
            await reset()

        if "latency" in only:
            fractions = [float(f) for f in args.latency_fractions.split(",") if f]
            runs = [(kind, frac) for frac in fractions for kind in ("new", "append")]
            if args.latency_rate:
                runs = [("new", 0.0), ("append", 0.0)]
            for kind, frac in runs:
                measured = new_rate if kind == "new" else append_rate
                if args.latency_rate:
                    rate = args.latency_rate
                elif measured == measured and measured > 0:
                    rate = measured * frac
                else:
                    continue
                count = int(rate * args.latency_seconds)
                tag = f"lat{kind}{int(frac * 100)}"
                if kind == "new":
                    if count > capacity - CAPACITY:
                        notes.append(f"latency (new): capped at {capacity - CAPACITY} webhooks "
                                     f"(agent capacity)")
                        count = capacity - CAPACITY
                    customers = phones.take(count)
                    await correlate(customers)
                    items = webhook_items(ctl.channel_id, tag, customers, count)
                    label = "latency, new conversation"
                else:
                    await open_fixed(f"open-{tag}")
                    items = webhook_items(ctl.channel_id, tag, fixed, count)
                    label = f"latency, append ({len(fixed)} open)"
                share = f" ({frac:.0%} of max)" if frac else ""
                p = await latency_phase(f"{label} @ {rate:.0f}/s{share}", tag, hub, rx, items,
                                        rate, args, deadline)
                phases.append(p)
                await reset()
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        await session.close()
        stop_child(hub.hub)
        if sandbox_url:
            stop_child(next((c for c in CHILDREN if c.name == "sandbox"), None))
    errors = hub_log_errors(hub.hub.log_path)
    if errors:
        notes.append(f"hub logged errors: {errors}")
    return phases, notes


# -- memory per idle socket ----------------------------------------------------------------------


@dataclass
class MemoryResult:
    name: str
    sockets: int
    agents: int
    connected: int
    connect_seconds: float
    rss_before_kb: int
    rss_after_kb: int
    rss_closed_kb: int
    redis_before_kb: int
    redis_after_kb: int
    redis_used_before: int
    redis_used_after: int
    idle_cpu: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def kb_per_socket(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / max(1, self.connected)

    @property
    def redis_kb_per_socket(self) -> float:
        return (self.redis_after_kb - self.redis_before_kb) / max(1, self.connected)


async def settle_rss(pid: int, seconds: float) -> int:
    """RSS after it stops moving (or after `seconds`): the last of a few samples."""
    end = time.monotonic() + seconds
    last = rss_kb(pid)
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
        last = rss_kb(pid)
    return last


async def direct_agents(hub: HubEnv, org_id: str, n: int, deadline: Deadline) -> list[tuple[str, str]]:
    """n agents written through the hub's own AgentStore (what POST /v1/agents
    stores), with one precomputed argon2 hash, and a token each (what login
    issues): the API would spend ~0.2 s of argon2 per agent and again per login."""
    import redis.asyncio as aioredis
    from argon2 import PasswordHasher

    from hub.storage.agents import AgentStore

    password_hash = PasswordHasher().hash(PASSWORD)
    r = aioredis.Redis.from_url(hub.redis_url, decode_responses=True, max_connections=64)
    store = AgentStore(r)
    out: list[tuple[str, str]] = []
    try:
        sem = asyncio.Semaphore(32)

        async def one(i: int) -> tuple[str, str]:
            async with sem:
                deadline.check()
                agent_id = f"agt_{secrets.token_hex(10)}"
                agent = {"id": agent_id, "name": f"Agent m{i}", "email": f"bench-m{i}@example.com",
                         "queues": ["default"], "capacity": 3, "created_at": time.time()}
                if not await store.create(org_id, agent, password_hash):
                    raise RuntimeError("email taken")
                token = "at_" + secrets.token_urlsafe(32)
                await store.issue_token(token, org_id, agent_id, 12 * 3600)
                return agent_id, token

        out = list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await r.aclose()
    return out


async def redis_memory(hub: HubEnv) -> tuple[int, int]:
    """(redis-server RSS KiB, used_memory bytes)."""
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(hub.redis_url, decode_responses=True)
    try:
        info = await r.info("memory")
    finally:
        await r.aclose()
    return (rss_kb(hub.redis_pid) if hub.redis_pid else 0), int(info.get("used_memory", 0))


async def memory_variant(workdir: Path, args: argparse.Namespace, variant: str,
                         deadline: Deadline) -> MemoryResult:
    import aiohttp

    n = args.sockets
    name = f"memory-{variant}"
    hub = await start_hub(workdir, name, args, None, deadline)
    rx = Receiver()
    conns: list[AgentConn] = []
    notes: list[str] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    try:
        ctl = Control(session, hub)
        await ctl.setup(None)
        if variant == "distinct":
            t = time.perf_counter()
            sample = await ctl.create_agents(args.api_agent_sample, "sample", 4,
                                             Deadline(300, "agents", deadline))
            took = time.perf_counter() - t
            per = took / len(sample)
            notes.append(f"API: {len(sample)} agents created+logged in at {per * 1000:.0f} ms "
                         f"each (4 at once) -> {n} would take ~{per * n / 60:.0f} min; the rest "
                         "were written through the hub's AgentStore instead")
            print(f"  {notes[-1]}", flush=True)
            t = time.perf_counter()
            agents = sample + await direct_agents(hub, ctl.org_id, n - len(sample),
                                                  Deadline(300, "direct agents", deadline))
            notes.append(f"{n - len(sample)} agents + tokens written in "
                         f"{time.perf_counter() - t:.1f}s")
            tokens = agents
        else:
            k = args.shared_agents
            agents = await ctl.create_agents(k, "shared", 4, Deadline(300, "agents", deadline))
            tokens = [agents[i % k] for i in range(n)]
        print(f"{name}: {n} sockets for {len({a for a, _ in tokens})} agents", flush=True)

        # Warm the connection path (imports, first-use allocations), then let go.
        warm = [AgentConn(rx, aid, tok, hub.ws_url) for aid, tok in tokens[:50]]
        await connect_all(warm, 50, Deadline(60, "warm sockets", deadline))
        await asyncio.gather(*(c.close() for c in warm))
        await asyncio.sleep(2)

        before = await settle_rss(hub.hub.pid, 3)
        redis_before, used_before = await redis_memory(hub)
        if args.tracemalloc:
            os.kill(hub.hub.pid, signal.SIGUSR1)  # snapshot 1: before
            await asyncio.sleep(3)
        conns = [AgentConn(rx, aid, tok, hub.ws_url) for aid, tok in tokens]
        t = time.perf_counter()
        failed = await connect_all(conns, args.connect_concurrency,
                                   Deadline(600, "connect sockets", deadline))
        connect_s = time.perf_counter() - t
        connected = n - failed
        if failed:
            notes.append(f"{failed} sockets failed to connect")
        print(f"  {connected} connected in {connect_s:.1f}s ({connected / connect_s:.0f}/s)",
              flush=True)
        after = await settle_rss(hub.hub.pid, args.settle)
        redis_after, used_after = await redis_memory(hub)
        if args.tracemalloc:
            os.kill(hub.hub.pid, signal.SIGUSR1)  # snapshot 2: with the sockets open
            await asyncio.sleep(5)
        meter = CpuMeter({"hub": hub.hub.pid, "redis": hub.redis_pid}).begin()
        await asyncio.sleep(args.idle_seconds)
        idle = meter.done()
        print(f"  RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB: "
              f"{(after - before) / max(1, connected):.1f} KiB per socket; idle hub CPU "
              f"{idle['hub'] / idle['wall']:.2f} cores", flush=True)
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        conns = []
        closed = await settle_rss(hub.hub.pid, 5)
        if args.tracemalloc:
            os.kill(hub.hub.pid, signal.SIGUSR1)  # snapshot 3: after they closed
            await asyncio.sleep(5)
        errors = hub_log_errors(hub.hub.log_path)
        if errors:
            notes.append(f"hub logged errors: {errors}")
        return MemoryResult(name, n, len({a for a, _ in tokens}), connected, connect_s, before,
                            after, closed, redis_before, redis_after, used_before, used_after,
                            idle, notes)
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        await session.close()
        stop_child(hub.hub)


def tracemalloc_report(workdir: Path, top: int = 30) -> str:
    """What the open sockets allocated: snapshot 2 (sockets open) minus 1 (before)."""
    import tracemalloc

    lines = []
    for variant in ("distinct", "shared"):
        name = f"memory-{variant}"
        first, second = workdir / f"{name}-1.tracemalloc", workdir / f"{name}-2.tracemalloc"
        if not (first.exists() and second.exists()):
            continue
        third = workdir / f"{name}-3.tracemalloc"
        old, new = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(second))
        pairs = [("sockets open vs before", new, key) for key in ("lineno", "filename")]
        if third.exists():
            pairs.append(("after close vs before (left behind)",
                          tracemalloc.Snapshot.load(str(third)), "lineno"))
        for what, snap, key in pairs:
            diff = snap.compare_to(old, key)
            grown = sum(d.size_diff for d in diff)
            lines.append(f"== {name}, {what}: {grown / 1024 / 1024:+.1f} MiB traced, by {key} ==")
            for d in diff[:top if key == "lineno" else 15]:
                frame = d.traceback[0]
                where = frame.filename.replace(str(ROOT) + "/", "")
                where = where.split("site-packages/")[-1]
                lines.append(f"{d.size_diff / 1024:+10.0f} KiB {d.count_diff:+8d} blocks  "
                             f"{where}" + (f":{frame.lineno}" if key == "lineno" else ""))
            lines.append("")
    return "\n".join(lines) + "\n"


# -- profiles --------------------------------------------------------------------------------


# Where the hub's time goes, by part of the inbound path: the innermost
# listed frame of a sample claims it.
SECTIONS = (
    ("webhook: signature check (twilio RequestValidator)", "verify_signature"),
    ("webhook: channel lookup", "ChannelDirectory.lookup"),
    ("ingest: ingest_inbound script call (redis-py + wait)", "ConversationStore.ingest"),
    ("ingest: keyword, phone normalize, message build", "Conversations.ingest"),
    ("webhook: form parse, metrics, other handler code", "_verified_form"),
    ("webhook: other handler code (parse_inbound, metrics)", "inbound (webhooks/twilio.py)"),
    ("fan-out: pub/sub read (redis-py parse)", "Fanout._read"),
    ("websocket: deliver frames to agents", "AgentSocket.deliver"),
    ("websocket: deliver frames to agents", "AgentSocket.pump"),
    ("websocket: catch_up (log read after a gap)", "AgentSocket.catch_up"),
    ("websocket: commands (close etc.)", "AgentSocket.handle"),
    ("websocket: heartbeat", "AgentSocket.heartbeat"),
    ("presence sweeper", "sweep_once"),
    ("outbound workers (idle polling)", "Dispatcher."),
    ("HTTP server (uvicorn/starlette) outside handlers", "starlette/"),
    ("HTTP server (uvicorn/starlette) outside handlers", "uvicorn/protocols/http"),
    ("websocket server (uvicorn websockets-sansio)", "uvicorn/protocols/websockets"),
)

LIBRARIES = (  # by where the leaf frame's file lives (py-spy shows site-packages-relative paths)
    ("redis-py", "redis/"),
    ("twilio (signature)", "twilio/"),
    ("phonenumbers", "phonenumbers/"),
    ("prometheus_client", "prometheus_client/"),
    ("websockets", "websockets/"),
    ("uvicorn", "uvicorn/"),
    ("starlette", "starlette/"),
    ("json (stdlib)", "json/"),
    ("urllib.parse (stdlib)", "urllib/"),
    ("hmac/hashlib/base64 (stdlib)", "hmac.py"),
    ("hmac/hashlib/base64 (stdlib)", "base64.py"),
    ("secrets/random (stdlib)", "random.py"),
    ("secrets/random (stdlib)", "secrets.py"),
    ("asyncio (stdlib)", "asyncio/"),
    ("hub/", "hub/"),
    ("routing/", "routing/"),
    ("webhooks/", "webhooks/"),
)

# Threads that wait for work (the default executor's pool: argon2 at agent
# creation) look busy to py-spy; their samples are left out.
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py)", "Condition.wait (threading.py)")




def _short(frame: str) -> str:
    return frame.replace(str(ROOT) + "/", "")


def summarize_collapsed(path: Path, top: int = 30) -> str:
    """Self and inclusive shares per function from py-spy's raw (collapsed)
    output, by part of the inbound path and by library of the leaf frame."""
    self_counts: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    sections: collections.Counter[str] = collections.Counter()
    libs: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [_short(_strip_line(f)) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        if frames[-1] in IDLE_LEAVES:
            idle += count
            continue
        total += count
        self_counts[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
        sections[_section_of(frames)] += count
        libs[_library_of(frames[-1])] += count
    if not total:
        return "no samples\n"
    out = [f"{total} busy samples ({idle} of idle pool threads left out)", "",
           "== by part of the inbound path (innermost match wins) =="]
    out += [f"{100 * c / total:6.2f}%  {name}" for name, c in sections.most_common()]
    out += ["", "== by library of the leaf frame =="]
    out += [f"{100 * c / total:6.2f}%  {name}" for name, c in libs.most_common()]
    out += ["", "== self (leaf function) =="]
    out += [f"{100 * c / total:6.2f}%  {name}" for name, c in self_counts.most_common(top)]
    out += ["", "== inclusive =="]
    out += [f"{100 * c / total:6.2f}%  {name}" for name, c in incl.most_common(top * 2)]
    return "\n".join(out) + "\n"


def _section_of(frames: list[str]) -> str:
    for f in reversed(frames):
        for name, needle in SECTIONS:
            if needle in f:
                return name
    if frames[-1].startswith(("Runner.run ", "run_forever ", "run_until_complete ")):
        return "event loop (uvloop: I/O, callbacks; no Python frame)"
    return "other (GC, tasks, timers)"


def _library_of(frame: str) -> str:
    loc = frame.rpartition(" (")[2].rstrip(")")
    for name, prefix in LIBRARIES:
        if loc.startswith(prefix) or f"/{prefix}" in loc:
            return name
    return f"other: {loc}"




# -- report -----------------------------------------------------------------------------------


def print_report(baselines: list[Phase], phases: list[Phase], memory: list[MemoryResult],
                 notes: list[str], args: argparse.Namespace) -> None:
    print()
    print(f"== inbound benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs "
          f"shared by every process; load generator: aiohttp, {args.concurrency} in flight) ==")
    print(f"code: {args.code_state}")
    w = 46
    head = f"{'figure':<{w}} {'value':>14} {'target':>10}  detail"
    print(head)
    print("-" * (len(head) + 40))
    form = next((b for b in baselines if "form()" in b.name), None)
    qsl = next((b for b in baselines if "parse_qsl" in b.name), None)
    for b in baselines:
        print(f"{b.name:<{w}} {b.rate:>10.0f} r/s {'':>10}  {b.ok} requests in {b.seconds:.2f}s; "
              f"HTTP p50 {percentile(b.http_ms, 50):.1f} ms p99 {percentile(b.http_ms, 99):.1f} ms")
    for p in phases:
        if p.rate_target:
            continue
        ratios = []
        if form:
            ratios.append(f"{100 * p.rate / form.rate:.0f}% of form()")
        if qsl:
            ratios.append(f"{100 * p.rate / qsl.rate:.0f}% of parse_qsl")
        hub_ms = p.cpu.get("hub", float("nan")) / max(1, p.ok)
        by_cpu = [f"{100 * b.cpu.get('server', float('nan')) / max(1, b.ok) / hub_ms:.0f}%"
                  for b in (form, qsl) if b]
        if by_cpu:
            ratios.append(f"by server CPU per request {' / '.join(by_cpu)}")
        print(f"{p.name:<{w}} {p.rate:>10.0f} w/s {'>=25%':>10}  {', '.join(ratios)}; "
              f"{p.ok}/{p.sent} answered in {p.seconds:.2f}s")
        print(f"{'  pushed to agents (end to end)':<{w}} {p.frame_rate:>10.0f} f/s {'':>10}  "
              f"{p.frames} frames, {p.dups} duplicated, {p.correlated} correlated; "
              f"HTTP p50 {percentile(p.http_ms, 50):.1f} ms p99 {percentile(p.http_ms, 99):.1f} ms;"
              f" webhook->frame under full load p50 {percentile(p.frame_ms, 50):.0f} ms "
              f"p99 {percentile(p.frame_ms, 99):.0f} ms")
    for p in phases:
        if not p.rate_target:
            continue
        print(f"{p.name + ': p50':<{w}} {percentile(p.frame_ms, 50):>11.1f} ms {'':>10}  "
              f"{len(p.frame_ms)} frames of {p.sent} sent; achieved {p.rate:.0f}/s")
        print(f"{p.name + ': p99':<{w}} {percentile(p.frame_ms, 99):>11.1f} ms {'<50 ms':>10}  "
              f"max {max(p.frame_ms, default=float('nan')):.1f} ms; HTTP answer p50 "
              f"{percentile(p.http_ms, 50):.1f} ms p99 {percentile(p.http_ms, 99):.1f} ms")
    for m in memory:
        label = (f"memory per idle socket ({m.agents} agents)" if m.agents != m.sockets
                 else "memory per idle socket (1 agent each)")
        print(f"{label:<{w}} {m.kb_per_socket:>10.1f} KiB {'<=30 KiB':>10}  hub RSS "
              f"{m.rss_before_kb / 1024:.0f} -> {m.rss_after_kb / 1024:.0f} MiB for {m.connected} "
              f"sockets ({m.rss_closed_kb / 1024:.0f} MiB after they closed); redis RSS "
              f"+{m.redis_kb_per_socket:.1f} KiB/socket")
        print(f"{'  ' + str(m.connected) + ' idle sockets: hub / redis CPU':<{w}} "
              f"{m.idle_cpu['hub'] / m.idle_cpu['wall']:>8.2f} cores {'':>10}  redis "
              f"{m.idle_cpu['redis'] / m.idle_cpu['wall']:.2f} cores (heartbeats, presence sweep);"
              f" connected in {m.connect_seconds:.1f}s ({m.connected / m.connect_seconds:.0f}/s)")
    print()
    names = ["hub", "redis", "loadgen", "bench", "server", "other"]
    print("CPU per phase, in cores on average over the phase (of "
          f"{os.cpu_count()}); 'bench' = websocket receiver, 'server' = baseline app; then CPU "
          "ms per request of the server (hub or baseline app) and of redis:")
    print(f"{'phase':<{w}} " + " ".join(f"{n:>8}" for n in names)
          + f" {'srv ms/req':>11} {'redis ms/req':>12}")
    for p in [*baselines, *phases]:
        wall = p.cpu.get("wall") or p.seconds
        server = p.cpu.get("hub", p.cpu.get("server", float("nan")))
        print(f"{p.name:<{w}} " + " ".join(
            f"{p.cpu.get(n, float('nan')) / wall:>8.2f}" for n in names)
            + f" {1000 * server / max(1, p.ok):>11.3f}"
            + f" {1000 * p.cpu.get('redis', float('nan')) / max(1, p.ok):>12.3f}")
    print()
    for p in [*baselines, *phases]:
        for note in p.notes:
            print(f"  {p.name}: {note}")
    for m in memory:
        for note in m.notes:
            print(f"  {m.name}: {note}")
    for note in dict.fromkeys(notes):  # in order, once each
        print(f"  {note}")


async def run(workdir: Path, args: argparse.Namespace, overall: Deadline) -> None:
    """Each section on its own: one that fails is reported, the others still run
    and the table shows what was measured."""
    phones = PhonePool()
    baselines: list[Phase] = []
    phases: list[Phase] = []
    notes: list[str] = []
    memory: list[MemoryResult] = []
    only = set(args.only.split(","))
    failed = 0

    async def section(name: str, step: Callable[[], Any]) -> None:
        nonlocal failed
        try:
            await step()
        except Exception as exc:
            failed += 1
            notes.append(f"{name} FAILED: {type(exc).__name__}: {exc}")
            print(f"{name} failed: {exc!r}", file=sys.stderr, flush=True)
            import traceback

            traceback.print_exc()
            stop_all_children()  # whatever that section left running

    async def baseline() -> None:
        baselines.extend(await run_baseline(workdir, args, phones, overall))

    async def hub_phases() -> None:
        got, hub_notes = await run_hub_phases(workdir, args, phones, overall)
        phases.extend(got)
        notes.extend(hub_notes)

    if "baseline" in only:
        await section("baseline", baseline)
    if only & {"new", "append", "latency"}:
        await section("hub phases", hub_phases)
    if "memory" in only:
        for variant in ("distinct", "shared"):
            async def mem(variant: str = variant) -> None:
                memory.append(await memory_variant(workdir, args, variant, overall))

            await section(f"memory ({variant})", mem)
    print_report(baselines, phases, memory, notes, args)
    if failed:
        raise RuntimeError(f"{failed} section(s) failed; see above")


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "_loadgen":
        return loadgen_main(sys.argv[2])
    if len(sys.argv) >= 2 and sys.argv[1] == "_baseline":
        return baseline_main(int(sys.argv[2]))
    if len(sys.argv) >= 2 and sys.argv[1] == "_hub_traced":
        return hub_traced_main()

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="2,000 webhooks per phase, 5 s latency runs, 1,000 sockets")
    p.add_argument("--webhooks", type=int, help="webhooks per throughput phase "
                                                "(default 10,000; 2,000 with --quick)")
    p.add_argument("--baseline-requests", type=int,
                   help="requests per baseline variant (default 30,000; 10,000 with --quick)")
    p.add_argument("--sockets", type=int, help="idle sockets for the memory figure "
                                               "(default 10,000; 1,000 with --quick)")
    p.add_argument("--concurrency", type=int, default=32, help="webhooks in flight")
    p.add_argument("--agents", type=int, default=20,
                   help="agents for the throughput phases (at least webhooks/100 + 1)")
    p.add_argument("--fixed-customers", type=int, default=0,
                   help="customers of the append phase (default 200; 100 with --quick)")
    p.add_argument("--warmup", type=int, default=300, help="webhooks before the timed phases")
    p.add_argument("--latency-seconds", type=float, default=0.0,
                   help="length of each latency run (default 20; 5 with --quick)")
    p.add_argument("--latency-rate", type=float, default=0.0,
                   help="webhooks/s for the latency runs (default: fractions of the measured max)")
    p.add_argument("--latency-fractions", default="0.5",
                   help="comma-separated fractions of the measured max rate for latency runs")
    p.add_argument("--no-correlate", dest="correlate", action="store_false",
                   help="skip the outbound sends that make replies correlate")
    p.add_argument("--shared-agents", type=int, default=20,
                   help="agents sharing the sockets in the shared-token memory variant")
    p.add_argument("--api-agent-sample", type=int, default=8,
                   help="agents created through the API in the memory run, to time it")
    p.add_argument("--connect-concurrency", type=int, default=100)
    p.add_argument("--browser-headers", action="store_true",
                   help="agent websockets send a browser's usual headers (Origin, User-Agent, "
                        "Accept-*, ...) as the console would; default: the websockets client's")
    p.add_argument("--settle", type=float, default=0.0,
                   help="seconds to let RSS settle after connecting (default 5)")
    p.add_argument("--idle-seconds", type=float, default=0.0,
                   help="seconds of idle CPU measurement with the sockets open (default 10)")
    p.add_argument("--only", default="baseline,new,append,latency,memory",
                   help="comma-separated subset of baseline,new,append,latency,memory")
    p.add_argument("--profile", choices=("none", "py-spy", "cprofile"), default="none",
                   help="py-spy: sample the hub during the throughput phases; cprofile: run "
                        "the hubs under cProfile (slows them)")
    p.add_argument("--profile-rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--profile-nonblocking", action="store_true")
    p.add_argument("--tracemalloc", action="store_true",
                   help="memory runs with tracemalloc on (RSS figures then include its "
                        "overhead); writes the top allocation sites")
    p.add_argument("--hub-env", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--phase-timeout", type=float, default=300.0)
    p.add_argument("--quiet-wait", type=float, default=-1.0,
                   help="before each timed phase wait up to this long for the rest of the "
                        "machine to go idle (default 30; 5 with --quick)")
    p.add_argument("--max-seconds", type=float, default=3000.0, help="the whole run's bound")
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--summarize", metavar="FILE", help="only summarize a py-spy raw profile")
    args = p.parse_args()
    if args.summarize:
        print(summarize_collapsed(Path(args.summarize)))
        return 0
    q = args.quick
    args.webhooks = args.webhooks or (2_000 if q else 10_000)
    args.sockets = args.sockets or (1_000 if q else 10_000)
    args.baseline_requests = args.baseline_requests or (10_000 if q else 30_000)
    args.fixed_customers = args.fixed_customers or (100 if q else 200)
    args.latency_seconds = args.latency_seconds or (5.0 if q else 20.0)
    args.settle = args.settle or (3.0 if q else 5.0)
    args.idle_seconds = args.idle_seconds or (5.0 if q else 10.0)
    if args.quiet_wait < 0:
        args.quiet_wait = 5.0 if q else 30.0

    args.code_state = code_state()
    if args.browser_headers:
        WS_HEADERS.update(BROWSER_HEADERS)
    limit = raise_nofile()
    if limit < args.sockets + 1000:
        p.error(f"open-files limit {limit} is too low for {args.sockets} sockets")

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    overall = Deadline(args.max_seconds, "whole run")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="hub-in-"))
    workdir.mkdir(parents=True, exist_ok=True)
    keep = args.keep or args.profile != "none" or args.tracemalloc or bool(args.workdir)
    print(f"work dir {workdir}; {os.cpu_count()} CPUs (shared by every process); "
          f"open files {limit}; code {args.code_state}", flush=True)
    ok = False
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(run(workdir, args, overall))
        ok = True
    except KeyboardInterrupt:
        print("\ninterrupted; tearing down", flush=True)
    except Exception:
        for child in CHILDREN:
            print(f"--- {child.name} log tail ---\n{child.tail()}", file=sys.stderr)
        raise
    finally:
        stop_all_children()
        for prof in sorted(workdir.glob("*.cprofile")):
            out = prof.with_name(prof.stem + "-cprofile-summary.txt")
            out.write_text(summarize_cprofile(prof))
            print(f"cProfile summary: {out}")
        for raw in sorted(workdir.glob("pyspy-*.raw")):
            out = raw.with_suffix(".summary.txt")
            out.write_text(summarize_collapsed(raw))
            print(f"py-spy summary: {out}")
        if args.tracemalloc:
            out = workdir / "tracemalloc-summary.txt"
            out.write_text(tracemalloc_report(workdir))
            print(f"tracemalloc summary: {out}")
        if keep or not ok:
            print(f"logs/profiles kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
