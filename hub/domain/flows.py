"""Flows and events: validation of their bodies, chunking, idempotency keys (pure).

Every send a flow makes goes through the send request with an Idempotency-Key
derived from what triggered it, so a retry — a repeated event, a second hub
process, a takeover after a crash — replays the first answer instead of
sending again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.domain.schedules import first_occurrence, iso, parse_at, parse_cron, parse_zone
from hub.errors import InvalidRequest

KINDS = ("automated", "scheduled")
MAX_DELAY_S = 366 * 86400
# Contacts carried by a scheduled flow or an event; bigger lists are bulk jobs.
MAX_FLOW_CONTACTS = 10_000
# Times in the past are refused, with this much tolerance for clock skew.
PAST_TOLERANCE_S = 60
MAX_ID_LENGTH = 200

_AUTOMATED_FIELDS = {"kind", "name", "event_type", "configuration_id", "delay_seconds"}
_SCHEDULED_FIELDS = {"kind", "name", "configuration_id", "contacts", "at", "cron", "timezone", "delay_seconds"}


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    contacts: list[Any]


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def _text(body: Mapping[str, Any], field: str, *, limit: int = MAX_ID_LENGTH) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _bad(field, f"{field} must be a non-empty string of at most {limit} characters")
    return value.strip()


def _delay(body: Mapping[str, Any]) -> int | None:
    value = body.get("delay_seconds")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DELAY_S:
        raise _bad("delay_seconds", f"delay_seconds must be an integer from 0 to {MAX_DELAY_S}")
    return value


def _contacts(value: Any, field: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(field, f"{field} must be a list of contacts")
    if len(value) > limit:
        raise _bad(field, f"at most {limit} contacts here; use a bulk job for more")
    if not all(isinstance(c, dict) for c in value):
        raise _bad(field, "each contact must be a JSON object")
    return list(value)


def validate_flow(body: Any, now: datetime) -> dict[str, Any]:
    """A new flow's record (without id); ``first_run_at`` for scheduled ones."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    kind = body.get("kind")
    if kind not in KINDS:
        raise _bad("kind", "kind must be automated or scheduled")
    allowed = _AUTOMATED_FIELDS if kind == "automated" else _SCHEDULED_FIELDS
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _bad(unknown[0], f"unknown field {unknown[0]!r} for a {kind} flow")
    record: dict[str, Any] = {
        "kind": kind,
        "name": _text(body, "name") if body.get("name") is not None else None,
        "configuration_id": _text(body, "configuration_id"),
        "enabled": True,
    }
    if kind == "automated":
        record["event_type"] = _text(body, "event_type", limit=100)
        record["delay_seconds"] = _delay(body)
        return record

    given = [f for f in ("at", "cron", "delay_seconds") if body.get(f) is not None]
    if len(given) != 1:
        raise _bad("at", "a scheduled flow takes exactly one of at, cron or delay_seconds")
    if body.get("timezone") is not None and "cron" not in given and "at" not in given:
        raise _bad("timezone", "timezone goes with cron or at")
    zone_name = body.get("timezone") or "UTC"
    zone = parse_zone(zone_name)
    contacts = _contacts(body.get("contacts"), "contacts", MAX_FLOW_CONTACTS)
    if not contacts:
        raise _bad("contacts", "contacts must not be empty")
    at: datetime | None = None
    cron: str | None = None
    delay = _delay(body)
    if delay is not None:
        at = now + timedelta(seconds=delay)
    elif "at" in given:
        at = parse_at(body["at"], zone)
        if (now - at).total_seconds() > PAST_TOLERANCE_S:
            raise _bad("at", "at is in the past")
    else:
        cron = parse_cron(body["cron"])
    first = first_occurrence(at=at, cron=cron, zone=zone, now=now)
    record.update(
        contacts=contacts,
        at=iso(at) if at is not None else None,
        cron=cron,
        timezone=zone.key,
        delay_seconds=delay,
        first_run_at=iso(first),
    )
    return record


def validate_flow_patch(body: Any) -> bool:
    """Only ``enabled`` changes; anything else is a new flow."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    unknown = sorted(set(body) - {"enabled"})
    if unknown:
        raise _bad(unknown[0], "only enabled can change; delete the flow and create another")
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise _bad("enabled", "enabled must be true or false")
    return enabled


def validate_event(body: Any) -> Event:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    data = body.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _bad("data", "data must be a JSON object")
    contacts = data.get("contacts")
    return Event(
        id=_text(body, "id"),
        type=_text(body, "type", limit=100),
        contacts=[] if contacts is None else _contacts(contacts, "data.contacts", MAX_FLOW_CONTACTS),
    )


def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield list(items[start : start + size])


def event_key(event_id: str, flow_id: str, chunk: int) -> str:
    return f"event:{event_id}:{flow_id}:{chunk}"


def schedule_key(flow_id: str, occurrence_ms: int, chunk: int) -> str:
    return f"schedule:{flow_id}:{occurrence_ms}:{chunk}"


def bulk_key(job_id: str, chunk: int) -> str:
    return f"bulk:{job_id}:{chunk}"
