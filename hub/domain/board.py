"""The supervisors' board (pure): per queue, per agent and per waiting
conversation, from what Redis holds (hub/storage/scripts/board_snapshot.lua).

Times are epoch seconds ("since"), not durations: the console counts wait
and time in presence up from them, so the board is pushed only when
something changes, never to tick a clock.
"""

from __future__ import annotations

from typing import Any


def _list(value: Any) -> list[Any]:
    # cjson writes an empty Lua table as {}.
    return value if isinstance(value, list) else []


def _seconds(ms: Any) -> float | None:
    return ms / 1000 if isinstance(ms, int | float) and ms > 0 else None


def _conversation(row: dict[str, Any], *, waiting: bool) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "customer": row["customer"],
        "channel_type": row["channel_type"] or None,
        "queue": row["queue"] or None,
    }
    if waiting:
        out["waiting_since"] = _seconds(row["created"])
    else:
        out["assigned_at"] = _seconds(row["assigned"])
    return out


def free_capacity(agent: dict[str, Any]) -> int:
    """What routing may still give the agent: only while available."""
    if agent["presence"] != "available":
        return 0
    return max(0, int(agent["capacity"]) - int(agent["open"]))


def build_board(raw: dict[str, Any], now: float) -> dict[str, Any]:
    agents = []
    for a in _list(raw.get("agents")):
        convs = sorted(
            (_conversation(c, waiting=False) for c in _list(a.get("conversations"))),
            key=lambda c: (c["assigned_at"] or 0, c["id"]),
        )
        agents.append(
            {
                "id": a["id"],
                "name": a["name"],
                "role": a["role"],
                "presence": a["presence"],
                "presence_since": _seconds(a["presence_at"]),
                "connected": a["presence"] != "offline" and not a["in_grace"],
                "open": int(a["open"]),
                "capacity": int(a["capacity"]),
                "free_capacity": free_capacity(a),
                "queues": sorted(_list(a.get("queues"))),
                "conversations": convs,
            }
        )
    queues, waiting = [], []
    for q in sorted(_list(raw.get("queues")), key=lambda q: q["name"]):
        rows = [_conversation(c, waiting=True) for c in _list(q.get("conversations"))]
        waiting += rows
        serving = [a for a in agents if q["name"] in a["queues"]]
        available = [a for a in serving if a["presence"] == "available"]
        since = [r["waiting_since"] for r in rows if r["waiting_since"] is not None]
        queues.append(
            {
                "name": q["name"],
                "waiting": int(q["count"]),
                "longest_waiting_since": min(since) if since else None,
                "agents": len(serving),
                "agents_available": len(available),
                "free_capacity": sum(a["free_capacity"] for a in available),
            }
        )
    waiting.sort(key=lambda c: (c["waiting_since"] or now, c["id"]))
    return {"at": now, "queues": queues, "agents": agents, "waiting": waiting}
