"""The delivery report of one configuration: the SQL rollups (every change
the archiver has written, over all history) corrected by the activities
whose latest changes are still only in Redis, so that it counts every
activity once, in its current status, right after its 202 too.

The rollups and the rows of the not-yet-archived activities are read in one
statement (one snapshot): an activity is counted by SQL, less its row and
plus its Redis record when it has changes waiting in the archive stream.
The stream is read first, so an activity missing from it had all its
changes in SQL already; one archived meanwhile is counted once either way.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from typing import Any

from hub.domain import partitions as parts
from hub.domain.statuses import SUCCESSFUL, ActivityStatus, delivery_rate
from hub.services.context import Hub
from hub.storage.sql import rollups
from hub.storage.sql.rollups import ENGAGEMENT, REPLY_BUCKETS, TTD_BUCKETS, Counted, ReportCounts, empty_cell


async def report(hub: Hub, org_id: str, config_id: str, *, partitions: int = 1) -> dict[str, Any]:
    """``partitions``: the org's; what is not archived yet is read in each."""
    assert hub.history is not None
    hot = [r for unit in parts.units(org_id, partitions) for r in await hub.archive_queue.unarchived(unit, config_id)]
    counts, rows = await rollups.read_report(hub.history, org_id, config_id, [r["id"] for r in hot])
    for raw in hot:
        now = Counted.of_record(raw)
        if raw["id"] in rows:
            status, delivered_ms = rows[raw["id"]]
            created = int(raw["created"])
            counts.add(
                dataclasses.replace(
                    now, status=status, ttd_ms=None if delivered_ms is None else max(0, delivered_ms - created)
                ),
                -1,
            )
        counts.add(now)
    return build_report(config_id, counts)


def _bucket_quantile(counts: dict[str, int], total: int, q: float) -> float | None:
    if total == 0:
        return None
    running = 0
    for le in TTD_BUCKETS:
        running += counts.get(le, 0)
        if running >= q * total:
            return None if le == "inf" else float(le)
    return None


def _by(cells: dict[Any, dict[str, int]]) -> list[tuple[Any, dict[str, int]]]:
    """Non-zero counts, by key in order."""
    out = []
    for key in sorted(cells):
        nonzero = {s: n for s, n in cells[key].items() if n > 0}
        if nonzero:
            out.append((key, nonzero))
    return out


def _hour(hour_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(hour_ms / 1000))


def _rate(n: int, of: int) -> float | None:
    return n / of if of > 0 else None


_BUCKETS_AT = len(ENGAGEMENT) - len(REPLY_BUCKETS)
_SUCCESSFUL = tuple(str(s) for s in SUCCESSFUL)
_REPLY_BOUNDS = tuple(None if b == "inf" else float(b) for b in REPLY_BUCKETS)


def engagement(cell: list[int], counts: dict[str, int]) -> dict[str, Any]:
    """The SMS and reply figures of one report row (or the totals), from its
    engagement sums (rollups.ENGAGEMENT) and its counts by status."""
    messages, segments, replied, opted_out, conversations, reply_ms = cell[:_BUCKETS_AT]
    delivered = sum(counts.get(s, 0) for s in _SUCCESSFUL)
    first_reply: dict[str, Any] = {
        "count": replied,
        "average_seconds": None,
        "p50_seconds_at_most": None,
        "p90_seconds_at_most": None,
    }
    if replied:
        first_reply["average_seconds"] = reply_ms / 1000 / replied
        # The upper bounds of the buckets holding the 50th and 90th percentiles.
        running, half, ninety = 0, None, None
        for bound, n in zip(_REPLY_BOUNDS, cell[_BUCKETS_AT:]):
            running += n
            if half is None and running >= 0.5 * replied:
                half = bound
            if running >= 0.9 * replied:
                ninety = bound
                break
        first_reply["p50_seconds_at_most"], first_reply["p90_seconds_at_most"] = half, ninety
    return {
        "sms": {"messages": messages, "segments": segments},
        "replies": {
            "delivered": delivered,
            "replied": replied,
            "reply_rate": _rate(replied, delivered),
            "opted_out": opted_out,
            "opt_out_rate": _rate(opted_out, delivered),
            "conversations_opened": conversations,
            "time_to_first_reply": first_reply,
        },
    }


