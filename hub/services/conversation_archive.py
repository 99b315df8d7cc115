"""Conversations in the SQL history: the archiver's part for them, and the
hot window that drops a closed one from Redis once SQL holds it.

A conversation's every change (created, a message in or out, a reply's send
status, assigned, transferred, closed) appends its id to the org's archive
stream in the script that makes it; the archiver copies the conversation
whole, with its messages, in the same batch transaction scheme as
activities. HUB_HOT_SECONDS after its last archived change, a closed
conversation leaves Redis; a reply's late status callback then goes through
the stream and is applied in SQL, and a customer writing again opens a new
conversation linked to it (the last-conversation pointer stays in Redis).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.services.context import Hub
from hub.storage.archive_queue import Entry
from hub.storage.sql import rollups
from hub.storage.sql.conversations import (
    apply_late_message_statuses,
    message_counts,
    sweep_candidates,
    write_conversations,
)

BATCH = 500


def opened_answer(raw: Mapping[str, str]) -> rollups.Answer | None:
    """A conversation as an answer to the activity it is correlated to."""
    if not raw.get("activity") or not str(raw.get("created", "")).isdigit():
        return None
    created = raw.get("act_created") or ""
    fallback = None
    if raw.get("act_cfg") and created.lstrip("-").isdigit():
        fallback = (raw["act_cfg"], int(created), raw.get("act_locale") or "")
    return rollups.Answer(raw["activity"], int(raw["created"]), raw["id"], fallback)


async def archive_conversations(hub: Hub, org_id: str, entries: Sequence[Entry]) -> None:
    assert hub.history is not None
    ids = sorted({c for e in entries for c in e.convs})
    if ids:
        # Only the messages SQL lacks are read (Redis' lists only grow).
        held = await message_counts(hub.history, ids)
        copies = await hub.conversations.copies(org_id, ids, held)
        await write_conversations(hub.history, copies)
        # The report's replies: each conversation opened in answer to an activity.
        await rollups.record_answers(
            hub.history,
            org_id,
            [a for a in (opened_answer(c.raw) for c in copies) if a is not None],
            hub.settings.correlation_window_s * 1000,
        )
    late = [e.message_late for e in entries if e.message_late is not None]
    if late:
        await apply_late_message_statuses(hub.history, org_id, late)


async def sweep_conversations(hub: Hub, org_id: str, before_ms: int) -> int:
    """Walk the org's closed conversations archived before ``before_ms`` from
    the mark kept in Redis, dropping each whose Redis copy is the archived one.
    A process killed mid-walk leaves the mark behind; the next walk repeats
    the few already dropped, which does nothing."""
    assert hub.history is not None
    mark = await hub.conversations.sweep_mark(org_id)
    dropped = 0
    while True:
        rows = await sweep_candidates(hub.history, org_id, after=mark, before_ms=before_ms, limit=BATCH)
        if not rows:
            return dropped
        dropped += await hub.conversations.sweep(org_id, [(i, v, c, out) for _, i, v, c, out in rows])
        mark = (rows[-1][0], rows[-1][1])
        await hub.conversations.set_sweep_mark(org_id, mark)
