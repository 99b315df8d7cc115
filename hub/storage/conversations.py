"""Conversations: ingest, route, reply, close, transfer, all in Lua scripts
so that any number of hub processes act as one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, Literal, cast

import redis.asyncio as aioredis

from hub.domain.correlation import CorrelationMethod, RecentEntry, parse_recent
from hub.domain.cursors import split_score_cursor
from hub.storage import keys
from hub.storage.redis import Scripts, is_cluster
from hub.storage.sql.conversations import ConversationCopy
from hub.storage.sweep_marks import Mark, read_mark, write_mark

ConnectionAction = Literal["open", "beat", "close", "sweep"]


# What ingest_inbound reads of an activity a reply may answer.
SNAPSHOT_FIELDS = ("queue", "body", "cfg", "cfg_name", "case", "customer", "created", "locale", "to", "channel")


class ConversationStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    async def ingest(
        self,
        org_id: str,
        *,
        provider_id: str,
        channel_id: str,
        channel_type: str,
        customer: str,
        message: dict[str, Any],
        now_ms: int,
        keyword: str,
        new_id: str,
        retention_s: int,
        default_queue: str,
        customer_hash: str = "",
        replied_to: str = "",
        named_activity: str | None = None,
        since_ms: int = 0,
        correlation: str = "",
    ) -> tuple[str, str, str] | list[RecentEntry]:
        """``outcome`` ``need_hash``: call again with ``customer_hash`` (the
        channel holds erased customers' opt-outs; nothing was changed).
        ``replied_to``: the provider id of the message the provider says is
        answered; ``named_activity``: the recent activity the text names ("":
        none), None when the caller has not looked. Then, if it matters (a new
        conversation, several messages sent since ``since_ms``), nothing is
        stored and the answer is those messages, to call again with a choice.
        ``correlation``: for an org with several partitions, the
        ``correlation_snapshot`` of the contact's partition."""
        outcome, conv, *rest = await self.s.ingest_inbound(
            keys=[keys.slot(org_id)],
            args=[
                keys.org_prefix(org_id),
                provider_id,
                channel_id,
                channel_type,
                customer,
                json.dumps(message),
                now_ms,
                keyword,
                new_id,
                retention_s,
                default_queue,
                customer_hash,
                replied_to,
                "?" if named_activity is None else named_activity,
                since_ms,
                correlation,
            ],
        )
        if outcome == "choose":
            return [parse_recent(raw) for raw in rest[1:]]
        return outcome, conv, (rest[0] if rest else "")

    async def correlation_snapshot(self, unit: str, channel_id: str, customer: str, replied_to: str) -> str:
        """What a contact's partition holds for correlating a reply (its latest
        and recent activities, the activity the provider id names, their
        fields), as ingest_inbound reads it in the org's own slot: the
        partition is another slot, so it is read first, in its own calls."""
        latest = cast(str, await self.r.get(keys.last_outbound(unit, channel_id, customer)) or "")
        recent = cast(list[str], await self.r.lrange(keys.recent_outbound(unit, channel_id, customer), 0, -1))
        sids: dict[str, str] = {}
        if replied_to:
            target = cast(str | None, await self.r.get(keys.provider_message(unit, replied_to)))
            if target:
                sids[replied_to] = target
        wanted = {raw.split("\x1f")[2] for raw in recent if raw.count("\x1f") >= 2}
        wanted |= {t for t in sids.values() if t.startswith("act_")}
        if latest and not latest.startswith("{"):
            wanted.add(latest)
        acts: dict[str, dict[str, str]] = {}
        for act in sorted(wanted):
            row = cast(list[str | None], await self.r.hmget(keys.activity(unit, act), list(SNAPSHOT_FIELDS)))
            acts[act] = {f: v for f, v in zip(SNAPSHOT_FIELDS, row) if v is not None}
        return json.dumps({"latest": latest, "recent": recent, "sids": sids, "acts": acts})

    async def views(self, org_id: str, ids: Sequence[str], *, messages: bool) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = await self.s.conversation_view(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), "1" if messages else "0", *ids]
        )
        return [_fix(json.loads(row)) for row in rows]

    async def page(
        self, org_id: str, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[tuple[float, dict[str, Any]]], str | None]:
        """(index score, conversation) of a page of the conversations in Redis,
        and where the walk stopped (None: at the end)."""
        score, member = split_score_cursor(cursor)
        rows, next_cursor, scores = await self.s.conversation_page(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), status or "", score, member, limit, 5000]
        )
        return ([(float(s), _fix(json.loads(r))) for s, r in zip(scores, rows)], (next_cursor or None))

    async def hot(self, org_id: str, ids: Sequence[str]) -> set[str]:
        """Those of the conversations whose record is in Redis."""
        async with self.r.pipeline(transaction=False) as p:
            for i in ids:
                p.exists(keys.conversation(org_id, i))
            flags = await p.execute()
        return {i for i, flag in zip(ids, flags) if flag}

    async def copies(self, org_id: str, ids: Sequence[str], first_seq: dict[str, int]) -> list[ConversationCopy]:
        """The conversations as they are now, each with its messages from
        ``first_seq[id]`` on (one whose record has left Redis is left out),
        read in one script call (atomic; on a Redis Cluster too, the keys
        sharing the org's slot)."""
        if not ids:
            return []
        conv_keys = [
            k
            for i in ids
            for k in (
                keys.conversation(org_id, i),
                keys.conversation_messages(org_id, i),
                keys.conversation_reply_statuses(org_id, i),
            )
        ]
        replies = await self.s.conversation_copies(keys=conv_keys, args=[first_seq.get(i, 0) for i in ids])
        return [
            ConversationCopy(
                org_id,
                dict(zip(flat[::2], flat[1::2])),
                messages,
                dict(zip(statuses[::2], statuses[1::2])),
                first_seq.get(i, 0),
            )
            for i, flat, messages, statuses in zip(ids, replies[0::3], replies[1::3], replies[2::3])
            if flat
        ]

    async def sweep(self, org_id: str, items: Sequence[tuple[str, int, str, Sequence[str]]]) -> int:
        """Drop archived closed conversations (id, archived version, customer,
        outbound message ids) whose Redis copy is no newer; returns how many went."""
        calls: list[tuple[list[str], list[str | int]]] = []
        for conv, version, customer, outbound in items:
            ckey = keys.conversation(org_id, conv)
            calls.append(
                (
                    [
                        ckey,
                        keys.conversation_messages(org_id, conv),
                        keys.conversation_reply_statuses(org_id, conv),
                        keys.conversations(org_id),
                        keys.timeline(org_id, customer),
                        *[keys.reply_job(org_id, m) for m in outbound],
                    ],
                    [conv, version],
                )
            )
        if is_cluster(self.r):
            # redis-py's cluster pipeline refuses EVALSHA: the calls go at once instead.
            return sum(
                int(n) for n in await asyncio.gather(*(self.s.sweep_conversation(keys=k, args=a) for k, a in calls))
            )
        async with self.r.pipeline(transaction=False) as p:
            for k, a in calls:
                await self.s.sweep_conversation(keys=k, args=a, client=p)
            return sum(int(n) for n in await p.execute())

    async def sweep_mark(self, org_id: str) -> Mark:
        """How far the hot-window sweep has walked the org's archived closed conversations."""
        return await read_mark(self.r, keys.conversation_sweep_mark(org_id))

    async def set_sweep_mark(self, org_id: str, mark: Mark) -> None:
        await write_mark(self.r, keys.conversation_sweep_mark(org_id), mark)

    async def in_redis(self, org_id: str, created_before_ms: int) -> list[str]:
        """The conversations Redis holds (open ones, and closed ones until
        their hot window passes) started before a time."""
        return cast(list[str], await self.r.zrangebyscore(keys.conversations(org_id), "-inf", f"({created_before_ms}"))

    async def open_for_agent(self, org_id: str, agent_id: str) -> list[str]:
        return sorted(cast(set[str], await self.r.smembers(keys.agent_conversations(org_id, agent_id))))

    async def waiting_count(self, org_id: str, queues: Sequence[str]) -> int:
        async with self.r.pipeline(transaction=False) as p:
            for q in queues:
                p.zcard(keys.queue_waiting(org_id, q))
            return int(sum(await p.execute()))

    async def reply(
        self,
        org_id: str,
        agent_id: str,
        conversation_id: str,
        client_id: str,
        message_json: str,
        now_ms: int,
        retention_s: int,
        *,
        content_sid: str = "",
        content_vars: str = "",
        media: str = "",
    ) -> list[str]:
        """Record an agent's reply and queue its send, or say why not ([outcome, ...]).
        ``content_sid``: an approved WhatsApp template, sent whatever the 24-hour window;
        ``media``: a JSON list of the URLs to attach."""
        result = await self.s.reply_message(
            keys=[keys.reply_stream(org_id)],
            args=[
                keys.org_prefix(org_id),
                agent_id,
                conversation_id,
                client_id,
                message_json,
                now_ms,
                retention_s,
                content_sid,
                content_vars,
                media,
            ],
        )
        return list(result)

    async def note(
        self,
        org_id: str,
        agent_id: str,
        conversation_id: str,
        client_id: str,
        message_json: str,
        now_ms: int,
        *,
        supervisor: bool = False,
    ) -> list[str]:
        """Record an agent's internal note (a supervisor's: on any conversation
        of the org), or say why not ([outcome, ...])."""
        result = await self.s.conversation_note(
            keys=[keys.slot(org_id)],
            args=[
                keys.org_prefix(org_id),
                agent_id,
                conversation_id,
                client_id,
                message_json,
                now_ms,
                "1" if supervisor else "",
            ],
        )
        return list(result)

    # Routing commands. Each answers the script's outcome: "ok", or why
    # nothing changed ("missing", "not_yours", "closed", "no_agent",
    # "agent_unavailable", "deactivated", as each script says).

    async def set_presence(self, org_id: str, agent_id: str, presence: str, *, now_ms: int) -> str:
        """Becoming available offers the agent waiting work at once; going
        offline hands its open conversations to others ("missing" also for a
        deactivated agent)."""
        result = await self.s.agent_presence(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), agent_id, presence, now_ms]
        )
        return str(result[0])

    async def update_agent(
        self, org_id: str, agent_id: str, *, capacity: int | None, queues: Sequence[str] | None, now_ms: int
    ) -> str:
        """New capacity and/or queues (None keeps each); "deactivated" refuses."""
        result = await self.s.agent_update(
            keys=[keys.slot(org_id)],
            args=[
                keys.org_prefix(org_id),
                agent_id,
                "" if capacity is None else capacity,
                "" if queues is None else json.dumps(list(queues)),
                now_ms,
            ],
        )
        return str(result[0])

    async def deactivate_agent(self, org_id: str, agent_id: str, *, now_ms: int) -> int | None:
        """How many open conversations went back to their queues (0 for an
        agent already deactivated); None: no such agent."""
        result = await self.s.agent_deactivate(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), agent_id, now_ms]
        )
        return None if result[0] == "missing" else int(result[1])

    async def set_skills(self, org_id: str, agent_id: str, skills: dict[str, int], *, now_ms: int) -> bool:
        """Work the agent now qualifies for is offered to it at once; False: no such agent."""
        result = await self.s.agent_skills(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), agent_id, json.dumps(skills), now_ms]
        )
        return bool(result[0] == "ok")

    async def agent_connection(
        self,
        org_id: str,
        agent_id: str,
        action: ConnectionAction,
        *,
        connection_id: str,
        now_ms: int,
        stale_ms: int,
        grace_ms: int,
    ) -> str:
        """Count (``open``), refresh (``beat``) or forget (``close``) one of an
        agent's websocket connections, or (``sweep``) turn an agent without a
        live one offline once its grace period has passed. Answers
        "connected", "grace" (no live connection yet within its grace period)
        or "offline" (turned offline now)."""
        result = await self.s.agent_connection(
            keys=[keys.slot(org_id)],
            args=[keys.org_prefix(org_id), action, agent_id, connection_id, now_ms, stale_ms, grace_ms],
        )
        return str(result)

    async def close(self, org_id: str, conversation_id: str, *, actor: str, now_ms: int, reason: str = "") -> str:
        """``actor``: the agent closing it ("": an admin, any conversation);
        ``reason``: shown in the agent's event (e.g. "erased")."""
        result = await self.s.conversation_close(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), conversation_id, actor, now_ms, reason]
        )
        return str(result[0])

    async def transfer(
        self, org_id: str, conversation_id: str, *, actor: str, to_agent: str | None, to_queue: str | None, now_ms: int
    ) -> str:
        """To an available agent with free capacity, or to a queue (where it
        waits by its original arrival time)."""
        result = await self.s.conversation_transfer(
            keys=[keys.slot(org_id)],
            args=[keys.org_prefix(org_id), conversation_id, actor, to_agent or "", to_queue or "", now_ms],
        )
        return str(result[0])

    async def set_priority(self, org_id: str, conversation_id: str, priority: int, *, now_ms: int) -> str:
        """An open conversation's priority (0-100); a waiting one moves in its queue at once."""
        result = await self.s.conversation_priority(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), conversation_id, priority, now_ms]
        )
        return str(result[0])


