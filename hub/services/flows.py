"""Flows: create, change, show and delete them; fire automated flows on events.

Every send goes through ``send_request`` with an Idempotency-Key derived from
the trigger (``event:{event}:{flow}:{chunk}``), so a repeated event — posted
twice, to two processes at once, or again after a crash halfway — sends each
chunk once and answers with the first answers.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from hub import clock
from hub.domain.flows import Event, chunks, event_key, validate_event, validate_flow, validate_flow_patch
from hub.domain.records import Org
from hub.domain.schedules import UTC, from_ms, iso, next_occurrence, parse_at, parse_zone, to_ms, upcoming
from hub.errors import HubError, IdempotencyConflict, NotFound, RateLimited
from hub.services.context import Hub
from hub.services.outbound import new_id, send_request
from hub.storage.flows import RUNS_KEPT
from hub.storage.sql.flow_runs import latest_runs

# A repeated event id is answered from memory this long (sends are also
# idempotent for 24 h on their own).
EVENT_TTL_S = 7 * 86400


async def send_in_chunks(
    hub: Hub, org: Org, config_id: str, contacts: Sequence[Any], key_of: Callable[[int], str]
) -> list[dict[str, Any]]:
    """Send requests of at most the org's contacts_per_request; their answers, in order.

    ``RateLimited`` and other request-level errors propagate; the chunks sent
    before stay sent, and a retry with the same keys replays them.
    """
    answers = []
    for index, chunk in enumerate(chunks(contacts, org.limits["contacts_per_request"])):
        body = json.dumps({"configuration_id": config_id, "contacts": chunk}).encode()
        answers.append(await send_request(hub, org, body, key_of(index)))
    return answers


def summary(answers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for answer in answers:
        for result in answer["results"]:
            counts[result["status"]] = counts.get(result["status"], 0) + 1
    ids = [a["request_id"] for a in answers]
    return {"request_id": ids[0] if ids else None, "request_ids": ids, "counts": counts}


def error_of(exc: HubError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message}


# -- flows -------------------------------------------------------------------------


async def create_flow(hub: Hub, org: Org, body: Any) -> dict[str, Any]:
    flow = validate_flow(body, datetime.now(UTC))
    if await hub.configurations.load(org.id, flow["configuration_id"]) is None:
        raise NotFound("no such outbound configuration", details={"field": "configuration_id"})
    flow.update(id=new_id("flw"), org_id=org.id, created_at=time.time())
    due_ms = None
    if flow["kind"] == "scheduled":
        due_ms = to_ms(parse_at(flow.pop("first_run_at"), UTC))
    await hub.flows.create(org.id, flow, due_ms)
    if due_ms is not None:
        hub.board.announce(org.id, "schedule")  # every scheduler learns its time
    return await public_flow(hub, flow)


async def load_flow(hub: Hub, org: Org, flow_id: str) -> dict[str, Any]:
    flow = await hub.flows.load(org.id, flow_id)
    if flow is None:
        raise NotFound("no such flow")
    return flow


async def set_enabled(hub: Hub, org: Org, flow_id: str, body: Any) -> dict[str, Any]:
    enabled = validate_flow_patch(body)
    flow = await load_flow(hub, org, flow_id)
    flow["enabled"] = enabled
    due_ms: int | None = None
    if flow["kind"] == "scheduled" and enabled:
        if flow["cron"]:
            # Occurrences while it was disabled are not owed: the next one from now.
            due_ms = to_ms(next_occurrence(flow["cron"], parse_zone(flow["timezone"]), datetime.now(UTC)))
        elif not await flow_runs(hub, org.id, flow_id):
            due_ms = to_ms(parse_at(flow["at"], UTC))  # not fired yet (late if its time passed)
    await hub.flows.save(org.id, flow, due_ms)
    if due_ms is not None:
        hub.board.announce(org.id, "schedule")
    return await public_flow(hub, flow)


async def delete_flow(hub: Hub, org: Org, flow_id: str) -> None:
    await hub.flows.delete(org.id, await load_flow(hub, org, flow_id))


# How many coming occurrences GET of one scheduled flow lists.
NEXT_RUNS_SHOWN = 5


async def public_flow(hub: Hub, flow: dict[str, Any], *, detail: bool = True) -> dict[str, Any]:
    out = {k: v for k, v in flow.items() if k not in ("org_id", "contacts")}
    if flow["kind"] == "scheduled":
        next_ms = await hub.flows.next_run_ms(flow["org_id"], flow["id"])
        out["contact_count"] = len(flow["contacts"])
        out["next_run_at"] = iso(from_ms(next_ms)) if next_ms is not None else None
        if detail:
            out["next_runs"] = (
                []
                if next_ms is None
                else [
                    iso(m)
                    for m in upcoming(
                        flow.get("cron"), parse_zone(flow.get("timezone") or "UTC"), from_ms(next_ms), NEXT_RUNS_SHOWN
                    )
                ]
            )
            out["contacts"] = flow["contacts"]
            out["runs"] = await flow_runs(hub, flow["org_id"], flow["id"])
    return out


def _entry_order(entry: str) -> tuple[int, int]:
    ms, _, seq = entry.partition("-")
    return int(ms), int(seq or 0)


async def flow_runs(hub: Hub, org_id: str, flow_id: str) -> list[dict[str, Any]]:
    """The flow's last RUNS_KEPT runs, oldest first: those still in Redis
    (also the ones not archived yet) merged with those in SQL, each once."""
    hot = await hub.flows.runs(org_id, flow_id)
    merged: dict[str, dict[str, Any]] = {}
    if hub.history is not None and len(hot) < RUNS_KEPT:
        merged.update(await latest_runs(hub.history, org_id, flow_id, RUNS_KEPT))
    merged.update((entry, run) for entry, run in hot if entry)
    older = [run for entry, run in hot if entry is None]  # recorded before runs were archived
    return (older + [merged[e] for e in sorted(merged, key=_entry_order)])[-RUNS_KEPT:]


# -- events -------------------------------------------------------------------------


def _digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def delayed_id(event_id: str, flow_id: str) -> str:
    """The same event and flow always name the same delayed send."""
    return "dly_" + hashlib.sha256(f"{event_id}\x00{flow_id}".encode()).hexdigest()[:24]


async def handle_event(hub: Hub, org: Org, body: Any) -> dict[str, Any]:
    """Fire every enabled flow for the event's type, once per event id; the 202 answer.

    Over the hourly limit, ``RateLimited`` propagates (429): the event is not
    remembered, so the caller's retry finishes what is left, exactly once.
    """
    event = validate_event(body)
    digest = _digest(body)
    stored = await hub.flows.load_event(org.id, event.id)
    if stored is not None:
        if stored["hash"] != digest:
            raise IdempotencyConflict("this event id was used with a different body", details={"field": "id"})
        return dict(stored["answer"])
    flows = [f for f in await hub.flows.for_event(org.id, event.type) if f.get("enabled")]
    results = [await _fire(hub, org, event, flow) for flow in flows]
    answer = {"event_id": event.id, "type": event.type, "flows": results}
    await hub.flows.save_event(org.id, event.id, {"hash": digest, "answer": answer}, EVENT_TTL_S)
    return answer


async def _fire(hub: Hub, org: Org, event: Event, flow: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"flow_id": flow["id"], "configuration_id": flow["configuration_id"]}
    if flow.get("delay_seconds"):
        now_ms = clock.now_ms()
        at_ms = now_ms + flow["delay_seconds"] * 1000
        payload = {
            "event_id": event.id,
            "flow_id": flow["id"],
            "at_ms": at_ms,
            "configuration_id": flow["configuration_id"],
            "contacts": event.contacts,
        }
        stored = await hub.flows.add_delayed(
            org.id, delayed_id(event.id, flow["id"]), payload, at_ms, flow["delay_seconds"] + EVENT_TTL_S
        )
        hub.board.announce(org.id, "schedule")
        return {**result, "status": "scheduled", "send_at": iso(from_ms(stored["at_ms"]))}
    try:
        answers = await send_in_chunks(
            hub, org, flow["configuration_id"], event.contacts, lambda i: event_key(event.id, flow["id"], i)
        )
    except RateLimited:
        raise
    except HubError as exc:
        return {**result, "status": "failed", "error": error_of(exc)}
    return {**result, "status": "sent", **summary(answers), "requests": answers}
