"""Orgs and their API keys (stored as SHA-256: keys are long random secrets)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis.asyncio as aioredis

from hub.storage import keys


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class OrgStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client

    async def create(self, org: dict[str, Any], api_key: str) -> None:
        """Save the org with a new API key; a key it had before stops working."""
        previous = org.get("api_key_hash")
        org["api_key_hash"] = hash_api_key(api_key)
        async with self.r.pipeline(transaction=True) as p:
            if previous:
                p.delete(keys.api_key(previous))
            p.set(keys.org(org["id"]), json.dumps(org))
            p.set(keys.api_key(org["api_key_hash"]), org["id"])
            p.sadd(keys.orgs_index(), org["id"])
            await p.execute()

    async def save(self, org: dict[str, Any]) -> None:
        await self.r.set(keys.org(org["id"]), json.dumps(org))

    async def load(self, org_id: str) -> dict[str, Any] | None:
        raw = await self.r.get(keys.org(org_id))
        return json.loads(raw) if raw else None

    async def org_for_key(self, api_key: str) -> str | None:
        return await self.r.get(keys.api_key(hash_api_key(api_key)))

    async def all_ids(self) -> list[str]:
        return sorted(await self.r.smembers(keys.orgs_index()))
