"""The report is answered from rollups in SQL kept by the archiver, corrected
by what Redis holds that is not archived yet: it equals a count over the
activities at every moment (right after a 202, while SQL lags, after the hot
window), on SQLite and PostgreSQL, and a replayed or older write moves
nothing."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import redis

from hub.storage import keys
from hub.storage.sql import migrate, open_database
from hub.storage.sql.activities import ActivityCopy, purge_before, write_activities
from hub.storage.sql.db import sqlite_path
from hub.storage.sql.rollups import read_report
from tests.sql_support import SqlWriteLock
from tests.support import (
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    pages,
    phone,
    wait_for,
)
from tests.test_hot_window import callback

Start = Callable[..., HubProcess]
REPORT = "/v1/outbound/report"


def activities(api: Api, config_id: str) -> list[dict[str, Any]]:
    return pages(api, "/v1/outbound/activities", configuration_id=config_id, limit=100)


def counted(items: list[dict[str, Any]], key: str) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = {}
    for (k, status), n in Counter((a[key], a["status"]) for a in items).items():
        out.setdefault(k, {})[status] = n
    return out


def shape(report: dict[str, Any]) -> dict[str, Any]:
    """What of a report a count over the activities must reproduce."""
    return {
        "total": report["total"],
        "counts": {s: n for s, n in report["counts"].items() if n},
        "by_template": {t["template_id"]: t["counts"] for t in report["by_template"]},
        "by_locale": {loc["locale"]: loc["counts"] for loc in report["by_locale"]},
        "hours": sum(sum(h["counts"].values()) for h in report["by_hour"]),
        "delivered": report["time_to_deliver"]["count"],
    }


def expected(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total": len(items),
        "counts": dict(Counter(a["status"] for a in items)),
        # Activities do not show their template: the report's split must add up.
        "by_template": "adds up",
        "by_locale": counted(items, "locale"),
        "hours": len(items),
        "delivered": sum(1 for a in items if a["delivered_at"]),
    }


def report_matches_activities(api: Api, config_id: str) -> dict[str, Any] | None:
    """The report and a count over the activities, read around it: equal
    when nothing moved in between (statuses only move forward, so two equal
    reports around the listing mean it saw the same state)."""
    first = shape(api.ok("GET", REPORT, params={"configuration_id": config_id}))
    items = activities(api, config_id)
    second = shape(api.ok("GET", REPORT, params={"configuration_id": config_id}))
    if first != second:
        return None
    templates: Counter[str] = Counter()
    for counts in second["by_template"].values():
        templates.update(counts)
    assert dict(templates) == second["counts"]
    assert {**second, "by_template": "adds up"} == expected(items)
    return second


def sql_rollup_total(url: str, org_id: str, config_id: str) -> int:
    async def go() -> int:
        db = await open_database(url)
        try:
            counts, _ = await read_report(db, org_id, config_id, [])
            return sum(n for cell in counts.by_hour.values() for n in cell.values())
        finally:
            await db.close()

    return asyncio.run(go())


def test_the_report_counts_every_activity_at_every_moment(
    hub_factory: Start,
    sandbox,
    database_url: str,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    hub = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    org = create_org(hub.url)
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        config = ids["config"]["id"]
        other = api.ok(
            "POST",
            "/v1/templates",
            201,
            json={
                "name": "Other",
                "channel_types": ["sms"],
                "default_locale": "en-US",
                "bodies": {"en-US": "Hello {{CustomerName}}", "es-MX": "Hola {{CustomerName}}"},
            },
        )
        for i, mode in ((1, "read"), (2, "undelivered")):
            httpx.post(
                sandbox.url + "/_sandbox/rules", json={"to": phone(i), "action": "callbacks", "mode": mode}
            ).raise_for_status()

        # The archiver cannot write: everything the report counts is in Redis.
        lock = SqlWriteLock(database_url)
        lock.take()
        try:
            api.ok(
                "POST",
                "/v1/outbound/send",
                202,
                json={
                    "configuration_id": config,
                    "contacts": [
                        contact(phone(0)),
                        contact(phone(1), locale="fr-FR"),
                        contact(phone(2)),
                        contact(phone(3), optin=False),
                    ],
                },
            )
            right_after = api.ok("GET", REPORT, params={"configuration_id": config})
            assert right_after["total"] == 4
            assert right_after["counts"]["skipped_no_optin"] == 1
            assert sum(n for s, n in right_after["counts"].items() if s != "skipped_no_optin") == 3
            final = {"delivered": 1, "read": 1, "undelivered": 1, "skipped_no_optin": 1}
            wait_for(lambda: (m := report_matches_activities(api, config)) and m["counts"] == final, timeout=30)
            assert r.xlen(keys.archive_stream(org["id"])) > 0
            assert sql_rollup_total(database_url, org["id"], config) == 0
        finally:
            lock.release()

        # Another template and locale for later sends of the same configuration.
        api.ok("PATCH", f"/v1/outbound-configurations/{config}", 200, json={"template_id": other["id"]})
        api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={
                "configuration_id": config,
                "contacts": [contact(phone(10 + i), locale="es-MX" if i % 2 else "en-US") for i in range(6)],
            },
        )
        final = {"delivered": 7, "read": 1, "undelivered": 1, "skipped_no_optin": 1}
        settled = wait_for(
            lambda: (m := report_matches_activities(api, config)) and m["counts"] == final and m, timeout=30
        )
        assert settled["by_template"] == {
            ids["template"]["id"]: {"delivered": 1, "read": 1, "undelivered": 1, "skipped_no_optin": 1},
            other["id"]: {"delivered": 6},
        }
        assert settled["by_locale"] == {
            "en-US": {"delivered": 4, "undelivered": 1, "skipped_no_optin": 1},
            "fr-FR": {"read": 1},
            "es-MX": {"delivered": 3},
        }

        # All archived and out of Redis: SQL alone answers the same.
        wait_for(
            lambda: r.zcard(keys.activities(org["id"])) == 0 and r.xlen(keys.archive_stream(org["id"])) == 0, timeout=30
        )
        assert sql_rollup_total(database_url, org["id"], config) == 10
        assert report_matches_activities(api, config) == settled
        assert not r.keys(f"hub:{{{org['id']}}}:report:*")  # no counters in Redis any more
    r.close()


class WriteHold:
    """The tables' write lock, held from outside (a writer reads, then waits)."""

    def __init__(self, sqlite: sqlite3.Connection | None, pg: asyncpg.Connection | None) -> None:
        self.sqlite, self.pg = sqlite, pg

    @classmethod
    async def take(cls, url: str) -> WriteHold:
        if url.startswith("sqlite"):
            conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            return cls(conn, None)
        pg = await asyncpg.connect(url)
        await pg.execute("BEGIN; LOCK TABLE activities, activity_history IN EXCLUSIVE MODE")
        return cls(None, pg)

    async def release(self) -> None:
        if self.sqlite is not None:
            self.sqlite.execute("ROLLBACK")
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.execute("ROLLBACK")
            await self.pg.close()


