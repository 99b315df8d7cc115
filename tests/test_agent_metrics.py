"""Agent metrics per day and per agent, from conversations archived in SQL
(SQLite and PostgreSQL) and those still only in Redis; as JSON and CSV, to
the org's API key and its supervisors only."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis

from hub.storage import keys
from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SENDER, Api, HubProcess, create_org, outbound_setup, phone, wait_for
from tests.test_supervisors import create_supervisor

Start = Callable[..., HubProcess]


def metrics(base_url: str, token: str, **params: str) -> httpx.Response:
    return httpx.get(
        base_url + "/v1/agents/metrics", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def first_response(conv: dict[str, Any]) -> float:
    first = next(m for m in conv["messages"] if m["direction"] == "outbound")
    return float(first["at"] - conv["created_at"])


async def test_metrics_count_archived_and_hot_conversations(
    hub_factory: Start,
    sandbox,
    database_url: str,
    r: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    hub = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    org, other = create_org(hub.url), create_org(hub.url, name="Other org")
    with Api(hub.url, org["api_key"]) as api:
        channel = outbound_setup(api, sandbox.url)["channel"]["id"]
        ana = create_agent(api, "ana@example.com")
        create_agent(api, "al@example.com", queues=["vip"])
        create_supervisor(api, "sue@example.com")
        agent = await AgentClient(hub.url, login(hub.url, "ana@example.com")).connect()
        try:
            # One conversation answered twice, closed, archived and gone from Redis...
            await customer_replies(sandbox.url, hub.url, channel, phone(1), "Where is my parcel?", SENDER)
            first = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]["id"]
            for i, body in enumerate(("Checking", "It comes Friday")):
                assert (
                    await agent.command({"type": "reply", "conversation_id": first, "body": body, "client_id": f"a{i}"})
                )["type"] == "ack"
            await agent.command({"type": "note", "conversation_id": first, "body": "not a reply", "client_id": "n1"})
            assert (await agent.command({"type": "close", "conversation_id": first}))["type"] == "ack"
            await asyncio.to_thread(wait_for, lambda: not r.exists(keys.conversation(org["id"], first)), 30)
            # ... and one open, answered once: only in Redis as it is now.
            await customer_replies(sandbox.url, hub.url, channel, phone(2), "Hello", SENDER)
            second = (
                await agent.wait(lambda f: f["type"] == "conversation.assigned" and f["conversation"]["id"] != first)
            )["conversation"]["id"]
            assert (await agent.command({"type": "reply", "conversation_id": second, "body": "Hi", "client_id": "b0"}))[
                "type"
            ] == "ack"
        finally:
            await agent.close()

        closed, open_ = (api.ok("GET", f"/v1/conversations/{c}") for c in (first, second))
        today = dt.datetime.now(dt.UTC).date().isoformat()
        answer = metrics(hub.url, org["api_key"], **{"from": today, "to": today})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["from"], body["to"]) == (today, today)
        [row] = body["items"]
        responses = sorted([first_response(closed), first_response(open_)])
        assert row["day"] == today and row["agent_id"] == ana["id"] and row["agent_name"] == "ana"
        assert (row["handled"], row["replies"], row["first_responses"]) == (1, 3, 2)
        assert row["first_response_p50_s"] == pytest.approx(responses[0], abs=0.002)
        assert row["first_response_p90_s"] == pytest.approx(responses[1], abs=0.002)
        assert row["handle_time_avg_s"] is not None and 0 <= row["handle_time_avg_s"] < 60
        assert row["handle_time_p50_s"] == pytest.approx(row["handle_time_avg_s"], abs=0.001)

        # A supervisor reads the same; the default range (the last 7 days) holds today.
        sue = login(hub.url, "sue@example.com")
        assert metrics(hub.url, sue).json()["items"] == body["items"]
        assert metrics(hub.url, sue, agent_id="agt_nobody").json()["items"] == []
        # As CSV.
        exported = metrics(hub.url, sue, format="csv", **{"from": today, "to": today})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(x["day"], x["agent_id"], x["handled"], x["replies"]) for x in rows] == [(today, ana["id"], "1", "3")]

        # An agent may not; another org sees nothing of this one; bad input is a 400.
        refused = metrics(hub.url, login(hub.url, "al@example.com"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "supervisor_only"
        assert metrics(hub.url, other["api_key"]).json()["items"] == []
        assert metrics(hub.url, "at_nobody").status_code == 401
        for params, field in (
            ({"from": "yesterday"}, "from"),
            ({"to": "2026-13-01"}, "to"),
            ({"from": "2026-01-02", "to": "2026-01-01"}, "from"),
            ({"from": "2025-01-01", "to": "2026-01-01"}, "from"),
            ({"format": "xml"}, "format"),
        ):
            bad = metrics(hub.url, org["api_key"], **params)
            assert bad.status_code == 400 and bad.json()["error"]["details"] == {"field": field}, bad.text
        # Another day holds nothing.
        assert metrics(hub.url, org["api_key"], **{"from": "2020-01-01", "to": "2020-01-31"}).json()["items"] == []
