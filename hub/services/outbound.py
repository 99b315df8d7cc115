"""Accepting a send request: validate each contact, render, and hand the
accepted ones to the outbound stream in one atomic step (three, each
atomic and safe to repeat, for an org with several partitions: see
hub.storage.activities.ActivityStore.accept_partitioned)."""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub import clock
from hub.domain import partitions as parts
from hub.domain.contacts import (
    ConfigurationView,
    ValidContact,
    parse_send_request,
    placeholder_values,
    validate_contact,
)
from hub.domain.correlation import key_values, recent_entry
from hub.domain.json_input import decode_json
from hub.domain.phones import time_zones
from hub.domain.quiet_hours import QuietHours, effective_window, next_send_at, zones_for
from hub.domain.records import Channel, Configuration, Org
from hub.domain.segments import count_segments
from hub.domain.statuses import ActivityStatus
from hub.domain.templates import RenderedMessage, TemplateSpec, render_for_contact
from hub.errors import (
    ContactError,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    RateLimited,
    TooManyContacts,
)
from hub.services.context import Hub
from hub.storage import json_text
from hub.storage.activities import Admission, iso_ms

HOUR_MS = 3_600_000
IDEMPOTENCY_TTL_S = 24 * 3600


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


@dataclass(frozen=True)
class _Batch:
    """What every contact of one send request shares."""

    org_id: str
    config: Configuration
    channel: Channel
    spec: TemplateSpec
    view: ConfigurationView
    window: QuietHours | None
    queue: str
    correlation_keys: Sequence[str]
    request_id: str
    now_ms: int
    hour: str
    partitions: int = 1


