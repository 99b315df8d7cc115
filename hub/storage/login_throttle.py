"""Failed sign-in counters (see ``hub.domain.sign_in`` for the budgets).

An attempt is counted *before* the password is checked, and given back when
it succeeds or is refused, so that concurrent guesses cannot all slip past
the check while argon2 runs: of 150 wrong passwords sent at once, only the
budget's worth are ever verified. Each counter is one key changed in one
MULTI (the keys are global and need not share a cluster slot).
"""

from __future__ import annotations

import math

import redis.asyncio as aioredis

from hub.domain.sign_in import Budget
from hub.storage import keys
from hub.storage.redis import script_source


class LoginThrottle:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client
        self._give_back = client.register_script(script_source("login_give_back"))

    async def take(self, budgets: list[Budget]) -> int:
        """Count one attempt against every budget; 0 when all had room, else
        the seconds until the longest exhausted one resets (the attempt is
        then given back: a refused attempt costs nothing)."""
        async with self.r.pipeline(transaction=True) as p:
            for b in budgets:
                key = keys.login_failures(b.scope, b.subject)
                p.set(key, 0, px=b.window_s * 1000, nx=True)
                p.incr(key)
                p.pttl(key)
            replies = await p.execute()
        wait_ms = 0
        for i, b in enumerate(budgets):
            count, ttl = replies[i * 3 + 1], replies[i * 3 + 2]
            if count > b.limit:
                wait_ms = max(wait_ms, ttl if ttl > 0 else b.window_s * 1000)
        if wait_ms:
            await self.give_back(budgets)
        return math.ceil(wait_ms / 1000)

    async def give_back(self, budgets: list[Budget]) -> None:
        """The attempt was no failure."""
        async with self.r.pipeline(transaction=False) as p:
            for b in budgets:
                await self._give_back(keys=[keys.login_failures(b.scope, b.subject)], client=p)
            await p.execute()

    async def forget(self, budget: Budget) -> None:
        await self.r.delete(keys.login_failures(budget.scope, budget.subject))
