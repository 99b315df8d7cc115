"""Outbound activities: accepted in one script, moved forward by status events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis

from hub.domain import partitions as parts
from hub.domain.segments import count_segments
from hub.storage import json_text, keys
from hub.storage.redis import Scripts, is_cluster
from hub.storage.sweep_marks import Mark, read_mark, write_mark

# Activity hash fields as stored, and the names the API shows them under.
PUBLIC_FIELDS = {
    "id": "id",
    "org": "org_id",
    "cfg": "configuration_id",
    "req": "request_id",
    "channel": "channel_id",
    "type": "channel_type",
    "to": "to",
    "from": "from",
    "locale": "locale",
    "body": "body",
    "customer": "customer_name",
    "case": "case_name",
    "rel": "entityrelationshipname",
    "sid": "provider_message_id",
    "status": "status",
    "error_code": "error_code",
    "created": "created_at",
    "updated": "updated_at",
    "delivered_at": "delivered_at",
    "send_at": "send_at",
    "content_sid": "content_sid",
}


def iso_ms(ms: int) -> str:
    """ISO 8601 UTC, as send results and activities show ``send_at``."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Accepted:
    outcome: str  # ok | replay | conflict | limited
    response: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class Job:
    """One activity (or agent's reply, ``msg_…``) a worker took from a stream,
    as mark_sending returned it."""

    activity_id: str
    state: str  # send | recover (ask the provider first) | done
    to: str
    from_: str
    body: str
    channel_id: str
    content_sid: str
    content_vars: str
    created_ms: int
    channel_type: str
    first_attempt_ms: int = 0
    attempts: int = 0  # provider attempts that ended in a retryable failure
    last_error: str = ""
    media_urls: tuple[str, ...] = ()  # an agent's reply: the URLs to attach


@dataclass(frozen=True)
class SendResult:
    activity_id: str
    entry_id: str
    outcome: str  # accepted | rejected | failed | skipped_opted_out | retry | done
    provider_id: str = ""
    error_code: str = ""
    detail: str = ""
    # retry: when the next attempt is due (ms), attempts so far, and whether
    # it must ask the provider first ("recover") or may send ("send").
    next_at_ms: int = 0
    attempts: int = 0
    retry_state: str = "send"


def _media_urls(raw: str) -> tuple[str, ...]:
    """A reply job's ``media`` field: a JSON list of URLs ('' for none)."""
    if not raw:
        return ()
    urls = json.loads(raw)
    return tuple(str(u) for u in urls) if isinstance(urls, list) else ()