async def send_request(
    hub: Hub,
    org: Org,
    raw_body: bytes,
    idempotency_key: str | None,
    *,
    turn: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Returns the 202 answer; raises for request-level faults (nothing queued).

    ``turn``, when given, is awaited after the request is validated and
    rendered, just before it is accepted (idempotency, the hourly limit, the
    activities): a caller sending several requests at once uses it to have
    them take the hourly budget in an order of its choosing. It may raise to
    keep the request out; nothing is stored then."""
    body = decode_json(raw_body)
    config_id, contacts = _parse_request(body, org.limits, idempotency_key)
    batch = await _load_batch(hub, org, config_id)
    checked = _validate_contacts(contacts, batch.view, org.default_region)
    opted_out = await _opted_out(hub, batch, checked)
    results, activities = _plan_activities(batch, checked, opted_out)
    response = {"request_id": batch.request_id, "results": results}
    if turn is not None:
        await turn()
    replayed = await _accept(hub, org, batch, body, idempotency_key, response, activities)
    if replayed is not None:
        return replayed
    if org.partitions > 1:
        _announce_partitions(hub, org, activities)
    else:
        _announce(hub, batch.org_id, activities)
    return response


def _parse_request(body: Any, limits: Mapping[str, int], idempotency_key: str | None) -> tuple[str, list[Any]]:
    """The configuration id and the contacts, within the org's per-request limit."""
    config_id, contacts = parse_send_request(body)
    if len(contacts) > limits["contacts_per_request"]:
        raise TooManyContacts(
            f"at most {limits['contacts_per_request']} contacts per request",
            details={"limit": limits["contacts_per_request"], "given": len(contacts)},
        )
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidRequest("Idempotency-Key must be 1 to 255 characters")
    return config_id, contacts


async def _load_batch(hub: Hub, org: Org, config_id: str) -> _Batch:
    """The configuration with its channel and template; the request's id and time."""
    org_id = org.id
    config = await hub.configurations.load(org_id, config_id)
    if config is None:
        raise NotFound("no such outbound configuration", details={"field": "configuration_id"})
    channel = await hub.channels.load(org_id, config.channel_id)
    template = await hub.templates.load(org_id, config.template_id)
    if channel is None or template is None:
        raise InvalidRequest(
            "the configuration's channel or template no longer exists",
            details={"field": "configuration_id"},
        )
    now_ms = clock.now_ms()
    return _Batch(
        org_id=org_id,
        config=config,
        channel=channel,
        spec=template.spec(),
        view=ConfigurationView(config.id, config.channel_type, config.show_in_timeline),
        window=effective_window(org.quiet_hours, config.quiet_hours),
        queue=config.queue,
        correlation_keys=config.correlation_keys,
        request_id=new_id("req"),
        now_ms=now_ms,
        hour=time.strftime("%Y%m%d%H", time.gmtime(now_ms / 1000)),
        partitions=org.partitions,
    )


def _validate_contacts(
    contacts: list[Any], view: ConfigurationView, default_region: str
) -> list[ValidContact | ContactError]:
    """Each contact checked on its own: a bad one is rejected, the others go on."""
    checked: list[ValidContact | ContactError] = []
    for raw in contacts:
        try:
            checked.append(validate_contact(raw, view, default_region))
        except ContactError as exc:
            checked.append(exc)
    return checked


async def _opted_out(hub: Hub, batch: _Batch, checked: list[ValidContact | ContactError]) -> set[str]:
    phones = [c.to for c in checked if isinstance(c, ValidContact)]
    return await hub.consent.opted_out(batch.org_id, batch.channel.id, phones)


def _plan_activities(
    batch: _Batch, checked: list[ValidContact | ContactError], opted_out: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One result per contact, in order; one activity per contact not rejected."""
    results: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    held: dict[tuple[str, ...], int | None] = {}  # send_at by zones: contacts share them
    for index, contact in enumerate(checked):
        if isinstance(contact, ContactError):
            results.append(_rejected(index, contact))
            continue
        try:
            rendered = render_for_contact(batch.spec, contact.locale, placeholder_values(contact))
        except ContactError as exc:
            results.append(_rejected(index, exc))
            continue
        status = _consent_status(contact, opted_out)
        send_at_ms = _send_at_ms(batch.window, contact, batch.now_ms, held) if status == ActivityStatus.queued else None
        if send_at_ms is not None:
            status = ActivityStatus.deferred
        if batch.partitions > 1:
            partition = parts.contact_partition(batch.partitions, batch.channel.id, contact.to)
            activity_id = parts.activity_id(batch.partitions, partition)
        else:
            activity_id = new_id("act")
        fields = _activity_fields(batch, activity_id, contact, rendered, status)
        result = {"index": index, "status": str(status), "activity_id": activity_id}
        if send_at_ms is not None:
            fields["send_at"] = send_at_ms
            result["send_at"] = iso_ms(send_at_ms)
        if batch.config.channel_type == "sms":
            counted = count_segments(rendered.body)
            result.update(encoding=counted.encoding, segments=counted.segments)
            # What the provider bills it as: the report sums them.
            fields["segments"] = counted.segments
        activities.append({"id": activity_id, "score": batch.now_ms * 1000 + index, "fields": fields})
        results.append(result)
    return results, activities


def _consent_status(contact: ValidContact, opted_out: set[str]) -> ActivityStatus:
    if not contact.optin:
        return ActivityStatus.skipped_no_optin
    if contact.to in opted_out:
        return ActivityStatus.skipped_opted_out
    return ActivityStatus.queued


def _activity_fields(
    batch: _Batch, activity_id: str, contact: ValidContact, rendered: RenderedMessage, status: ActivityStatus
) -> dict[str, Any]:
    config, channel = batch.config, batch.channel
    return {
        "id": activity_id,
        "org": batch.org_id,
        "cfg": config.id,
        "tpl": config.template_id,
        "req": batch.request_id,
        "channel": channel.id,
        "type": config.channel_type,
        "to": contact.to,
        "from": channel.address,
        "locale": rendered.locale,
        "body": rendered.body,
        "customer": contact.customer_name,
        "case": contact.case_name,
        "rel": contact.relationship or "",
        "status": str(status),
        "cfg_name": config.name,
        "queue": batch.queue,
        "created": batch.now_ms,
        "updated": batch.now_ms,
        "hour": batch.hour,
        "timeline": "1" if batch.view.show_in_timeline else "0",
        "content_sid": rendered.content_sid or "",
        "content_vars": json.dumps(rendered.content_variables) if rendered.content_sid else "",
        # Its entry in the customer's recent messages once the provider takes it.
        "corr": recent_entry(
            activity_id,
            batch.queue,
            contact.case_name,
            key_values(batch.correlation_keys, contact.case_name, contact.context),
        ),
    }


async def _accept(
    hub: Hub,
    org: Org,
    batch: _Batch,
    body: Any,
    idempotency_key: str | None,
    response: dict[str, Any],
    activities: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Stores the request in one atomic step. Returns the earlier answer when the
    Idempotency-Key replays a request; None when this one was accepted."""
    limits = org.limits
    accept = hub.activities.accept
    if org.partitions > 1:
        accept = functools.partial(hub.activities.accept_partitioned, partitions=org.partitions)
    admission = Admission(
        now_ms=batch.now_ms,
        window_ms=HOUR_MS,
        limit=limits["requests_per_hour"],
        request_id=batch.request_id,
        idem_key=idempotency_key,
        idem_hash=_body_hash(body) if idempotency_key else "",
        idem_ttl_s=IDEMPOTENCY_TTL_S,
        response_json=json_text.text(response),
        retention_s=hub.settings.retention_s,
    )
    accepted = await accept(batch.org_id, admission, activities)
    if accepted.outcome == "replay":
        hub.metrics.accepted.labels("replay").inc()
        return dict(json.loads(accepted.response or "{}"))
    if accepted.outcome == "conflict":
        raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
    if accepted.outcome == "limited":
        hub.metrics.accepted.labels("rate_limited").inc()
        raise RateLimited(
            f"more than {limits['requests_per_hour']} send requests in the last hour",
            retry_after=accepted.retry_after or 1,
            details={"limit": limits["requests_per_hour"], "retry_after": accepted.retry_after},
        )
    hub.metrics.accepted.labels("accepted").inc()
    return None


def _announce(hub: Hub, org_id: str, activities: list[dict[str, Any]]) -> None:
    # This process's workers read the org's stream at once; the others are told.
    hub.board.announce(org_id, "outbound")
    if any(a["fields"]["status"] == ActivityStatus.deferred for a in activities):
        hub.board.announce(org_id, "deferred")  # every release loop learns the new due time
    hub.board.poke(org_id, "archive")


def _announce_partitions(hub: Hub, org: Org, activities: list[dict[str, Any]]) -> None:
    """The partitions that got messages: their workers and archivers look now."""
    for p in sorted({parts.activity_partition(org.partitions, a["id"]) or 0 for a in activities}):
        unit = parts.unit(org.id, p)
        hub.board.announce(unit, "outbound")
        if any(
            a["fields"]["status"] == ActivityStatus.deferred and parts.activity_partition(org.partitions, a["id"]) == p
            for a in activities
        ):
            hub.board.announce(unit, "deferred")  # every release loop learns the new due time
        hub.board.poke(unit, "archive")
    hub.board.poke(org.id, "archive")  # the contacts' opt-ins


def _send_at_ms(
    window: QuietHours | None, contact: ValidContact, now_ms: int, cache: dict[tuple[str, ...], int | None]
) -> int | None:
    """When the recipient's quiet hours hold the message: its send_at (ms); else None.
    ``cache``: the answers of this request by zones (a +1 800 number may be
    in 42 zones, which costs tens of milliseconds to work out)."""
    if window is None:
        return None
    zones = zones_for(time_zones(contact.to), contact.timezone, window)
    names = tuple(z.key for z in zones)
    if names not in cache:
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        at = next_send_at(now, zones, window)
        cache[names] = int(at.timestamp() * 1000) if at > now else None
    return cache[names]


def _rejected(index: int, exc: ContactError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details is not None:
        error["details"] = exc.details
    return {"index": index, "status": "rejected", "error": error}


def _body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
