"""WS /v1/agent/ws?ticket=: the agent's live connection (a thin edge).

A connection is opened with a one-time ticket (``POST /v1/agent/ws-ticket``),
so what a proxy or a log keeps of the URL opens nothing; ``?token=`` still
works (the spec names it) and is redacted from every log line.

Events come from the agent's log in Redis, in id order, whichever hub process
wrote them; commands go to the conversation services. A supervisor's socket
also takes the board and monitoring commands (hub.routing.supervision), and
its notes and transfers may touch any conversation of its org.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from hub.errors import Forbidden, HubError
from hub.logs import get_logger
from hub.routing import protocol
from hub.routing.conversations import Conversations
from hub.routing.fanout import Fanout
from hub.routing.supervision import BoardFeeds, Supervision
from hub.services.context import Hub
from hub.storage.agents import public_agent
from hub.storage.conversations import ConnectionAction

log = get_logger("hub.routing.ws")

HEARTBEAT_S = 10.0
STALE_MS = 35_000
MAX_FRAME = 65536


class AgentSocket:
    def __init__(
        self,
        ws: WebSocket,
        hub: Hub,
        conversations: Conversations,
        fanout: Fanout,
        org_id: str,
        agent_id: str,
        token_hash: str,
        feeds: BoardFeeds | None = None,
    ) -> None:
        self.ws, self.hub, self.conversations, self.fanout = ws, hub, conversations, fanout
        self.org_id, self.agent_id, self.token_hash = org_id, agent_id, token_hash
        # Only a supervisor's socket has one (it is given the org's board feeds).
        self.supervision = Supervision(hub, feeds, org_id, self.send) if feeds is not None else None
        self.conn_id = secrets.token_hex(8)
        self.last_sent = 0
        self._send_lock = asyncio.Lock()

    async def connection(self, action: ConnectionAction) -> str:
        outcome = await self.hub.conversations.agent_connection(
            self.org_id,
            self.agent_id,
            action,
            connection_id=self.conn_id,
            now_ms=int(time.time() * 1000),
            stale_ms=STALE_MS,
            grace_ms=int(self.hub.settings.agent_grace_s * 1000),
        )
        if action == "open":
            self.hub.board.poke(self.org_id, "archive")  # waiting conversations it may have taken
        return outcome

    async def send(self, frame: dict[str, Any] | str) -> None:
        async with self._send_lock:
            await self.ws.send_text(frame if isinstance(frame, str) else json.dumps(frame))

    async def catch_up(self) -> None:
        """Send every logged event after the last one sent, in order."""
        async with self._send_lock:
            for raw in await self.hub.agents.events_after(self.org_id, self.agent_id, self.last_sent):
                event_id = protocol.event_id(raw)
                if event_id > self.last_sent:
                    await self.ws.send_text(raw)
                    self.last_sent = event_id

    async def deliver(self, raw: str) -> None:
        """A published event. Deliveries take the lock in arrival order, so the
        usual case is the next id; a gap (a publish lost or not yet seen) is
        filled from the log."""
        event_id = protocol.event_id(raw)
        async with self._send_lock:
            if event_id <= self.last_sent:
                return
            if event_id == self.last_sent + 1:
                await self.ws.send_text(raw)
                self.last_sent = event_id
                return
        await self.catch_up()

    async def hello(self) -> None:
        agent = await self.hub.agents.load(self.org_id, self.agent_id) or {}
        seq = await self.hub.agents.last_event_id(self.org_id, self.agent_id)
        ids = await self.hub.conversations.open_for_agent(self.org_id, self.agent_id)
        convs = await self.hub.conversations.views(self.org_id, ids, messages=True)
        queues = json.loads(agent.get("queues") or "[]")
        waiting = await self.hub.conversations.waiting_count(self.org_id, queues)
        self.last_sent = seq
        await self.send(
            {"type": "hello", "id": seq, "agent": public_agent(agent), "conversations": convs, "waiting": waiting}
        )

    async def handle(self, raw: str | None) -> None:
        """One frame from the agent; ``None`` is a binary frame. Whatever it
        holds, the answer is an ack or an error frame and the socket stays."""
        client_id = None
        try:
            if raw is None:
                raise protocol.invalid_command("frames must be text (JSON), not binary")
            if len(raw) > MAX_FRAME:
                raise HubError("frame too large", code="frame_too_large")
            client_id = protocol.client_id_of(raw)
            command = protocol.parse_command(raw)
            await self.execute(command)
            answer: dict[str, Any] = {"type": "ack", "client_id": command.client_id}
        except HubError as exc:
            answer = {"type": "error", "client_id": client_id, "error": exc.envelope()["error"]}
        except Exception:
            log.exception("agent command failed", extra={"org": self.org_id, "agent": self.agent_id})
            answer = {
                "type": "error",
                "client_id": client_id,
                "error": {"code": "internal_error", "message": "internal error"},
            }
        await self.send(answer)

    async def execute(self, command: protocol.Command) -> None:
        c = self.conversations
        supervisor = self.supervision is not None
        if isinstance(command, protocol.SUPERVISOR_COMMANDS) and self.supervision is None:
            raise Forbidden("only supervisors may do this", code="supervisor_only")
        if isinstance(command, protocol.Board | protocol.Monitor) and self.supervision is not None:
            await self.supervision.execute(command)
        elif isinstance(command, protocol.Takeover):
            await c.transfer(self.org_id, command.conversation_id, "", self.agent_id, None)
        elif isinstance(command, protocol.Presence):
            await c.set_presence(self.org_id, self.agent_id, command.status)
        elif isinstance(command, protocol.Reply):
            await c.reply(
                self.org_id,
                self.agent_id,
                command.conversation_id,
                command.client_id,
                command.body,
                media=tuple(command.media or ()),
            )
        elif isinstance(command, protocol.Template):
            await c.send_template(
                self.org_id,
                self.agent_id,
                command.conversation_id,
                command.client_id,
                command.template_id,
                command.values,
            )
        elif isinstance(command, protocol.Note):
            await c.note(
                self.org_id,
                self.agent_id,
                command.conversation_id,
                command.client_id,
                command.body,
                supervisor=supervisor,
            )
        elif isinstance(command, protocol.Close):
            await c.close(self.org_id, command.conversation_id, self.agent_id)
        elif isinstance(command, protocol.Transfer):
            # A supervisor reassigns any conversation of the org.
            actor = "" if supervisor else self.agent_id
            await c.transfer(self.org_id, command.conversation_id, actor, command.agent_id, command.queue)
        elif isinstance(command, protocol.Resume):
            async with self._send_lock:
                self.last_sent = min(self.last_sent, command.after)
            await self.catch_up()

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if await self.hub.agents.session_owner(self.token_hash) is None:
                await self.ws.close(code=protocol.CLOSE_BAD_TOKEN, reason="token expired or revoked")
                return
            await self.connection("beat")
            if self.supervision is not None:
                await self.supervision.heartbeat()
            # Safety net: an event published before this socket's subscription
            # was active would otherwise wait for the next one.
            await self.catch_up()


async def _session(hub: Hub, ws: WebSocket) -> tuple[str, str, str] | None:
    """(org, agent, token hash) from a one-time ticket, or from a token."""
    ticket, token = ws.query_params.get("ticket", ""), ws.query_params.get("token", "")
    if ticket:
        return await hub.agents.redeem_ticket(ticket)
    return await hub.agents.token_session(token) if token else None


async def agent_ws(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.hub
    session = await _session(hub, ws)
    await ws.accept()
    if session is None:
        await ws.close(code=protocol.CLOSE_BAD_TOKEN, reason="missing, expired, used or revoked ticket or token")
        return
    org_id, agent_id, token_hash = session
    agent = await hub.agents.load(org_id, agent_id)
    if agent is None:
        await ws.close(code=protocol.CLOSE_AGENT_GONE, reason="agent deleted")
        return
    fanout: Fanout = ws.app.state.fanout
    supervisor = (agent.get("role") or "agent") == "supervisor"
    sock = AgentSocket(
        ws,
        hub,
        ws.app.state.conversations,
        fanout,
        org_id,
        agent_id,
        token_hash,
        feeds=ws.app.state.board_feeds if supervisor else None,
    )
    await fanout.subscribe(org_id, agent_id, sock.deliver)
    hub.metrics.open_websockets.inc()
    tasks: list[asyncio.Task[None]] = []
    try:
        await sock.hello()
        after = ws.query_params.get("after", "")
        if after.isdigit():
            # Resume on connect: replay from the client's last id before
            # anything this connection causes, so ids arrive in order.
            sock.last_sent = min(sock.last_sent, int(after))
            await sock.catch_up()
        await sock.connection("open")
        # Every process's presence sweeper now sweeps this org fully, so a
        # connection this process leaves behind if it dies is noticed.
        hub.board.announce(org_id, "presence")
        await sock.catch_up()  # anything the connection itself produced (assignments)
        tasks = [asyncio.create_task(sock.heartbeat())]
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            await sock.handle(message.get("text"))
    except WebSocketDisconnect:
        pass
    except RuntimeError:
        pass  # the socket was closed by the heartbeat (token revoked)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if sock.supervision is not None:
            await sock.supervision.aclose()
        hub.metrics.open_websockets.dec()
        await fanout.unsubscribe(org_id, agent_id, sock.deliver)
        with contextlib.suppress(Exception):
            await sock.connection("close")
            hub.board.poke(org_id, "presence")  # its grace period, if it was the last one
