"""Agents on real websockets: every frame they receive, counted per phase,
and agents written straight through the hub's AgentStore."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import re
import secrets
import time
from typing import Any

import redis.asyncio as aioredis
import websockets
from argon2 import PasswordHasher

from bench.support.processes import Deadline
from hub.storage.agents import AgentStore

from .hub_control import PASSWORD, HubEnv

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
        self.ws = await asyncio.wait_for(
            websockets.connect(
                self.url,
                compression=None,
                max_size=None,
                ping_interval=None,
                open_timeout=timeout,
                close_timeout=5,
                additional_headers=WS_HEADERS or None,
            ),
            timeout,
        )
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.hello.wait(), timeout)

    async def _read(self) -> None:
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
            await self.ws.send(json.dumps({"type": "close", "conversation_id": cid, "client_id": client_id}))
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


async def wait_frames(rx: Receiver, tag: str, n: int, deadline: Deadline, quiet_s: float = 5.0) -> None:
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


async def direct_agents(hub: HubEnv, org_id: str, n: int, deadline: Deadline) -> list[tuple[str, str]]:
    """n agents written through the hub's own AgentStore (what POST /v1/agents
    stores), with one precomputed argon2 hash, and a token each (what login
    issues): the API would spend ~0.2 s of argon2 per agent and again per login."""
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
                agent = {
                    "id": agent_id,
                    "name": f"Agent m{i}",
                    "email": f"bench-m{i}@example.com",
                    "queues": ["default"],
                    "capacity": 3,
                    "created_at": time.time(),
                }
                if not await store.create(org_id, agent, password_hash):
                    raise RuntimeError("email taken")
                token = "at_" + secrets.token_urlsafe(32)
                await store.issue_token(token, org_id, agent_id, 12 * 3600)
                return agent_id, token

        out = list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await r.aclose()
    return out
