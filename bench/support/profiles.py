"""Profiles of the hub: py-spy samples taken during a timed span, summarized
by function and by part of the path a benchmark drives; cProfile summaries."""

from __future__ import annotations

import collections
import io
import pstats
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .processes import ROOT, Child

Counter = collections.Counter


@dataclass(frozen=True)
class Parts:
    """How to read a benchmark's samples: its path's parts as (name, frame
    needle), the innermost listed frame of a sample claiming it; optionally
    libraries (name, file prefix) for the leaf frame and functions whose
    callees are shown."""

    path: str
    sections: tuple[tuple[str, str], ...]
    libraries: tuple[tuple[str, str], ...] = ()
    focus: tuple[str, ...] = ()


# Where the hub's time goes, by part of the send path (the twilio library's
# part excludes the aiohttp I/O it awaits). Order matters only for frames that nest.
SEND_PATH = Parts(
    "send path",
    (
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
    ),
    focus=(
        "send_request",
        "Dispatcher._send",
        "MessageList._create_async",
        "AsyncTwilioHttpClient.request",
        "status_callback",
        "Dispatcher.process",
    ),
)


# Where the hub's time goes, by part of the inbound path.
INBOUND_PATH = Parts(
    "inbound path",
    (
        ("webhook: signature check (twilio RequestValidator)", "verify_signature"),
        ("webhook: channel lookup", "ChannelDirectory.lookup"),
        ("ingest: ingest_inbound script call (redis-py + wait)", "ConversationStore.ingest"),
        ("ingest: keyword, phone normalize, message build", "Conversations.ingest"),
        ("webhook: form parse, metrics, other handler code", "_verified_form"),
        ("webhook: other handler code (parse_inbound, metrics)", "inbound (hub/webhooks/twilio.py)"),
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
    ),
    libraries=(  # by where the leaf frame's file lives (site-packages-relative)
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
        ("hub/routing/", "hub/routing/"),
        ("hub/webhooks/", "hub/webhooks/"),
        ("hub/ (other)", "hub/"),
    ),
)


# Threads that wait for work (the default executor's pool: argon2 at agent
# creation) look busy to py-spy; their samples are left out.
SQL_WAIT = "waiting for SQL work (aiosqlite)"
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py)", "Condition.wait (threading.py)", SQL_WAIT)


def _aiosqlite_wait() -> str:
    """py-spy's raw name of the line where aiosqlite's thread waits for the
    next statement: it looks busy, and only its line tells it from a
    statement running in SQLite (the same frame, GIL released)."""
    try:
        import aiosqlite.core
    except ImportError:
        return ""
    lines = Path(aiosqlite.core.__file__).read_text().splitlines()
    number = next((n for n, text in enumerate(lines, 1) if "= tx.get()" in text), 0)
    return f"_connection_worker_thread (aiosqlite/core.py:{number})"


class PySpy:
    """py-spy sampling one process during a timed span (raw collapsed stacks);
    it pauses the process for each sample unless nonblocking."""

    def __init__(self, pid: int, workdir: Path, label: str, rate: int, nonblocking: bool, parts: Parts) -> None:
        self.pid, self.workdir, self.label = pid, workdir, label
        self.rate, self.nonblocking, self.parts = rate, nonblocking, parts
        self.path = workdir / f"pyspy-{label}.raw"
        self.child: Child | None = None

    def start(self) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        argv = [
            exe,
            "record",
            "--pid",
            str(self.pid),
            "--rate",
            str(self.rate),
            "--format",
            "raw",
            "--output",
            str(self.path),
        ]
        if self.nonblocking:
            argv.append("--nonblocking")
        self.child = Child(f"py-spy-{self.label}", argv, self.workdir / f"pyspy-{self.label}.log")
        time.sleep(1.0)  # attached before the clock starts

    def stop(self) -> None:
        """Stops sampling and writes the summary next to the samples."""
        if self.child is None:
            return
        self.child.stop(timeout=60)
        if self.path.exists():
            out = self.path.with_suffix(".summary.txt")
            out.write_text(summarize_collapsed(self.path, self.parts))
            print(f"  py-spy profile: {self.path}\n  summary: {out}", flush=True)
        else:
            print(f"  py-spy wrote nothing; log:\n{self.child.tail()}", flush=True)
        self.child = None


