"""CPU time and memory of processes, read from /proc, and percentiles."""

from __future__ import annotations

import asyncio
import math
import os
import resource
import time
from typing import Any

from .processes import Deadline


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


async def redis_commands(r: Any, n: int, unit: str) -> str:
    """Redis commands per `unit` since the last CONFIG RESETSTAT (every client
    of that Redis: scripts, pub/sub, workers), the costliest first, with
    their time."""
    stats = await r.info("commandstats")
    rows = sorted(stats.items(), key=lambda kv: -int(kv[1]["usec"]))
    n = max(1, n)
    total = sum(int(v["calls"]) for v in stats.values()) / n
    usec = sum(int(v["usec"]) for v in stats.values()) / n
    top = ", ".join(
        f"{k.removeprefix('cmdstat_')} {int(v['calls']) / n:.2f}x {int(v['usec']) / n:.0f}us" for k, v in rows[:8]
    )
    return f"redis: {total:.1f} commands, {usec:.0f} us of command time per {unit} ({top})"


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (q from 0 to 100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


class CpuMeter:
    """CPU seconds by process (or group of processes) over a span, this
    script's own as 'bench', the rest of the machine as 'other' and the
    span's length as 'wall'."""

    def __init__(self, pids: dict[str, int | list[int] | None]) -> None:
        self.pids = {name: [p] if isinstance(p, int) else list(p) for name, p in pids.items() if p}
        self.start: dict[str, float] = {}
        self.wall = 0.0

    def _read(self) -> dict[str, float]:
        out = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.pids.items()}
        out["bench"] = self_cpu()
        out["machine"] = system_busy_cpu()
        return out

    def begin(self) -> CpuMeter:
        self.start = self._read()
        self.wall = time.monotonic()
        return self

    def add(self, name: str, pid: int | None) -> None:
        """A process that started after begin() (its whole CPU time counts)."""
        if pid:
            self.pids[name] = [pid]
            self.start[name] = 0.0

    def done(self, known: dict[str, float] | None = None) -> dict[str, float]:
        """`known`: CPU of processes that counted their own (and have exited)."""
        end = self._read()
        used = {k: end[k] - self.start.get(k, 0.0) for k in end}
        used.update(known or {})
        machine = used.pop("machine")
        # Whatever else ran on the machine meanwhile (other test runs, py-spy...).
        used["other"] = max(0.0, machine - sum(v for v in used.values() if v == v))
        used["wall"] = time.monotonic() - self.wall
        return used


async def wait_quiet(pids: list[int], seconds: float, threshold: float = 0.3) -> str:
    """Wait (at most `seconds`) until the rest of the machine uses under
    `threshold` cores over one second: other runs on the machine skew the
    figures. Returns a note when it did not."""
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
