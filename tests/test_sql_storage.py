"""The SQL layer on both engines (SQLite file, a real PostgreSQL cluster):
migrations from scratch and from the previous version, two processes
migrating at once, and idempotent archive writes."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from hub.storage.sql import activities as sql_activities
from hub.storage.sql import conversations as sql_conversations
from hub.storage.sql import latest_version, migrate, open_database
from hub.storage.sql.activities import ActivityCopy, load_activity, purge_before, write_activities
from hub.storage.sql.conversations import ConversationCopy, write_conversations
from hub.storage.sql.migrate import SchemaTooNew, current_version
from tests.sql_support import SqlWriteLock


def copy(act_id: str, statuses: list[str], *, org: str = "org_a", created: int = 1_700_000_000_000) -> ActivityCopy:
    raw = {
        "id": act_id,
        "org": org,
        "cfg": "cfg_1",
        "req": "req_1",
        "channel": "ch_1",
        "type": "sms",
        "to": "+14155552671",
        "from": "+14155550100",
        "locale": "en-US",
        "body": "Hi Ada, case CAS-1 is resolved.",
        "status": statuses[-1],
        "created": str(created),
        "updated": str(created + len(statuses)),
        "timeline": "1",
    }
    history = [json.dumps({"status": s, "at": created + i, "source": "hub"}) for i, s in enumerate(statuses)]
    return ActivityCopy(raw, history, created * 1000)


def conv_copy(
    conv_id: str, version: int, replies: list[str], *, org: str = "org_a", created: int = 1_700_000_000_000
) -> ConversationCopy:
    """A conversation with one inbound message and the agent's replies (statuses given)."""
    raw = {
        "id": conv_id,
        "customer": "+14155552671",
        "channel": "ch_1",
        "type": "sms",
        "status": "assigned",
        "agent": "agt_1",
        "queue": "default",
        "activity": "",
        "previous": "",
        "created": str(created),
        "v": str(version),
    }
    messages = [
        json.dumps(
            {
                "id": f"msg_{conv_id}_0",
                "direction": "inbound",
                "body": "Hello?",
                "at": created / 1000,
                "provider_message_id": "SM0",
                "media": [],
            }
        )
    ]
    statuses = {}
    for n, status in enumerate(replies, 1):
        messages.append(
            json.dumps(
                {
                    "id": f"msg_{conv_id}_{n}",
                    "direction": "outbound",
                    "body": "Hi",
                    "at": (created + n) / 1000,
                    "agent_id": "agt_1",
                }
            )
        )
        statuses[f"msg_{conv_id}_{n}"] = json.dumps({"status": status})
    return ConversationCopy(org, raw, messages, statuses)


async def conv_counts(db, conv_id: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    rows = await db.fetchval("SELECT COUNT(*) FROM conversations WHERE id = ?", conv_id)
    messages = await db.fetchval("SELECT COUNT(*) FROM conversation_messages WHERE conversation_id = ?", conv_id)
    return int(rows), int(messages)


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
        for table in (
            "activities",
            "activity_history",
            "conversations",
            "conversation_messages",
            "bulk_jobs",
            "bulk_outcomes",
            "flow_runs",
        ):
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
                *sql_activities.activity_row(old)[:-1],
            )
            await tx.executemany(sql_activities.INSERT_EVENT, sql_activities.event_rows("act_1", old.history))
            # A conversation row as the schema before conversations were archived held it.
            await tx.execute(
                "INSERT INTO conversations (id, org_id, channel_id, customer, status, created_ms, version,"
                " record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                "conv_1",
                "org_a",
                "ch_1",
                "+14155552671",
                "closed",
                1_700_000_000_000,
                1,
                "{}",
            )
        assert await migrate(db) == latest_version()
        assert await current_version(db) == latest_version()
        assert await counts(db, "act_1") == (1, 3)
        # The archiver's newer copy replaces it.
        await write_conversations(db, [conv_copy("conv_1", 2, ["delivered"])])
        assert await conv_counts(db, "conv_1") == (1, 2)
        raw, history = await load_activity(db, "org_a", "act_1")  # type: ignore[misc]
        assert raw["status"] == "sent" and [json.loads(h)["status"] for h in history] == ["queued", "sending", "sent"]
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
            await tx.execute(
                "INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)",
                latest_version() + 1,
                "from_the_future",
                0,
            )
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


