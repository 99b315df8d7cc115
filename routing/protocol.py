"""The agent websocket protocol: commands in, validated values out (pure).

Server events are written by the storage scripts (they carry the agent's
monotonic event id); this module only reads what agents send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hub.errors import InvalidRequest

MAX_BODY = 1600

# Close codes, documented in the README.
CLOSE_BAD_TOKEN = 4401  # missing, unknown, expired or revoked token
CLOSE_AGENT_GONE = 4404  # the agent was deleted
CLOSE_TOO_BIG = 4413  # a frame over 64 KiB


@dataclass(frozen=True)
class Presence:
    status: str
    client_id: str | None


@dataclass(frozen=True)
class Reply:
    conversation_id: str
    body: str
    client_id: str


@dataclass(frozen=True)
class Close:
    conversation_id: str
    client_id: str | None


@dataclass(frozen=True)
class Transfer:
    conversation_id: str
    agent_id: str | None
    queue: str | None
    client_id: str | None


@dataclass(frozen=True)
class Resume:
    after: int
    client_id: str | None


Command = Presence | Reply | Close | Transfer | Resume


def _str(frame: dict[str, Any], field: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = frame.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidRequest(f"{field} must be a non-empty string", details={"field": field})
    return value


def client_id_of(raw: str) -> str | None:
    """Best effort, so that an error about a bad frame can still name it."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    value = frame.get("client_id") if isinstance(frame, dict) else None
    return value if isinstance(value, str) else None


def parse_command(raw: str) -> Command:
    try:
        frame = json.loads(raw)
    except ValueError:
        raise InvalidRequest("frames must be JSON objects") from None
    if not isinstance(frame, dict):
        raise InvalidRequest("frames must be JSON objects")
    kind = frame.get("type")
    client_id = _str(frame, "client_id", required=False)
    if kind == "presence":
        status = frame.get("status")
        if status not in ("available", "away"):
            raise InvalidRequest("status must be available or away", details={"field": "status"})
        return Presence(status, client_id)
    if kind == "reply":
        body = frame.get("body")
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
            raise InvalidRequest(f"body must be 1 to {MAX_BODY} characters", details={"field": "body"})
        return Reply(str(_str(frame, "conversation_id")), body, str(_str(frame, "client_id")))
    if kind == "close":
        return Close(str(_str(frame, "conversation_id")), client_id)
    if kind == "transfer":
        agent_id = _str(frame, "agent_id", required=False)
        queue = _str(frame, "queue", required=False)
        if (agent_id is None) == (queue is None):
            raise InvalidRequest("give agent_id or queue", details={"field": "agent_id"})
        return Transfer(str(_str(frame, "conversation_id")), agent_id, queue, client_id)
    if kind == "resume":
        after = frame.get("after")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise InvalidRequest("after must be the last event id received", details={"field": "after"})
        return Resume(after, client_id)
    raise InvalidRequest(f"unknown command type {kind!r}", details={"field": "type"})
