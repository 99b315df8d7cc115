"""The consent ledger (STOP, START, send requests' opt-in, the API) and a
customer's erasure, hot in Redis and archived in SQL, on both engines."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from hub.domain.keywords import OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION
from hub.storage import keys
from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import (
    SANDBOX_SID,
    SENDER,
    Api,
    contact,
    create_org,
    outbound_setup,
    pages,
    phone,
    redis_client,
    wait_for,
)


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis_client(redis_url)
    yield client
    client.close()


def texts_to(sandbox: Any, customer: str, body: str) -> list[Any]:
    return [m for m in sandbox.state.list_messages(SANDBOX_SID, to=customer) if m.resource["body"] == body]


def send_one(api: Api, config_id: str, customer: str, **extra: Any) -> dict[str, Any]:
    answer = api.ok(
        "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(customer, **extra)]}
    )
    return dict(answer["results"][0])


def delivered(api: Api, activity_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: (
            (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"]  # type: ignore[no-any-return]
            == "delivered"
            and a
        ),
        timeout=20,
    )


def ledger(api: Api, customer: str, count: int) -> list[dict[str, Any]]:
    """The contact's ledger once it holds ``count`` entries (written by the archiver)."""
    return wait_for(
        lambda: (
            len(items := pages(api, f"/v1/contacts/{customer}/consent", limit=2)) == count  # type: ignore[no-any-return]
            and items
        ),
        timeout=20,
    )


async def test_stop_and_start_are_recorded_confirmed_once_and_obeyed(hub_factory, sandbox, database_url: str) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(DATABASE_URL=database_url)
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        channel_id, config_id = ids["channel"]["id"], ids["config"]["id"]
        customer = phone(11)
        first = send_one(api, config_id, customer)
        send_one(api, config_id, customer)  # a second opt-in from a send request is no news

        for _ in range(2):  # a repeated webhook: one entry, one confirmation
            await customer_replies(
                sandbox.url, hub.url, channel_id, customer, "STOP", SENDER, message_sid="SM" + "b" * 32
            )
        (confirmation,) = wait_for(lambda: texts_to(sandbox, customer, OPT_OUT_CONFIRMATION))
        assert confirmation.resource["from"] == SENDER
        assert send_one(api, config_id, customer)["status"] == "skipped_opted_out"

        newest, oldest = ledger(api, customer, 2)
        assert oldest["source"] == "send_request" and oldest["action"] == "opt_in"
        assert oldest["activity_id"] == first["activity_id"] and oldest["channel_id"] == channel_id
        assert newest["source"] == "keyword" and newest["action"] == "opt_out"
        assert newest["provider_message_id"] == "SM" + "b" * 32
        assert newest["message_id"].startswith("msg_") and newest["phone"] == customer
        state = api.ok("GET", f"/v1/contacts/{customer}/consent")
        assert state["channels"] == [{"channel_id": channel_id, "opted_out": True}]

        await customer_replies(sandbox.url, hub.url, channel_id, customer, "Start", SENDER)
        (welcome,) = wait_for(lambda: texts_to(sandbox, customer, OPT_IN_CONFIRMATION))
        assert welcome.resource["from"] == SENDER
        assert send_one(api, config_id, customer)["status"] == "queued"
        assert ledger(api, customer, 3)[0]["action"] == "opt_in"

        # An admin opts the customer out through the API, then the CSV shows all of it.
        before = time.time()
        api.ok("POST", f"/v1/contacts/{customer}/consent", json={"channel_id": channel_id, "action": "opt_out"})
        assert send_one(api, config_id, customer)["status"] == "skipped_opted_out"
        by_api = ledger(api, customer, 4)[0]
        assert by_api["source"] == "api" and by_api["actor"].startswith("api_key:")
        assert not texts_to(sandbox, customer, OPT_OUT_CONFIRMATION)[1:]  # the API sends no text
        export = httpx.get(
            hub.url + "/v1/contacts/consent.csv",
            params={"since": int(before)},
            headers={"Authorization": f"Bearer {org['api_key']}"},
        )
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [(row["phone"], row["source"], row["action"]) for row in rows] == [(customer, "api", "opt_out")]
        everything = httpx.get(
            hub.url + "/v1/contacts/consent.csv", headers={"Authorization": f"Bearer {org['api_key']}"}
        )
        assert [row["source"] for row in csv.DictReader(io.StringIO(everything.text))] == [
            "send_request",
            "keyword",
            "keyword",
            "api",
        ]
        someone_else = httpx.get(
            hub.url + "/v1/contacts/consent.csv",
            params={"phone": phone(15)},
            headers={"Authorization": f"Bearer {org['api_key']}"},
        )
        assert list(csv.DictReader(io.StringIO(someone_else.text))) == []
        assert httpx.post(sandbox.url + "/_sandbox/drain").status_code == 200
        assert len(texts_to(sandbox, customer, OPT_OUT_CONFIRMATION)) == 1
        assert len(texts_to(sandbox, customer, OPT_IN_CONFIRMATION)) == 1


