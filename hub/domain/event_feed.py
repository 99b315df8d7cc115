"""The event feed's rules (pure: no I/O): which events exist, what an
endpoint may say, how a delivery is signed, and when a failed one is tried
again.

An org registers endpoints (a URL, a secret, the event types it wants); the
hub appends each state change an endpoint subscribes to to the org's event
log, whose ids only grow, and posts the events to each endpoint in order,
one per request, signed with the endpoint's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.domain import shapes
from hub.domain.provider_urls import ProviderUrlRefused, check_provider_url
from hub.errors import InvalidRequest

EventType = Literal[
    "activity.status",  # an outbound activity's status moved (sending, sent, delivered, ...)
    "message.received",  # a customer's message reached a conversation (a reply)
    "conversation.opened",
    "conversation.assigned",
    "conversation.closed",
    "contact.opted_out",  # by keyword (STOP) or through the API
    "contact.opted_in",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

MAX_ENDPOINTS = 20
SECRET_MIN, SECRET_MAX = 16, 256
DESCRIPTION_MAX = 200

SIGNATURE_HEADER = "Hub-Signature"
EVENT_ID_HEADER = "Hub-Event-Id"
EVENT_TYPE_HEADER = "Hub-Event-Type"

# Backoff while an endpoint fails: 1 s, doubling, capped at 10 minutes.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 600.0

# Retention of the event log: at least a day, so a receiver down for a day
# misses nothing (the deliverer keeps trying for as long as the log holds).
RETENTION_MIN_HOURS = 24

_EVENT_ID = re.compile(r"(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})")


# -- endpoints -----------------------------------------------------------------------

Url = Annotated[
    str,
    Meta(
        max_length=2048,
        description="https URL to a public host (the provider URL rule; http and private addresses only "
        "for hosts in the operator's `HUB_ALLOWED_PROVIDER_HOSTS`, for tests and development).",
    ),
]
Secret = Annotated[
    str,
    Meta(
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        pattern="^[ -~]+$",
        description="Signs every delivery (HMAC-SHA256); write-only, never returned.",
    ),
]
EventTypes = Annotated[list[EventType], Meta(min_length=1)]
Description = Annotated[str, Meta(max_length=DESCRIPTION_MAX)]
_REFUSALS = {
    "secret": f"secret must be {SECRET_MIN} to {SECRET_MAX} printable ASCII characters",
    "event_types": f"event_types must be a non-empty list of: {', '.join(EVENT_TYPES)}",
    "enabled": "enabled must be true or false",
    "description": f"description must be a string of at most {DESCRIPTION_MAX} characters",
}


class NewEventEndpoint(msgspec.Struct, forbid_unknown_fields=True):
    """POST /v1/event-endpoints."""

    url: Url
    secret: Secret
    event_types: EventTypes
    enabled: bool = True
    description: Description = ""
    refusals: ClassVar[dict[str, str]] = _REFUSALS


class EventEndpointPatch(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH /v1/event-endpoints/{id}: the fields given replace the endpoint's."""

    url: Url | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET
    event_types: EventTypes | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    refusals: ClassVar[dict[str, str]] = _REFUSALS


# -- answers (what the API shows; /openapi.json publishes these) -----------------------

EventId = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]+-[0-9]+$", description="An event id: `<ms>-<n>`; ids only grow.", examples=["1733328000000-0"]
    ),
]
Seconds = Annotated[float, Meta(description="Unix time in seconds.")]


class EndpointDelivery(msgspec.Struct):
    """Where delivery stands: the last event the endpoint acknowledged (or
    skipped: not of its types), and the backoff while it fails."""

    cursor: EventId | None
    failures: Annotated[int, Meta(ge=0, description="Failed attempts in a row.")]
    next_attempt_at: Seconds | None
    last_error: Annotated[str, Meta(examples=["http_503", "unreachable: ClientConnectorError"])] | None
    last_success_at: Seconds | None


class EventEndpoint(msgspec.Struct):
    """An endpoint (without its secret)."""

    id: str
    url: str
    event_types: EventTypes
    enabled: bool
    description: str
    created_at: Seconds
    delivery: EndpointDelivery
    org_id: str | UnsetType = UNSET
    updated_at: Seconds | UnsetType = UNSET


