"""The agent websocket protocol: commands in, validated values out (pure).

Server events are written by the storage scripts (they carry the agent's
monotonic event id); this module only reads what agents send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hub.domain.media import InvalidMediaUrl, check_media
from hub.domain.segments import MAX_BODY_LENGTH
from hub.errors import InvalidRequest

# Commands are flat objects; anything deeper is refused before it is walked.
MAX_DEPTH = 8

# Close codes, documented in the README.
CLOSE_BAD_TOKEN = 4401  # missing, unknown, expired, used or revoked ticket or token
CLOSE_AGENT_GONE = 4404  # the agent was deleted


@dataclass(frozen=True)
class Presence:
    status: str
    client_id: str | None


@dataclass(frozen=True)
class Reply:
    conversation_id: str
    body: str
    client_id: str
    media: tuple[str, ...] = ()  # https URLs the provider attaches (MMS, WhatsApp media)


@dataclass(frozen=True)
class Note:
    """An internal note: seen by agents, never sent to the customer."""

    conversation_id: str
    body: str
    client_id: str


@dataclass(frozen=True)
class Template:
    """One of the org's templates sent as a reply (on WhatsApp, an approved
    one: what may still be sent once the 24-hour window has closed)."""

    conversation_id: str
    template_id: str
    client_id: str
    values: dict[str, str]


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


@dataclass(frozen=True)
class Board:
    """A supervisor starts (``board.subscribe``) or stops (``board.unsubscribe``)
    receiving the org's board."""

    on: bool
    client_id: str | None


@dataclass(frozen=True)
class Monitor:
    """A supervisor starts (``monitor``) or stops (``monitor.stop``) following
    a conversation's messages live, read-only."""

    conversation_id: str
    on: bool
    client_id: str | None


@dataclass(frozen=True)
class Takeover:
    """A supervisor becomes the conversation's agent."""

    conversation_id: str
    client_id: str | None


SUPERVISOR_COMMANDS = (Board, Monitor, Takeover)

Command = Presence | Reply | Note | Template | Close | Transfer | Resume | Board | Monitor | Takeover


def invalid_command(message: str) -> InvalidRequest:
    """A frame that is no command at all (binary, not JSON, not an object, too deep)."""
    return InvalidRequest(message, code="invalid_command")


def _depth(raw: str) -> int:
    """Nesting depth of a JSON text, counted on its brackets outside strings,
    so that a deeply nested frame is refused before it is decoded at all."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def decode_frame(raw: str) -> dict[str, Any]:
    """A text frame as a JSON object, or ``invalid_command``."""
    if raw.count("[") + raw.count("{") > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        raise invalid_command(f"frames must be JSON objects nested at most {MAX_DEPTH} deep")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid_command("frames must be JSON objects") from None
    if not isinstance(frame, dict):
        raise invalid_command("frames must be JSON objects")
    return frame


def _is_text(value: str) -> bool:
    """False for a lone surrogate (``"\\udfff"`` decodes to one): no UTF-8
    encoder takes it, so neither Redis nor a provider could."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _str(frame: dict[str, Any], field: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = frame.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidRequest(f"{field} must be a non-empty string", details={"field": field})
    if not _is_text(value):
        raise InvalidRequest(
            f"{field} must be text (a lone surrogate such as \\udfff is not)", details={"field": field}
        )
    return value


def client_id_of(raw: str) -> str | None:
    """Best effort, so that an error about a bad frame can still name it."""
    try:
        frame = json.loads(raw)  # the C decoder stops at the recursion limit
    except (ValueError, RecursionError):
        return None
    value = frame.get("client_id") if isinstance(frame, dict) else None
    return value if isinstance(value, str) and _is_text(value) else None


def _body(frame: dict[str, Any], *, optional: bool = False) -> str:
    """``optional``: a reply with attachments may have no text."""
    body = frame.get("body")
    if optional and (body is None or body == ""):
        return ""
    if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY_LENGTH:
        raise InvalidRequest(f"body must be 1 to {MAX_BODY_LENGTH} characters", details={"field": "body"})
    if not _is_text(body):
        raise InvalidRequest("body must be text (a lone surrogate such as \\udfff is not)", details={"field": "body"})
    return body


def _values(frame: dict[str, Any]) -> dict[str, str]:
    """Placeholder values: an object of at most 50 names to strings."""
    values = frame.get("values")
    if values is None:
        return {}
    if (
        not isinstance(values, dict)
        or len(values) > 50
        or not all(
            isinstance(k, str)
            and isinstance(v, str)
            and len(k) <= 100
            and len(v) <= MAX_BODY_LENGTH
            and _is_text(k)
            and _is_text(v)
            for k, v in values.items()
        )
    ):
        raise InvalidRequest("values must be an object of placeholder names to strings", details={"field": "values"})
    return dict(values)


def parse_command(raw: str) -> Command:
    frame = decode_frame(raw)
    kind = frame.get("type")
    client_id = _str(frame, "client_id", required=False)
    if kind == "presence":
        status = frame.get("status")
        if status not in ("available", "away"):
            raise InvalidRequest("status must be available or away", details={"field": "status"})
        return Presence(status, client_id)
    if kind == "reply":
        if "media_url" in frame or "media_urls" in frame:  # a near miss would otherwise send text alone
            raise InvalidMediaUrl("is given as media: a list of https URLs")
        media = check_media(frame.get("media"))
        body = _body(frame, optional=bool(media))
        return Reply(str(_str(frame, "conversation_id")), body, str(_str(frame, "client_id")), media)
    if kind == "note":
        return Note(str(_str(frame, "conversation_id")), _body(frame), str(_str(frame, "client_id")))
    if kind == "template":
        return Template(
            str(_str(frame, "conversation_id")),
            str(_str(frame, "template_id")),
            str(_str(frame, "client_id")),
            _values(frame),
        )
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
    if kind in ("board.subscribe", "board.unsubscribe"):
        return Board(kind == "board.subscribe", client_id)
    if kind in ("monitor", "monitor.stop"):
        return Monitor(str(_str(frame, "conversation_id")), kind == "monitor", client_id)
    if kind == "takeover":
        return Takeover(str(_str(frame, "conversation_id")), client_id)
    raise InvalidRequest(f"unknown command type {kind!r}", details={"field": "type"})