def copy(act_id: str, statuses: list[str], *, created: int = 1_700_000_000_000) -> ActivityCopy:
    history = [json.dumps({"status": s, "at": created + 1000 * n, "source": "hub"}) for n, s in enumerate(statuses)]
    raw = {
        "id": act_id,
        "org": "org_r",
        "cfg": "cfg_r",
        "tpl": "tpl_r",
        "locale": "en-US",
        "type": "sms",
        "to": "+14155552000",
        "status": statuses[-1],
        "created": str(created),
        "hour": "x",
    }
    if statuses[-1] in ("delivered", "read"):
        raw["delivered_at"] = str(created + 1000 * (len(statuses) - 1))
    return ActivityCopy(raw, history, created * 1000)


def test_replays_older_copies_and_retention_move_nothing(database_url: str) -> None:
    async def go() -> None:
        db = await open_database(database_url)
        try:
            await migrate(db)

            async def report() -> tuple[dict[str, int], dict[str, list[int]]]:
                counts, _ = await read_report(db, "org_r", "cfg_r", [])
                by_status: Counter[str] = Counter()
                for cell in counts.by_hour.values():
                    by_status.update(cell)
                return {s: n for s, n in by_status.items() if n}, dict(counts.ttd)

            queued = [copy(f"act_{i}", ["queued"]) for i in range(3)]
            delivered = [copy(f"act_{i}", ["queued", "sending", "sent", "delivered"]) for i in range(3)]
            # Two processes' archivers writing the same new activities at once
            # (both held at their first write until both have started) count
            # them once.
            other = await open_database(database_url)
            hold = await WriteHold.take(database_url)
            try:
                both = asyncio.gather(write_activities(db, queued), write_activities(other, queued))
                await asyncio.sleep(0.5)
            finally:
                await hold.release()
            await both
            await other.close()
            assert await report() == ({"queued": 3}, {})
            await write_activities(db, delivered)
            await write_activities(db, delivered)  # a replay
            await write_activities(db, queued)  # an older copy
            assert await report() == ({"delivered": 3}, {"5": [3, 9000]})
            # Retention deletes rows; the report keeps counting them.
            assert await purge_before(db, "org_r", 1_800_000_000_000) == 3
            assert await report() == ({"delivered": 3}, {"5": [3, 9000]})
        finally:
            await db.close()

    asyncio.run(go())


