"""Opening Redis from one URL, and loading the Lua scripts."""

from __future__ import annotations

from importlib import resources

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from hub.domain.statuses import RANK, TERMINAL


def connect(url: str, *, max_connections: int = 512) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url, decode_responses=True, max_connections=max_connections, health_check_interval=30
    )


def _status_tables() -> str:
    ranks = ", ".join(f"['{s}'] = {r}" for s, r in RANK.items())
    terminal = ", ".join(f"['{s}'] = true" for s in sorted(TERMINAL))
    return f"local RANK = {{{ranks}}}\nlocal TERMINAL = {{{terminal}}}\n"


def script_source(name: str) -> str:
    folder = resources.files("hub.storage") / "scripts"
    body = (folder / f"{name}.lua").read_text()
    if "apply_status(" in body:
        body = _status_tables() + (folder / "lib.lua").read_text() + "\n" + body
    return body


class Scripts:
    """The hub's Lua scripts, registered on one client (EVALSHA, loaded on demand)."""

    def __init__(self, client: aioredis.Redis) -> None:
        def load(name: str) -> AsyncScript:
            return client.register_script(script_source(name))  # type: ignore[return-value]

        self.accept_send = load("accept_send")
        self.mark_sending = load("mark_sending")
        self.record_results = load("record_results")
        self.apply_callback = load("apply_callback")
        self.list_page = load("list_page")
