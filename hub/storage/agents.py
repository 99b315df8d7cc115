"""Agents, their login tokens, and their event logs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.typing import EncodableT

from hub.storage import keys

PUBLIC = ("id", "name", "email", "capacity", "presence", "open", "created_at")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token_key(token: str) -> str:
    return keys.agent_token(_digest(token))


agent_key = keys.agent


def public_agent(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: raw.get(k) for k in PUBLIC}
    out["role"] = raw.get("role") or "agent"  # agents made before roles existed
    out["queues"] = json.loads(raw.get("queues") or "[]")
    out["skills"] = json.loads(raw.get("skills") or "{}")
    out["capacity"] = int(raw.get("capacity") or 0)
    out["open"] = int(raw.get("open") or 0)
    out["created_at"] = float(raw.get("created_at") or 0)
    out["active"] = not raw.get("deactivated_at")
    return out


class AgentStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client

    async def create(self, org_id: str, agent: dict[str, Any], password_hash: str) -> bool:
        """False when the email is taken in this org. Another org's agent may
        have it too: refusing that would tell one org who works for another."""
        claimed = await self.r.set(keys.agent_email(org_id, agent["email"]), agent["id"], nx=True)
        if not claimed:
            return False
        fields: dict[EncodableT, EncodableT] = {
            "id": agent["id"],
            "name": agent["name"],
            "email": agent["email"],
            "queues": json.dumps(agent["queues"]),
            "capacity": agent["capacity"],
            "role": agent.get("role", "agent"),
            "presence": "offline",
            "open": 0,
            "last_assigned": 0,
            "created_at": agent["created_at"],
            "password": password_hash,
            "presence_at": int(agent["created_at"] * 1000),
        }
        async with self.r.pipeline(transaction=True) as p:
            p.hset(agent_key(org_id, agent["id"]), mapping=fields)
            p.zadd(keys.records(org_id, "agent"), {agent["id"]: agent["created_at"]})
            await p.execute()
        # Last, so that a sign-in never finds a half-made agent.
        await self.r.sadd(keys.agent_logins(agent["email"]), f"{org_id}|{agent['id']}")
        return True

    async def load(self, org_id: str, agent_id: str) -> dict[str, str] | None:
        raw = cast(dict[str, str], await self.r.hgetall(agent_key(org_id, agent_id)))
        return raw or None

    async def all(self, org_id: str) -> list[dict[str, str]]:
        ids = cast(list[str], await self.r.zrange(keys.records(org_id, "agent"), 0, -1))
        async with self.r.pipeline(transaction=False) as p:
            for agent_id in ids:
                p.hgetall(agent_key(org_id, agent_id))
            rows = await p.execute()
        return [row for row in rows if row]

    async def served_since(self, org_id: str, agent_id: str, customer: str) -> float | None:
        """When the agent was last assigned a conversation with the customer (ms), if ever."""
        return await self.r.zscore(keys.agent_served(org_id, agent_id), customer)

    async def trim_served(self, org_id: str, agent_ids: Sequence[str], before_ms: int) -> int:
        """Forget customers an agent served only before the retention cutoff."""
        async with self.r.pipeline(transaction=False) as p:
            for agent_id in agent_ids:
                p.zremrangebyscore(keys.agent_served(org_id, agent_id), "-inf", f"({before_ms}")
            return int(sum(await p.execute()))

    async def online(self, org_id: str) -> list[str]:
        """Agents with a websocket somewhere, or within their grace period."""
        return sorted(cast(set[str], await self.r.smembers(keys.agents_online(org_id))))

    async def disconnected(self, org_id: str) -> list[tuple[str, int]]:
        """Agents in their grace period (no live connection), with when their
        last connection closed (ms)."""
        rows = cast(list[tuple[str, float]], await self.r.zrange(keys.agents_gone(org_id), 0, -1, withscores=True))
        return [(a, int(s)) for a, s in rows]

    async def logins(self, email: str) -> list[tuple[str, str]]:
        """Every (org, agent) signing in with this email, oldest key first."""
        async with self.r.pipeline(transaction=False) as p:
            p.smembers(keys.agent_logins(email))
            p.get(keys.legacy_agent_email(email))
            members, legacy = await p.execute()
        found = {tuple(m.partition("|")[::2]) for m in members}
        if legacy:
            found.add(tuple(legacy.partition("|")[::2]))
        return sorted(found)

    async def save_password(self, org_id: str, agent_id: str, password_hash: str) -> None:
        await self.r.hset(agent_key(org_id, agent_id), "password", password_hash)

    async def issue_token(self, token: str, org_id: str, agent_id: str, ttl_s: int) -> None:
        sessions = keys.agent_sessions(org_id, agent_id)
        await self.r.set(_token_key(token), f"{org_id}|{agent_id}", ex=ttl_s)
        async with self.r.pipeline(transaction=True) as p:
            p.sadd(sessions, _digest(token))
            p.expire(sessions, ttl_s)  # every token lives ttl_s: the newest outlives the others
            await p.execute()

    async def end_sessions(self, org_id: str, agent_id: str) -> int:
        """Revoke every token the agent signed in with (its websockets notice and close)."""
        hashes = cast(set[str], await self.r.smembers(keys.agent_sessions(org_id, agent_id)))
        ended = 0
        for token_hash in hashes:  # global keys, each in its own slot: one at a time
            ended += int(await self.r.delete(keys.agent_token(token_hash)))
        await self.r.delete(keys.agent_sessions(org_id, agent_id))
        return ended

    async def forbid_sign_in(self, org_id: str, agent_id: str, email: str) -> None:
        """A deactivated agent's email no longer signs in to this org."""
        await self.r.srem(keys.agent_logins(email), f"{org_id}|{agent_id}")

    async def token_owner(self, token: str) -> tuple[str, str] | None:
        return await self.session_owner(_digest(token))

    async def token_session(self, token: str) -> tuple[str, str, str] | None:
        """(org, agent, token hash): a websocket keeps the hash, to notice revocation."""
        owner = await self.session_owner(_digest(token))
        return (*owner, _digest(token)) if owner else None

    async def session_owner(self, token_hash: str) -> tuple[str, str] | None:
        """The owner of a token known by its hash (what a websocket keeps)."""
        raw = cast(str | None, await self.r.get(keys.agent_token(token_hash)))
        if not raw:
            return None
        org_id, _, agent_id = raw.partition("|")
        return org_id, agent_id

    async def issue_ticket(self, ticket: str, token: str, ttl_ms: int) -> None:
        """A one-time ticket standing for the token (by its hash) for ``ttl_ms``."""
        await self.r.set(keys.agent_ticket(_digest(ticket)), _digest(token), px=ttl_ms)

    async def redeem_ticket(self, ticket: str) -> tuple[str, str, str] | None:
        """(org, agent, token hash) once, if the ticket is unexpired and its
        token still valid; GETDEL makes a second use fail, on any process."""
        token_hash = cast(str | None, await self.r.getdel(keys.agent_ticket(_digest(ticket))))
        if not token_hash:
            return None
        owner = await self.session_owner(token_hash)
        return (*owner, token_hash) if owner else None

    async def revoke_token(self, token: str) -> None:
        await self.r.delete(_token_key(token))

    async def events_after(self, org_id: str, agent_id: str, after: int) -> list[str]:
        return cast(list[str], await self.r.zrangebyscore(keys.agent_events(org_id, agent_id), f"({after}", "+inf"))

    async def last_event_id(self, org_id: str, agent_id: str) -> int:
        return int(await self.r.get(keys.agent_sequence(org_id, agent_id)) or 0)


def notify_channel(org_id: str, agent_id: str) -> str:
    return keys.agent_notify(org_id, agent_id)
