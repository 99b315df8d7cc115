"""Retention trims the indexes of expired activities; report counters stay."""

from __future__ import annotations

import redis.asyncio as aioredis

from hub.metrics import Metrics
from hub.providers.pool import ProviderPool
from hub.services.context import Hub
from hub.services.maintenance import trim_indexes
from hub.settings import Settings
from tests.support import Api, contact, outbound_setup, phone, wait_for


async def test_old_index_entries_are_trimmed_and_counters_kept(api: Api, sandbox, redis_url) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    config_id = ids["config"]["id"]
    api.ok("POST", "/v1/outbound/send", 202, json={
        "configuration_id": config_id, "contacts": [contact(phone(i)) for i in range(3)]})
    wait_for(lambda: api.ok("GET", f"/v1/outbound/report?configuration_id={config_id}")
             ["counts"]["delivered"] == 3)
    settings = Settings(redis_url=redis_url, retention_days=90)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    hub = Hub(settings=settings, redis=client, metrics=Metrics(), providers=ProviderPool(settings))
    try:
        assert await trim_indexes(hub) == 0  # nothing is 90 days old
        assert len(api.ok("GET", "/v1/outbound/activities")["items"]) == 3
        # Ninety-one days later:
        import time

        assert await trim_indexes(hub, now=time.time() + 91 * 86400) == 6
    finally:
        await client.aclose()
    assert api.ok("GET", "/v1/outbound/activities")["items"] == []
    assert api.ok("GET", f"/v1/outbound/activities?configuration_id={config_id}")["items"] == []
    report = api.ok("GET", f"/v1/outbound/report?configuration_id={config_id}")
    assert report["counts"]["delivered"] == 3
