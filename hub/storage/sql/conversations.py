"""Conversations and their messages in SQL: written by the archiver from what
Redis holds, read back in the shape Redis answers.

Writing is idempotent, as for activities: a conversation is upserted by id,
never over a copy with a higher version (the change counter the routing
scripts keep in its hash), and its messages by (conversation id, position in
Redis' list), only along with the version they were read with, so a batch
replayed after a crash, or archived by two processes at once, changes
nothing. Messages never change but for a reply's send status, so a copy
carries only the messages SQL does not have yet (Redis' list only grows)
and every reply's status: a long conversation is not rewritten whole at
each change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import clock
from hub.domain.statuses import RANK, TERMINAL, ActivityStatus
from hub.storage import json_text
from hub.storage.sql.db import Database

_COLUMNS = (
    "id",
    "org_id",
    "channel_id",
    "channel_type",
    "customer",
    "status",
    "agent_id",
    "queue",
    "activity_id",
    "previous_id",
    "created_ms",
    "closed_ms",
    "updated_ms",
    "version",
    "record",
    "archived_ms",
)
_UPDATED = [c for c in _COLUMNS if c not in ("id", "org_id", "created_ms")]

UPSERT_CONVERSATION = (
    f"INSERT INTO conversations ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    + " WHERE conversations.version <= excluded.version"
)
UPSERT_MESSAGE = (
    "INSERT INTO conversation_messages"
    " (conversation_id, seq, id, org_id, customer, direction, status, provider_message_id, at_ms, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, seq) DO UPDATE SET"
    " status = excluded.status, provider_message_id = excluded.provider_message_id,"
    " record = excluded.record"
)

UPDATE_MESSAGE_STATUS = "UPDATE conversation_messages SET status = ?, record = ? WHERE conversation_id = ? AND seq = ?"


@dataclass(frozen=True)
class ConversationCopy:
    """One conversation as Redis holds it, read in one transaction: its hash,
    its messages from position ``first_seq`` on (JSON, in order) and its
    replies' send statuses."""

    org_id: str
    raw: Mapping[str, str]
    messages: Sequence[str]
    statuses: Mapping[str, str]
    first_seq: int = 0


@dataclass(frozen=True)
class LateMessageStatus:
    """A status callback for an agent's reply whose conversation has left Redis."""

    conversation_id: str
    message_id: str
    status: str
    at_ms: int
    error_code: str


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def _text(value: str | None) -> str | None:
    return value if value not in (None, "") else None


def with_status(message: dict[str, Any], state_json: str | None) -> dict[str, Any]:
    """A message as the API shows it: a reply carries its send status."""
    message = {k: v for k, v in message.items() if k not in ("status", "error_code")}
    if state_json is not None:
        state = json.loads(state_json)
        message["status"] = state["status"]
        if state.get("error_code"):
            message["error_code"] = state["error_code"]
    return message


def merged_messages(copy: ConversationCopy) -> list[dict[str, Any]]:
    out = []
    for text in copy.messages:
        message = json_text.decode(text)
        out.append(with_status(message, copy.statuses.get(message["id"])))
    return out


async def message_counts(db: Database, ids: Sequence[str]) -> dict[str, int]:
    """How many messages SQL holds of each conversation (where a copy may start)."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = await db.fetch(
        f"SELECT conversation_id, COUNT(*) FROM conversation_messages WHERE conversation_id IN ({marks})"
        " GROUP BY conversation_id",
        *ids,
    )
    return {c: int(n) for c, n in rows}


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def conversation_row(copy: ConversationCopy, messages: Sequence[dict[str, Any]], now_ms: int) -> tuple[Any, ...]:
    raw = copy.raw
    times = [_int(raw.get(k)) for k in ("created", "assigned", "closed")]
    times += [_ms(m["at"]) for m in messages[-1:]]
    return (
        raw["id"],
        copy.org_id,
        raw["channel"],
        _text(raw.get("type")),
        raw["customer"],
        raw["status"],
        _text(raw.get("agent")),
        _text(raw.get("queue")),
        _text(raw.get("activity")),
        _text(raw.get("previous")),
        int(raw["created"]),
        _int(raw.get("closed")),
        max(t for t in times if t is not None),
        int(raw.get("v") or 0),
        json_text.sorted_text(raw),
        now_ms,
    )


def message_rows(copy: ConversationCopy, messages: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    conv, customer = copy.raw["id"], copy.raw["customer"]
    return [
        (
            conv,
            seq,
            m["id"],
            copy.org_id,
            customer,
            m.get("direction") or "inbound",
            m.get("status"),
            m.get("provider_message_id"),
            _ms(m["at"]),
            json_text.text(m),
        )
        for seq, m in enumerate(messages, copy.first_seq)
    ]


async def _changed_replies(tx: Any, copies: Sequence[ConversationCopy]) -> list[tuple[Any, ...]]:
    """(status, record, conversation id, seq) of the replies written before the
    copies' first messages whose send status has moved since."""
    earlier = [c for c in copies if c.first_seq and c.statuses]
    if not earlier:
        return []
    by_id = {c.raw["id"]: c for c in earlier}
    marks = ", ".join("?" * len(by_id))
    out = []
    for conv, seq, record in await tx.fetch(
        "SELECT conversation_id, seq, record FROM conversation_messages"
        f" WHERE conversation_id IN ({marks}) AND direction = 'outbound'",
        *by_id,
    ):
        copy = by_id[conv]
        held = json.loads(record)
        if seq >= copy.first_seq or held["id"] not in copy.statuses:
            continue
        now = with_status(held, copy.statuses.get(held["id"]))
        if now != held:
            out.append((now.get("status"), json.dumps(now), conv, seq))
    return out


