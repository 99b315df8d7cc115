"""The consent ledger and erasures in SQL.

Ledger rows are written by the archiver from the archive stream entries that
carried them, identified by the entry (Redis' time and sequence) and their
place in it, so a replayed entry writes nothing new. An erasure redacts the
customer's archived activities, deletes their conversations and messages,
clears the number from their ledger rows (the rows stay, found by the
number's hash) and records a tombstone, in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.storage.sql.db import Database

_LEDGER_COLUMNS = (
    "org_id",
    "entry_ms",
    "entry_seq",
    "idx",
    "phone",
    "phone_hash",
    "channel_id",
    "action",
    "source",
    "at_ms",
    "message_id",
    "provider_message_id",
    "activity_id",
    "actor",
)
_READ = (
    "entry_ms, entry_seq, idx, phone, channel_id, action, source, at_ms, message_id,"
    " provider_message_id, activity_id, actor"
)
# What an erasure takes out of an activity's record (its body and the
# customer's details); the number, status and times stay for the reports.
REDACTED_FIELDS = {"body": "", "customer": "", "case": "", "content_vars": "", "timeline": "0", "erased": "1"}

Key = tuple[int, int, int]  # entry ms, entry seq, place in the entry


@dataclass(frozen=True)
class LedgerRow:
    org_id: str
    entry_id: str  # "<ms>-<seq>"
    idx: int
    phone: str
    phone_hash: str
    event: dict[str, Any]

    def values(self) -> tuple[Any, ...]:
        ms, _, seq = self.entry_id.partition("-")
        e = self.event
        return (
            self.org_id,
            int(ms),
            int(seq or 0),
            self.idx,
            self.phone,
            self.phone_hash,
            e["channel"],
            e["action"],
            e["source"],
            int(e["at"]),
            e.get("message_id"),
            e.get("provider_message_id"),
            e.get("activity_id"),
            e.get("actor"),
        )


async def write_ledger(db: Database, rows: Sequence[LedgerRow]) -> None:
    if rows:
        async with db.transaction() as tx:
            await tx.executemany(
                f"INSERT INTO consent_ledger ({', '.join(_LEDGER_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(_LEDGER_COLUMNS))})"
                " ON CONFLICT (org_id, entry_ms, entry_seq, idx) DO NOTHING",
                sorted(r.values() for r in rows),
            )


def _entry(row: Sequence[Any]) -> dict[str, Any]:
    ms, seq, idx, phone, channel, action, source, at_ms, msg, provider_msg, act, actor = row
    return {
        "id": f"{ms}-{seq}-{idx}",
        "phone": phone,
        "channel_id": channel,
        "action": action,
        "source": source,
        "at": int(at_ms) / 1000,
        "message_id": msg,
        "provider_message_id": provider_msg,
        "activity_id": act,
        "actor": actor,
    }


def parse_key(raw: str) -> Key | None:
    parts = raw.split("-")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 18 for p in parts):
        return None
    ms, seq, idx = (int(p) for p in parts)
    return ms, seq, idx


async def contact_ledger(
    db: Database, org_id: str, phone_hash: str, before: Key | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One contact's entries, newest first, and the cursor of the next page."""
    where = "org_id = ? AND phone_hash = ?"
    args: list[str | int] = [org_id, phone_hash]
    if before is not None:
        where += " AND (entry_ms < ? OR (entry_ms = ? AND (entry_seq < ? OR (entry_seq = ? AND idx < ?))))"
        args += [before[0], before[0], before[1], before[1], before[2]]
    rows = await db.fetch(
        f"SELECT {_READ} FROM consent_ledger WHERE {where} ORDER BY entry_ms DESC, entry_seq DESC, idx DESC LIMIT ?",
        *args,
        limit + 1,
    )
    items = [_entry(r) for r in rows[:limit]]
    return items, (items[-1]["id"] if len(rows) > limit else None)


async def org_ledger(
    db: Database, org_id: str, since_ms: int, after: Key | None, limit: int, phone_hash: str | None = None
) -> list[dict[str, Any]]:
    """The org's entries (or one number's) recorded since ``since_ms``,
    oldest first, after ``after``."""
    where, args = "org_id = ? AND at_ms >= ?", [org_id, since_ms]
    if phone_hash is not None:
        where += " AND phone_hash = ?"
        args.append(phone_hash)
    if after is not None:
        where += " AND (entry_ms > ? OR (entry_ms = ? AND (entry_seq > ? OR (entry_seq = ? AND idx > ?))))"
        args += [after[0], after[0], after[1], after[1], after[2]]
    rows = await db.fetch(
        f"SELECT {_READ}, phone_hash FROM consent_ledger WHERE {where} ORDER BY entry_ms, entry_seq, idx LIMIT ?",
        *args,
        limit,
    )
    out = []
    for row in rows:
        item = _entry(row[:-1])
        item["phone_hash"] = row[-1]
        out.append(item)
    return out


async def erase(db: Database, org_id: str, phone: str, phone_hash: str) -> dict[str, list[str]]:
    """Erase what SQL holds of the customer; returns the ids it took out
    (activities redacted, conversations and messages deleted)."""
    async with db.transaction() as tx:
        redacted = []
        for act_id, record in await tx.fetch(
            "SELECT id, record FROM activities WHERE org_id = ? AND to_addr = ? ORDER BY id", org_id, phone
        ):
            raw = json.loads(record)
            if raw.get("erased") == "1":
                continue
            raw.update(REDACTED_FIELDS)
            await tx.execute(
                "UPDATE activities SET body = NULL, in_timeline = 0, record = ? WHERE id = ?",
                json.dumps(raw, sort_keys=True),
                act_id,
            )
            redacted.append(act_id)
        conversations = [
            r[0]
            for r in await tx.fetch(
                "SELECT id FROM conversations WHERE org_id = ? AND customer = ? ORDER BY id", org_id, phone
            )
        ]
        messages = [
            r[0]
            for r in await tx.fetch(
                "SELECT id FROM conversation_messages WHERE org_id = ? AND customer = ?", org_id, phone
            )
        ]
        await tx.execute("DELETE FROM conversation_messages WHERE org_id = ? AND customer = ?", org_id, phone)
        await tx.execute("DELETE FROM conversations WHERE org_id = ? AND customer = ?", org_id, phone)
        await tx.execute(
            "UPDATE consent_ledger SET phone = NULL WHERE org_id = ? AND phone_hash = ?", org_id, phone_hash
        )
    return {"activities": redacted, "conversations": conversations, "messages": messages}


async def record_erasure(
    db: Database, org_id: str, phone_hash: str, *, requested_by: str, now_ms: int, counts: dict[str, int]
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO contact_erasures (org_id, phone_hash, erased_ms, requested_by, counts)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, phone_hash, erased_ms) DO NOTHING",
            org_id,
            phone_hash,
            now_ms,
            requested_by,
            json.dumps(counts, sort_keys=True),
        )


async def erasures(db: Database, org_id: str, phone_hash: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT erased_ms, requested_by, counts FROM contact_erasures WHERE org_id = ? AND phone_hash = ?"
        " ORDER BY erased_ms DESC LIMIT 20",
        org_id,
        phone_hash,
    )
    return [{"at": int(ms) / 1000, "requested_by": by, "erased": json.loads(counts)} for ms, by, counts in rows]
