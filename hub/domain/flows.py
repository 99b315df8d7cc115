"""Flows and events: their bodies (declared once, below), chunking, idempotency keys (pure).

Every send a flow makes goes through the send request with an Idempotency-Key
derived from what triggered it, so a retry — a repeated event, a second hub
process, a takeover after a crash — replays the first answer instead of
sending again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, get_args

import msgspec
from msgspec import Meta

from hub.domain import shapes
from hub.domain.schedules import first_occurrence, iso, parse_at, parse_cron, parse_zone
from hub.errors import InvalidRequest

MAX_DELAY_S = 366 * 86400
# Contacts carried by a scheduled flow or an event; bigger lists are bulk jobs.
MAX_FLOW_CONTACTS = 10_000
# Times in the past are refused, with this much tolerance for clock skew.
PAST_TOLERANCE_S = 60
MAX_ID_LENGTH = 200
MAX_TYPE_LENGTH = 100
NEXT_RUNS_MAX = 5


# -- bodies, declared once ------------------------------------------------------------
# These Structs are what the handlers check bodies against (``validate_*``)
# and what /openapi.json publishes. The rules a JSON Schema cannot say are
# written in the docstrings and checked in ``validate_flow``.

_TEXT = r"\S"  # at least one character that is not white space
Text = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH, pattern=_TEXT)]
EventType = Annotated[str, Meta(min_length=1, max_length=MAX_TYPE_LENGTH, pattern=_TEXT, examples=["case.created"])]
Delay = Annotated[int, Meta(ge=0, le=MAX_DELAY_S)]
Contact = Annotated[dict[str, Any], Meta(extra_json_schema={"$ref": "#/components/schemas/Contact"})]
Contacts = Annotated[list[Contact], Meta(max_length=MAX_FLOW_CONTACTS)]
SomeContacts = Annotated[list[Contact], Meta(min_length=1, max_length=MAX_FLOW_CONTACTS)]
Iso = Annotated[str, Meta(description="ISO 8601 time, UTC.", extra_json_schema={"format": "date-time"})]
Counts = Annotated[dict[str, Annotated[int, Meta(ge=0)]], Meta(description="Contacts by send result status.")]
ErrorBody = Annotated[dict[str, Any], Meta(extra_json_schema={"$ref": "#/components/schemas/Error"})]
_CONTACTS_RULE = f"contacts must be a list of 1 to {MAX_FLOW_CONTACTS} contacts (JSON objects); use a bulk job for more"
_REFUSALS = {
    "name": f"name must be a non-empty string of at most {MAX_ID_LENGTH} characters",
    "configuration_id": f"configuration_id must be a non-empty string of at most {MAX_ID_LENGTH} characters",
    "event_type": f"event_type must be a non-empty string of at most {MAX_TYPE_LENGTH} characters",
    "delay_seconds": f"delay_seconds must be an integer from 0 to {MAX_DELAY_S}",
    "contacts": _CONTACTS_RULE,
    "at": "at must be an ISO 8601 time",
    "cron": "cron must be a cron expression",
    "timezone": "timezone must be an IANA time zone name",
    "kind": "kind must be automated or scheduled",
}


class AutomatedFlowInput(msgspec.Struct, tag_field="kind", tag="automated", forbid_unknown_fields=True):
    """Fires on every `POST /v1/events` of its `event_type`, once per event id."""

    event_type: EventType
    configuration_id: Text
    name: Text | None = None
    delay_seconds: Delay | None = None
    refusals: ClassVar[dict[str, str]] = _REFUSALS


class ScheduledFlowInput(msgspec.Struct, tag_field="kind", tag="scheduled", forbid_unknown_fields=True):
    """Exactly one of `at`, `cron` or `delay_seconds`; `timezone` only with
    `at` or `cron`; `at` not in the past (a minute of tolerance)."""

    configuration_id: Text
    contacts: SomeContacts
    name: Text | None = None
    at: (
        Annotated[str, Meta(description="One-off time, ISO 8601; without an offset it is read in `timezone`.")] | None
    ) = None
    cron: (
        Annotated[
            str,
            Meta(
                description="Five fields (or six, seconds last), read on the wall clock of `timezone`.",
                examples=["0 9 * * 1-5"],
            ),
        ]
        | None
    ) = None
    timezone: Annotated[str, Meta(description="IANA name; default UTC.", examples=["America/New_York"])] | None = None
    delay_seconds: Delay | None = None
    refusals: ClassVar[dict[str, str]] = _REFUSALS


FlowInput = AutomatedFlowInput | ScheduledFlowInput


class FlowPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only `enabled` changes; anything else is a new flow."""

    enabled: bool
    refusals: ClassVar[dict[str, str]] = {"enabled": "enabled must be true or false"}


