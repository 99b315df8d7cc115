"""Retention trims the indexes of expired activities and conversations and
deletes them from the SQL history; report counters stay."""

from __future__ import annotations

import asyncio

from hub.metrics import Metrics
from hub.providers.pool import ProviderPool
from hub.services.context import Hub
from hub.services.maintenance import purge_history, trim_indexes
from hub.settings import Settings
from hub.storage.redis import connect
from hub.storage.sql import open_database
from tests.agents import customer_replies
from tests.support import SENDER, Api, HubProcess, contact, outbound_setup, phone, wait_for


async def test_old_index_entries_are_trimmed_and_counters_kept(api: Api, hub: HubProcess, sandbox, redis_url) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    config_id = ids["config"]["id"]
    api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": config_id, "contacts": [contact(phone(i)) for i in range(3)]},
    )
    wait_for(lambda: api.ok("GET", f"/v1/outbound/report?configuration_id={config_id}")["counts"]["delivered"] == 3)
    await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(1), "Thanks", SENDER)
    settings = Settings(redis_url=redis_url, retention_days=90)
    client = await connect(redis_url)
    # The hub process's own SQL history (SQLite in its data dir).
    db = await open_database(f"sqlite:///{hub.data_dir}/hub.sqlite3")
    maint = Hub(settings=settings, redis=client, metrics=Metrics(), providers=ProviderPool(settings), history=db)

    async def archived() -> tuple[int, int]:
        return (
            int(await db.fetchval("SELECT COUNT(*) FROM activities WHERE status = 'delivered'")),
            int(await db.fetchval("SELECT COUNT(*) FROM conversation_messages")),
        )

    try:
        for _ in range(300):
            if await archived() == (3, 1):
                break
            await asyncio.sleep(0.05)
        assert await trim_indexes(maint) == 0  # nothing is 90 days old
        assert await purge_history(maint) == 0
        assert len(api.ok("GET", "/v1/outbound/activities")["items"]) == 3
        assert len(api.ok("GET", "/v1/conversations")["items"]) == 1
        # Ninety-one days later:
        import time

        assert await trim_indexes(maint, now=time.time() + 91 * 86400) == 7
        assert await purge_history(maint, now=time.time() + 91 * 86400) == 4
        assert await db.fetchval("SELECT COUNT(*) FROM activity_history") == 0
        assert await archived() == (0, 0)
    finally:
        await client.aclose()
        await db.close()
    assert api.ok("GET", "/v1/outbound/activities")["items"] == []
    assert api.ok("GET", f"/v1/outbound/activities?configuration_id={config_id}")["items"] == []
    report = api.ok("GET", f"/v1/outbound/report?configuration_id={config_id}")
    assert report["counts"]["delivered"] == 3