async def write_conversations(db: Database, copies: Sequence[ConversationCopy]) -> None:
    """One transaction, rows in id order (no deadlock between writers on
    PostgreSQL). A conversation's messages are written only when its row now
    holds the copy's version: an older copy loses to a newer one whole."""
    ordered = sorted(copies, key=lambda c: c.raw["id"])
    if not ordered:
        return
    now_ms = clock.now_ms()
    merged = {c.raw["id"]: merged_messages(c) for c in ordered}
    async with db.transaction() as tx:
        await tx.executemany(UPSERT_CONVERSATION, [conversation_row(c, merged[c.raw["id"]], now_ms) for c in ordered])
        marks = ", ".join("?" * len(ordered))
        rows_ = await tx.fetch(
            f"SELECT id, version FROM conversations WHERE id IN ({marks})", *[c.raw["id"] for c in ordered]
        )
        held = {str(i): int(v) for i, v in rows_}
        current = [c for c in ordered if held.get(c.raw["id"], -1) == int(c.raw.get("v") or 0)]
        rows = [r for c in current for r in message_rows(c, merged[c.raw["id"]])]
        if rows:
            await tx.executemany(UPSERT_MESSAGE, rows)
        moved = await _changed_replies(tx, current)
        if moved:
            await tx.executemany(UPDATE_MESSAGE_STATUS, moved)


_STATUSES = {str(s) for s in ActivityStatus}


def _rank(status: str) -> int:
    return RANK.get(ActivityStatus(status), -1) if status in _STATUSES else -1


async def apply_late_message_statuses(db: Database, org_id: str, late: Sequence[LateMessageStatus]) -> int:
    """Apply callbacks to archived replies by the rule the routing scripts
    follow in Redis (set_message_status): forward only, never out of a
    terminal status. Returns how many moved."""
    moved = 0
    lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
    async with db.transaction() as tx:
        for cb in sorted(late, key=lambda c: (c.conversation_id, c.message_id)):
            rows = await tx.fetch(
                "SELECT seq, record FROM conversation_messages"
                f" WHERE org_id = ? AND conversation_id = ? AND id = ?{lock}",
                org_id,
                cb.conversation_id,
                cb.message_id,
            )
            if not rows:
                continue  # past retention
            seq, message = rows[0][0], json.loads(rows[0][1])
            current = message.get("status") or "queued"
            if current in _STATUSES and ActivityStatus(current) in TERMINAL:
                continue
            if _rank(cb.status) <= _rank(current):
                continue
            message["status"] = cb.status
            message.pop("error_code", None)
            if cb.error_code:
                message["error_code"] = cb.error_code
            await tx.execute(UPDATE_MESSAGE_STATUS, cb.status, json.dumps(message), cb.conversation_id, seq)
            moved += 1
    return moved


async def purge_before(db: Database, org_id: str, cutoff_ms: int, *, batch: int = 1000) -> int:
    """Delete the org's conversations created before ``cutoff_ms``, with their
    messages, in short transactions."""
    removed = 0
    while True:
        rows = await db.fetch(
            "SELECT id FROM conversations WHERE org_id = ? AND created_ms < ? ORDER BY created_ms LIMIT ?",
            org_id,
            cutoff_ms,
            batch,
        )
        if not rows:
            return removed
        async with db.transaction() as tx:
            await tx.executemany("DELETE FROM conversation_messages WHERE conversation_id = ?", rows)
            await tx.executemany("DELETE FROM conversations WHERE id = ?", rows)
        removed += len(rows)