def build_report(config_id: str, c: ReportCounts) -> dict[str, Any]:
    counts = {str(s): 0 for s in ActivityStatus}
    by_hour = _by(c.by_hour)
    for _, cell in by_hour:
        for status, n in cell.items():
            if status in counts:
                counts[status] += n
    buckets = {le: c.ttd[le][0] for le in TTD_BUCKETS if le in c.ttd}
    ttd_count = sum(buckets.values())
    ttd_ms = sum(cell[1] for cell in c.ttd.values())
    total = empty_cell()
    for (kind, _), sums in c.engagement.items():
        if kind == "h":
            total = [a + b for a, b in zip(total, sums)]

    def row(kind: str, key: Any, counts: dict[str, int]) -> dict[str, Any]:
        return {"counts": counts, **engagement(c.engagement.get((kind, key), empty_cell()), counts)}

    return {
        "configuration_id": config_id,
        "total": sum(counts.values()),
        "counts": counts,
        "delivery_rate": delivery_rate(counts),
        "time_to_deliver": {
            "count": ttd_count,
            "average_seconds": (ttd_ms / 1000 / ttd_count) if ttd_count else None,
            "p50_seconds_at_most": _bucket_quantile(buckets, ttd_count, 0.5),
            "p90_seconds_at_most": _bucket_quantile(buckets, ttd_count, 0.9),
        },
        **engagement(total, counts),
        "by_hour": [{"hour": _hour(h), **row("h", h, v)} for h, v in by_hour],
        "by_template": [{"template_id": t or None, **row("t", t, v)} for t, v in _by(c.by_template)],
        "by_locale": [{"locale": loc or None, **row("l", loc, v)} for loc, v in _by(c.by_locale)],
    }


# The CSV export: one row per hour, template or locale, then the totals.
GROUP_BY = {"hour": ("hour", "by_hour"), "template": ("template_id", "by_template"), "locale": ("locale", "by_locale")}
STATUS_COLUMNS = tuple(str(s) for s in ActivityStatus)
CSV_COLUMNS = (
    "total",
    *STATUS_COLUMNS,
    "delivery_rate",
    "sms_messages",
    "sms_segments",
    "delivered",
    "replied",
    "reply_rate",
    "opted_out",
    "opt_out_rate",
    "conversations_opened",
    "first_reply_average_seconds",
    "first_reply_p50_seconds_at_most",
    "first_reply_p90_seconds_at_most",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    text = str(value)
    # Never a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv_values(counts: dict[str, int], sms: dict[str, int], replies: dict[str, Any]) -> list[Any]:
    ttfr = replies["time_to_first_reply"]
    return [
        sum(counts.values()),
        *(counts.get(s, 0) for s in STATUS_COLUMNS),
        delivery_rate(counts),
        sms["messages"],
        sms["segments"],
        replies["delivered"],
        replies["replied"],
        replies["reply_rate"],
        replies["opted_out"],
        replies["opt_out_rate"],
        replies["conversations_opened"],
        ttfr["average_seconds"],
        ttfr["p50_seconds_at_most"],
        ttfr["p90_seconds_at_most"],
    ]


def report_csv(report: dict[str, Any], group_by: str) -> str:
    """A report as CSV (``group_by``: hour, template or locale), rows in the
    report's order and a last row ``total``."""
    key, items = GROUP_BY[group_by]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([key, *CSV_COLUMNS])
    for item in report[items]:
        writer.writerow([_cell(v) for v in (item[key], *_csv_values(item["counts"], item["sms"], item["replies"]))])
    writer.writerow([_cell(v) for v in ("total", *_csv_values(report["counts"], report["sms"], report["replies"]))])
    return out.getvalue()
