"""Agent metrics per day and per agent (pure), from conversations as Redis
and the SQL history hold them (the conversation's hash, and its agents'
replies).

- **handled**: conversations closed that day (UTC) while assigned to the agent;
- **handle time**: for those, from the agent's (last) assignment to the close;
- **first response**: from the conversation's start (the customer's first
  message) to its first reply by an agent, counted for the agent who sent
  it, on the day it was sent;
- **replies**: the agent's replies sent that day (internal notes are not replies).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.errors import InvalidRequest

MAX_DAYS = 92
CSV_COLUMNS = (
    "day",
    "agent_id",
    "agent_name",
    "handled",
    "replies",
    "first_responses",
    "first_response_p50_s",
    "first_response_p90_s",
    "handle_time_avg_s",
    "handle_time_p50_s",
)


@dataclass(frozen=True)
class Reply:
    at_ms: int
    agent_id: str


@dataclass(frozen=True)
class ConversationFacts:
    """What the metrics need of one conversation."""

    id: str
    created_ms: int
    status: str
    agent_id: str | None
    assigned_ms: int | None
    closed_ms: int | None
    replies: Sequence[Reply]

    @classmethod
    def of(cls, raw: Mapping[str, Any], replies: Sequence[Reply]) -> ConversationFacts:
        def ms(key: str) -> int | None:
            value = str(raw.get(key) or "")
            return int(value) if value.lstrip("-").isdigit() else None

        return cls(
            id=str(raw["id"]),
            created_ms=ms("created") or 0,
            status=str(raw.get("status") or ""),
            agent_id=raw.get("agent") or None,
            assigned_ms=ms("assigned"),
            closed_ms=ms("closed"),
            replies=sorted(replies, key=lambda r: r.at_ms),
        )


def day_range(start: str | None, end: str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """``from`` and ``to`` (YYYY-MM-DD, UTC, both included); by default the
    last 7 days up to today."""

    def parse(value: str, field_: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidRequest(f"{field_} must be a date (YYYY-MM-DD)", details={"field": field_}) from None

    last = parse(end, "to") if end else today
    first = parse(start, "from") if start else last - dt.timedelta(days=6)
    if first > last:
        raise InvalidRequest("from must not be after to", details={"field": "from"})
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRequest(f"at most {MAX_DAYS} days at once", details={"field": "from"})
    return first, last


def day_bounds_ms(first: dt.date, last: dt.date) -> tuple[int, int]:
    """[start of ``first``, start of the day after ``last``) in Unix ms, UTC."""

    def ms(day: dt.date) -> int:
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)

    return ms(first), ms(last + dt.timedelta(days=1))


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date().isoformat()


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (the value at or below which ``q`` of them lie)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class _Cell:
    handled: int = 0
    replies: int = 0
    first_responses: list[float] = field(default_factory=list)
    handle_times: list[float] = field(default_factory=list)


def agent_metrics(
    conversations: Iterable[ConversationFacts],
    start_ms: int,
    end_ms: int,
    names: Mapping[str, str],
    agent_id: str | None = None,
) -> list[dict[str, Any]]:
    """One row per (day, agent) with anything to count, by day then agent."""
    cells: dict[tuple[str, str], _Cell] = defaultdict(_Cell)

    def inside(ms: int | None) -> bool:
        return ms is not None and start_ms <= ms < end_ms

    for c in conversations:
        if c.status == "closed" and c.agent_id and inside(c.closed_ms):
            assert c.closed_ms is not None
            cell = cells[(_day(c.closed_ms), c.agent_id)]
            cell.handled += 1
            if c.assigned_ms is not None:
                cell.handle_times.append(max(0, c.closed_ms - c.assigned_ms) / 1000)
        for reply in c.replies:
            if inside(reply.at_ms):
                cells[(_day(reply.at_ms), reply.agent_id)].replies += 1
        if c.replies and inside(c.replies[0].at_ms):
            first = c.replies[0]
            cells[(_day(first.at_ms), first.agent_id)].first_responses.append(max(0, first.at_ms - c.created_ms) / 1000)
    rows = []
    for (day, agent), cell in sorted(cells.items()):
        if agent_id is not None and agent != agent_id:
            continue
        handle = cell.handle_times
        rows.append(
            {
                "day": day,
                "agent_id": agent,
                "agent_name": names.get(agent),
                "handled": cell.handled,
                "replies": cell.replies,
                "first_responses": len(cell.first_responses),
                "first_response_p50_s": percentile(cell.first_responses, 0.5),
                "first_response_p90_s": percentile(cell.first_responses, 0.9),
                "handle_time_avg_s": round(sum(handle) / len(handle), 3) if handle else None,
                "handle_time_p50_s": percentile(handle, 0.5),
            }
        )
    return rows
