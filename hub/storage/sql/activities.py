"""Activities in SQL: written by the archiver from what Redis holds, read
back in the shape Redis answers.

Writing is idempotent so that a batch replayed after a crash, or archived by
two processes at once, changes nothing: an activity is upserted by id (never
over a copy made from a longer history), a history event inserted by
(activity id, position in Redis' list) or skipped when already there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from hub.storage.sql.db import Database

_COLUMNS = (
    "id", "org_id", "configuration_id", "template_id", "request_id", "channel_id",
    "channel_type", "to_addr", "locale", "status", "error_code", "provider_message_id", "body",
    "in_timeline", "score", "created_ms", "updated_ms", "delivered_ms", "version", "record",
)
_UPDATED = [c for c in _COLUMNS if c not in ("id", "org_id", "created_ms", "score")]

UPSERT_ACTIVITY = (
    f"INSERT INTO activities ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    + " WHERE activities.version <= excluded.version"
)
INSERT_EVENT = (
    "INSERT INTO activity_history (activity_id, seq, status, at_ms, error_code, source, event) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (activity_id, seq) DO NOTHING"
)


@dataclass(frozen=True)
class ActivityCopy:
    """One activity as Redis holds it: its hash, its history (JSON events) and
    its index score."""

    raw: dict[str, str]
    history: Sequence[str]
    score: int


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def _text(value: str | None) -> str | None:
    return value if value not in (None, "") else None


def activity_row(copy: ActivityCopy) -> tuple[Any, ...]:
    raw = copy.raw
    return (
        raw["id"], raw["org"], raw["cfg"], _text(raw.get("tpl")), _text(raw.get("req")),
        _text(raw.get("channel")), _text(raw.get("type")), raw.get("to", ""),
        _text(raw.get("locale")), raw["status"], _text(raw.get("error_code")),
        _text(raw.get("sid")), raw.get("body"), 1 if raw.get("timeline") == "1" else 0,
        copy.score, int(raw["created"]), _int(raw.get("updated")), _int(raw.get("delivered_at")),
        len(copy.history), json.dumps(raw, sort_keys=True),
    )


def event_rows(activity_id: str, history: Sequence[str]) -> list[tuple[Any, ...]]:
    rows = []
    for seq, text in enumerate(history):
        e = json.loads(text)
        rows.append((activity_id, seq, e["status"], int(e["at"]), e.get("error_code"),
                     e.get("source"), text))
    return rows


async def write_activities(db: Database, copies: Sequence[ActivityCopy]) -> None:
    """One transaction. Rows go in id order, so concurrent writers on
    PostgreSQL take row locks in the same order and cannot deadlock."""
    ordered = sorted(copies, key=lambda c: c.raw["id"])
    if not ordered:
        return
    async with db.transaction() as tx:
        await tx.executemany(UPSERT_ACTIVITY, [activity_row(c) for c in ordered])
        events = [r for c in ordered for r in event_rows(c.raw["id"], c.history)]
        if events:
            await tx.executemany(INSERT_EVENT, events)


async def purge_before(db: Database, org_id: str, cutoff_ms: int, *, batch: int = 1000) -> int:
    """Delete the org's activities created before ``cutoff_ms``, with their
    history, in short transactions (so the archiver never waits long)."""
    removed = 0
    while True:
        rows = await db.fetch(
            "SELECT id FROM activities WHERE org_id = ? AND score < ? ORDER BY score LIMIT ?",
            org_id, cutoff_ms * 1000, batch)
        if not rows:
            return removed
        async with db.transaction() as tx:
            await tx.executemany("DELETE FROM activity_history WHERE activity_id = ?", rows)
            await tx.executemany("DELETE FROM activities WHERE id = ?", rows)
        removed += len(rows)


async def load_activity(db: Database, org_id: str, activity_id: str) -> tuple[dict[str, str], list[str]] | None:
    """The archived hash and history of one of the org's activities."""
    rows = await db.fetch("SELECT record FROM activities WHERE org_id = ? AND id = ?",
                          org_id, activity_id)
    if not rows:
        return None
    events = await db.fetch(
        "SELECT event FROM activity_history WHERE activity_id = ? ORDER BY seq", activity_id)
    return json.loads(rows[0][0]), [e[0] for e in events]
