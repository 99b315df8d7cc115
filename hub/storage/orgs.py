"""Orgs and their API keys (stored as SHA-256: keys are long random secrets).

The API key → org pointer and the index of orgs are global keys, in other
Redis Cluster slots than the org's own, so they cannot change in one
transaction with it. They are written after the org's record, and the record
decides: a pointer whose org does not name its key (a rotation cut short by a
crash) finds nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import cast

import redis.asyncio as aioredis

from hub.domain import partitions
from hub.domain.records import Org
from hub.storage import keys


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class OrgStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client

    async def create(self, org: Org, api_key: str) -> Org:
        """Save the org with a new API key (the org as saved); a key it had before stops working."""
        previous = org.api_key_hash
        org = replace(org, api_key_hash=hash_api_key(api_key))
        assert org.api_key_hash is not None
        await self.save(org)  # the old key stops here
        await self.r.set(keys.api_key(org.api_key_hash), org.id)
        if org.partitions > 1:
            # Before the org is listed: a loop that finds the org finds its partitions.
            await self.r.sadd(keys.org_partitions(), *partitions.units(org.id, org.partitions)[1:])
        await self.r.sadd(keys.orgs_index(), org.id)
        if previous and previous != org.api_key_hash:
            await self.r.delete(keys.api_key(previous))
        return org

    async def save(self, org: Org) -> None:
        await self.r.set(keys.org(org.id), json.dumps(org.to_json()))

    async def load(self, org_id: str) -> Org | None:
        raw = await self.r.get(keys.org(org_id))
        return Org.from_json(json.loads(raw)) if raw else None

    async def for_key(self, api_key: str) -> Org | None:
        """The org whose API key this is."""
        key_hash = hash_api_key(api_key)
        org_id = cast(str | None, await self.r.get(keys.api_key(key_hash)))
        org = await self.load(org_id) if org_id else None
        return org if org is not None and org.api_key_hash == key_hash else None

    async def org_for_key(self, api_key: str) -> str | None:
        org = await self.for_key(api_key)
        return org.id if org else None

    async def all_ids(self) -> list[str]:
        return sorted(cast(set[str], await self.r.smembers(keys.orgs_index())))

    async def all_partitions(self) -> list[str]:
        """The partitions (1 and up) of the orgs that have several (``org_…~p``)."""
        return sorted(cast(set[str], await self.r.smembers(keys.org_partitions())))
