"""The report's rollups in SQL: counts per configuration and status by
creation hour, by template and by locale, and time to deliver per
configuration; and per configuration and hour, template or locale, the SMS
messages and segments that left the hub and what customers answered (see
record_answers).

They move only by what a transaction actually writes to an activity row
(created, status moved, first delivered), in that same transaction, so they
always equal a count over the rows: a replayed batch or an older copy that
the upsert refuses moves nothing. Rows deleted at retention leave them as
they are (the report covers all history).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.domain.statuses import LEFT_HUB, ActivityStatus
from hub.storage.sql.db import Database, Tx

HOUR_MS = 3_600_000
# report_hourly's status columns (the migration names the same ones).
STATUSES = tuple(str(s) for s in ActivityStatus)
_COLUMN = {s: n for n, s in enumerate(STATUSES)}
# Upper bounds in seconds, as the report shows time to deliver.
TTD_BUCKETS = ("1", "2", "5", "10", "30", "60", "300", "900", "3600", "inf")


# Upper bounds in seconds of the time-to-first-reply histogram (the
# migration's reply_le_* columns).
REPLY_BUCKETS = ("60", "300", "900", "1800", "3600", "7200", "21600", "86400", "259200", "inf")
# report_engagement's counting columns, in the order its cells hold them.
ENGAGEMENT = (
    "sms_messages",
    "sms_segments",
    "replied",
    "opted_out",
    "conversations",
    "reply_ms_sum",
    *(f"reply_le_{b}" for b in REPLY_BUCKETS),
)
_MESSAGES, _SEGMENTS, _REPLIED, _OPTED_OUT, _CONVERSATIONS, _REPLY_MS = range(6)
# SMS messages that left the hub count their segments (the delivery rate's denominator).
_BILLED = frozenset(str(s) for s in LEFT_HUB)


def ttd_bucket(ms: int) -> str:
    return next((b for b in TTD_BUCKETS[:-1] if ms <= int(b) * 1000), "inf")


def reply_bucket(ms: int) -> str:
    return next((b for b in REPLY_BUCKETS[:-1] if ms <= int(b) * 1000), "inf")


def empty_cell() -> list[int]:
    return [0] * len(ENGAGEMENT)


@dataclass(frozen=True)
class Counted:
    """What the report counts of one activity."""

    config_id: str
    hour_ms: int
    template_id: str
    locale: str
    status: str
    ttd_ms: int | None  # time to its first delivered/read; None before
    sms: bool = False
    segments: int = 0

    def billed(self) -> tuple[int, int]:
        """(SMS messages, segments) it counts: those of an SMS that left the hub."""
        return (1, self.segments) if self.sms and self.status in _BILLED else (0, 0)

    @classmethod
    def of_record(cls, raw: Mapping[str, str]) -> Counted:
        """From an activity hash as Redis holds it."""
        created = int(raw["created"])
        delivered = raw.get("delivered_at")
        return cls(
            raw["cfg"],
            created - created % HOUR_MS,
            raw.get("tpl") or "",
            raw.get("locale") or "",
            raw["status"],
            max(0, int(delivered) - created) if delivered else None,
            raw.get("type") == "sms",
            int(raw.get("segments") or 0),
        )

    @classmethod
    def of_row(
        cls,
        config_id: str,
        created_ms: int,
        template_id: str | None,
        locale: str | None,
        status: str,
        delivered_ms: int | None,
        channel_type: str | None = None,
        segments: int | None = 0,
    ) -> Counted:
        created = int(created_ms)
        return cls(
            config_id,
            created - created % HOUR_MS,
            template_id or "",
            locale or "",
            status,
            max(0, int(delivered_ms) - created) if delivered_ms is not None else None,
            channel_type == "sms",
            int(segments or 0),
        )


# Columns to select for Counted.of_row.
ROW_COLUMNS = "configuration_id, created_ms, template_id, locale, status, delivered_ms, channel_type, segments"


@dataclass
class Counts:
    """Counts to add (or, negative, to take away): status per (config, hour,
    template, locale), and time to deliver per (config, bucket) as (n, sum ms)."""

    status: dict[tuple[str, int, str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    ttd: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    engagement: dict[tuple[str, int, str, str], list[int]] = field(default_factory=lambda: defaultdict(empty_cell))

    def add(self, a: Counted, sign: int = 1) -> None:
        self.status[(a.config_id, a.hour_ms, a.template_id, a.locale, a.status)] += sign
        if a.ttd_ms is not None:
            cell = self.ttd[(a.config_id, ttd_bucket(a.ttd_ms))]
            cell[0] += sign
            cell[1] += sign * a.ttd_ms
        messages, segments = a.billed()
        if messages:
            row = self.engagement[(a.config_id, a.hour_ms, a.template_id, a.locale)]
            row[_MESSAGES] += sign * messages
            row[_SEGMENTS] += sign * segments

    def move(self, before: Counted | None, after: Counted) -> None:
        """One activity written as ``after`` over ``before`` (None: new)."""
        if before is not None:
            self.add(before, -1)
        self.add(after)


def org_lock_key(org_id: str) -> int:
    """A PostgreSQL advisory lock key per org (signed 64 bits)."""
    return int.from_bytes(hashlib.blake2b(b"rollups:" + org_id.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_org(tx: Tx, db: Database, org_id: str) -> None:
    """Serialize the org's activity writers, so that the row each one reads
    before writing is the row it replaces (two archivers inserting the same
    new activity would otherwise both count it). SQLite's write lock already
    does this."""
    if db.dialect == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock(?)", org_lock_key(org_id))


def _upsert(table: str, key: str) -> str:
    return (
        f"INSERT INTO {table} (org_id, configuration_id, {key}, status, n) VALUES (?, ?, ?, ?, ?)"
        f" ON CONFLICT (org_id, configuration_id, {key}, status)"
        f" DO UPDATE SET n = {table}.n + excluded.n"
    )


_UPSERT_HOURLY = (
    f"INSERT INTO report_hourly (org_id, configuration_id, hour_ms, {', '.join(STATUSES)})"
    f" VALUES ({', '.join('?' * (3 + len(STATUSES)))})"
    " ON CONFLICT (org_id, configuration_id, hour_ms) DO UPDATE SET "
    + ", ".join(f"{s} = report_hourly.{s} + excluded.{s}" for s in STATUSES)
)
_UPSERT_TEMPLATES = _upsert("report_templates", "template_id")
_UPSERT_LOCALES = _upsert("report_locales", "locale")
_UPSERT_TTD = (
    "INSERT INTO report_ttd (org_id, configuration_id, bucket, n, sum_ms) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (org_id, configuration_id, bucket)"
    " DO UPDATE SET n = report_ttd.n + excluded.n, sum_ms = report_ttd.sum_ms + excluded.sum_ms"
)
_UPSERT_HOURLY_ENGAGEMENT = (
    f"INSERT INTO report_hourly (org_id, configuration_id, hour_ms, {', '.join(ENGAGEMENT)})"
    f" VALUES ({', '.join('?' * (3 + len(ENGAGEMENT)))})"
    " ON CONFLICT (org_id, configuration_id, hour_ms) DO UPDATE SET "
    + ", ".join(f"{c} = report_hourly.{c} + excluded.{c}" for c in ENGAGEMENT)
)
_UPSERT_ENGAGEMENT = (
    f"INSERT INTO report_engagement (org_id, configuration_id, dimension, value,"
    f" {', '.join(ENGAGEMENT)}) VALUES ({', '.join('?' * (4 + len(ENGAGEMENT)))})"
    " ON CONFLICT (org_id, configuration_id, dimension, value) DO UPDATE SET "
    + ", ".join(f"{c} = report_engagement.{c} + excluded.{c}" for c in ENGAGEMENT)
)


async def apply(tx: Tx, org_id: str, counts: Counts) -> None:
    """Add ``counts`` to the org's rollups, in key order (lock order on
    PostgreSQL), one statement per changed cell."""
    hourly: dict[tuple[str, int], list[int]] = {}
    templates: dict[tuple[Any, ...], int] = defaultdict(int)
    locales: dict[tuple[Any, ...], int] = defaultdict(int)
    for (config_id, hour_ms, template_id, locale, status), n in counts.status.items():
        if status in _COLUMN:
            hourly.setdefault((config_id, hour_ms), [0] * len(STATUSES))[_COLUMN[status]] += n
        templates[(config_id, template_id, status)] += n
        locales[(config_id, locale, status)] += n
    hours = [(org_id, *k, *v) for k, v in sorted(hourly.items()) if any(v)]
    if hours:
        await tx.executemany(_UPSERT_HOURLY, hours)
    for sql, cells in ((_UPSERT_TEMPLATES, templates), (_UPSERT_LOCALES, locales)):
        rows = [(org_id, *k, n) for k, n in sorted(cells.items()) if n]
        if rows:
            await tx.executemany(sql, rows)
    ttd = [(org_id, *k, n, s) for k, (n, s) in sorted(counts.ttd.items()) if n or s]
    if ttd:
        await tx.executemany(_UPSERT_TTD, ttd)
    await _apply_engagement(tx, org_id, counts.engagement)


async def _apply_engagement(tx: Tx, org_id: str, cells: Mapping[tuple[str, int, str, str], list[int]]) -> None:
    """Add engagement counts per (config, hour, template, locale) to the
    hourly rollup and to the template and locale ones."""
    hours: dict[tuple[str, int], list[int]] = defaultdict(empty_cell)
    dims: dict[tuple[str, str, str], list[int]] = defaultdict(empty_cell)
    for (config_id, hour_ms, template_id, locale), cell in cells.items():
        for row in (
            hours[(config_id, hour_ms)],
            dims[(config_id, "template", template_id)],
            dims[(config_id, "locale", locale)],
        ):
            for i, n in enumerate(cell):
                row[i] += n
    hourly = [(org_id, *k, *v) for k, v in sorted(hours.items()) if any(v)]
    if hourly:
        await tx.executemany(_UPSERT_HOURLY_ENGAGEMENT, hourly)
    rows = [(org_id, *k, *v) for k, v in sorted(dims.items()) if any(v)]
    if rows:
        await tx.executemany(_UPSERT_ENGAGEMENT, rows)


@dataclass(frozen=True)
class Answer:
    """A customer's answer to an outbound activity: a conversation it opened
    (``conversation_id``) or an opt-out keyword (``conversation_id`` None),
    at ``at_ms``. ``fallback`` is what the answer itself knows of the
    activity (configuration id, created ms, locale), used when its row is
    not in SQL."""

    activity_id: str
    at_ms: int
    conversation_id: str | None = None
    fallback: tuple[str, int, str] | None = None

    @property
    def mark(self) -> str:
        return f"conv:{self.conversation_id}" if self.conversation_id else "opt_out"


async def record_answers(db: Database, org_id: str, answers: Sequence[Answer], window_ms: int) -> int:
    """Count customers' answers to the org's activities in the rollups, each
    once: a conversation opened, the first of them as the activity's reply
    (with its time from the activity), the first opt-out. Answers later than
    the correlation window after the activity, or before it, count nothing.
    Each counted answer leaves a mark in the same transaction, so a replayed
    batch counts nothing again. Returns how many answers were counted."""
    if not answers:
        return 0
    ids = sorted({a.activity_id for a in answers})
    async with db.transaction() as tx:
        await lock_org(tx, db, org_id)
        marks: set[tuple[str, str]] = set()
        known: dict[str, tuple[str, int, str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            place = ", ".join("?" * len(chunk))
            for act_id, mark in await tx.fetch(
                f"SELECT activity_id, mark FROM report_reply_marks WHERE org_id = ? AND activity_id IN ({place})",
                org_id,
                *chunk,
            ):
                marks.add((act_id, mark))
            for act_id, cfg, created, tpl, locale in await tx.fetch(
                f"SELECT id, configuration_id, created_ms, template_id, locale FROM activities"
                f" WHERE org_id = ? AND id IN ({place})",
                org_id,
                *chunk,
            ):
                known[act_id] = (cfg, int(created), tpl or "", locale or "")
        replied = {a for a, m in marks if m.startswith("conv:")}
        cells: dict[tuple[str, int, str, str], list[int]] = defaultdict(empty_cell)
        new_marks = []
        for a in sorted(answers, key=lambda a: (a.at_ms, a.activity_id, a.mark)):
            if (a.activity_id, a.mark) in marks:
                continue
            activity = known.get(a.activity_id)
            if activity is None and a.fallback is not None:
                activity = (a.fallback[0], a.fallback[1], "", a.fallback[2])
            if activity is None:
                continue
            cfg, created, tpl, locale = activity
            waited = a.at_ms - created
            if not cfg or waited < 0 or waited > window_ms:
                continue
            marks.add((a.activity_id, a.mark))
            new_marks.append((org_id, a.activity_id, a.mark, a.at_ms))
            cell = cells[(cfg, created - created % HOUR_MS, tpl, locale)]
            if a.conversation_id is None:
                cell[_OPTED_OUT] += 1
                continue
            cell[_CONVERSATIONS] += 1
            if a.activity_id not in replied:
                replied.add(a.activity_id)
                cell[_REPLIED] += 1
                cell[_REPLY_MS] += waited
                cell[len(ENGAGEMENT) - len(REPLY_BUCKETS) + REPLY_BUCKETS.index(reply_bucket(waited))] += 1
        if new_marks:
            await tx.executemany(
                "INSERT INTO report_reply_marks (org_id, activity_id, mark, at_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (org_id, activity_id, mark) DO NOTHING",
                sorted(new_marks),
            )
        await _apply_engagement(tx, org_id, cells)
    return len(new_marks)


Cells = dict[Any, dict[str, int]]


@dataclass
class ReportCounts:
    """One configuration's report figures from the rollups: counts by
    status per creation hour, template and locale; time to deliver per
    bucket as [n, sum ms]; report_engagement's columns (ENGAGEMENT) summed
    per ("h", hour), ("t", template) and ("l", locale)."""

    by_hour: Cells = field(default_factory=dict)
    by_template: Cells = field(default_factory=dict)
    by_locale: Cells = field(default_factory=dict)
    ttd: dict[str, list[int]] = field(default_factory=dict)
    engagement: dict[tuple[str, Any], list[int]] = field(default_factory=dict)

    def add(self, a: Counted, sign: int = 1) -> None:
        for cells, key in ((self.by_hour, a.hour_ms), (self.by_template, a.template_id), (self.by_locale, a.locale)):
            cell = cells.setdefault(key, {})
            cell[a.status] = cell.get(a.status, 0) + sign
        messages, segments = a.billed()
        if messages:
            keys: tuple[tuple[str, Any], ...] = (("h", a.hour_ms), ("t", a.template_id), ("l", a.locale))
            for by in keys:
                row = self.engagement.setdefault(by, empty_cell())
                row[_MESSAGES] += sign * messages
                row[_SEGMENTS] += sign * segments
        if a.ttd_ms is not None:
            bucket = self.ttd.setdefault(ttd_bucket(a.ttd_ms), [0, 0])
            bucket[0] += sign
            bucket[1] += sign * a.ttd_ms


async def read_report(
    db: Database,
    org_id: str,
    config_id: str,
    ids: Sequence[str],
) -> tuple[ReportCounts, dict[str, tuple[str, int | None]]]:
    """The configuration's rollups, and (status, delivered ms) of the rows of
    the activities ``ids`` as they stand in the same snapshot (one
    statement, so that both agree on which writes they include)."""
    where = "WHERE org_id = ? AND configuration_id = ?"
    pad = ", 0" * (len(STATUSES) + len(ENGAGEMENT))
    status_pad = ", 0" * len(STATUSES)
    sql = (
        f"SELECT 'h', hour_ms, '', '', 0, 0, {', '.join(STATUSES)}, {', '.join(ENGAGEMENT)}"
        f" FROM report_hourly {where}"
        f" UNION ALL SELECT 't', 0, template_id, status, n, 0{pad} FROM report_templates {where}"
        f" UNION ALL SELECT 'l', 0, locale, status, n, 0{pad} FROM report_locales {where}"
        f" UNION ALL SELECT 'd', 0, bucket, '', n, sum_ms{pad} FROM report_ttd {where}"
        f" UNION ALL SELECT 'e', 0, value, dimension, 0, 0{status_pad}, {', '.join(ENGAGEMENT)}"
        f" FROM report_engagement {where}"
    )
    args: list[Any] = [org_id, config_id] * 5
    if ids:
        # Status and first delivery (-1: none) of each row; what else the
        # report counts of an activity never changes.
        marks = ", ".join("?" * len(ids))
        sql += (
            f" UNION ALL SELECT 'a', 0, id, status, COALESCE(delivered_ms, -1), 0{pad}"
            f" FROM activities {where} AND id IN ({marks})"
        )
        args += [org_id, config_id, *ids]
    counts = ReportCounts()
    rows: dict[str, tuple[str, int | None]] = {}
    for kind, num, key, status, n, extra, *by_status in await db.fetch(sql, *args):
        if kind == "h":
            counts.by_hour[int(num)] = {s: int(v) for s, v in zip(STATUSES, by_status) if v}
            engaged = by_status[len(STATUSES) :]
            if any(engaged):
                counts.engagement[("h", int(num))] = [int(v) for v in engaged]
        elif kind == "t":
            counts.by_template.setdefault(key, {})[status] = int(n)
        elif kind == "l":
            counts.by_locale.setdefault(key, {})[status] = int(n)
        elif kind == "d":
            counts.ttd[key] = [int(n), int(extra)]
        elif kind == "e":
            counts.engagement[(status[0], key)] = [int(v) for v in by_status[len(STATUSES) :]]
        else:
            rows[key] = (status, None if int(n) < 0 else int(n))
    return counts, rows
