"""The agent websocket protocol, declared once (pure): the commands an agent
sends, checked into typed values, and the events the hub sends back.

Both are msgspec Structs: ``parse_command`` checks frames against the
commands, and /asyncapi.json publishes both from the same declarations.
Events are written by the storage scripts (those that carry the agent's
monotonic event ``id``) and by the socket; the tests check every frame
their agents receive against the events declared here.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal, get_args

import msgspec
from msgspec import Meta

from hub.domain import shapes
from hub.domain.media import MAX_ITEMS as MAX_MEDIA
from hub.domain.media import MAX_LENGTH as MAX_MEDIA_URL
from hub.domain.media import InvalidMediaUrl, check_media
from hub.domain.segments import MAX_BODY_LENGTH
from hub.errors import InvalidRequest

# Commands are flat objects; anything deeper is refused before it is walked.
MAX_DEPTH = 8

# Close codes, documented in the README.
CLOSE_BAD_TOKEN = 4401  # missing, unknown, expired, used or revoked ticket or token
CLOSE_AGENT_GONE = 4404  # the agent was deleted


# Declared once: these Structs are both what a frame is checked against
# (``parse_command``) and what /asyncapi.json publishes. Rules a JSON Schema
# cannot say (exactly one of two fields; media URLs' hosts) are in ``check``.
_TEXT = r"\S"  # at least one character that is not white space
Id = Annotated[str, Meta(min_length=1, max_length=200, pattern=_TEXT)]
Body = Annotated[str, Meta(min_length=1, max_length=MAX_BODY_LENGTH, pattern=_TEXT)]
MediaUrls = Annotated[list[Annotated[str, Meta(max_length=MAX_MEDIA_URL)]], Meta(min_length=1, max_length=MAX_MEDIA)]
Values = Annotated[
    dict[Annotated[str, Meta(max_length=100)], Annotated[str, Meta(max_length=MAX_BODY_LENGTH)]],
    Meta(max_length=50),
]


class _Command(msgspec.Struct, frozen=True, tag_field="type"):
    def check(self) -> None:
        """Rules across fields, after the types and lengths have passed."""


class Presence(_Command, frozen=True, tag="presence"):
    """The agent takes conversations (``available``) or not (``away``)."""

    status: Literal["available", "away"]
    client_id: Id | None = None


class Reply(_Command, frozen=True, tag="reply"):
    """A message to the customer; ``body`` may be empty when ``media`` is given."""

    conversation_id: Id
    client_id: Id
    body: Annotated[str, Meta(max_length=MAX_BODY_LENGTH)] = ""
    media: MediaUrls | None = None  # https URLs the provider attaches (MMS, WhatsApp media)

    def check(self) -> None:
        urls = check_media(self.media)
        if not urls and not self.body.strip():
            raise InvalidRequest(f"body must be 1 to {MAX_BODY_LENGTH} characters", details={"field": "body"})


class Note(_Command, frozen=True, tag="note"):
    """An internal note: seen by agents, never sent to the customer."""

    conversation_id: Id
    body: Body
    client_id: Id


class Template(_Command, frozen=True, tag="template"):
    """One of the org's templates sent as a reply (on WhatsApp, an approved
    one: what may still be sent once the 24-hour window has closed)."""

    conversation_id: Id
    template_id: Id
    client_id: Id
    values: Values = msgspec.field(default_factory=dict)


class Close(_Command, frozen=True, tag="close"):
    conversation_id: Id
    client_id: Id | None = None


class Transfer(_Command, frozen=True, tag="transfer"):
    """To another agent or to a queue: exactly one of the two."""

    conversation_id: Id
    agent_id: Id | None = None
    queue: Id | None = None
    client_id: Id | None = None

    def check(self) -> None:
        if (self.agent_id is None) == (self.queue is None):
            raise InvalidRequest("give agent_id or queue", details={"field": "agent_id"})


class Resume(_Command, frozen=True, tag="resume"):
    """Replay the events after ``after``, the last event id received."""

    after: Annotated[int, Meta(ge=0)]
    client_id: Id | None = None


class Board(_Command, frozen=True):
    """A supervisor starts (``board.subscribe``) or stops (``board.unsubscribe``)
    receiving the org's board."""

    client_id: Id | None = None
    on: ClassVar[bool]


class BoardSubscribe(Board, frozen=True, tag="board.subscribe"):
    on = True


class BoardUnsubscribe(Board, frozen=True, tag="board.unsubscribe"):
    on = False


class Monitor(_Command, frozen=True):
    """A supervisor starts (``monitor``) or stops (``monitor.stop``) following
    a conversation's messages live, read-only."""

    conversation_id: Id
    client_id: Id | None = None
    on: ClassVar[bool]


class MonitorStart(Monitor, frozen=True, tag="monitor"):
    on = True


class MonitorStop(Monitor, frozen=True, tag="monitor.stop"):
    on = False


class Takeover(_Command, frozen=True, tag="takeover"):
    """A supervisor becomes the conversation's agent."""

    conversation_id: Id
    client_id: Id | None = None


SUPERVISOR_COMMANDS = (Board, Monitor, Takeover)

Command = (
    Presence
    | Reply
    | Note
    | Template
    | Close
    | Transfer
    | Resume
    | BoardSubscribe
    | BoardUnsubscribe
    | MonitorStart
    | MonitorStop
    | Takeover
)
COMMAND_TYPES: tuple[type[_Command], ...] = get_args(Command)


# -- events (hub → agent) -----------------------------------------------------
# Conversations, messages, agents and the board are JSON objects whose fields
# the REST API's schemas describe (GET /v1/conversations/{id} and friends).
Object = dict[str, Any]


class _Event(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=True):
    pass


