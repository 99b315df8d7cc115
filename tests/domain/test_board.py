"""The supervisors' board from what Redis holds (pure)."""

from __future__ import annotations

from hub.domain.board import build_board


def agent(id_: str, presence: str, open_: int, capacity: int, queues: list[str], convs=None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {
        "id": id_,
        "name": id_.upper(),
        "role": "agent",
        "presence": presence,
        "presence_at": 1_000_000,
        "open": open_,
        "capacity": capacity,
        "queues": queues or {},
        "conversations": convs or {},
        "in_grace": False,
    }


def waiting(id_: str, created_ms: int, queue: str = "default") -> dict:  # type: ignore[type-arg]
    return {"id": id_, "customer": "+1", "channel_type": "sms", "created": created_ms, "assigned": 0, "queue": queue}


def test_queues_count_only_available_agents_free_capacity() -> None:
    raw = {
        "agents": [
            agent("a", "available", 1, 3, ["default", "vip"]),
            agent("b", "away", 0, 5, ["default"]),  # away: no free capacity
            agent("c", "available", 4, 3, ["vip"]),  # over capacity counts as none
        ],
        "queues": [
            {"name": "vip", "count": 0, "conversations": {}},
            {"name": "default", "count": 3, "conversations": [waiting("w2", 5_000), waiting("w1", 2_000)]},
        ],
    }
    board = build_board(raw, now=10.0)
    assert board["queues"] == [
        {
            "name": "default",
            "waiting": 3,
            "longest_waiting_since": 2.0,
            "agents": 2,
            "agents_available": 1,
            "free_capacity": 2,
        },
        {
            "name": "vip",
            "waiting": 0,
            "longest_waiting_since": None,
            "agents": 2,
            "agents_available": 2,
            "free_capacity": 2,
        },
    ]
    assert [w["id"] for w in board["waiting"]] == ["w1", "w2"]  # longest waiting first
    assert [a["free_capacity"] for a in board["agents"]] == [2, 0, 0]
    assert board["agents"][0]["presence_since"] == 1000.0


def test_empty_lua_tables_read_as_lists_and_a_grace_period_is_not_connected() -> None:
    raw = {"agents": [dict(agent("a", "available", 0, 1, []), in_grace=True)], "queues": {}}
    board = build_board(raw, now=1.0)
    assert board["queues"] == [] and board["waiting"] == []
    assert board["agents"][0]["queues"] == [] and board["agents"][0]["conversations"] == []
    assert board["agents"][0]["connected"] is False