class EventData(msgspec.Struct):
    """What the event carries; `contacts` are those its flows send to."""

    contacts: Contacts | None = None


class Event(msgspec.Struct, forbid_unknown_fields=True):
    """A system event (`POST /v1/events`): fires the enabled flows of its type, once per `id`."""

    id: Text
    type: EventType
    data: EventData | None = None
    refusals: ClassVar[dict[str, str]] = {
        "id": f"id must be a non-empty string of at most {MAX_ID_LENGTH} characters",
        "type": f"type must be a non-empty string of at most {MAX_TYPE_LENGTH} characters",
        "data": "data must be a JSON object",
        "data.contacts": _CONTACTS_RULE.replace("contacts", "data.contacts", 1),
    }

    @property
    def contacts(self) -> list[Any]:
        return [] if self.data is None or self.data.contacts is None else self.data.contacts


# -- answers --------------------------------------------------------------------------


class FlowRun(msgspec.Struct):
    """One firing of a scheduled flow."""

    occurrence: Iso
    at: Iso
    late: bool
    skipped: Annotated[int, Meta(ge=0, description="Missed occurrences before this one that never fired.")]
    request_id: str | None
    request_ids: list[str]
    counts: Counts
    error: ErrorBody | msgspec.UnsetType = msgspec.UNSET


