"""The waiting-time histogram on /metrics, added up from the counters the
routing scripts keep in Redis."""

from __future__ import annotations

from hub.metrics import WaitCollector


def test_each_waits_bucket_counts_in_every_larger_one() -> None:
    collector = WaitCollector()
    # Org A: three waits, 5 ms, 0.3 s and 2 h (past the last bucket); org B: one of 40 s.
    collector.update(
        [
            {"count": "3", "sum": "7200.305", "b_0.01": "1", "b_0.5": "1"},
            {"count": "1", "sum": "40", "b_60": "1"},
        ]
    )
    got = dict(collector.buckets)
    assert got["0.01"] == 1 and got["0.1"] == 1
    assert got["0.5"] == 2 and got["30"] == 2
    assert got["60"] == 3 and got["1800"] == 3
    assert got["+Inf"] == 4
    assert collector.total == 7240.305


def test_counters_kept_cumulative_before_still_count() -> None:
    collector = WaitCollector()
    # Before, every bucket that held a wait was counted: two waits of 0.2 s
    # then, and one of 0.02 s counted the new way since.
    before = {f"le_{le}": "2" for le in ("0.5", "1", "5", "30", "60", "300", "1800")}
    collector.update([{"count": "3", "sum": "0.42", **before, "b_0.05": "1"}])
    got = dict(collector.buckets)
    assert (got["0.01"], got["0.05"], got["0.1"], got["0.5"], got["1800"], got["+Inf"]) == (0, 1, 1, 3, 3, 3)