class FeedEvent(msgspec.Struct):
    """One event, as posted to endpoints and listed by `GET /v1/events`."""

    id: EventId
    type: EventType
    created_at: Seconds
    data: Annotated[
        dict[str, Any],
        Meta(
            description="By type: `activity.status` {activity_id, status, previous_status, "
            "error_code?}; `message.received` {conversation_id, customer, "
            "channel_id, message}; `conversation.opened` {conversation_id, "
            "customer, channel_id, queue, activity_id}; `conversation.assigned` "
            "{conversation_id, agent_id, queue}; `conversation.closed` "
            "{conversation_id, agent_id, reason}; `contact.opted_out` / "
            "`contact.opted_in` {phone, channel_id, source: keyword | api}."
        ),
    ]


class FeedEventPage(msgspec.Struct):
    """Events after `after`, oldest first."""

    events: list[FeedEvent]
    next_after: Annotated[
        str, Meta(description="Pass as `after` for the next page (the last id given, or `after` itself).")
    ]
    has_more: bool


def _refused(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def check_url(value: object, *, allowed_hosts: Collection[str] = ()) -> str:
    """An endpoint URL obeys the provider URL rule: https to a public host,
    unless the operator lists the host (``HUB_ALLOWED_PROVIDER_HOSTS``)."""
    try:
        return check_provider_url(value, allowed_hosts=allowed_hosts)
    except ProviderUrlRefused as exc:
        raise _refused("url", exc.message.replace("api_base_url", "url", 1)) from None


def validate_endpoint(
    body: object, current: Mapping[str, Any] | None = None, *, allowed_hosts: Collection[str] = ()
) -> dict[str, Any]:
    """The endpoint as stored (create when ``current`` is None, else a PATCH
    over it), or ``InvalidRequest`` naming the field."""
    given: NewEventEndpoint | EventEndpointPatch = (
        shapes.convert(body, NewEventEndpoint) if current is None else shapes.convert(body, EventEndpointPatch)
    )
    out: dict[str, Any] = dict(current or {})
    for name in given.__struct_fields__:
        value = getattr(given, name)
        if value is not UNSET:
            out[name] = value
    if given.url is not UNSET:
        out["url"] = check_url(given.url, allowed_hosts=allowed_hosts)
    if given.event_types is not UNSET:
        out["event_types"] = list(dict.fromkeys(given.event_types))
    return out


def public_endpoint(endpoint: Mapping[str, Any]) -> dict[str, Any]:
    """What the API shows of an endpoint: everything but its secret."""
    return {k: v for k, v in endpoint.items() if k != "secret"}


def subscribed_types(endpoints: Collection[Mapping[str, Any]]) -> set[str]:
    """The event types the org's log records: those of its enabled endpoints."""
    return {t for e in endpoints if e.get("enabled") for t in e.get("event_types", ())}


# -- event ids -----------------------------------------------------------------------


def parse_event_id(value: str, field: str = "after") -> tuple[int, int]:
    """An event id (``<ms>-<seq>``, the log's ids: they only grow) as a pair."""
    match = _EVENT_ID.fullmatch(value)
    if not match or int(match[1]) >= 2**64 or int(match[2]) >= 2**64:
        raise _refused(field, f"{field} must be an event id such as 1733328000000-0")
    return int(match[1]), int(match[2])


def next_event_id(event_id: str) -> str:
    """The smallest id after ``event_id`` (for a range that excludes it)."""
    ms, seq = parse_event_id(event_id)
    if seq + 1 < 2**64:
        return f"{ms}-{seq + 1}"
    return f"{ms + 1}-0"


def id_before(a: str, b: str) -> bool:
    return parse_event_id(a) < parse_event_id(b)


# -- signatures ----------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under the endpoint's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: the header's timestamp within ``tolerance_s`` of
    ``now`` and one of its ``v1`` signatures matching the body."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)


# -- retries -------------------------------------------------------------------------


def backoff_s(failures: int) -> float:
    """How long to wait after ``failures`` failed attempts in a row (>= 1)."""
    if failures < 1:
        return 0.0
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** min(failures - 1, 30))


def delivered(status: int) -> bool:
    """A 2xx answer is the receiver's acknowledgement; anything else is tried again."""
    return 200 <= status < 300


def retention_hours(value: str | None, default: int = 72) -> int:
    hours = default if value in (None, "") else int(value)
    if hours < RETENTION_MIN_HOURS:
        raise ValueError(f"HUB_EVENT_RETENTION_HOURS must be at least {RETENTION_MIN_HOURS}")
    return hours