async def test_conversation_writes_are_idempotent_and_never_step_back(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        await migrate(db)
        newer = conv_copy("conv_1", 4, ["delivered", "sending"])
        older = conv_copy("conv_1", 3, ["sending"])
        await write_conversations(db, [newer, conv_copy("conv_2", 1, [])])
        # A replayed batch, and a slower archiver's older copy arriving late.
        await write_conversations(db, [newer])
        await write_conversations(db, [older])
        assert await conv_counts(db, "conv_1") == (1, 3)
        assert await conv_counts(db, "conv_2") == (1, 1)
        found = await sql_conversations.records(db, "org_a", ["conv_1"], messages=True, min_created_ms=0)
        assert [m.get("status") for m in found["conv_1"][1]] == [None, "delivered", "sending"]  # type: ignore[union-attr]
        assert await db.fetchval("SELECT version FROM conversations WHERE id = ?", "conv_1") == 4
        # Later copies carry only the messages SQL lacks, and every reply's status.
        read = conv_copy("conv_1", 5, ["read", "sending"])
        await write_conversations(db, [dataclasses.replace(read, messages=[], first_seq=3)])
        more = conv_copy("conv_1", 6, ["read", "delivered", "queued"])
        await write_conversations(db, [dataclasses.replace(more, messages=more.messages[3:], first_seq=3)])
        found = await sql_conversations.records(db, "org_a", ["conv_1"], messages=True, min_created_ms=0)
        assert [m.get("status") for m in found["conv_1"][1]] == [  # type: ignore[union-attr]
            None,
            "read",
            "delivered",
            "queued",
        ]
        assert found["conv_1"][1] == sql_conversations.merged_messages(more)
        # Another org never sees it.
        assert await sql_conversations.records(db, "org_b", ["conv_1"], messages=True, min_created_ms=0) == {}
    finally:
        await db.close()


async def test_retention_deletes_old_conversations_with_their_messages(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        await migrate(db)
        day = 86_400_000
        await write_conversations(
            db,
            [
                conv_copy("conv_old", 2, ["delivered"], created=1_700_000_000_000),
                conv_copy("conv_new", 1, [], created=1_700_000_000_000 + 2 * day),
                conv_copy("conv_other_org", 1, [], org="org_b", created=1_700_000_000_000),
            ],
        )
        assert await sql_conversations.purge_before(db, "org_a", 1_700_000_000_000 + day, batch=1) == 1
        assert await conv_counts(db, "conv_old") == (0, 0)
        assert await conv_counts(db, "conv_new") == (1, 1)
        assert await conv_counts(db, "conv_other_org") == (1, 1)
    finally:
        await db.close()


async def test_retention_deletes_old_activities_with_their_history(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        await migrate(db)
        day = 86_400_000
        await write_activities(
            db,
            [
                copy("act_old", ["queued", "sending", "sent"], created=1_700_000_000_000),
                copy("act_new", ["queued"], created=1_700_000_000_000 + 2 * day),
                copy("act_other_org", ["queued"], org="org_b", created=1_700_000_000_000),
            ],
        )
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


def test_a_failed_write_leaves_nothing_on_the_connection_it_used(database_url: str) -> None:
    """A write that fails halfway, or is cancelled while it waits, is rolled
    back: the reads and writes that next use the same pooled connection (one
    connection here) see none of it, and nothing of it is held open."""

    async def run() -> None:
        from hub.storage.sql.db import PostgresDatabase

        if database_url.startswith("postgresql"):
            db = await PostgresDatabase.open(database_url, max_size=1)
        else:
            db = await open_database(database_url)
        try:
            await migrate(db)
            with pytest.raises(RuntimeError):
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO activity_history VALUES ('act_1', 0, 'queued', 1, NULL, NULL, '{}')")
                    raise RuntimeError("the archiver's batch failed")

            async def stalled() -> None:
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO activity_history VALUES ('act_2', 0, 'queued', 1, NULL, NULL, '{}')")
                    await asyncio.sleep(30)

            task = asyncio.create_task(stalled())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await db.fetch("SELECT activity_id FROM activity_history") == []
            await write_activities(db, [copy("act_3", ["queued"])])
            assert await counts(db, "act_3") == (1, 1)
            assert await db.fetch("SELECT activity_id FROM activity_history") == [("act_3",)]
        finally:
            await db.close()

    asyncio.run(run())
