"""Reads that Redis answers while a record is hot and SQL once it has left
Redis (the history keeps every activity and conversation for
HUB_RETENTION_DAYS).

A list page is the merge of two newest-first walks, one over Redis' index
(hot activities, including those not archived yet: read-your-writes) and one
over SQL (archived ones). An activity still in Redis is always shown as Redis
has it, so it appears once and with its latest status. Each walk may stop
early (Redis examines a bounded number of entries per page, SQL returns at
most a page), so a page holds only what lies above both walks' stopping
points, and its cursor resumes there: the union is in the same order, with
the same ``score|member`` cursors, whether a record is hot or archived.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any

from hub.domain import partitions as parts
from hub.domain.cursors import cursor_key, split_score_cursor
from hub.services.context import Hub
from hub.storage.activities import public_activity
from hub.storage.conversations import public_conversation
from hub.storage.sql import activities as sql_activities
from hub.storage.sql import conversations as sql_conversations

Key = tuple[float, str]  # (score, member): pages run from the highest down


def _by_unit(org_id: str, partitions: int, ids: Sequence[str]) -> dict[str, list[str]]:
    """Activity ids by the unit (the org, or its partition) holding them in
    Redis; an id that names no partition of the org is left out."""
    out: dict[str, list[str]] = {}
    for i in ids:
        p = parts.activity_partition(partitions, i)
        if p is not None:
            out.setdefault(parts.unit(org_id, p), []).append(i)
    return out


async def _load_many(hub: Hub, org_id: str, partitions: int, ids: Sequence[str]) -> list[dict[str, Any]]:
    if partitions <= 1:
        return await hub.activities.load_many(org_id, ids)
    groups = _by_unit(org_id, partitions, ids)
    found = await asyncio.gather(*(hub.activities.load_many(u, group) for u, group in groups.items()))
    return [a for rows in found for a in rows]


async def _hot(hub: Hub, org_id: str, partitions: int, ids: Sequence[str]) -> set[str]:
    if partitions <= 1:
        return await hub.activities.hot(org_id, ids)
    groups = _by_unit(org_id, partitions, ids)
    found = await asyncio.gather(*(hub.activities.hot(u, group) for u, group in groups.items()))
    return set().union(*found)


async def activity(hub: Hub, org_id: str, activity_id: str, *, partitions: int = 1) -> dict[str, Any] | None:
    """``partitions``: the org's (hub.domain.partitions); the id names its partition."""
    p = parts.activity_partition(partitions, activity_id)
    found = None if p is None else await hub.activities.load(parts.unit(org_id, p), activity_id)
    if found is not None or hub.history is None:
        return found
    archived = await sql_activities.load_activity(hub.history, org_id, activity_id)
    if archived is None:
        return None
    raw, history = archived
    # Past retention (the sweep may not have deleted it yet) it is gone.
    if int(raw["created"]) < _retention_cutoff_ms(hub):
        return None
    return public_activity(raw, history)


def _retention_cutoff_ms(hub: Hub) -> int:
    return int((time.time() - hub.settings.retention_s) * 1000)


_SQL_MAX = 2**63 - 1


def _sql_cursor(score: str | float, member: str) -> tuple[int, str] | None:
    """A cursor as the SQL walk's keyset (scores there are whole numbers)."""
    value = float(score)
    # SQL integers are 64-bit: a score beyond them is above (or below) every row.
    if value >= _SQL_MAX:
        return None
    if value <= -_SQL_MAX:
        return -_SQL_MAX, ""
    if value != int(value):  # no activity has this score: resume below it
        return math.ceil(value), ""
    return int(value), member


def _merge(
    hot: Sequence[Key], hot_stop: Key | None, cold: Sequence[Key], cold_stop: Key | None, limit: int
) -> tuple[list[Key], Key | None]:
    """The page's keys and where the next page starts (None: no more).
    ``*_stop``: where a walk stopped, or None when it reached the end."""
    merged = sorted({m: s for s, m in [*cold, *hot]}.items(), key=lambda x: (x[1], x[0]), reverse=True)
    keys_ = [(s, m) for m, s in merged]
    stops = [k for k in (hot_stop, cold_stop) if k is not None]
    floor = max(stops) if stops else None
    if floor is not None:
        keys_ = [k for k in keys_ if k >= floor]
    if len(keys_) > limit or (len(keys_) == limit and floor is not None):
        page = keys_[:limit]
        return page, page[-1]
    return keys_, floor