async def records(
    db: Database, org_id: str, ids: Sequence[str], *, messages: bool, min_created_ms: int
) -> dict[str, tuple[dict[str, str], list[dict[str, Any]] | None]]:
    """The archived hashes (and messages) of some of the org's conversations, by id."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = await db.fetch(
        f"SELECT id, record FROM conversations WHERE org_id = ? AND created_ms >= ? AND id IN ({marks})",
        org_id,
        min_created_ms,
        *ids,
    )
    found: dict[str, tuple[dict[str, str], list[dict[str, Any]] | None]] = {
        i: (json.loads(r), [] if messages else None) for i, r in rows
    }
    if messages and found:
        marks = ", ".join("?" * len(found))
        for conv, record in await db.fetch(
            f"SELECT conversation_id, record FROM conversation_messages WHERE conversation_id IN ({marks})"
            " ORDER BY conversation_id, seq",
            *found,
        ):
            found[conv][1].append(json.loads(record))  # type: ignore[union-attr]
    return found


async def served_by(db: Database, org_id: str, agent_id: str, customer: str, *, min_created_ms: int) -> bool:
    """Whether an archived conversation with the customer ended with this agent
    (what says "has served" for conversations assigned before agents kept a
    set of the customers they serve)."""
    row = await db.fetchval(
        "SELECT 1 FROM conversations WHERE org_id = ? AND customer = ? AND agent_id = ? AND created_ms >= ? LIMIT 1",
        org_id,
        customer,
        agent_id,
        min_created_ms,
    )
    return row is not None


def _after(cursor: tuple[int, str] | None, score: str, member: str) -> tuple[str, list[Any]]:
    """ "Strictly after the cursor" in newest-first order (score descending,
    then member descending, as Redis orders ties)."""
    if cursor is None:
        return "", []
    value, after = cursor
    if not after:
        return f" AND {score} < ?", [value]
    return f" AND ({score} < ? OR ({score} = ? AND {member} < ?))", [value, value, after]


async def page_ids(
    db: Database,
    org_id: str,
    *,
    status: str | None,
    cursor: tuple[int, str] | None,
    limit: int,
    min_created_ms: int,
) -> list[tuple[int, str]]:
    """(created ms, id) of the org's archived conversations after the cursor, newest first."""
    sql = "SELECT created_ms, id FROM conversations WHERE org_id = ? AND created_ms >= ?"
    args: list[Any] = [org_id, min_created_ms]
    if status:
        sql += " AND status = ?"
        args.append(status)
    cond, extra = _after(cursor, "created_ms", "id")
    rows = await db.fetch(sql + cond + " ORDER BY created_ms DESC, id DESC LIMIT ?", *args, *extra, limit)
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
    """(score, timeline member ``msg:<conversation>:<message>``) of a contact's
    archived messages after the cursor, newest first; scores as Redis keeps
    them (ms * 1000)."""
    member = "'msg:' || conversation_id || ':' || id"
    cond, extra = _after(cursor, "at_ms * 1000", member)
    rows = await db.fetch(
        f"SELECT at_ms * 1000, {member} FROM conversation_messages WHERE org_id = ? AND customer = ?"
        " AND at_ms * 1000 >= ?" + cond + f" ORDER BY at_ms DESC, {member} DESC LIMIT ?",
        org_id,
        phone,
        min_score,
        *extra,
        limit,
    )
    return [(int(s), m) for s, m in rows]


async def sweep_candidates(
    db: Database,
    org_id: str,
    *,
    after: tuple[int, str],
    before_ms: int,
    limit: int,
) -> list[tuple[int, str, int, str, list[str]]]:
    """Closed archived conversations whose last write is older than
    ``before_ms``, after the mark, in write order: (archived ms, id, version,
    customer, ids of its outbound messages)."""
    rows = await db.fetch(
        "SELECT archived_ms, id, version, customer FROM conversations"
        " WHERE org_id = ? AND archived_ms < ? AND (archived_ms > ? OR (archived_ms = ? AND id > ?))"
        " AND status = 'closed' ORDER BY archived_ms, id LIMIT ?",
        org_id,
        before_ms,
        after[0],
        after[0],
        after[1],
        limit,
    )
    if not rows:
        return []
    marks = ", ".join("?" * len(rows))
    outbound: dict[str, list[str]] = {}
    for conv, message in await db.fetch(
        f"SELECT conversation_id, id FROM conversation_messages WHERE conversation_id IN ({marks})"
        " AND direction = 'outbound' ORDER BY conversation_id, seq",
        *[r[1] for r in rows],
    ):
        outbound.setdefault(conv, []).append(message)
    return [(int(a), i, int(v), c, outbound.get(i, [])) for a, i, v, c in rows]
