"""TeleSign channels behave like Twilio ones: sends, signed delivery reports,
customer replies routed to agents, agent replies; forged callbacks refused.
Pure parts first (signing pinned to TeleSign's SDK, the status table)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hub.domain.catalog import validate_channel
from hub.domain.statuses import ActivityStatus
from hub.domain.telesign_status import from_telesign_code
from hub.errors import InvalidRequest, ProviderError
from hub.providers.base import OutboundMessage
from hub.providers.telesign import (
    TelesignProvider,
    callback_signature,
    parse_inbound,
    request_headers,
    verify_callback,
)
from tests.agents import AgentClient, create_agent, login
from tests.support import Api, contact, phone, wait_for

CUSTOMER_ID = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"
API_KEY = base64.b64encode(bytes(range(32))).decode()
NUMBER = "+14155550102"

# -- pure -----------------------------------------------------------------------------


def test_request_signing_matches_telesign_sdk() -> None:
    # Expected values computed with telesign 4.1.1 RestClient.generate_telesign_headers.
    body = "phone_number=14155552001&message=Hi+Ada%2C+case+CAS-1+is+r%C3%A9solu+%26+done.&message_type=ARN"
    post = request_headers(
        CUSTOMER_ID,
        API_KEY,
        "POST",
        "/v1/messaging",
        body,
        date="Tue, 31 Jan 2017 19:36:42 GMT",
        nonce="A1592C6F-E384-4CDB-BC42-C3AB970369E9",
    )
    assert post["Authorization"] == f"TSA {CUSTOMER_ID}:oAiK9/Yj6INMJQ2D5zOv0eqQ3h5TkxzCBbg/s7B6/7A="
    assert post["Content-Type"] == "application/x-www-form-urlencoded"
    assert post["x-ts-auth-method"] == "HMAC-SHA256" and post["x-ts-nonce"].startswith("A1592C6F")
    get = request_headers(
        CUSTOMER_ID,
        API_KEY,
        "GET",
        "/v1/messaging/ABC",
        "external_id=x",
        date="Tue, 31 Jan 2017 19:36:42 GMT",
        nonce="n-2",
    )
    assert get["Authorization"] == f"TSA {CUSTOMER_ID}:gEKGZKro0Kpg/mZsNZzl4MyyIpHIjfuEafThb4iIPtQ="


def test_callback_signature_matches_telesign_sdk_and_is_checked_strictly() -> None:
    body = b'{"reference_id": "0123456789ABCDEF0123456789ABCDEF", "status": {"code": 200}}'
    signature = callback_signature(API_KEY, body)
    assert signature == "9FAqbs9zTF7QV2tBv/GLQ1tLVfDIomVP5PPtYPkuudY="
    assert verify_callback(CUSTOMER_ID, API_KEY, f"TSA {CUSTOMER_ID}:{signature}", body)
    assert verify_callback(CUSTOMER_ID, API_KEY, signature, body)  # X-TS-Authorization form
    assert not verify_callback(CUSTOMER_ID, API_KEY, f"TSA someone-else:{signature}", body)
    assert not verify_callback(CUSTOMER_ID, API_KEY, f"TSA {CUSTOMER_ID}:{signature}", body + b" ")
    other_key = base64.b64encode(b"k" * 32).decode()
    assert not verify_callback(CUSTOMER_ID, other_key, f"TSA {CUSTOMER_ID}:{signature}", body)
    assert not verify_callback(CUSTOMER_ID, "not base64!", signature, body)
    assert not verify_callback(CUSTOMER_ID, API_KEY, "", body)


@pytest.mark.parametrize(
    ("code", "status", "error_code"),
    [
        (200, "delivered", ""),
        ("200", "delivered", ""),
        (203, "sent", ""),
        (295, "sent", ""),
        (251, "sent", "251"),
        (290, "sending", ""),
        (291, "sending", ""),
        (292, "sending", ""),
        *[(c, "undelivered", str(c)) for c in (207, 210, 211, 220, 221, 222, 250)],
        *[(c, "failed", str(c)) for c in (229, 230, 231, 233, 237, 238)],
    ],
)
def test_status_codes_map_to_activity_statuses(code: object, status: str, error_code: str) -> None:
    outcome = from_telesign_code(code)
    assert outcome is not None
    assert outcome.status == ActivityStatus(status) and outcome.error_code == error_code


@pytest.mark.parametrize("code", [None, "", "abc", True, 1500, 10000, -10001, 299, 3000])
def test_unknown_or_non_delivery_codes_map_to_nothing(code: object) -> None:
    assert from_telesign_code(code) is None


def test_mo_callback_fields_and_channel_rules() -> None:
    message = parse_inbound(
        {
            "reference_id": "R1",
            "sub_resource": "mo_sms",
            "user_response": {
                "phone_number": "14155552001",
                "sender_id": "4442",
                "mo_message": "Stop",
                "action": "stop",
            },
        }
    )
    assert (message.provider_id, message.from_, message.to, message.body) == ("R1", "+14155552001", "4442", "Stop")
    assert message.extra == {"action": "stop"}
    base = {
        "type": "sms",
        "provider": "telesign",
        "address": NUMBER,
        "credentials": {"customer_id": CUSTOMER_ID, "api_key": API_KEY},
    }
    assert validate_channel(base)["credentials"]["api_key"] == API_KEY
    for bad, field in (
        ({"type": "whatsapp"}, "type"),
        ({"credentials": {"customer_id": "c", "api_key": "not base64!"}}, "credentials.api_key"),
    ):
        with pytest.raises(InvalidRequest) as error:
            validate_channel({**base, **bad})
        assert error.value.details == {"field": field}


# -- over HTTP ------------------------------------------------------------------------


def telesign_setup(api: Api, sandbox_url: str) -> dict[str, Any]:
    assert (
        httpx.post(
            sandbox_url + "/_sandbox/telesign/accounts", json={"customer_id": CUSTOMER_ID, "api_key": API_KEY}
        ).status_code
        == 201
    )
    channel = api.ok(
        "POST",
        "/v1/channels",
        201,
        json={
            "type": "sms",
            "provider": "telesign",
            "address": NUMBER,
            "api_base_url": sandbox_url,
            "credentials": {"customer_id": CUSTOMER_ID, "api_key": API_KEY},
        },
    )
    template = api.ok(
        "POST",
        "/v1/templates",
        201,
        json={
            "name": "Case update",
            "channel_types": ["sms"],
            "default_locale": "en-US",
            "bodies": {"en-US": "Hi {{CustomerName}}, case {{CaseName}} is {{state}}."},
        },
    )
    config = api.ok(
        "POST",
        "/v1/outbound-configurations",
        201,
        json={
            "name": "Case updates",
            "show_in_timeline": True,
            "channel_type": "sms",
            "channel_id": channel["id"],
            "template_id": template["id"],
        },
    )
    return {"channel": channel, "config": config}


def send(api: Api, config_id: str, *numbers: str) -> list[str]:
    answer = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": config_id, "contacts": [contact(n) for n in numbers]},
    )
    return [r["activity_id"] for r in answer["results"]]


def wait_status(api: Api, activity_id: str, status: str, timeout: float = 15) -> dict[str, Any]:
    return wait_for(
        lambda: (
            (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"]  # type: ignore[no-any-return]
            == status
            and a
        ),
        timeout=timeout,
    )


def sent_to(sandbox: Any, number: str) -> list[Any]:
    return sandbox.state.list_messages(CUSTOMER_ID, to=number)  # type: ignore[no-any-return]


async def customer_writes(
    sandbox_url: str, hub_url: str, channel_id: str, customer: str, body: str, reference_id: str | None = None
) -> dict[str, Any]:
    payload = {
        "customer_id": CUSTOMER_ID,
        "from": customer,
        "to": NUMBER,
        "body": body,
        "url": f"{hub_url}/webhooks/telesign/{channel_id}/inbound",
    }
    if reference_id:
        payload["reference_id"] = reference_id
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(sandbox_url + "/_sandbox/telesign/replies", json=payload)
    assert response.status_code == 200 and response.json()["status"] == 200, response.text
    return dict(response.json())


async def test_the_reply_flow_on_telesign_is_the_twilio_one(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = telesign_setup(api, sandbox.url)
    channel_id, customer = ids["channel"]["id"], phone(1)
    (activity_id,) = send(api, ids["config"]["id"], customer)
    activity = wait_status(api, activity_id, "delivered")
    assert [e["status"] for e in activity["history"] if e["source"] == "callback"] == ["sent", "delivered"]
    (out,) = sent_to(sandbox, customer)
    r = out.resource
    assert (r["sid"], r["from"], r["body"]) == (activity["provider_message_id"], NUMBER, activity["body"])
    assert (r["external_id"], r["message_type"]) == (activity_id, "ARN")
    assert out.status_callback == f"{hub.url}/webhooks/telesign/{channel_id}/status"
    listed = httpx.get(sandbox.url + "/_sandbox/messages", params={"to": customer}).json()
    assert listed["count"] == 1

    create_agent(api, "tess@example.com")
    agent = await AgentClient(hub.url, login(hub.url, "tess@example.com")).connect()
    try:
        await customer_writes(sandbox.url, hub.url, channel_id, customer, "Really fixed?")
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        assert conv["customer"] == customer and conv["channel_id"] == channel_id
        assert conv["correlated"] is True and conv["activity"]["id"] == activity_id
        assert conv["activity"]["body"] == activity["body"]
        assert [m["body"] for m in conv["messages"]] == ["Really fixed?"]

        ack = await agent.command(
            {"type": "reply", "conversation_id": conv["id"], "body": "Yes, all done.", "client_id": "t1"}
        )
        assert ack["type"] == "ack"
        created = await agent.wait(lambda f: f["type"] == "message.created" and f["message"]["direction"] == "outbound")
        await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered")
        (reply,) = [m for m in sent_to(sandbox, customer) if m.resource["body"] == "Yes, all done."]
        assert reply.resource["from"] == NUMBER
        assert reply.resource["external_id"] == created["message"]["id"]
        full = api.ok("GET", f"/v1/conversations/{conv['id']}")
        assert [m["body"] for m in full["messages"]] == ["Really fixed?", "Yes, all done."]
        assert full["messages"][1]["status"] == "delivered"
    finally:
        await agent.close()


def test_refusals_retries_and_failed_deliveries_keep_telesign_codes(api: Api, sandbox) -> None:
    ids = telesign_setup(api, sandbox.url)
    rules = [
        dict(to=phone(2), action="refuse", code=-40003),
        dict(to=phone(3), action="http_error", status=503, retry_after=0, times=2),
        dict(to=phone(4), action="callbacks", mode="undelivered", error_code="211"),
        dict(to=phone(5), action="callbacks", mode="fail"),
        dict(to=phone(6), action="callbacks", mode="out_of_order"),
    ]
    for spec in rules:
        assert httpx.post(sandbox.url + "/_sandbox/rules", json=spec).status_code == 201
    a2, a3, a4, a5, a6 = send(api, ids["config"]["id"], *(phone(i) for i in range(2, 7)))
    assert wait_status(api, a2, "rejected")["error_code"] == "-40003"
    assert sent_to(sandbox, phone(2)) == []
    wait_status(api, a3, "delivered")
    assert len(sent_to(sandbox, phone(3))) == 1
    assert wait_status(api, a4, "undelivered")["error_code"] == "211"
    assert wait_status(api, a5, "failed")["error_code"] == "230"
    wait_for(
        lambda: (
            [
                e["status"]
                for e in api.ok("GET", f"/v1/outbound/activities/{a6}")["history"]
                if e["source"] == "callback"
            ]
            == ["delivered", "sent"]
        )
    )
    assert api.ok("GET", f"/v1/outbound/activities/{a6}")["status"] == "delivered"


def signed(body: bytes, key: str = API_KEY, customer_id: str = CUSTOMER_ID) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"TSA {customer_id}:{callback_signature(key, body)}"}


def test_forged_telesign_callbacks_get_403_and_store_nothing(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = telesign_setup(api, sandbox.url)
    channel_id = ids["channel"]["id"]
    httpx.post(sandbox.url + "/_sandbox/rules", json={"action": "callbacks", "mode": "none"})
    (activity_id,) = send(api, ids["config"]["id"], phone(7))
    activity = wait_for(
        lambda: (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}")).get("provider_message_id") and a
    )
    dlr = json.dumps(
        {
            "reference_id": activity["provider_message_id"],
            "status": {"code": 200, "description": "Delivered to handset", "updated_on": "2024-01-01T00:00:00Z"},
        }
    ).encode()
    mo = json.dumps(
        {
            "reference_id": "AB" * 16,
            "sub_resource": "mo_sms",
            "user_response": {"phone_number": phone(8)[1:], "sender_id": NUMBER[1:], "mo_message": "hi"},
        }
    ).encode()
    wrong_key = base64.b64encode(b"x" * 32).decode()
    forgeries = [
        signed(dlr, wrong_key),
        signed(dlr, customer_id="someone-else"),
        {"Content-Type": "application/json"},
        signed(dlr + b" "),
    ]
    for kind, body in (("status", dlr), ("inbound", dlr), ("inbound", mo), ("status", mo)):
        url = f"{hub.url}/webhooks/telesign/{channel_id}/{kind}"
        for headers in forgeries:
            response = httpx.post(url, content=body, headers=headers)
            assert response.status_code == 403, response.text
            assert response.json()["error"]["code"] == "forbidden"
    assert api.ok("GET", f"/v1/outbound/activities/{activity_id}")["history"] == activity["history"]
    assert api.ok("GET", "/v1/conversations")["items"] == []
    assert httpx.post(f"{hub.url}/webhooks/telesign/nope/status", content=dlr, headers=signed(dlr)).status_code == 404

    url = f"{hub.url}/webhooks/telesign/{channel_id}"
    for _ in range(5):  # a repeated delivery report is kept once
        assert httpx.post(url + "/status", content=dlr, headers=signed(dlr)).status_code == 200
    delivered = wait_status(api, activity_id, "delivered")
    assert [e["status"] for e in delivered["history"] if e["source"] == "callback"] == ["delivered"]
    for _ in range(2):  # TeleSign retries: the same reference_id is stored once
        assert httpx.post(url + "/inbound", content=mo, headers=signed(mo)).status_code == 200
    (conv,) = api.ok("GET", "/v1/conversations")["items"]
    assert [m["body"] for m in api.ok("GET", f"/v1/conversations/{conv['id']}")["messages"]] == ["hi"]


async def test_adapter_recovers_a_send_by_external_id_and_maps_errors(sandbox) -> None:  # type: ignore[no-untyped-def]
    httpx.post(sandbox.url + "/_sandbox/telesign/accounts", json={"customer_id": CUSTOMER_ID, "api_key": API_KEY})
    since = datetime.now(UTC)
    provider = TelesignProvider(CUSTOMER_ID, API_KEY, base_url=sandbox.url, timeout=1.0)
    stranger = TelesignProvider("unknown", API_KEY, base_url=sandbox.url, timeout=1.0)
    try:
        message = OutboundMessage(to=phone(9), from_=NUMBER, body="hello", external_id="act_1")
        receipt = await provider.send(message)
        assert len(receipt.provider_id) == 32 and receipt.provider_status == "290"
        assert await provider.find_sent(phone(9), NUMBER, since, "hello", "act_1") == receipt.provider_id
        assert await provider.find_sent(phone(9), NUMBER, since, "hello", "act_2") is None
        assert await provider.find_sent(phone(10), NUMBER, since, "hello", "act_1") is None
        with pytest.raises(ProviderError) as refused:
            await stranger.send(message)
        assert refused.value.retryable is False and refused.value.provider_code == "-30000"
        httpx.post(sandbox.url + "/_sandbox/rules", json={"to": phone(11), "action": "timeout", "seconds": 1.5})
        with pytest.raises(ProviderError) as slow:
            await provider.send(OutboundMessage(to=phone(11), from_=NUMBER, body="x"))
        assert slow.value.retryable is True and slow.value.provider_code == "timeout"
    finally:
        await provider.aclose()
        await stranger.aclose()


def test_sandbox_refuses_bad_signatures_and_replayed_nonces(sandbox) -> None:  # type: ignore[no-untyped-def]
    httpx.post(sandbox.url + "/_sandbox/telesign/accounts", json={"customer_id": CUSTOMER_ID, "api_key": API_KEY})
    body = "phone_number=14155552012&message=hi&message_type=ARN"
    headers = request_headers(CUSTOMER_ID, API_KEY, "POST", "/v1/messaging", body)
    url = sandbox.url + "/v1/messaging"
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    assert httpx.post(url, content=body, headers=headers).status_code == 401  # same nonce
    tampered = request_headers(CUSTOMER_ID, API_KEY, "POST", "/v1/messaging", body)
    assert httpx.post(url, content=body + "x", headers=tampered).status_code == 401
    bad = "phone_number=abc&message=hi&message_type=ARN"
    answer = httpx.post(url, content=bad, headers=request_headers(CUSTOMER_ID, API_KEY, "POST", "/v1/messaging", bad))
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == -10001