def _frame(frame: str) -> str:
    """'name (ROOT/file:line)' -> 'name (file)', so a function's lines add up."""
    head, sep, loc = frame.rpartition(" (")
    if sep and ":" in loc:
        frame = f"{head} ({loc.rsplit(':', 1)[0]})"
    return frame.replace(str(ROOT) + "/", "")


def _stacks(path: Path) -> list[tuple[list[str], int]]:
    out = []
    sql_wait = _aiosqlite_wait()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_frame(f) for f in stack.split(";") if " (" in f]
        if sql_wait and stack.endswith(sql_wait):
            frames[-1] = SQL_WAIT
        if frames and count.isdigit():
            out.append((frames, int(count)))
    return out


def _section_of(frames: list[str], parts: Parts) -> str:
    for f in reversed(frames):
        for name, needle in parts.sections:
            if needle in f:
                return name
    if frames[-1].startswith(("Runner.run ", "run_forever ", "run_until_complete ")):
        return "event loop (uvloop: I/O, callbacks; no Python frame)"
    return "other (GC, tasks, timers)"


def _library_of(frame: str, parts: Parts) -> str:
    loc = frame.rpartition(" (")[2].rstrip(")")
    for name, prefix in parts.libraries:
        if loc.startswith(prefix) or f"/{prefix}" in loc:
            return name
    return f"other: {loc}"


def summarize_collapsed(path: Path, parts: Parts, top: int = 30) -> str:
    """Shares of the busy samples in py-spy's raw (collapsed-stack) output: by
    part of the path, by library of the leaf frame, self and inclusive by
    function, and one level below each focus function."""
    stacks = _stacks(path)
    idle = sum(count for frames, count in stacks if frames[-1] in IDLE_LEAVES)
    stacks = [(frames, count) for frames, count in stacks if frames[-1] not in IDLE_LEAVES]
    total = sum(count for _, count in stacks)
    if not total:
        return "no samples\n"
    tables: dict[str, Counter[str]] = collections.defaultdict(Counter)
    for frames, count in stacks:
        tables[f"by part of the {parts.path} (innermost match wins)"][_section_of(frames, parts)] += count
        if parts.libraries:
            tables["by library of the leaf frame"][_library_of(frames[-1], parts)] += count
        tables["self (leaf function)"][frames[-1]] += count
        for f in set(frames):
            tables["inclusive"][f] += count
    for focus in parts.focus:
        callees = tables[f"inside {focus}: share of all samples by callee (one level down)"]
        for frames, count in stacks:
            idx = max((i for i, f in enumerate(frames) if f.startswith(focus + " (")), default=None)
            if idx is not None:
                callees[frames[idx + 1] if idx + 1 < len(frames) else "(self)"] += count
    out = [f"{total} busy samples ({idle} of idle threads left out: pool workers and aiosqlite waiting for work)"]
    for title, counts in tables.items():
        most = {"by": None, "inclusive": top * 2, "inside": 15}.get(title.split()[0], top)
        out += ["", f"== {title} =="]
        out += [f"{100 * c / total:6.2f}%  {name}" for name, c in counts.most_common(most)]
    return "\n".join(out) + "\n"


def summarize_cprofile(path: Path, top: int = 40) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def write_cprofile_summaries(workdir: Path) -> None:
    """What `python -m cProfile -o` wrote for each hub, summarized beside it."""
    for prof in sorted(workdir.glob("*.cprofile")):
        out = prof.with_name(prof.stem + "-cprofile-summary.txt")
        out.write_text(summarize_cprofile(prof))
        print(f"cProfile summary: {out}")
