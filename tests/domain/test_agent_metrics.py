"""Agent metrics per day and per agent (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.domain.agent_metrics import ConversationFacts, Reply, agent_metrics, day_bounds_ms, day_range, percentile
from hub.errors import InvalidRequest

DAY = 86_400_000
D1 = day_bounds_ms(dt.date(2026, 3, 1), dt.date(2026, 3, 1))[0]  # 2026-03-01T00:00Z


def conv(
    id_: str,
    created: int,
    *,
    agent: str | None = "a",
    assigned: int | None = None,
    closed: int | None = None,
    replies: tuple[tuple[int, str], ...] = (),
) -> ConversationFacts:
    raw = {
        "id": id_,
        "created": str(created),
        "status": "closed" if closed else "assigned",
        "agent": agent or "",
        "assigned": str(assigned or created),
        "closed": str(closed or ""),
    }
    return ConversationFacts.of(raw, [Reply(at, who) for at, who in replies])


def test_each_count_goes_to_the_day_and_agent_it_happened_on() -> None:
    convs = [
        # Answered by b (first response 60 s) on day 1, handed to a, closed on day 2.
        conv(
            "c1",
            D1 + 1000,
            assigned=D1 + DAY,
            closed=D1 + DAY + 30_000,
            replies=((D1 + 61_000, "b"), (D1 + DAY + 10_000, "a")),
        ),
        # Answered by a after 10 s, still open.
        conv("c2", D1 + 5000, replies=((D1 + 15_000, "a"),)),
        # Closed before the range: nothing; its reply before too.
        conv("c0", D1 - DAY, closed=D1 - 1, replies=((D1 - 500, "a"),)),
    ]
    rows = agent_metrics(convs, D1, D1 + 2 * DAY, {"a": "Ana", "b": "Bo"})
    assert [(r["day"], r["agent_id"], r["handled"], r["replies"], r["first_responses"]) for r in rows] == [
        ("2026-03-01", "a", 0, 1, 1),
        ("2026-03-01", "b", 0, 1, 1),
        ("2026-03-02", "a", 1, 1, 0),
    ]
    assert rows[0]["first_response_p50_s"] == 10.0 and rows[1]["first_response_p90_s"] == 60.0
    assert rows[2]["handle_time_avg_s"] == 30.0 and rows[2]["handle_time_p50_s"] == 30.0
    assert rows[2]["first_response_p50_s"] is None and rows[0]["agent_name"] == "Ana"
    assert [r["agent_id"] for r in agent_metrics(convs, D1, D1 + 2 * DAY, {}, agent_id="b")] == ["b"]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (5.0, 9.0)
    assert percentile([7.0], 0.9) == 7.0 and percentile([], 0.5) is None


def test_day_ranges() -> None:
    today = dt.date(2026, 3, 10)
    assert day_range(None, None, today) == (dt.date(2026, 3, 4), today)
    assert day_range("2026-03-01", "2026-03-01", today) == (dt.date(2026, 3, 1),) * 2
    for start, end, field in (
        ("x", None, "from"),
        (None, "2026-02-30", "to"),
        ("2026-03-02", "2026-03-01", "from"),
        ("2025-01-01", "2026-01-01", "from"),
    ):
        with pytest.raises(InvalidRequest) as err:
            day_range(start, end, today)
        assert err.value.details == {"field": field}
