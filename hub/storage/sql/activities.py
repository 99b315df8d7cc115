"""Activities in SQL: written by the archiver from what Redis holds, read
back in the shape Redis answers.

Writing is idempotent so that a batch replayed after a crash, or archived by
two processes at once, changes nothing: an activity is upserted by id (never
over a copy made from a longer history), a history event inserted by
(activity id, position in Redis' list) or skipped when already there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import clock
from hub.domain.statuses import RANK, TERMINAL, ActivityStatus
from hub.storage import json_text
from hub.storage.sql import rollups
from hub.storage.sql.db import Database, Tx

_COLUMNS = (
    "id",
    "org_id",
    "configuration_id",
    "template_id",
    "request_id",
    "channel_id",
    "channel_type",
    "to_addr",
    "locale",
    "status",
    "error_code",
    "provider_message_id",
    "body",
    "in_timeline",
    "score",
    "created_ms",
    "updated_ms",
    "delivered_ms",
    "version",
    "record",
    "archived_ms",
    "segments",
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


def _kept(raw: Mapping[str, str]) -> dict[str, str]:
    # "corr" is the reply-correlation entry, Redis' business only (see
    # record_results.lua): SQL has the activity's own fields.
    return {k: v for k, v in raw.items() if k != "corr"}


def activity_row(copy: ActivityCopy) -> tuple[Any, ...]:
    raw = copy.raw
    return (
        raw["id"],
        raw["org"],
        raw["cfg"],
        _text(raw.get("tpl")),
        _text(raw.get("req")),
        _text(raw.get("channel")),
        _text(raw.get("type")),
        raw.get("to", ""),
        _text(raw.get("locale")),
        raw["status"],
        _text(raw.get("error_code")),
        _text(raw.get("sid")),
        raw.get("body"),
        1 if raw.get("timeline") == "1" else 0,
        copy.score,
        int(raw["created"]),
        _int(raw.get("updated")),
        _int(raw.get("delivered_at")),
        len(copy.history),
        json_text.sorted_text(_kept(raw)),
        clock.now_ms(),
        int(raw.get("segments") or 0),
    )


def event_rows(activity_id: str, history: Sequence[str], start: int = 0) -> list[tuple[Any, ...]]:
    rows = []
    for seq, text in enumerate(history[start:], start):
        e = json_text.decode(text)
        rows.append((activity_id, seq, e["status"], int(e["at"]), e.get("error_code"), e.get("source"), text))
    return rows


async def write_activities(db: Database, copies: Sequence[ActivityCopy]) -> None:
    """One transaction, with the report's rollups. Rows go in id order, so
    concurrent writers on PostgreSQL take row locks in the same order and
    cannot deadlock."""
    ordered = sorted(copies, key=lambda c: c.raw["id"])
    if not ordered:
        return
    async with db.transaction() as tx:
        for org_id in sorted({c.raw["org"] for c in ordered}):
            await rollups.lock_org(tx, db, org_id)
        versions, counts = await _rollup_moves(tx, ordered)
        await tx.executemany(UPSERT_ACTIVITY, [activity_row(c) for c in ordered])
        # A row's events below its version were written with it: only the
        # new ones go in.
        events = [r for c in ordered for r in event_rows(c.raw["id"], c.history, versions.get(c.raw["id"], 0))]
        if events:
            await tx.executemany(INSERT_EVENT, events)
        for org_id, org_counts in sorted(counts.items()):
            await rollups.apply(tx, org_id, org_counts)


async def _rollup_moves(
    tx: Tx,
    copies: Sequence[ActivityCopy],
) -> tuple[dict[str, int], dict[str, rollups.Counts]]:
    """The rows' versions before, and what writing ``copies`` moves in the
    rollups: each copy the upsert takes (no row yet, or one from a history
    no longer) replaces what the row counted before."""
    ids = [c.raw["id"] for c in copies]
    before: dict[str, tuple[int, rollups.Counted]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await tx.fetch(
            f"SELECT id, version, {rollups.ROW_COLUMNS} FROM activities WHERE id IN ({', '.join('?' * len(chunk))})",
            *chunk,
        )
        for act_id, version, *row in rows:
            before[act_id] = (int(version), rollups.Counted.of_row(*row))
    counts: dict[str, rollups.Counts] = {}
    for c in copies:
        old = before.get(c.raw["id"])
        if old is not None and old[0] > len(c.history):
            continue  # an older copy: the upsert keeps the row
        counts.setdefault(c.raw["org"], rollups.Counts()).move(
            old[1] if old else None, rollups.Counted.of_record(c.raw)
        )
    return {i: v for i, (v, _) in before.items()}, counts


async def purge_before(db: Database, org_id: str, cutoff_ms: int, *, batch: int = 1000) -> int:
    """Delete the org's activities created before ``cutoff_ms``, with their
    history, in short transactions (so the archiver never waits long)."""
    removed = 0
    while True:
        rows = await db.fetch(
            "SELECT id FROM activities WHERE org_id = ? AND score < ? ORDER BY score LIMIT ?",
            org_id,
            cutoff_ms * 1000,
            batch,
        )
        if not rows:
            return removed
        async with db.transaction() as tx:
            await tx.executemany("DELETE FROM activity_history WHERE activity_id = ?", rows)
            await tx.executemany("DELETE FROM activities WHERE id = ?", rows)
        removed += len(rows)


async def load_activity(db: Database, org_id: str, activity_id: str) -> tuple[dict[str, str], list[str]] | None:
    """The archived hash and history of one of the org's activities."""
    rows = await db.fetch("SELECT record FROM activities WHERE org_id = ? AND id = ?", org_id, activity_id)
    if not rows:
        return None
    events = await db.fetch("SELECT event FROM activity_history WHERE activity_id = ? ORDER BY seq", activity_id)
    return json.loads(rows[0][0]), [e[0] for e in events]