def public_conversation(raw: dict[str, str], messages: list[dict[str, Any]] | None) -> dict[str, Any]:
    """An archived conversation as the routing scripts' ``conversation()``
    shows one whose correlated activity has left Redis."""
    out: dict[str, Any] = {
        "id": raw["id"],
        "customer": raw["customer"],
        "channel_id": raw["channel"],
        "status": raw["status"],
        "agent_id": raw.get("agent") or None,
        "queue": raw.get("queue"),
        "correlated": raw.get("activity", "") != "",
        "created_at": int(raw["created"]) / 1000,
        "previous_conversation_id": raw.get("previous") or None,
        "channel_type": raw.get("type"),
        "activity": None,
        "correlation": correlation(raw),
        "priority": int(raw.get("priority") or 50),
    }
    if raw.get("close_reason"):
        out["close_reason"] = raw["close_reason"]
    if raw.get("activity"):
        activity: dict[str, Any] = {
            "id": raw["activity"],
            "body": raw.get("act_body"),
            "configuration_id": raw.get("act_cfg"),
            "configuration_name": raw.get("act_cfg_name") or None,
            "case_name": raw.get("act_case"),
            "customer_name": raw.get("act_customer"),
        }
        created = raw.get("act_created") or ""
        if created.lstrip("-").isdigit():
            activity["sent_at"] = int(created) / 1000
        if raw.get("act_locale"):
            activity["locale"] = raw["act_locale"]
        out["activity"] = activity
    if messages is not None:
        out["messages"] = messages
    return out


def correlation(raw: dict[str, str]) -> dict[str, str] | None:
    """Which activity the conversation answers and how that was found (a
    conversation from before methods were recorded was linked to the latest)."""
    if not raw.get("activity"):
        return None
    return {"activity_id": raw["activity"], "method": raw.get("corr") or str(CorrelationMethod.LATEST)}


def _fix(conv: dict[str, Any]) -> dict[str, Any]:
    # cjson writes an empty Lua table as {}; the API promises lists.
    if conv.get("messages") == {}:
        conv["messages"] = []
    for m in conv.get("messages") or []:
        if m.get("media") == {}:
            m["media"] = []
    return conv