async def _resolve(hub: Hub, org_id: str, ids: Sequence[str], partitions: int = 1) -> dict[str, dict[str, Any]]:
    """The activities as Redis holds them, or as SQL does once they left Redis."""
    found = {a["id"]: a for a in await _load_many(hub, org_id, partitions, ids)}
    missing = [i for i in ids if i not in found]
    if missing and hub.history is not None:
        archived = await sql_activities.records(
            hub.history, org_id, missing, min_score=_retention_cutoff_ms(hub) * 1000
        )
        found.update({i: public_activity(raw) for i, raw in archived.items()})
    return found


async def activities_page(
    hub: Hub,
    org_id: str,
    *,
    config_id: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
    partitions: int = 1,
) -> tuple[list[dict[str, Any]], str | None]:
    """``partitions``: the org's; with several, one Redis walk per partition
    (each from the same cursor), merged like the SQL walk."""
    score, member = split_score_cursor(cursor)
    hot: list[Key] = []
    hot_stops: list[Key] = []
    for unit in parts.units(org_id, partitions):
        unit_ids, unit_next = await hub.activities.page_ids(
            unit, config_id=config_id, status=status, score=score, member=member, limit=limit
        )
        unit_scores = await hub.activities.index_scores(unit, unit_ids)
        hot += [(unit_scores[i], i) for i in unit_ids if i in unit_scores]
        if unit_next:
            hot_stops.append(cursor_key(unit_next))
    hot_stop = max(hot_stops) if hot_stops else None
    cold: list[Key] = []
    cold_stop = None
    if hub.history is not None:
        rows = await sql_activities.page_ids(
            hub.history,
            org_id,
            config_id=config_id,
            status=status,
            cursor=_sql_cursor(score, member),
            limit=limit + 1,
            min_score=_retention_cutoff_ms(hub) * 1000,
        )
        if len(rows) > limit:
            cold_stop = (float(rows[limit - 1][0]), rows[limit - 1][1])
        still_hot = await _hot(hub, org_id, partitions, [i for _, i in rows])
        cold = [(float(s), i) for s, i in rows if i not in still_hot]
    page, next_key = _merge(hot, hot_stop, cold, cold_stop, limit)
    found = await _resolve(hub, org_id, [m for _, m in page], partitions)
    items = [found[m] for _, m in page if m in found]
    return items, (_cursor(next_key) if next_key else None)


def _cursor(key: Key) -> str:
    # Redis' own spelling of a whole-number score, so its walk resumes on it.
    score = int(key[0]) if key[0] == int(key[0]) else key[0]
    return f"{score}|{key[1]}"


async def contact_timeline(
    hub: Hub, org_id: str, phone: str, cursor: str | None, limit: int, *, partitions: int = 1
) -> tuple[list[dict[str, Any]], str | None]:
    """Activities of configurations shown in the timeline (and conversation
    messages), newest first. Cursor: "score|member" of the last item.
    ``partitions``: the org's; with several, the contact's activities may be
    in any of them (one per channel), each walked and merged."""
    after_score, after_member = (None, "") if not cursor else cursor_key(cursor)
    retention_ms = _retention_cutoff_ms(hub)
    hot: list[Key] = []
    hot_stops: list[Key] = []
    for unit in parts.units(org_id, partitions):
        rows, more = await hub.timeline.page(
            unit,
            phone,
            after_score=after_score,
            after_member=after_member,
            limit=limit,
            expired_before=retention_ms * 1000,
        )
        unit_hot = [(score, member) for member, score in rows]
        hot += unit_hot
        if more and unit_hot:
            hot_stops.append(unit_hot[-1])
    hot_stop = max(hot_stops) if hot_stops else None
    cold: list[Key] = []
    cold_stop = None
    if hub.history is not None:
        sql_cursor = None if after_score is None else _sql_cursor(after_score, after_member)
        # Two walks (activities, messages); their union is whole down to the
        # higher of their stopping points.
        act_rows = await sql_activities.timeline_ids(
            hub.history, org_id, phone, limit=limit + 1, min_score=retention_ms * 1000, cursor=sql_cursor
        )
        msg_rows = await sql_conversations.timeline_ids(
            hub.history, org_id, phone, limit=limit + 1, min_score=retention_ms * 1000, cursor=sql_cursor
        )
        stops = [(float(rows[limit - 1][0]), rows[limit - 1][1]) for rows in (act_rows, msg_rows) if len(rows) > limit]
        cold_stop = max(stops) if stops else None
        still_hot = await _hot(hub, org_id, partitions, [m[4:] for _, m in act_rows])
        hot_convs = await hub.conversations.hot(org_id, sorted({m.split(":")[1] for _, m in msg_rows}))
        cold = [(float(s), m) for s, m in act_rows if m[4:] not in still_hot]
        cold += [(float(s), m) for s, m in msg_rows if m.split(":")[1] not in hot_convs]
    page, next_key = _merge(hot, hot_stop, cold, cold_stop, limit)

    activities = await _resolve(hub, org_id, [m[4:] for _, m in page if m.startswith("act:")], partitions)
    conv_ids = sorted({m.split(":")[1] for _, m in page if m.startswith("msg:")})
    messages: dict[tuple[str, str], dict[str, Any]] = {}
    for conv in (await conversations(hub, org_id, conv_ids, messages=True)).values():
        for message in conv.get("messages") or []:
            messages[(conv["id"], message["id"])] = message
    items: list[dict[str, Any]] = []
    for _, member in page:
        kind, _, ident = member.partition(":")
        if kind == "act" and ident in activities:
            activity_ = activities[ident]
            items.append({"kind": "activity", "at": activity_["created_at"], "activity": activity_})
        elif kind == "msg":
            conv_id, _, message_id = ident.partition(":")
            message = messages.get((conv_id, message_id))
            if message is not None:
                items.append({"kind": "message", "at": message["at"], "conversation_id": conv_id, "message": message})
    next_cursor = f"{next_key[0]!r}|{next_key[1]}" if next_key else None
    return items, next_cursor