def _after(cursor: tuple[int, str] | None, member: str) -> tuple[str, list[Any]]:
    """The keyset condition "strictly after the cursor" in newest-first order
    (score descending, then ``member`` descending, as Redis orders ties)."""
    if cursor is None:
        return "", []
    score, after = cursor
    if not after:
        return " AND score < ?", [score]
    return f" AND (score < ? OR (score = ? AND {member} < ?))", [score, score, after]


async def page_ids(
    db: Database,
    org_id: str,
    *,
    config_id: str | None,
    status: str | None,
    cursor: tuple[int, str] | None,
    limit: int,
    min_score: int,
) -> list[tuple[int, str]]:
    """(score, id) of the org's archived activities after the cursor, newest first."""
    sql = "SELECT score, id FROM activities WHERE org_id = ? AND score >= ?"
    args: list[Any] = [org_id, min_score]
    if config_id:
        sql += " AND configuration_id = ?"
        args.append(config_id)
    if status:
        sql += " AND status = ?"
        args.append(status)
    cond, extra = _after(cursor, "id")
    rows = await db.fetch(sql + cond + " ORDER BY score DESC, id DESC LIMIT ?", *args, *extra, limit)
    return [(int(s), i) for s, i in rows]


async def timeline_ids(
    db: Database,
    org_id: str,
    phone: str,
    *,
    cursor: tuple[int, str] | None,
    limit: int,
    min_score: int,
) -> list[tuple[int, str]]:
    """(score, timeline member ``act:<id>``) of a contact's archived activities
    shown in the timeline, after the cursor, newest first."""
    cond, extra = _after(cursor, "'act:' || id")
    rows = await db.fetch(
        "SELECT score, id FROM activities WHERE org_id = ? AND to_addr = ? AND in_timeline = 1"
        " AND score >= ?" + cond + " ORDER BY score DESC, id DESC LIMIT ?",
        org_id,
        phone,
        min_score,
        *extra,
        limit,
    )
    return [(int(s), "act:" + i) for s, i in rows]