def public_activity(raw: dict[str, str], history: Sequence[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, name in PUBLIC_FIELDS.items():
        value: Any = raw.get(field)
        if value in (None, ""):
            value = None
        elif field == "send_at":
            value = iso_ms(int(value))
        elif field in ("created", "updated", "delivered_at"):
            value = int(value) / 1000
        out[name] = value
    if raw.get("type") == "sms" and raw.get("body"):
        counted = count_segments(raw["body"])
        out["encoding"], out["segments"] = counted.encoding, counted.segments
    if raw.get("erased") == "1":
        out["erased"] = True  # the customer was erased: body and their details are gone
    if raw.get("retry_at") and raw.get("status") == "sending":
        out["retrying"] = {
            "attempts": int(raw.get("retry_n") or 0),
            "next_at": int(raw["retry_at"]) / 1000,
            "last_error": raw.get("retry_err") or None,
        }
    if history is not None:
        events = [json.loads(h) for h in history]
        for e in events:
            e["at"] = e["at"] / 1000
        out["history"] = events
    return out


def record_now(record: dict[str, Any]) -> int:
    """The acceptance time of a request being accepted (its activities' ``created``)."""
    for items in record["parts"].values():
        for item in items:
            return int(json.loads(item)["fields"]["created"])
    return 0


@dataclass(frozen=True)
class Admission:
    """What a send request is admitted with, besides its activities: the
    rolling-hour window and limit it counts against, its id, its
    Idempotency-Key (the body's hash, '' without a key, and how long the
    key is kept), the answer a replay of the key gets, and how long the
    request's activities are kept."""

    now_ms: int
    window_ms: int
    limit: int
    request_id: str
    idem_key: str | None
    idem_hash: str
    idem_ttl_s: int
    response_json: str
    retention_s: int


def _admission_args(
    org_id: str, admission: Admission, activities: list[dict[str, Any]], own: tuple[str | int, str | int]
) -> list[str | int]:
    """ARGV 1 to 10 of accept_send and accept_reserve, which check a request
    alike (accept_lib.lua): the org prefix, the rolling-hour window and limit,
    the request id, the idempotency key's hash ('' without a key) and ttl,
    the script's own two arguments (``own``), and whether the request counts
    against the limit now: one that sends nothing now but holds messages for
    their quiet hours counts as they are released."""
    statuses = {a["fields"]["status"] for a in activities}
    count_now = "queued" in statuses or "deferred" not in statuses
    return [
        keys.org_prefix(org_id),
        admission.now_ms,
        admission.window_ms,
        admission.limit,
        admission.request_id,
        admission.idem_hash if admission.idem_key else "",
        admission.idem_ttl_s,
        *own,
        "1" if count_now else "0",
    ]


class ActivityStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    async def accept(self, org_id: str, admission: Admission, activities: list[dict[str, Any]]) -> Accepted:
        """A request that sends nothing now but holds deferred contacts counts
        against the limit when they are released, not now."""
        idem = keys.idempotency(org_id, admission.idem_key or "-")
        result = await self.s.accept_send(
            keys=[
                keys.request_rate(org_id),
                idem,
                keys.outbound_stream(org_id),
                keys.archive_stream(org_id),
                keys.deferred_sends(org_id),
            ],
            args=[
                *_admission_args(org_id, admission, activities, (admission.response_json, admission.retention_s)),
                *[json_text.text(a) for a in activities],
            ],
        )
        outcome = result[0]
        if outcome == "replay":
            return Accepted("replay", response=result[1])
        if outcome == "limited":
            return Accepted("limited", retry_after=int(result[1]))
        return Accepted(outcome)

    async def accept_partitioned(
        self, org_id: str, admission: Admission, activities: list[dict[str, Any]], *, partitions: int
    ) -> Accepted:
        """``accept`` for an org with several partitions, in three steps (the
        request's idempotency key, limit and opt-ins in the org's slot; each
        partition's activities in its own; the answer kept in the org's slot),
        each atomic, the later ones safe to run again: a request left half
        accepted by a crash is completed by a replay of its key or by
        ``recover_accepting``. A request that sends nothing now but holds
        messages for their quiet hours counts when they are released, as in
        ``accept``."""
        by_part: dict[str, list[str]] = {}
        consents: list[list[str]] = []
        for a in activities:
            p = parts.activity_partition(partitions, a["id"])
            if p is None:
                raise ValueError(f"activity id {a['id']} names no partition of {partitions}")
            by_part.setdefault(str(p), []).append(json_text.text(a))
            f = a["fields"]
            if f["status"] in ("queued", "deferred"):
                consents.append([f["channel"], f["to"], a["id"]])
        request_id, idem_key = admission.request_id, admission.idem_key
        record: dict[str, Any] = {
            "response": admission.response_json,
            "parts": by_part,
            "idem": idem_key or "",
            "hash": admission.idem_hash if idem_key else "",
            "ttl": admission.idem_ttl_s,
            "retention": admission.retention_s,
        }
        accepting = keys.accepting(org_id, request_id)
        idem = keys.idempotency(org_id, idem_key) if idem_key else accepting
        for _ in range(3):
            result = await self.s.accept_reserve(
                keys=[
                    keys.request_rate(org_id),
                    idem,
                    accepting,
                    keys.accepting_index(org_id),
                    keys.archive_stream(org_id),
                ],
                args=_admission_args(org_id, admission, activities, (json.dumps(record), json.dumps(consents))),
            )
            outcome = result[0]
            if outcome == "ok":
                await self._complete(org_id, request_id, record)
                return Accepted("ok")
            if outcome == "replay":
                return Accepted("replay", response=result[1])
            if outcome == "limited":
                return Accepted("limited", retry_after=int(result[1]))
            if outcome == "conflict":
                return Accepted("conflict")
            # Another call with this key is being accepted (or was cut short):
            # finish it here, as it would, and answer as it does.
            raw = await self.r.get(keys.accepting(org_id, result[1]))
            if raw is not None:
                earlier = json.loads(raw)
                await self._complete(org_id, result[1], earlier)
                return Accepted("replay", response=earlier["response"])
            # It finished meanwhile: its answer is kept now.
        raise RuntimeError("a send request's idempotency key stayed pending")

    async def _complete(self, org_id: str, request_id: str, record: dict[str, Any]) -> None:
        """Steps 2 and 3 of accept_partitioned (each changes nothing when run again)."""
        ttl = int(record["ttl"])
        await asyncio.gather(
            *(
                self.s.accept_part(
                    keys=[
                        keys.outbound_stream(unit),
                        keys.archive_stream(unit),
                        keys.accepted_part(unit, request_id),
                        keys.deferred_sends(unit),
                    ],
                    args=[keys.org_prefix(unit), record_now(record), record["retention"], ttl, *items],
                )
                for p, items in record["parts"].items()
                for unit in [parts.unit(org_id, int(p))]
            )
        )
        accepting = keys.accepting(org_id, request_id)
        idem = keys.idempotency(org_id, record["idem"]) if record["idem"] else accepting
        await self.s.accept_finish(
            keys=[idem, accepting, keys.accepting_index(org_id)],
            args=[request_id, record["hash"], ttl, record["response"]],
        )

    async def recover_accepting(self, org_id: str, started_before_ms: int) -> list[dict[str, Any]]:
        """Completes the requests of a partitioned org whose acceptance began
        before ``started_before_ms`` and was cut short; returns their records."""
        index = keys.accepting_index(org_id)
        done: list[dict[str, Any]] = []
        found = cast(list[str], await self.r.zrangebyscore(index, "-inf", started_before_ms, start=0, num=100))
        for request_id in found:
            raw = await self.r.get(keys.accepting(org_id, request_id))
            if raw is None:  # expired with its key: nothing left to finish
                await self.r.zrem(index, request_id)
                continue
            record = json.loads(raw)
            await self._complete(org_id, request_id, record)
            done.append(record)
        return done

    async def oldest_accepting_ms(self, org_id: str) -> int | None:
        rows = await self.r.zrange(keys.accepting_index(org_id), 0, 0, withscores=True)
        return int(rows[0][1]) if rows else None

    async def mark_sending(self, org_id: str, now_ms: int, ids: Sequence[str]) -> list[Job]:
        rows = await self.s.mark_sending(
            keys=[keys.archive_stream(org_id)], args=[keys.org_prefix(org_id), now_ms, *ids]
        )
        return [
            Job(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                int(r[8] or 0),
                r[9],
                int(r[10] or 0),
                int(r[11] or 0),
                r[12],
                _media_urls(r[13] if len(r) > 13 else ""),
            )
            for r in rows
        ]

    async def record_results(
        self,
        org_id: str,
        now_ms: int,
        group: str,
        retention_s: int,
        window_ms: int,
        results: Sequence[SendResult],
        *,
        replies: bool = False,
    ) -> None:
        """``replies``: the batch came from the org's replies stream."""
        args: list[Any] = [keys.org_prefix(org_id), now_ms, group, retention_s, window_ms]
        for r in results:
            args += [
                r.activity_id,
                r.entry_id,
                r.outcome,
                r.provider_id,
                r.error_code,
                r.detail,
                r.next_at_ms,
                r.attempts,
                r.retry_state,
            ]
        stream = keys.reply_stream(org_id) if replies else keys.outbound_stream(org_id)
        await self.s.record_results(keys=[stream, keys.send_retries(org_id), keys.archive_stream(org_id)], args=args)

    async def next_retry_ms(self, org_id: str) -> int | None:
        """When the org's first waiting send is due (ms), or None."""
        rows = await self.r.zrange(keys.send_retries(org_id), 0, 0, withscores=True)
        return int(rows[0][1]) if rows else None

    async def move_due_retries(self, org_id: str, now_ms: int, limit: int) -> int:
        """Sends whose next attempt is due go back into their stream; returns how many."""
        return int(
            await self.s.retry_due(
                keys=[keys.send_retries(org_id), keys.outbound_stream(org_id), keys.reply_stream(org_id)],
                args=[now_ms, limit],
            )
        )

    async def next_deferred_ms(self, org_id: str) -> int | None:
        """When the org's first message held by quiet hours is due (ms), or
        None. In a partition, requests released but not yet counted in the
        org's hourly set (a crash in between) are due at once."""
        rows = await self.r.zrange(keys.deferred_sends(org_id), 0, 0, withscores=True)
        due = int(rows[0][1]) if rows else None
        if parts.is_partition(org_id) and await self.r.exists(keys.rate_outbox(org_id)):
            return 0
        return due

    async def release_deferred(self, org_id: str, now_ms: int, limit: int, window_ms: int) -> tuple[int, int]:
        """Held messages whose send_at has come go to the outbound stream;
        returns (taken from the set, queued). In an org's partition 1 and up
        (``org_id`` is then ``org_…~p``) their requests are counted in the
        partition's rate outbox in that step, then in the org's rolling-hour
        set (``count_released``)."""
        partition = parts.is_partition(org_id)
        rate = keys.rate_outbox(org_id) if partition else keys.request_rate(org_id)
        taken, moved = await self.s.release_deferred(
            keys=[keys.deferred_sends(org_id), keys.outbound_stream(org_id), rate],
            args=[keys.org_prefix(org_id), now_ms, limit, window_ms],
        )
        if partition:
            await self.count_released(org_id, window_ms)
        return int(taken), int(moved)

    async def count_released(self, unit: str, window_ms: int) -> int:
        """A partition's released requests (its rate outbox) counted in the
        org's rolling-hour set, as of their latest release; those counted
        leave the outbox. Safe to repeat (a crash between the two leaves them
        to be counted again, which changes nothing)."""
        rows = cast(list[tuple[str, float]], await self.r.zrange(keys.rate_outbox(unit), 0, -1, withscores=True))
        if not rows:
            return 0
        rate = keys.request_rate(parts.org_of(unit))
        await self.r.zadd(rate, {req: at for req, at in rows}, gt=True)
        await self.r.pexpire(rate, window_ms)
        await self.s.rate_outbox_done(
            keys=[keys.rate_outbox(unit)], args=[x for req, at in rows for x in (req, int(at))]
        )
        return len(rows)

    async def apply_callback(
        self, org_id: str, provider_id: str, status: str, at_ms: int, error_code: str
    ) -> tuple[str | None, int]:
        act_id, applied = await self.s.apply_callback(
            keys=[keys.archive_stream(org_id)],
            args=[keys.org_prefix(org_id), provider_id, status, at_ms, error_code],
        )
        return (act_id or None), int(applied)

    async def knows_provider_id(self, org_id: str, provider_id: str) -> bool:
        return bool(await self.r.exists(keys.provider_message(org_id, provider_id)))

    async def trim_indexes(self, org_id: str, config_ids: Sequence[str], cutoff_ms: int) -> int:
        """Drop entries older than the cutoff from the org's activity and
        conversation indexes (their records have expired); returns how many went."""
        async with self.r.pipeline(transaction=False) as p:
            # Activity index scores are creation ms * 1000 (unique within a request).
            p.zremrangebyscore(keys.activities(org_id), "-inf", cutoff_ms * 1000)
            for config_id in config_ids:
                p.zremrangebyscore(keys.activities_by_config(org_id, config_id), "-inf", cutoff_ms * 1000)
            p.zremrangebyscore(keys.conversations(org_id), "-inf", cutoff_ms)
            return int(sum(await p.execute()))

    async def load(self, org_id: str, activity_id: str, *, history: bool = True) -> dict[str, Any] | None:
        akey = keys.activity(org_id, activity_id)
        async with self.r.pipeline(transaction=False) as p:
            p.hgetall(akey)
            p.lrange(keys.activity_history(org_id, activity_id), 0, -1)
            raw, hist = await p.execute()
        if not raw:
            return None
        return public_activity(raw, hist if history else None)

    async def load_many(self, org_id: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        async with self.r.pipeline(transaction=False) as p:
            for i in ids:
                p.hgetall(keys.activity(org_id, i))
            rows = await p.execute()
        return [public_activity(row) for row in rows if row]

    async def page_ids(
        self,
        org_id: str,
        *,
        config_id: str | None,
        status: str | None,
        score: str,
        member: str,
        limit: int,
    ) -> tuple[list[str], str | None]:
        """Ids of one page of the Redis index after (score, member), and where
        the walk stopped (None: at the end)."""
        index = keys.activities_by_config(org_id, config_id) if config_id else keys.activities(org_id)
        ids, next_cursor = await self.s.list_page(
            keys=[index], args=[keys.org_prefix(org_id), status or "", score, member, limit, 5000]
        )
        return ids, (next_cursor or None)

    async def index_scores(self, org_id: str, ids: Sequence[str]) -> dict[str, float]:
        if not ids:
            return {}
        scores = await self.r.zmscore(keys.activities(org_id), list(ids))
        return {i: float(s) for i, s in zip(ids, scores) if s is not None}

    async def sweep(
        self, org_id: str, items: Sequence[tuple[str, int, str, str, str, bool]], final: Sequence[str]
    ) -> int:
        """Drop the full records of archived activities (id, archived version,
        configuration id, channel id, to, in timeline) whose Redis copy is no
        newer; returns how many went."""
        calls: list[tuple[list[str], list[str | int]]] = []
        for act_id, version, config_id, channel_id, to, in_timeline in items:
            akey = keys.activity(org_id, act_id)
            index = keys.activities(org_id)
            calls.append(
                (
                    [
                        akey,
                        keys.activity_history(org_id, act_id),
                        index,
                        keys.activities_by_config(org_id, config_id),
                        keys.timeline(org_id, to) if in_timeline else index,
                        keys.last_outbound(org_id, channel_id, to),
                    ],
                    [act_id, version, *final],
                )
            )
        if is_cluster(self.r):
            # redis-py's cluster pipeline refuses EVALSHA: the calls go at once instead.
            return sum(int(n) for n in await asyncio.gather(*(self.s.sweep_activity(keys=k, args=a) for k, a in calls)))
        async with self.r.pipeline(transaction=False) as p:
            for k, a in calls:
                await self.s.sweep_activity(keys=k, args=a, client=p)
            return sum(int(n) for n in await p.execute())

    async def hot(self, org_id: str, ids: Sequence[str]) -> set[str]:
        """Those of the activities whose full record is in Redis."""
        async with self.r.pipeline(transaction=False) as p:
            for i in ids:
                p.exists(keys.activity(org_id, i))
            flags = await p.execute()
        return {i for i, flag in zip(ids, flags) if flag}

    async def sweep_mark(self, org_id: str) -> Mark:
        """How far the hot-window sweep has walked the org's archived activities."""
        return await read_mark(self.r, keys.sweep_mark(org_id))

    async def set_sweep_mark(self, org_id: str, mark: Mark) -> None:
        await write_mark(self.r, keys.sweep_mark(org_id), mark)

    async def pending_jobs(self, org_id: str) -> int:
        return int(await self.r.xlen(keys.outbound_stream(org_id)))
