"""What a supervisor's websocket adds to an agent's: the org's live board and
conversations monitored read-only.

Nothing is polled. While a supervisor watches, its process keeps the org's
``board:watch`` flag set, and every routing script (whatever process runs
it) then publishes the ids of the conversations it changed on the org's
board channel (``board_changed`` in routing_lib.lua). Each publish is only a
wake-up: the socket reads the board again from Redis (one script, coalesced
to at most one read per ``COALESCE_S``) and pushes it when it differs from
what it last sent, and reads a monitored conversation again when its id was
named. A publish lost to a broken pub/sub connection delays the board until
the next change or the socket's heartbeat, which looks once more.
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
from hub.services.context import Hub
from hub.storage.board import WATCH_TTL_MS, board_channel
from routing import protocol
from routing.fanout import Fanout

log = get_logger("routing.supervision")

COALESCE_S = 0.2
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Supervision:
    def __init__(self, hub: Hub, fanout: Fanout, org_id: str, send: Send) -> None:
        self.hub, self.fanout, self.org_id, self.send = hub, fanout, org_id, send
        self.board_on = False
        self.last_board: dict[str, Any] | None = None
        # Monitored conversation → (messages sent, its last state sent).
        self.monitored: dict[str, tuple[int, dict[str, Any]]] = {}
        self._subscribed = False
        self._dirty: set[str] = set()
        self._board_dirty = False
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # -- commands ------------------------------------------------------------

    async def execute(self, command: protocol.Command) -> None:
        if isinstance(command, protocol.Board):
            if command.on:
                await self._listen()
                self.board_on = True
                await self._push_board(force=True)
            else:
                self.board_on, self.last_board = False, None
        elif isinstance(command, protocol.Monitor):
            if command.on:
                await self.monitor(command.conversation_id)
            else:
                self.monitored.pop(command.conversation_id, None)

    async def monitor(self, conversation_id: str) -> None:
        await self._listen()
        found = await self.hub.conversations.views(self.org_id, [conversation_id], messages=True)
        if not found:
            raise NotFound("no such open conversation")
        conv = found[0]
        if conv["status"] == "closed":
            raise Conflict("this conversation is closed", code="conversation_closed")
        async with self._lock:
            self.monitored[conversation_id] = (len(conv["messages"]), _state(conv))
            await self.send({"type": "monitor.started", "conversation": conv})

    # -- wake-ups ------------------------------------------------------------

    async def _listen(self) -> None:
        """Flag the org as watched, then subscribe: a change made in between
        is in the first read, which follows."""
        if self._subscribed:
            return
        await self.hub.supervision.watch(self.org_id)
        await self.fanout.subscribe_channel(board_channel(self.org_id), self._on_publish)
        self._subscribed = True
        self._worker = asyncio.create_task(self._work(), name=f"supervision {self.org_id}")

    async def _on_publish(self, data: str) -> None:
        self._dirty.update(data.split())
        self._board_dirty = True
        self._wake.set()

    async def heartbeat(self) -> None:
        """Every agent-socket heartbeat: keep the flag up and look once more."""
        if self._subscribed:
            await self.hub.supervision.watch(self.org_id)
            self._dirty.update(self.monitored)
            self._board_dirty = True
            self._wake.set()

    async def _work(self) -> None:
        last_refresh = time.monotonic()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=WATCH_TTL_MS / 3000)
            except TimeoutError:
                pass
            if time.monotonic() - last_refresh > WATCH_TTL_MS / 3000:
                await self.hub.supervision.watch(self.org_id)
                last_refresh = time.monotonic()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            board, self._board_dirty = self._board_dirty, False
            try:
                if board and self.board_on:
                    await self._push_board()
                for conv_id in sorted(dirty & set(self.monitored)):
                    await self._push_monitored(conv_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("board update failed", extra={"org": self.org_id})
            await asyncio.sleep(COALESCE_S)  # what arrives meanwhile goes in the next read

    async def _push_board(self, force: bool = False) -> None:
        board = build_board(await self.hub.supervision.snapshot(self.org_id), time.time())
        async with self._lock:
            same = self.last_board is not None and _without_at(board) == _without_at(self.last_board)
            if same and not force:
                return
            self.last_board = board
            await self.send({"type": "board", "board": board})

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
                await self.send({"type": "monitor.conversation",
                                 "conversation": {k: v for k, v in conv.items() if k != "messages"}})
            if conv["status"] == "closed":
                self.monitored.pop(conv_id, None)
            else:
                self.monitored[conv_id] = (len(conv["messages"]), now)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
        if self._subscribed:
            with contextlib.suppress(Exception):
                await self.fanout.unsubscribe_channel(board_channel(self.org_id), self._on_publish)


def _state(conv: dict[str, Any]) -> dict[str, Any]:
    return {k: conv.get(k) for k in ("status", "agent_id", "queue")}


def _without_at(board: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in board.items() if k != "at"}
