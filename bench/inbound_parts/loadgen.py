"""Signed inbound webhooks posted by a load generator in a process of its own
(`inbound.py _loadgen SPEC`), at full speed or at a steady rate."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.support.measure import CpuMeter, self_cpu
from bench.support.org import SENDER, SID, TOKEN
from bench.support.processes import ROOT, Deadline
from bench.support.profiles import PySpy

INBOUND = ROOT / "bench" / "inbound.py"
BODY_TEXT = "Hi, my parcel still has not arrived, can someone help me with case CAS-1042?"


def inbound_form(sid: str, customer: str, body: str) -> dict[str, str]:
    """What Twilio posts for an inbound SMS (the full field set, ~600 bytes)."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": SENDER,
        "MessagingServiceSid": "MG" + "0" * 32,
        "ToZip": "94105",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": SID,
        "From": customer,
        "ApiVersion": "2010-04-01",
    }


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


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
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=("User-Agent",)
    ) as session:

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

    Path(spec["out"]).write_text(
        json.dumps(
            {
                "t_go": t_go,
                "t_end": t_end,
                "sent_at": sent_at,
                "done_at": done_at,
                "status": status,
                "errors": dict(errors),
                "late": late,
                "cpu": cpu,
            }
        )
    )
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
        return [1000 * (d - s) for s, d, st in zip(self.sent_at, self.done_at, self.status) if st == 200 and s and d]

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
                sys.executable,
                str(INBOUND),
                "_loadgen",
                str(self.spec_path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=str(ROOT),
                start_new_session=True,
            )
        finally:
            log.close()
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), max(1.0, deadline.left()))
        if line.strip() != b"ready":
            raise RuntimeError(
                f"load generator did not start: {line!r}; see {self.workdir / f'loadgen-{self.name}.log'}"
            )

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


def webhook_items(
    channel_id: str, tag: str, customers: list[str], count: int, start: int = 0
) -> list[tuple[str, dict[str, str]]]:
    path = f"/webhooks/twilio/{channel_id}/inbound"
    return [
        (
            path,
            inbound_form(new_sid(), customers[(start + i) % len(customers)], f"bench {tag} #{start + i} {BODY_TEXT}"),
        )
        for i in range(count)
    ]


async def run_load(
    workdir: Path,
    name: str,
    base_url: str,
    public_url: str,
    items: list[tuple[str, dict[str, str]]],
    args: argparse.Namespace,
    deadline: Deadline,
    pids: dict[str, int | None],
    *,
    mode: str = "max",
    rate: float = 0.0,
    sign: bool = True,
    after_go: Callable[[LoadResult | None], Any] | None = None,
    profile: PySpy | None = None,
) -> tuple[LoadResult, dict[str, float], Any]:
    """One load generator run; `after_go` (awaited after the load finishes, while
    the CPU meter still runs) waits for whatever else the phase counts."""
    lg = LoadGen(
        workdir,
        name,
        {
            "base_url": base_url,
            "public_url": public_url,
            "token": TOKEN,
            "items": items,
            "mode": mode,
            "rate": rate,
            "concurrency": args.concurrency,
            "sign": sign,
            "max_seconds": max(5.0, deadline.left() - 10),
        },
    )
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