class Hello(_Event, frozen=True, tag="hello"):
    """First frame of every connection: the agent, their open conversations
    with messages, how many wait in their queues; ``id`` is the last event id
    (send it back as ``resume.after``, or ``?after=`` when reconnecting)."""

    id: int
    agent: Object
    conversations: list[Object]
    waiting: int


class Ack(_Event, frozen=True, tag="ack"):
    """A command was carried out."""

    client_id: str | None


class ErrorBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    message: str
    details: Object | None = None


class Error(_Event, frozen=True, tag="error"):
    """A command was refused (or was no command); nothing of it happened and
    the socket stays open."""

    client_id: str | None
    error: ErrorBody


class ConversationAssigned(_Event, frozen=True, tag="conversation.assigned"):
    id: int
    conversation: Object


class MessageCreated(_Event, frozen=True, tag="message.created"):
    """A message in one of the agent's conversations: the customer's, the
    agent's own reply (also from another tab) or a note."""

    id: int
    conversation_id: str
    message: Object


class MessageStatus(_Event, frozen=True, tag="message.status"):
    """A reply's delivery status moved forward."""

    id: int
    conversation_id: str
    message_id: str
    status: str
    error_code: str | int | None = None


class ConversationClosed(_Event, frozen=True, tag="conversation.closed"):
    id: int
    conversation_id: str
    reason: str | None = None


class ConversationTransferred(_Event, frozen=True, tag="conversation.transferred"):
    """The conversation left this agent: to another agent, or back to a
    queue (``reason: agent_offline`` when the agent's grace period ran out)."""

    id: int
    conversation_id: str
    to_agent_id: str | None
    to_queue: str | None
    reason: str | None = None


class BoardEvent(_Event, frozen=True, tag="board"):
    """Supervisors: the org's board, again whenever it changes."""

    board: Object


class MonitorStarted(_Event, frozen=True, tag="monitor.started"):
    """Supervisors: the monitored conversation, with its messages so far."""

    conversation: Object


class MonitorMessage(_Event, frozen=True, tag="monitor.message"):
    conversation_id: str
    message: Object


class MonitorConversation(_Event, frozen=True, tag="monitor.conversation"):
    """Supervisors: the monitored conversation's state changed (without its messages)."""

    conversation: Object


Event = (
    Hello
    | Ack
    | Error
    | ConversationAssigned
    | MessageCreated
    | MessageStatus
    | ConversationClosed
    | ConversationTransferred
    | BoardEvent
    | MonitorStarted
    | MonitorMessage
    | MonitorConversation
)
EVENT_TYPES: tuple[type[_Event], ...] = get_args(Event)


_ID_LEAD = '{"id":'


def event_id(raw: str) -> int:
    """An agent event's id. The routing scripts write it first
    (``{"id":12,...}``), so it is read without parsing the event, which
    can hold a whole conversation; anything else is parsed."""
    if raw.startswith(_ID_LEAD):
        end = raw.find(",", len(_ID_LEAD))
        if end < 0:
            end = raw.find("}", len(_ID_LEAD))
        digits = raw[len(_ID_LEAD) : end] if end > 0 else ""
        if digits.isdigit():
            return int(digits)
    value = json.loads(raw).get("id", 0)
    return value if isinstance(value, int) else 0


def undeclared(frame: object) -> str | None:
    """Why a frame the hub sent is not one of the declared events, or None."""
    try:
        msgspec.convert(frame, Event)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


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


def client_id_of(raw: str) -> str | None:
    """Best effort, so that an error about a bad frame can still name it."""
    try:
        frame = json.loads(raw)  # the C decoder stops at the recursion limit
    except (ValueError, RecursionError):
        return None
    value = frame.get("client_id") if isinstance(frame, dict) else None
    return value if isinstance(value, str) and _is_text(value) else None


def _first_field(frame: dict[str, Any]) -> str | None:
    """The first top-level field holding a string that is not text (a lone
    surrogate such as ``"\\udfff"`` decodes to one; no UTF-8 encoder takes it,
    so neither Redis nor a provider could)."""
    for field, value in frame.items():
        strings = [value] if isinstance(value, str) else []
        if isinstance(value, list):
            strings = [v for v in value if isinstance(v, str)]
        elif isinstance(value, dict):
            strings = [v for kv in value.items() for v in kv if isinstance(v, str)]
        if not all(_is_text(v) for v in strings):
            return str(field)
    return None


def _refusal(exc: msgspec.ValidationError, frame: dict[str, Any]) -> InvalidRequest:
    """msgspec's account of a bad frame, as the hub's error with its field."""
    field = shapes.path_of(exc)
    if field is None or field == "type":
        return InvalidRequest(f"unknown command type {frame.get('type')!r}", details={"field": "type"})
    if field == "media":  # the media rules' own words: how many, which URLs
        try:
            check_media(frame.get("media"))
        except InvalidMediaUrl as refused:
            return refused
        return InvalidMediaUrl(f"must be a list of 1 to {MAX_MEDIA} https URLs")
    return shapes.refusal(exc, _Command, frame)


def parse_command(raw: str) -> Command:
    frame = decode_frame(raw)
    if frame.get("type") == "reply" and ("media_url" in frame or "media_urls" in frame):
        raise InvalidMediaUrl("is given as media: a list of https URLs")  # a near miss would send text alone
    not_text = _first_field(frame)
    if not_text is not None:
        raise InvalidRequest(
            f"{not_text} must be text (a lone surrogate such as \\udfff is not)", details={"field": not_text}
        )
    try:
        command: Command = msgspec.convert(frame, Command)
    except msgspec.ValidationError as exc:
        raise _refusal(exc, frame) from None
    command.check()
    return command
