"""The wall clock as the hub stores it: milliseconds since the epoch.

Activities, jobs, leases and Redis scores all carry integer milliseconds;
this is the one place that reads them from the clock (hub.domain stays free
of clock reads: its rules take ``now`` as an argument)."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
