"""The SQL layer on both engines (SQLite file, a real PostgreSQL cluster):
migrations from scratch and from the previous version, two processes
migrating at once, and idempotent archive writes."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub.storage.sql import latest_version, migrate, open_database
from hub.storage.sql.activities import ActivityCopy, load_activity, purge_before, write_activities
from hub.storage.sql import activities as sql_activities
from hub.storage.sql.migrate import SchemaTooNew, current_version
from tests.sql_support import SqlWriteLock


def copy(act_id: str, statuses: list[str], *, org: str = "org_a", created: int = 1_700_000_000_000) -> ActivityCopy:
    raw = {"id": act_id, "org": org, "cfg": "cfg_1", "req": "req_1", "channel": "ch_1",
           "type": "sms", "to": "+14155552671", "from": "+14155550100", "locale": "en-US",
           "body": "Hi Ada, case CAS-1 is resolved.", "status": statuses[-1],
           "created": str(created), "updated": str(created + len(statuses)), "timeline": "1"}
    history = [json.dumps({"status": s, "at": created + i, "source": "hub"})
               for i, s in enumerate(statuses)]
    return ActivityCopy(raw, history, created * 1000)


async def counts(db, act_id: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    rows = await db.fetchval("SELECT COUNT(*) FROM activities WHERE id = ?", act_id)
    events = await db.fetchval("SELECT COUNT(*) FROM activity_history WHERE activity_id = ?", act_id)
    return int(rows), int(events)


async def test_a_fresh_database_gets_the_whole_schema_once(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        assert await migrate(db) == latest_version()
        assert await migrate(db) == latest_version()  # a restart changes nothing
        versions = await db.fetch("SELECT version FROM schema_version ORDER BY version")
        assert [v[0] for v in versions] == list(range(1, latest_version() + 1))
        for table in ("activities", "activity_history", "conversations", "conversation_messages",
                      "bulk_jobs", "bulk_outcomes", "flow_runs"):
            assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
    finally:
        await db.close()


async def test_an_upgrade_from_the_previous_version_keeps_the_rows(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        previous = latest_version() - 1
        assert await migrate(db, target=previous) == previous
        # Written as the previous version's archiver did (the columns it knew).
        old = copy("act_1", ["queued", "sending", "sent"])
        columns = sql_activities._COLUMNS[:-1]
        async with db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO activities ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                *sql_activities.activity_row(old)[:-1])
            await tx.executemany(sql_activities.INSERT_EVENT, sql_activities.event_rows("act_1", old.history))
        assert await migrate(db) == latest_version()
        assert await current_version(db) == latest_version()
        assert await counts(db, "act_1") == (1, 3)
        raw, history = await load_activity(db, "org_a", "act_1")  # type: ignore[misc]
        assert raw["status"] == "sent" and [json.loads(h)["status"] for h in history] == [
            "queued", "sending", "sent"]
    finally:
        await db.close()


async def test_processes_starting_at_once_migrate_once(database_url: str) -> None:
    dbs = [await open_database(database_url) for _ in range(4)]
    try:
        assert await asyncio.gather(*(migrate(db) for db in dbs)) == [latest_version()] * 4
        rows = await dbs[0].fetch("SELECT version, COUNT(*) FROM schema_version GROUP BY version")
        assert sorted(rows) == [(v, 1) for v in range(1, latest_version() + 1)]
    finally:
        for db in dbs:
            await db.close()


async def test_a_database_newer_than_the_hub_is_refused(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        await migrate(db)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)",
                             latest_version() + 1, "from_the_future", 0)
        with pytest.raises(SchemaTooNew):
            await migrate(db)
    finally:
        await db.close()


async def test_archive_writes_are_idempotent_and_never_step_back(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        await migrate(db)
        newer = copy("act_1", ["queued", "sending", "sent", "delivered"])
        older = copy("act_1", ["queued", "sending"])
        await write_activities(db, [newer, copy("act_2", ["skipped_no_optin"])])
        # A replayed batch, and a slower archiver's older copy arriving late.
        await write_activities(db, [newer])
        await write_activities(db, [older])
        assert await counts(db, "act_1") == (1, 4)
        assert await counts(db, "act_2") == (1, 1)
        assert await db.fetchval("SELECT status FROM activities WHERE id = ?", "act_1") == "delivered"
        # Another org never sees it.
        assert await load_activity(db, "org_b", "act_1") is None
    finally:
        await db.close()


async def test_retention_deletes_old_activities_with_their_history(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        await migrate(db)
        day = 86_400_000
        await write_activities(db, [
            copy("act_old", ["queued", "sending", "sent"], created=1_700_000_000_000),
            copy("act_new", ["queued"], created=1_700_000_000_000 + 2 * day),
            copy("act_other_org", ["queued"], org="org_b", created=1_700_000_000_000),
        ])
        assert await purge_before(db, "org_a", 1_700_000_000_000 + day, batch=1) == 1
        assert await counts(db, "act_old") == (0, 0)
        assert await counts(db, "act_new") == (1, 1)
        assert await counts(db, "act_other_org") == (1, 1)
    finally:
        await db.close()


def test_reads_do_not_wait_for_a_blocked_writer(database_url: str) -> None:
    """The archiver waiting for another process's write lock must not hold up
    this process's reads (an activity read from SQL)."""
    lock = SqlWriteLock(database_url)

    async def run() -> None:
        db = await open_database(database_url)
        try:
            await migrate(db)
            await write_activities(db, [copy("act_1", ["queued"])])
            await asyncio.to_thread(lock.take)  # another process writes
            try:
                writing = asyncio.create_task(write_activities(db, [copy("act_2", ["queued"])]))
                await asyncio.sleep(0.3)
                assert not writing.done()
                found = await asyncio.wait_for(load_activity(db, "org_a", "act_1"), timeout=5)
                assert found is not None and found[0]["status"] == "queued"
            finally:
                await asyncio.to_thread(lock.release)
            await asyncio.wait_for(writing, timeout=10)
            assert await counts(db, "act_2") == (1, 1)
        finally:
            await db.close()

    asyncio.run(run())
