"""What a supervisor's websocket adds to an agent's: the org's live board and
conversations monitored read-only.

Nothing is polled. While a supervisor watches, its process keeps the org's
``board:watch`` flag set, and every routing script (whatever process runs
it) then publishes the ids of the conversations it changed on the org's
board channel (``board_changed`` in routing_lib.lua). Each publish is only a
wake-up. A process has one feed per watched org, whatever the number of
its supervisors' sockets there: one subscription, and one read of the board
per wake-up (at most one per ``COALESCE_S``), handed to every socket, which
pushes it when it differs from what it last sent; each socket reads again
the conversations it monitors when their ids were published. A publish lost
to a broken pub/sub connection delays the board until the next change or
the sockets' heartbeat, which asks for one more read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hub.domain.board import build_board
from hub.errors import Conflict, NotFound
from hub.logs import get_logger
from hub.routing import protocol
from hub.routing.fanout import Fanout
from hub.services.context import Hub
from hub.storage.board import WATCH_TTL_MS, board_channel

log = get_logger("hub.routing.supervision")

COALESCE_S = 0.2
REFRESH_S = WATCH_TTL_MS / 3000  # the watch flag is set again well before it lapses
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Supervision:
    """One supervisor's socket: whether it wants the board, what it monitors."""

    def __init__(self, hub: Hub, feeds: BoardFeeds, org_id: str, send: Send) -> None:
        self.hub, self.feeds, self.org_id, self.send = hub, feeds, org_id, send
        self.board_on = False
        self.last_board: dict[str, Any] | None = None
        # Monitored conversation → (messages sent, its last state sent).
        self.monitored: dict[str, tuple[int, dict[str, Any]]] = {}
        self._joined = False
        self._lock = asyncio.Lock()

    async def execute(self, command: protocol.Command) -> None:
        if isinstance(command, protocol.Board):
            if command.on:
                await self._join()
                self.board_on = True
                await self.deliver_board(
                    build_board(await self.hub.supervision.snapshot(self.org_id), time.time()), force=True
                )
            else:
                self.board_on, self.last_board = False, None
        elif isinstance(command, protocol.Monitor):
            if command.on:
                await self.monitor(command.conversation_id)
            else:
                self.monitored.pop(command.conversation_id, None)

    async def monitor(self, conversation_id: str) -> None:
        await self._join()
        found = await self.hub.conversations.views(self.org_id, [conversation_id], messages=True)
        if not found:
            raise NotFound("no such open conversation")
        conv = found[0]
        if conv["status"] == "closed":
            raise Conflict("this conversation is closed", code="conversation_closed")
        async with self._lock:
            self.monitored[conversation_id] = (len(conv["messages"]), _state(conv))
            await self.send({"type": "monitor.started", "conversation": conv})

    async def _join(self) -> None:
        if not self._joined:
            self._joined = True
            await self.feeds.join(self.org_id, self)

    async def heartbeat(self) -> None:
        if self._joined:
            self.feeds.look_again(self.org_id, self.monitored)

    async def deliver_board(self, board: dict[str, Any], force: bool = False) -> None:
        async with self._lock:
            if not self.board_on:
                return
            if not force and self.last_board is not None and _without_at(board) == _without_at(self.last_board):
                return
            self.last_board = board
            await self.send({"type": "board", "board": board})

    async def changed(self, ids: set[str]) -> None:
        for conv_id in sorted(ids & set(self.monitored)):
            await self._push_monitored(conv_id)

    async def _push_monitored(self, conv_id: str) -> None:
        found = await self.hub.conversations.views(self.org_id, [conv_id], messages=True)
        async with self._lock:
            if conv_id not in self.monitored:
                return
            sent, state = self.monitored[conv_id]
            if not found:  # left Redis: closed and archived
                self.monitored.pop(conv_id, None)
                return
            conv = found[0]
            for message in conv["messages"][sent:]:
                await self.send({"type": "monitor.message", "conversation_id": conv_id, "message": message})
            now = _state(conv)
            if now != state:
                await self.send(
                    {"type": "monitor.conversation", "conversation": {k: v for k, v in conv.items() if k != "messages"}}
                )
            if conv["status"] == "closed":
                self.monitored.pop(conv_id, None)
            else:
                self.monitored[conv_id] = (len(conv["messages"]), now)

    async def aclose(self) -> None:
        if self._joined:
            await self.feeds.leave(self.org_id, self)


class _Feed:
    """One watched org in this process."""

    def __init__(self) -> None:
        self.sessions: set[Supervision] = set()
        self.dirty: set[str] = set()
        self.board_dirty = False
        self.wake = asyncio.Event()
        self.worker: asyncio.Task[None] | None = None

    async def on_publish(self, data: str) -> None:
        self.dirty.update(data.split())
        self.board_dirty = True
        self.wake.set()


class BoardFeeds:
    """Per process: the orgs its supervisors' sockets watch."""

    def __init__(self, hub: Hub, fanout: Fanout) -> None:
        self.hub, self.fanout = hub, fanout
        self.feeds: dict[str, _Feed] = {}
        self._lock = asyncio.Lock()

    async def join(self, org_id: str, session: Supervision) -> None:
        async with self._lock:
            feed = self.feeds.get(org_id)
            if feed is None:
                feed = self.feeds[org_id] = _Feed()
                # The flag first, then the subscription: a change made in
                # between is in the first read, which follows.
                await self.hub.supervision.watch(org_id)
                await self.fanout.subscribe_channel(board_channel(org_id), feed.on_publish)
                feed.worker = asyncio.create_task(self._work(org_id, feed), name=f"board {org_id}")
            feed.sessions.add(session)

    async def leave(self, org_id: str, session: Supervision) -> None:
        async with self._lock:
            feed = self.feeds.get(org_id)
            if feed is None:
                return
            feed.sessions.discard(session)
            if feed.sessions:
                return
            del self.feeds[org_id]
        if feed.worker is not None:
            feed.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feed.worker
        with contextlib.suppress(Exception):
            await self.fanout.unsubscribe_channel(board_channel(org_id), feed.on_publish)

    def look_again(self, org_id: str, conversation_ids: Any) -> None:
        feed = self.feeds.get(org_id)
        if feed is not None:
            feed.dirty.update(conversation_ids)
            feed.board_dirty = True
            feed.wake.set()

    async def _work(self, org_id: str, feed: _Feed) -> None:
        refreshed = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(feed.wake.wait(), timeout=REFRESH_S)
            try:
                if time.monotonic() - refreshed >= REFRESH_S:
                    await self.hub.supervision.watch(org_id)
                    refreshed = time.monotonic()
                feed.wake.clear()
                dirty, feed.dirty = feed.dirty, set()
                board_dirty, feed.board_dirty = feed.board_dirty, False
                sessions = list(feed.sessions)
                if board_dirty and any(s.board_on for s in sessions):
                    board = build_board(await self.hub.supervision.snapshot(org_id), time.time())
                    for s in sessions:
                        with contextlib.suppress(Exception):  # a socket going away
                            await s.deliver_board(board)
                if dirty:
                    for s in sessions:
                        with contextlib.suppress(Exception):
                            await s.changed(dirty)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("board update failed", extra={"org": org_id})
            await asyncio.sleep(COALESCE_S)  # what arrives meanwhile goes in the next read


def _state(conv: dict[str, Any]) -> dict[str, Any]:
    return {k: conv.get(k) for k in ("status", "agent_id", "queue")}


def _without_at(board: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in board.items() if k != "at"}