async def records(db: Database, org_id: str, ids: Sequence[str], *, min_score: int) -> dict[str, dict[str, str]]:
    """The archived hashes of some of the org's activities, by id."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    # By primary key alone, org and score checked here: with them in the
    # WHERE, SQLite walks the org's whole score index instead (seen on a
    # million rows: 270 ms of CPU for a timeline page).
    rows = await db.fetch(f"SELECT id, org_id, score, record FROM activities WHERE id IN ({marks})", *ids)
    return {i: json.loads(r) for i, org, score, r in rows if org == org_id and score >= min_score}


async def sweep_candidates(
    db: Database,
    org_id: str,
    *,
    statuses: Sequence[str],
    after: tuple[int, str],
    before_ms: int,
    limit: int,
) -> list[tuple[int, str, int, str, str, str, int]]:
    """Archived activities in a final status whose last change is older than
    ``before_ms``, after the (archived_ms, id) mark, oldest first:
    (archived_ms, id, version, configuration id, channel id, to, in_timeline)."""
    marks = ", ".join("?" * len(statuses))
    rows = await db.fetch(
        "SELECT archived_ms, id, version, configuration_id, channel_id, to_addr, in_timeline"
        " FROM activities"
        f" WHERE org_id = ? AND archived_ms < ? AND (archived_ms > ? OR (archived_ms = ? AND id > ?))"
        f" AND status IN ({marks}) ORDER BY archived_ms, id LIMIT ?",
        org_id,
        before_ms,
        after[0],
        after[0],
        after[1],
        *statuses,
        limit,
    )
    return [(int(u), i, int(v), c, ch or "", t, int(tl)) for u, i, v, c, ch, t, tl in rows]


@dataclass(frozen=True)
class LateCallback:
    """A status callback for an activity whose record has left Redis."""

    activity_id: str
    status: str
    at_ms: int
    error_code: str


def _rank(status: str) -> int:
    return RANK.get(ActivityStatus(status), -1) if status in _STATUSES else -1


_STATUSES = {str(s) for s in ActivityStatus}


async def ids_by_provider_id(db: Database, org_id: str, provider_ids: Sequence[str]) -> dict[str, str]:
    """The org's activities sent under these provider ids: provider id -> activity id."""
    found: dict[str, str] = {}
    unique = sorted(set(provider_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for sid, act in await db.fetch(
            f"SELECT provider_message_id, id FROM activities WHERE org_id = ? AND provider_message_id IN ({marks})",
            org_id,
            *chunk,
        ):
            found[sid] = act
    return found


async def apply_late_callbacks(db: Database, org_id: str, late: Sequence[LateCallback]) -> int:
    """Apply callbacks to archived activities by the rules the activity
    scripts follow in Redis (lib.lua): a callback equal to one already kept
    adds nothing; every other one is appended to the history; the status
    only moves forward, never out of a terminal one. The rollups move in the
    same transaction. Returns how many statuses moved."""
    counts = rollups.Counts()
    moved = 0
    lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
    # Activities in id order (lock order); one activity's callbacks as they came.
    ordered = sorted(late, key=lambda c: c.activity_id)
    async with db.transaction() as tx:
        await rollups.lock_org(tx, db, org_id)
        for cb in ordered:
            rows = await tx.fetch(
                f"SELECT record, version FROM activities WHERE org_id = ? AND id = ?{lock}", org_id, cb.activity_id
            )
            if not rows:
                continue  # past retention
            raw, version = json.loads(rows[0][0]), int(rows[0][1])
            history = [
                json.loads(e)
                for (e,) in await tx.fetch(
                    "SELECT event FROM activity_history WHERE activity_id = ? ORDER BY seq", cb.activity_id
                )
            ]
            if any(
                e.get("source") == "callback"
                and e["status"] == cb.status
                and (e.get("error_code") or "") == cb.error_code
                for e in history
            ):
                continue
            event: dict[str, Any] = {"status": cb.status, "at": cb.at_ms, "source": "callback"}
            if cb.error_code:
                event["error_code"] = cb.error_code
            await tx.execute(
                INSERT_EVENT,
                cb.activity_id,
                version,
                cb.status,
                cb.at_ms,
                cb.error_code or None,
                "callback",
                json.dumps(event),
            )
            before = raw["status"]
            moves = before in _STATUSES and ActivityStatus(before) not in TERMINAL and _rank(cb.status) > _rank(before)
            if moves:
                counted = rollups.Counted.of_record(raw)
                raw["status"], raw["updated"] = cb.status, str(cb.at_ms)
                if cb.error_code:
                    raw["error_code"] = cb.error_code
                if cb.status in ("delivered", "read") and not raw.get("delivered_at"):
                    raw["delivered_at"] = str(cb.at_ms)
                counts.move(counted, rollups.Counted.of_record(raw))
                moved += 1
            await tx.execute(
                "UPDATE activities SET status = ?, error_code = ?, updated_ms = ?, delivered_ms = ?,"
                " version = ?, record = ? WHERE id = ?",
                raw["status"],
                _text(raw.get("error_code")),
                _int(raw.get("updated")),
                _int(raw.get("delivered_at")),
                version + 1,
                json.dumps(raw, sort_keys=True),
                cb.activity_id,
            )
        await rollups.apply(tx, org_id, counts)
    return moved
