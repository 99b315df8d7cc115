"""The report's reply analytics and SMS segments: kept by the archiver in
SQL rollups (a replayed batch counts nothing twice), on SQLite and
PostgreSQL, answered per hour, template and locale and in total."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import httpx

from hub.services.reports import build_report
from hub.storage.sql import migrate, open_database
from hub.storage.sql.activities import ActivityCopy, write_activities
from hub.storage.sql.rollups import Answer, read_report, record_answers
from tests.agents import customer_replies
from tests.support import SENDER, Api, contact, create_org, outbound_setup, phone, wait_for
from tests.test_report_rollups import Start

REPORT = "/v1/outbound/report"
WEEK_MS = 7 * 86_400_000
T0 = 1_700_000_000_000  # an hour's start plus 800 s


def sms(
    act_id: str, statuses: list[str], *, segments: int = 2, tpl: str = "tpl_r", locale: str = "en-US"
) -> ActivityCopy:
    history = [json.dumps({"status": s, "at": T0 + 1000 * n, "source": "hub"}) for n, s in enumerate(statuses)]
    raw = {
        "id": act_id,
        "org": "org_r",
        "cfg": "cfg_r",
        "tpl": tpl,
        "locale": locale,
        "type": "sms",
        "to": "+14155552000",
        "status": statuses[-1],
        "created": str(T0),
        "segments": str(segments),
    }
    if statuses[-1] in ("delivered", "read"):
        raw["delivered_at"] = str(T0 + 1000 * (len(statuses) - 1))
    return ActivityCopy(raw, history, T0 * 1000)


def test_replies_opt_outs_and_segments_count_once_whatever_is_replayed(database_url: str) -> None:
    async def go() -> dict[str, Any]:
        db = await open_database(database_url)
        try:
            await migrate(db)
            sending = [sms("act_a", ["queued", "sending"]), sms("act_b", ["queued", "sending"], segments=3)]
            delivered = [
                sms("act_a", ["queued", "sending", "delivered"]),
                sms("act_b", ["queued", "sending", "delivered"], segments=3),
                sms("act_c", ["queued"], tpl="tpl_other"),
            ]  # never left the hub
            answers = [
                # act_a: answered after 90 s; the customer writes again the next day.
                Answer("act_a", T0 + 90_000, "conv_1"),
                Answer("act_a", T0 + 86_400_000, "conv_2"),
                # act_b: STOP, twice (the keyword repeated).
                Answer("act_b", T0 + 30_000),
                Answer("act_b", T0 + 40_000),
                # An answer after the correlation window, and one to an
                # activity SQL does not know, count nothing.
                Answer("act_c", T0 + WEEK_MS + 1, "conv_3"),
                Answer("act_x", T0 + 1000, "conv_4"),
            ]
            await write_activities(db, sending)
            assert await record_answers(db, "org_r", answers, WEEK_MS) == 3
            await write_activities(db, delivered)
            # The archive batches replayed: nothing moves.
            await write_activities(db, sending)
            await write_activities(db, delivered)
            assert await record_answers(db, "org_r", answers, WEEK_MS) == 0
            assert await record_answers(db, "org_r", answers[:1], WEEK_MS) == 0
            counts, _ = await read_report(db, "org_r", "cfg_r", [])
            return build_report("cfg_r", counts)
        finally:
            await db.close()

    report = asyncio.run(go())
    assert report["sms"] == {"messages": 2, "segments": 5}
    replies = report["replies"]
    assert replies == {
        "delivered": 2,
        "replied": 1,
        "reply_rate": 0.5,
        "opted_out": 1,
        "opt_out_rate": 0.5,
        "conversations_opened": 2,
        "time_to_first_reply": {
            "count": 1,
            "average_seconds": 90.0,
            "p50_seconds_at_most": 300.0,
            "p90_seconds_at_most": 300.0,
        },
    }
    (hour,) = report["by_hour"]
    assert hour["hour"] == "2023-11-14T22:00:00Z"
    assert hour["sms"] == report["sms"] and hour["replies"] == replies
    templates = {t["template_id"]: (t["sms"], t["replies"]["replied"]) for t in report["by_template"]}
    assert templates == {"tpl_r": ({"messages": 2, "segments": 5}, 1), "tpl_other": ({"messages": 0, "segments": 0}, 0)}


async def test_a_reply_and_a_stop_to_two_messages_make_the_report(
    hub_factory: Start, sandbox, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(DATABASE_URL=database_url)
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        channel_id, config_id = ids["channel"]["id"], ids["config"]["id"]
        answering, leaving = phone(31), phone(32)
        sent = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": config_id, "contacts": [contact(answering), contact(leaving)]},
        )
        assert [r["segments"] for r in sent["results"]] == [1, 1]
        for r in sent["results"]:
            wait_for(
                lambda r=r: api.ok("GET", f"/v1/outbound/activities/{r['activity_id']}")["status"] == "delivered",
                timeout=20,
            )
        # Counted right away, while SQL may not have the activities yet.
        assert api.ok("GET", REPORT, params={"configuration_id": config_id})["sms"] == {"messages": 2, "segments": 2}
        await customer_replies(sandbox.url, hub.url, channel_id, answering, "Thanks, one question", SENDER)
        # The keyword repeated by the provider: one opt-out.
        for _ in range(2):
            await customer_replies(
                sandbox.url, hub.url, channel_id, leaving, "STOP", SENDER, message_sid="SM" + "c" * 32
            )

        def answered() -> dict[str, Any] | None:
            report = api.ok("GET", REPORT, params={"configuration_id": config_id})
            done = report["replies"]["replied"] == 1 and report["replies"]["opted_out"] == 1
            return report if done else None

        report = wait_for(answered, timeout=30)
        replies = report["replies"]
        assert (
            replies["delivered"],
            replies["reply_rate"],
            replies["opt_out_rate"],
            replies["conversations_opened"],
        ) == (2, 0.5, 0.5, 1)
        assert replies["time_to_first_reply"]["count"] == 1
        assert replies["time_to_first_reply"]["p50_seconds_at_most"] == 60.0
        assert report["sms"] == {"messages": 2, "segments": 2}
        (hour,) = report["by_hour"]
        assert hour["replies"] == replies and hour["sms"] == report["sms"]
        (locale,) = report["by_locale"]
        assert locale["locale"] == "en-US" and locale["replies"]["reply_rate"] == 0.5
        # Later reads (more archive passes) count nothing again.
        assert api.ok("GET", REPORT, params={"configuration_id": config_id}) == report

        # The same as CSV, by hour (the default) and by locale, with the totals last.
        auth = {"Authorization": f"Bearer {org['api_key']}"}
        for group_by, key, first in ((None, "hour", hour["hour"]), ("locale", "locale", "en-US")):
            params = {"configuration_id": config_id, **({"group_by": group_by} if group_by else {})}
            export = httpx.get(hub.url + REPORT + ".csv", params=params, headers=auth)
            assert export.status_code == 200
            assert export.headers["content-type"].startswith("text/csv")
            assert "attachment" in export.headers["content-disposition"]
            rows = list(csv.DictReader(io.StringIO(export.text)))
            assert [row[key] for row in rows] == [first, "total"]
            for row in rows:
                assert (
                    row["total"],
                    row["delivered"],
                    row["sms_messages"],
                    row["sms_segments"],
                    row["replied"],
                    row["reply_rate"],
                    row["opted_out"],
                    row["opt_out_rate"],
                    row["conversations_opened"],
                    row["first_reply_p50_seconds_at_most"],
                ) == ("2", "2", "2", "2", "1", "0.5", "1", "0.5", "1", "60")
        bad = httpx.get(
            hub.url + REPORT + ".csv", headers=auth, params={"configuration_id": config_id, "group_by": "day"}
        )
        assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "group_by"
        unknown = httpx.get(hub.url + REPORT + ".csv", headers=auth, params={"configuration_id": "cfg_nope"})
        assert unknown.status_code == 404