async def test_a_channel_whose_provider_answers_keywords_gets_no_second_reply(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    channel_id = ids["channel"]["id"]
    assert (
        api.ok("PATCH", f"/v1/channels/{channel_id}", json={"keyword_replies": "provider"})["keyword_replies"]
        == "provider"
    )
    customer = phone(12)
    await customer_replies(sandbox.url, hub.url, channel_id, customer, "STOP", SENDER)
    assert send_one(api, ids["config"]["id"], customer)["status"] == "skipped_opted_out"
    assert httpx.post(sandbox.url + "/_sandbox/drain").status_code == 200
    assert texts_to(sandbox, customer, OPT_OUT_CONFIRMATION) == []
    bad = api.patch(f"/v1/channels/{channel_id}", json={"keyword_replies": "sometimes"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "keyword_replies"


async def test_erasure_takes_hot_and_archived_data_keeps_the_opt_out_and_spares_other_orgs(
    hub_factory, sandbox, database_url: str, r: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(DATABASE_URL=database_url, HUB_HOT_SECONDS="1")
    org, other = create_org(hub.url), create_org(hub.url, name="Other org")
    customer = phone(13)
    with Api(hub.url, org["api_key"]) as api, Api(hub.url, other["api_key"]) as api_b:
        ids = outbound_setup(api, sandbox.url)
        ids_b = outbound_setup(api_b, sandbox.url)
        channel_id = ids["channel"]["id"]
        create_agent(api, "eve@example.com")
        agent = await AgentClient(hub.url, login(hub.url, "eve@example.com")).connect()
        try:
            # An archived past: a message and a closed conversation, gone from Redis.
            old = delivered(api, send_one(api, ids["config"]["id"], customer)["activity_id"])
            await customer_replies(sandbox.url, hub.url, channel_id, customer, "My old question", SENDER)
            old_conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
            assert (await agent.command({"type": "close", "conversation_id": old_conv["id"]}))["type"] == "ack"
            wait_for(
                lambda: (
                    not r.exists(keys.conversation(org["id"], old_conv["id"]))
                    and not r.exists(keys.activity(org["id"], old["id"]))
                ),
                timeout=40,
            )
            # A hot present: a message, an open conversation with the agent, and a STOP in it.
            new = delivered(api, send_one(api, ids["config"]["id"], customer)["activity_id"])
            await customer_replies(sandbox.url, hub.url, channel_id, customer, "A new question", SENDER)
            conv = (
                await agent.wait(
                    lambda f: f["type"] == "conversation.assigned" and f["conversation"]["id"] != old_conv["id"]
                )
            )["conversation"]
            await customer_replies(sandbox.url, hub.url, channel_id, customer, "STOP", SENDER)
            ledger(api, customer, 2)
            # The other org knows the same number.
            theirs = delivered(api_b, send_one(api_b, ids_b["config"]["id"], customer)["activity_id"])
            await customer_replies(sandbox.url, hub.url, ids_b["channel"]["id"], customer, "Hi B", SENDER)
            (their_conv,) = wait_for(lambda: api_b.ok("GET", "/v1/conversations")["items"])
            their_timeline = pages(api_b, f"/v1/contacts/{customer}/timeline")
            assert len(their_timeline) == 2

            answer = api.ok("DELETE", f"/v1/contacts/{customer}")
            assert answer["erased"] == {
                "activities": 2,
                "conversations": 2,
                "messages": 3,
                "opt_outs_kept": 1,
                "activities_in_flight": 0,
            }
            closed = await agent.wait(
                lambda f: f["type"] == "conversation.closed" and f["conversation_id"] == conv["id"]
            )
            assert closed["reason"] == "erased"

            def erased() -> bool:
                acts = [api.ok("GET", f"/v1/outbound/activities/{a['id']}") for a in (old, new)]
                return all(
                    a["body"] is None
                    and a["customer_name"] is None
                    and a["erased"] is True
                    and a["status"] == "delivered"
                    for a in acts
                )

            # Twice over a while: a copy the archiver held during the erasure does not bring it back.
            for _ in range(2):
                assert erased()
                for c in (old_conv, conv):
                    assert api.get(f"/v1/conversations/{c['id']}").status_code == 404
                assert pages(api, "/v1/conversations") == []
                assert pages(api, f"/v1/contacts/{customer}/timeline") == []
                time.sleep(7)
            # The agent no longer counts as serving the customer.
            as_agent = httpx.get(
                f"{hub.url}/v1/contacts/{customer}/timeline", headers={"Authorization": f"Bearer {agent.token}"}
            )
            assert as_agent.status_code == 403, as_agent.text
            assert not r.sismember(keys.opted_out(org["id"], channel_id), customer)
            assert send_one(api, ids["config"]["id"], customer)["status"] == "skipped_opted_out"
            state = api.ok("GET", f"/v1/contacts/{customer}/consent")
            assert state["channels"] == [{"channel_id": channel_id, "opted_out": True}]
            assert [e["phone"] for e in state["items"]] == [None, None]  # kept, without the number
            kept = httpx.get(
                hub.url + "/v1/contacts/consent.csv",
                params={"phone": customer},
                headers={"Authorization": f"Bearer {org['api_key']}"},
            )
            rows = list(csv.DictReader(io.StringIO(kept.text)))
            assert [(row["phone"], row["source"]) for row in rows] == [("", "send_request"), ("", "keyword")]
            assert len({row["phone_hash"] for row in rows}) == 1 and customer not in kept.text
            (tombstone,) = state["erasures"]
            assert tombstone["requested_by"].startswith("api_key:")
            assert tombstone["erased"]["conversations"] == 2

            # Idempotent.
            again = api.ok("DELETE", f"/v1/contacts/{customer}")
            assert set(again["erased"].values()) == {0, 1}  # nothing left but the opt-out kept
            assert again["erased"]["opt_outs_kept"] == 1

            # The customer writes again: a new customer, still opted out.
            await customer_replies(sandbox.url, hub.url, channel_id, customer, "Hello again", SENDER)
            fresh = await agent.wait(
                lambda f: (
                    f["type"] == "conversation.assigned" and f["conversation"]["id"] not in (old_conv["id"], conv["id"])
                )
            )
            assert fresh["conversation"]["previous_conversation_id"] is None
            refused = await agent.command(
                {
                    "type": "reply",
                    "conversation_id": fresh["conversation"]["id"],
                    "body": "Welcome back",
                    "client_id": "w1",
                }
            )
            assert refused["type"] == "error" and refused["error"]["code"] == "recipient_opted_out"
            assert send_one(api, ids["config"]["id"], customer)["status"] == "skipped_opted_out"

            # The other org's data is untouched.
            assert api_b.ok("GET", f"/v1/outbound/activities/{theirs['id']}")["body"] == theirs["body"]
            assert api_b.ok("GET", f"/v1/conversations/{their_conv['id']}")["messages"][0]["body"] == "Hi B"
            assert pages(api_b, f"/v1/contacts/{customer}/timeline") == their_timeline
            assert send_one(api_b, ids_b["config"]["id"], customer)["status"] == "queued"
        finally:
            await agent.close()


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/v1/contacts/not-a-number/consent"),
        ("POST", "/v1/contacts/12/consent"),
        ("DELETE", "/v1/contacts/abc"),
        ("GET", "/v1/contacts/consent.csv?since=yesterday"),
        ("GET", "/v1/contacts/consent.csv?phone=x"),
        ("GET", "/v1/contacts/%2B14155552013/consent?cursor=nope"),
    ],
)
def test_bad_input_gets_a_400_in_the_error_shape(api: Api, method: str, path: str) -> None:
    response = api.request(method, path, json={"channel_id": "ch_x", "action": "opt_out"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"] and "field" in error["details"]


def test_an_api_opt_out_needs_a_known_channel_and_action(api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    path = f"/v1/contacts/{phone(14)}/consent"
    assert api.post(path, json={"channel_id": "ch_nope", "action": "opt_out"}).status_code == 404
    assert api.post(path, json={"channel_id": ids["channel"]["id"], "action": "maybe"}).status_code == 400
    assert api.post(path, json=[1]).status_code == 400
    assert httpx.delete(api.base_url.join(f"/v1/contacts/{phone(14)}")).status_code == 401