class Flow(msgspec.Struct):
    """A flow as the API shows it; `contacts`, `runs` and `next_runs` only on GET of one flow."""

    id: str
    kind: Literal["automated", "scheduled"]
    configuration_id: str
    enabled: bool
    created_at: Annotated[float, Meta(description="Unix time in seconds.")]
    name: str | None | msgspec.UnsetType = msgspec.UNSET
    event_type: str | msgspec.UnsetType = msgspec.UNSET
    delay_seconds: Delay | None | msgspec.UnsetType = msgspec.UNSET
    at: Iso | None | msgspec.UnsetType = msgspec.UNSET
    cron: str | None | msgspec.UnsetType = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET
    contact_count: Annotated[int, Meta(ge=0)] | msgspec.UnsetType = msgspec.UNSET
    next_run_at: Iso | None | msgspec.UnsetType = msgspec.UNSET
    next_runs: (
        Annotated[
            list[Iso],
            Meta(
                max_length=NEXT_RUNS_MAX,
                description="The next run and, for a cron, the ones after it (5 at most; empty while disabled); "
                "only on GET of one flow.",
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    contacts: (
        Annotated[list[Contact], Meta(max_length=MAX_FLOW_CONTACTS, description="Only on GET of one flow.")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    runs: (
        Annotated[list[FlowRun], Meta(description="Latest 100, oldest first; only on GET of one flow.")]
        | msgspec.UnsetType
    ) = msgspec.UNSET


class FlowFiring(msgspec.Struct):
    """What one flow did with an event."""

    flow_id: str
    configuration_id: str
    status: Literal["sent", "scheduled", "failed"]
    send_at: Iso | msgspec.UnsetType = msgspec.UNSET
    request_id: str | None | msgspec.UnsetType = msgspec.UNSET
    request_ids: list[str] | msgspec.UnsetType = msgspec.UNSET
    counts: Counts | msgspec.UnsetType = msgspec.UNSET
    requests: (
        Annotated[list[dict[str, Any]], Meta(extra_json_schema={"items": {"$ref": "#/components/schemas/SendAnswer"}})]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    error: ErrorBody | msgspec.UnsetType = msgspec.UNSET


class EventAnswer(msgspec.Struct):
    """One entry per flow fired."""

    event_id: str
    type: str
    flows: list[FlowFiring]


BulkJobStatus = Literal["pending", "running", "done", "failed", "canceled"]
JOB_STATUSES: tuple[str, ...] = get_args(BulkJobStatus)


class BulkJob(msgspec.Struct):
    """A bulk job and its progress."""

    id: str
    configuration_id: str
    status: BulkJobStatus
    total: Annotated[int, Meta(ge=0)]
    processed: Annotated[int, Meta(ge=0)]
    counts: Counts
    waiting: Annotated[bool, Meta(description="Waiting out the hourly limit (not failed).")]
    format: Literal["csv", "jsonl"] | msgspec.UnsetType = msgspec.UNSET
    chunks: Annotated[int, Meta(ge=0)] | msgspec.UnsetType = msgspec.UNSET
    chunks_done: Annotated[int, Meta(ge=0)] | msgspec.UnsetType = msgspec.UNSET
    retry_after: Annotated[int, Meta(description="Seconds, while waiting.")] | None | msgspec.UnsetType = msgspec.UNSET
    error: ErrorBody | None | msgspec.UnsetType = msgspec.UNSET
    created_at: Annotated[float, Meta(description="Unix time in seconds.")] | msgspec.UnsetType = msgspec.UNSET
    started_at: float | None | msgspec.UnsetType = msgspec.UNSET
    finished_at: float | None | msgspec.UnsetType = msgspec.UNSET


# -- checks ---------------------------------------------------------------------------


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def _object(body: Any) -> None:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")


def _stripped(value: str | None) -> str | None:
    return None if value is None else value.strip()


def validate_flow(body: Any, now: datetime) -> dict[str, Any]:
    """A new flow's record (without id); ``first_run_at`` for scheduled ones."""
    _object(body)
    given: AutomatedFlowInput | ScheduledFlowInput = shapes.convert(body, FlowInput)  # type: ignore[arg-type]
    record: dict[str, Any] = {
        "kind": "automated" if isinstance(given, AutomatedFlowInput) else "scheduled",
        "name": _stripped(given.name),
        "configuration_id": given.configuration_id.strip(),
        "enabled": True,
    }
    if isinstance(given, AutomatedFlowInput):
        record["event_type"] = given.event_type.strip()
        record["delay_seconds"] = given.delay_seconds
        return record

    when = [f for f in ("at", "cron", "delay_seconds") if getattr(given, f) is not None]
    if len(when) != 1:
        raise _bad("at", "a scheduled flow takes exactly one of at, cron or delay_seconds")
    if given.timezone is not None and given.delay_seconds is not None:
        raise _bad("timezone", "timezone goes with cron or at")
    zone = parse_zone(given.timezone or "UTC")
    at: datetime | None = None
    cron: str | None = None
    if given.delay_seconds is not None:
        at = now + timedelta(seconds=given.delay_seconds)
    elif given.at is not None:
        at = parse_at(given.at, zone)
        if (now - at).total_seconds() > PAST_TOLERANCE_S:
            raise _bad("at", "at is in the past")
    else:
        cron = parse_cron(given.cron)
    first = first_occurrence(at=at, cron=cron, zone=zone, now=now)
    record.update(
        contacts=list(given.contacts),
        at=iso(at) if at is not None else None,
        cron=cron,
        timezone=zone.key,
        delay_seconds=given.delay_seconds,
        first_run_at=iso(first),
    )
    return record


def validate_flow_patch(body: Any) -> bool:
    """Only ``enabled`` changes; anything else is a new flow."""
    _object(body)
    return shapes.convert(body, FlowPatch).enabled


def validate_event(body: Any) -> Event:
    _object(body)
    event = shapes.convert(body, Event)
    return msgspec.structs.replace(event, id=event.id.strip(), type=event.type.strip())


def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield list(items[start : start + size])


def event_key(event_id: str, flow_id: str, chunk: int) -> str:
    return f"event:{event_id}:{flow_id}:{chunk}"


def schedule_key(flow_id: str, occurrence_ms: int, chunk: int) -> str:
    return f"schedule:{flow_id}:{occurrence_ms}:{chunk}"


def bulk_key(job_id: str, chunk: int) -> str:
    return f"bulk:{job_id}:{chunk}"
