"""The delivery report of one configuration, from the counters the
activity scripts keep (they outlive the activities themselves)."""

from __future__ import annotations

from typing import Any

from hub.domain.statuses import ActivityStatus, delivery_rate

TTD_BUCKETS = ["1", "2", "5", "10", "30", "60", "300", "900", "3600", "inf"]


def _bucket_quantile(counts: dict[str, int], total: int, q: float) -> float | None:
    if total == 0:
        return None
    running = 0
    for le in TTD_BUCKETS:
        running += counts.get(le, 0)
        if running >= q * total:
            return None if le == "inf" else float(le)
    return None


def build_report(config_id: str, totals: dict[str, str], hours: dict[str, str]) -> dict[str, Any]:
    counts = {str(s): max(0, int(totals.get(str(s), 0))) for s in ActivityStatus}
    ttd_count = int(totals.get("ttd_count", 0))
    ttd_sum = float(totals.get("ttd_sum", 0.0))
    buckets = {le: int(totals.get(f"ttd_le_{le}", 0)) for le in TTD_BUCKETS}
    series: dict[str, dict[str, int]] = {}
    for field, value in hours.items():
        hour, _, status = field.partition("|")
        if int(value) > 0:
            series.setdefault(hour, {})[status] = int(value)
    return {
        "configuration_id": config_id,
        "total": sum(counts.values()),
        "counts": counts,
        "delivery_rate": delivery_rate(counts),
        "time_to_deliver": {
            "count": ttd_count,
            "average_seconds": (ttd_sum / ttd_count) if ttd_count else None,
            "p50_seconds_at_most": _bucket_quantile(buckets, ttd_count, 0.5),
            "p90_seconds_at_most": _bucket_quantile(buckets, ttd_count, 0.9),
        },
        "by_hour": [
            {"hour": f"{h[:4]}-{h[4:6]}-{h[6:8]}T{h[8:10]}:00:00Z", "counts": series[h]}
            for h in sorted(series)
        ],
    }