async def agent_may_read(hub: Hub, org_id: str, agent_id: str, customer: str) -> bool:
    """An agent reads the history of customers it serves or has served within
    the retention period: assigned a conversation with them (Redis keeps the
    set of them per agent), or, for conversations from before that set,
    the last to hold an archived one."""
    since = await hub.agents.served_since(org_id, agent_id, customer)
    if since is not None and since >= _retention_cutoff_ms(hub):
        return True
    if hub.history is None:
        return False
    return await sql_conversations.served_by(
        hub.history, org_id, agent_id, customer, min_created_ms=_retention_cutoff_ms(hub)
    )


async def conversations(hub: Hub, org_id: str, ids: Sequence[str], *, messages: bool) -> dict[str, dict[str, Any]]:
    """The conversations as Redis holds them, or as SQL does once they left Redis."""
    found = {c["id"]: c for c in await hub.conversations.views(org_id, ids, messages=messages)}
    missing = [i for i in ids if i not in found]
    if missing and hub.history is not None:
        archived = await sql_conversations.records(
            hub.history, org_id, missing, messages=messages, min_created_ms=_retention_cutoff_ms(hub)
        )
        found.update({i: public_conversation(raw, msgs) for i, (raw, msgs) in archived.items()})
    return found


async def conversation(hub: Hub, org_id: str, conversation_id: str) -> dict[str, Any] | None:
    return (await conversations(hub, org_id, [conversation_id], messages=True)).get(conversation_id)


async def conversations_page(
    hub: Hub,
    org_id: str,
    *,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, hot and archived merged as for activities."""
    score, member = split_score_cursor(cursor)
    hot_rows, hot_next = await hub.conversations.page(org_id, status, cursor, limit)
    hot = [(s, c["id"]) for s, c in hot_rows]
    hot_stop = cursor_key(hot_next) if hot_next else None
    cold: list[Key] = []
    cold_stop = None
    if hub.history is not None:
        rows = await sql_conversations.page_ids(
            hub.history,
            org_id,
            status=status,
            cursor=_sql_cursor(score, member),
            limit=limit + 1,
            min_created_ms=_retention_cutoff_ms(hub),
        )
        if len(rows) > limit:
            cold_stop = (float(rows[limit - 1][0]), rows[limit - 1][1])
        still_hot = await hub.conversations.hot(org_id, [i for _, i in rows])
        cold = [(float(s), i) for s, i in rows if i not in still_hot]
    page, next_key = _merge(hot, hot_stop, cold, cold_stop, limit)
    found = {c["id"]: c for _, c in hot_rows}
    found.update(await conversations(hub, org_id, [m for _, m in page if m not in found], messages=False))
    items = [found[m] for _, m in page if m in found]
    return items, (_cursor(next_key) if next_key else None)
