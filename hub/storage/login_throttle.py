"""Failed sign-in counters (see ``hub.domain.sign_in`` for the budgets).

An attempt is counted *before* the password is checked, and given back when
the password is right, so that concurrent guesses cannot all slip past the
check while argon2 runs: of 150 wrong passwords sent at once, only the
budget's worth are ever verified. Counting and refusing happen in one script
over every budget of the attempt (the counters share the ``{login}`` hash
tag, so it stays within one cluster slot).
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis

from hub.domain.sign_in import Budget
from hub.storage import keys
from hub.storage.redis import script_source


def _keys(budgets: list[Budget]) -> list[str]:
    return [keys.login_failures(b.scope, b.subject) for b in budgets]


class LoginThrottle:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client
        self._attempt = client.register_script(script_source("login_attempt"))
        self._give_back = client.register_script(script_source("login_give_back"))

    async def take(self, budgets: list[Budget]) -> int:
        """Count one attempt against every budget: 0 when all had room, else
        the seconds until the longest spent one resets (nothing counted)."""
        args = [v for b in budgets for v in (b.limit, b.window_s * 1000)]
        wait_ms = int(await self._attempt(keys=_keys(budgets), args=args))
        return math.ceil(wait_ms / 1000)

    async def give_back(self, budgets: list[Budget]) -> None:
        """The attempt was no failure."""
        await self._give_back(keys=_keys(budgets))