def test_an_upgraded_database_starts_its_rollups_from_its_activities(database_url: str) -> None:
    async def go() -> None:
        db = await open_database(database_url)
        try:
            await migrate(db, target=3)
            rows = [
                copy("act_a", ["queued", "sending", "sent", "delivered"]),
                copy("act_b", ["queued", "sending"], created=1_700_000_000_000 + 3_600_000),
                copy("act_c", ["queued", "sending", "sent", "delivered"]),
            ]
            # Written as the archiver before rollups did (nor segments).
            from hub.storage.sql.activities import _COLUMNS, activity_row

            then = _COLUMNS[: _COLUMNS.index("segments")]
            async with db.transaction() as tx:
                await tx.executemany(
                    f"INSERT INTO activities ({', '.join(then)}) VALUES ({', '.join('?' * len(then))})",
                    [activity_row(c)[: len(then)] for c in rows],
                )
            await migrate(db)
            counts, _ = await read_report(db, "org_r", "cfg_r", [])
            assert counts.by_hour == {1_699_999_200_000: {"delivered": 2}, 1_700_002_800_000: {"sending": 1}}
            assert counts.ttd == {"5": [2, 6000]}
            assert counts.by_locale == {"en-US": {"delivered": 2, "sending": 1}}
            assert counts.by_template == {"tpl_r": {"delivered": 2, "sending": 1}}
            # The SMS messages that left the hub, by hour, template and locale (segments unknown: 0).
            assert {k: v[:2] for k, v in counts.engagement.items()} == {
                ("h", 1_699_999_200_000): [2, 0],
                ("h", 1_700_002_800_000): [1, 0],
                ("t", "tpl_r"): [3, 0],
                ("l", "en-US"): [3, 0],
            }
        finally:
            await db.close()

    asyncio.run(go())


def test_a_message_whose_last_word_is_sent_counts_as_sent(
    hub_factory: Start,
    sandbox,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    """`sent` is not a final status, yet the report must not show the
    message as `sending` (its state when the provider took it) for as long
    as no receipt comes."""
    hub = hub_factory(DATABASE_URL=database_url)
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        config = ids["config"]["id"]
        httpx.post(
            sandbox.url + "/_sandbox/rules", json={"to": phone(7), "action": "callbacks", "mode": "none"}
        ).raise_for_status()
        (act,) = [
            r["activity_id"]
            for r in api.ok(
                "POST", "/v1/outbound/send", 202, json={"configuration_id": config, "contacts": [contact(phone(7))]}
            )["results"]
        ]
        sid = wait_for(lambda: api.ok("GET", f"/v1/outbound/activities/{act}")["provider_message_id"], timeout=30)
        # Archived as `sending` (the provider took it), then the callback.
        wait_for(lambda: sql_rollup_total(database_url, org["id"], config) == 1, timeout=30)
        callback(hub, ids["channel"]["id"], {"MessageSid": sid, "MessageStatus": "sent"})
        assert api.ok("GET", f"/v1/outbound/activities/{act}")["status"] == "sent"
        # Before and after the archiver has written it, the report says what the activity says.
        for _ in range(10):
            time.sleep(0.3)
            report = api.ok("GET", REPORT, params={"configuration_id": config})
            assert {s: n for s, n in report["counts"].items() if n} == {"sent": 1}
            assert [(loc["locale"], loc["counts"]) for loc in report["by_locale"]] == [("en-US", {"sent": 1})]
            assert report["sms"] == {"messages": 1, "segments": 1}
