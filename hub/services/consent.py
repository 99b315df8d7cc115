"""The consent ledger and a customer's erasure.

Every opt-in and opt-out (a keyword from the customer, an API call, a send
request's ``optin``) is put on the org's archive stream by the script that
changes the state, in the same step; the archiver writes it to SQL
(hub.storage.sql.consent) with the number's hash, so nothing on the send or
webhook path waits for SQL. The current state stays in Redis (the opt-out
sets the hot path reads); the ledger is read from SQL, so an entry shows
there a few seconds after the change (the archiver's settle time).

An erasure closes the customer's open conversations (their agents are told,
reason ``erased``), erases what Redis holds (hub.storage.consent), then what
SQL holds, and records a tombstone: the number's hash, when, who asked, what
was erased. Their opt-outs stay, as the hash.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from hub import clock
from hub.domain import partitions as parts
from hub.domain.consent import ConsentInput
from hub.domain.shapes import convert
from hub.errors import Conflict, InvalidRequest, NotFound
from hub.logs import get_logger
from hub.services.context import Hub
from hub.storage.sql import consent as sql_consent
from hub.storage.sql import rollups

log = get_logger("consent")

# An archiver that loaded a copy just before the erasure may write it just
# after; a second pass this long after the first takes it out again.
SECOND_PASS_S = 6.0
EXPORT_PAGE = 1000
CSV_COLUMNS = (
    "id",
    "phone",
    "phone_hash",
    "channel_id",
    "action",
    "source",
    "at",
    "message_id",
    "provider_message_id",
    "activity_id",
    "actor",
)

_second_passes: set[asyncio.Task[None]] = set()


async def archive_consent(hub: Hub, org_id: str, entries: Sequence[tuple[str, str]]) -> None:
    """Write the ledger entries these archive stream entries carry (entry id, JSON list)."""
    if hub.history is None or not entries:
        return
    rows = []
    for entry_id, raw in entries:
        for idx, event in enumerate(json.loads(raw)):
            rows.append(
                sql_consent.LedgerRow(
                    org_id, entry_id, idx, event["phone"], await hub.consent.hash(org_id, event["phone"]), event
                )
            )
    await sql_consent.write_ledger(hub.history, rows)
    # The report's opt-outs: a keyword names the activity it answers.
    await rollups.record_answers(
        hub.history,
        org_id,
        [
            rollups.Answer(r.event["answers"], int(r.event["at"]))
            for r in rows
            if r.event.get("action") == "opt_out" and r.event.get("answers")
        ],
        hub.settings.correlation_window_s * 1000,
    )


async def _channel_ids(hub: Hub, org_id: str) -> list[str]:
    ids: list[str] = []
    after: float | None = None
    while True:
        channels, after = await hub.channels.page(org_id, after=after, limit=500)
        ids += [c.id for c in channels]
        if after is None:
            return ids


async def ledger(hub: Hub, org_id: str, phone: str, cursor: str | None, limit: int) -> dict[str, Any]:
    assert hub.history is not None
    before = None
    if cursor:
        before = sql_consent.parse_key(cursor)
        if before is None:
            raise InvalidRequest("cursor is not one this list gave", details={"field": "cursor"})
    phone_hash = await hub.consent.hash(org_id, phone)
    states = await hub.consent.states(org_id, phone, phone_hash, await _channel_ids(hub, org_id))
    items, next_cursor = await sql_consent.contact_ledger(hub.history, org_id, phone_hash, before, limit)
    return {
        "phone": phone,
        "channels": [{"channel_id": ch, "opted_out": out} for ch, out in states.items()],
        "erasures": await sql_consent.erasures(hub.history, org_id, phone_hash),
        "items": items,
        "next_cursor": next_cursor,
    }


async def export_csv(hub: Hub, org_id: str, since_ms: int, phone: str | None) -> AsyncIterator[str]:
    """The org's ledger (or one number's) since ``since_ms``, oldest first,
    as CSV, read in pages."""
    assert hub.history is not None
    phone_hash = await hub.consent.hash(org_id, phone) if phone else None
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    after = None
    while True:
        rows = await sql_consent.org_ledger(hub.history, org_id, since_ms, after, EXPORT_PAGE, phone_hash)
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < EXPORT_PAGE:
            return
        after = sql_consent.parse_key(rows[-1]["id"])


async def set_consent(hub: Hub, org_id: str, phone: str, body: Any, actor: str) -> None:
    """An opt-out or opt-in through the API (source ``api``)."""
    asked = convert(body, ConsentInput)
    action, channel_id = asked.action, asked.channel_id
    if await hub.channels.load(org_id, channel_id) is None:
        raise NotFound("no such channel", details={"field": "channel_id"})
    entry = {
        "phone": phone,
        "channel": channel_id,
        "action": action,
        "source": "api",
        "at": str(clock.now_ms()),
        "actor": actor,
    }
    await hub.consent.set(org_id, channel_id, phone, await hub.consent.hash(org_id, phone), action, entry)
    hub.board.poke(org_id, "archive")


async def _erase_activities(
    hub: Hub, org_id: str, phone: str, partitions: int, channel_ids: list[str]
) -> tuple[list[str], int, int]:
    """Redacts the customer's activities in the org and in each of its
    partitions, whose timeline entries and latest-sent pointers for the
    customer go too (the org's own go with its conversations); returns
    (redacted ids, in flight, partition timeline entries dropped)."""
    redacted, in_flight, entries = [], 0, 0
    for unit in parts.units(org_id, partitions):
        unit_redacted, unit_flying = await hub.consent.erase_activities(unit, phone)
        redacted += unit_redacted
        in_flight += unit_flying
        if unit != org_id:
            entries += await hub.consent.forget_in_partition(unit, phone, channel_ids)
    return redacted, in_flight, entries


async def erase(
    hub: Hub,
    org_id: str,
    phone: str,
    requested_by: str,
    close: Callable[[str], Awaitable[None]],
    *,
    partitions: int = 1,
) -> dict[str, int]:
    """Erase the customer; ``close(conversation_id)`` closes an open
    conversation as an admin would (reason ``erased``). Idempotent: a second
    call finds nothing left and answers zeros. ``partitions``: the org's."""
    assert hub.history is not None
    phone_hash = await hub.consent.hash(org_id, phone)
    channel_ids = await _channel_ids(hub, org_id)
    agent_ids = [a["id"] for a in await hub.agents.all(org_id)]
    erased: dict[str, Any] = {}
    for _ in range(5):  # a customer writing meanwhile may open a conversation again
        still_open, erased = await hub.consent.erase_conversations(org_id, phone, phone_hash, channel_ids, agent_ids)
        if not still_open:
            break
        for conv in still_open:
            try:
                await close(conv)
            except (Conflict, NotFound):
                pass  # closed meanwhile
    else:
        raise Conflict("the customer keeps writing; try again", code="erasure_busy")
    hub.board.poke(org_id, "archive")  # the closes
    redacted, in_flight, _ = await _erase_activities(hub, org_id, phone, partitions, channel_ids)
    in_sql = await sql_consent.erase(hub.history, org_id, phone, phone_hash)
    counts = {
        "activities": len(set(redacted) | set(in_sql["activities"])),
        "conversations": len(set(erased["conversations"]) | set(in_sql["conversations"])),
        "messages": len(set(erased["messages"]) | set(in_sql["messages"])),
        "opt_outs_kept": erased["opt_outs_kept"],
        "activities_in_flight": in_flight,
    }
    await sql_consent.record_erasure(
        hub.history, org_id, phone_hash, requested_by=requested_by, now_ms=clock.now_ms(), counts=counts
    )
    task = asyncio.create_task(_second_pass(hub, org_id, phone, phone_hash, partitions, channel_ids))
    _second_passes.add(task)
    task.add_done_callback(_second_passes.discard)
    return counts


async def _second_pass(
    hub: Hub, org_id: str, phone: str, phone_hash: str, partitions: int = 1, channel_ids: list[str] | None = None
) -> None:
    assert hub.history is not None
    try:
        await asyncio.sleep(SECOND_PASS_S)
        await _erase_activities(hub, org_id, phone, partitions, channel_ids or [])
        await sql_consent.erase(hub.history, org_id, phone, phone_hash)
    except asyncio.CancelledError:
        raise
    except Exception:  # a background task: nobody else would see it
        log.exception("erasure's second pass failed", extra={"org": org_id})
