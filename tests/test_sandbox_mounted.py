"""`hub serve --sandbox`: the sandbox mounted at /sandbox, which tenants reach.

Its control API takes the admin token or an org's API key, scoped to the
accounts that org created; it posts only to the hub's own webhooks; and it
checks TeleSign signatures against the path the client signed (below the mount)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.demo import DEMO_ACCOUNT, DEMO_CHANNEL, DEMO_NUMBER
from tests.support import ADMIN_TOKEN, Api, HubProcess, Listener, contact, create_org, phone, wait_for

ACCOUNT_A, TOKEN_A = "AC" + "a" * 32, "org-a-token"
ACCOUNT_B, TOKEN_B = "AC" + "b" * 32, "org-b-token"
CUSTOMER_ID = "0A0A0A0A-1111-2222-3333-444455556666"
API_KEY = base64.b64encode(b"k" * 32).decode()
NUMBER = "+14155550100"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, redis_server: Any) -> Iterator[HubProcess]:
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    hub = HubProcess(redis_server.url, args=["--sandbox"], log_path=tmp_path_factory.mktemp("demo") / "hub.log").start()
    yield hub
    hub.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def org_api(hub: HubProcess, name: str) -> Api:
    return Api(hub.url, create_org(hub.url, name=name)["api_key"])


def key_of(api: Api) -> str:
    return str(api.http.headers["Authorization"])


def sandbox_channel(api: Api, hub: HubProcess, account: str, token: str, address: str) -> dict[str, Any]:
    channel = api.ok(
        "POST",
        "/v1/channels",
        201,
        json={
            "type": "sms",
            "provider": "sandbox",
            "address": address,
            "api_base_url": hub.url + "/sandbox",
            "credentials": {"account_sid": account, "auth_token": token},
        },
    )
    template = api.ok(
        "POST",
        "/v1/templates",
        201,
        json={
            "name": "T",
            "channel_types": ["sms"],
            "default_locale": "en-US",
            "bodies": {"en-US": "Hi {{CustomerName}}"},
        },
    )
    config = api.ok(
        "POST",
        "/v1/outbound-configurations",
        201,
        json={"name": "C", "channel_type": "sms", "channel_id": channel["id"], "template_id": template["id"]},
    )
    return {"channel": channel, "config": config}


def send_and_wait(api: Api, config_id: str, to: str, status: str = "delivered") -> dict[str, Any]:
    answer = api.ok("POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact(to)]})
    activity_id = answer["results"][0]["activity_id"]
    return wait_for(
        lambda: (
            (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"]  # type: ignore[no-any-return]
            in (status, "rejected", "failed")
            and a
        ),
        timeout=30,
    )


CONTROLS = [
    ("GET", "/_sandbox/messages"),
    ("DELETE", "/_sandbox/messages"),
    ("POST", "/_sandbox/accounts"),
    ("POST", "/_sandbox/replies"),
    ("GET", "/_sandbox/rules"),
    ("POST", "/_sandbox/rules"),
    ("DELETE", "/_sandbox/rules"),
    ("GET", "/_sandbox/settings"),
    ("PUT", "/_sandbox/settings"),
    ("GET", "/_sandbox/stats"),
    ("POST", "/_sandbox/drain"),
    ("POST", "/_sandbox/telesign/accounts"),
    ("POST", "/_sandbox/telesign/replies"),
]


def test_the_control_api_needs_the_hubs_credentials(demo: HubProcess) -> None:
    body = {
        "account_sid": DEMO_ACCOUNT,
        "auth_token": "mine-now",
        "customer_id": "c",
        "api_key": API_KEY,
        "from": "+14155552671",
        "to": DEMO_NUMBER,
        "body": "hi",
        "url": f"{demo.url}/webhooks/twilio/{DEMO_CHANNEL}/inbound",
    }
    for headers in ({}, bearer("not-a-key"), {"Authorization": f"Basic {ADMIN_TOKEN}"}):
        for method, path in CONTROLS:
            answer = httpx.request(method, demo.url + "/sandbox" + path, json=body, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert answer.json()["error"]["code"] == "unauthorized"
    # The admin token opens it all.
    assert httpx.get(demo.url + "/sandbox/_sandbox/stats", headers=bearer(ADMIN_TOKEN)).status_code == 200


def test_an_orgs_key_reaches_only_its_own_accounts(demo: HubProcess) -> None:
    with org_api(demo, "A") as a, org_api(demo, "B") as b:
        control_a = httpx.Client(base_url=demo.url + "/sandbox/_sandbox", headers={"Authorization": key_of(a)})
        control_b = httpx.Client(base_url=demo.url + "/sandbox/_sandbox", headers={"Authorization": key_of(b)})
        with control_a, control_b:
            assert (
                control_a.post("/accounts", json={"account_sid": ACCOUNT_A, "auth_token": TOKEN_A}).status_code == 201
            )
            assert (
                control_a.post("/accounts", json={"account_sid": ACCOUNT_A, "auth_token": TOKEN_A}).status_code == 201
            )
            # B cannot take A's account, nor the demo org's, nor one the operator made.
            for account in (ACCOUNT_A, DEMO_ACCOUNT):
                taken = control_b.post("/accounts", json={"account_sid": account, "auth_token": "stolen"})
                assert taken.status_code == 403, taken.text
            assert (
                control_b.post("/accounts", json={"account_sid": ACCOUNT_B, "auth_token": TOKEN_B}).status_code == 201
            )

            ids_a = sandbox_channel(a, demo, ACCOUNT_A, TOKEN_A, NUMBER)
            ids_b = sandbox_channel(b, demo, ACCOUNT_B, TOKEN_B, NUMBER)
            # A's channel still works: B's attempts changed nothing.
            assert send_and_wait(a, ids_a["config"]["id"], phone(1))["status"] == "delivered"
            assert send_and_wait(b, ids_b["config"]["id"], phone(2))["status"] == "delivered"

            seen_a = control_a.get("/messages").json()["items"]
            seen_b = control_b.get("/messages").json()["items"]
            assert {m["to"] for m in seen_a} == {phone(1)} and {m["account_sid"] for m in seen_a} == {ACCOUNT_A}
            assert {m["to"] for m in seen_b} == {phone(2)}
            assert control_b.get("/messages", params={"to": phone(1)}).json()["items"] == []
            everything = httpx.get(demo.url + "/sandbox/_sandbox/messages", headers=bearer(ADMIN_TOKEN)).json()
            assert {phone(1), phone(2)} <= {m["to"] for m in everything["items"]}

            # B cannot answer as A's customer, nor change what the sandbox does for everyone.
            as_a = control_b.post(
                "/replies",
                json={
                    "account_sid": ACCOUNT_A,
                    "from": phone(1),
                    "to": NUMBER,
                    "body": "forged",
                    "url": f"{demo.url}/webhooks/twilio/{ids_a['channel']['id']}/inbound",
                },
            )
            assert as_a.status_code == 404
            for method, path in (
                ("DELETE", "/messages"),
                ("POST", "/rules"),
                ("GET", "/rules"),
                ("PUT", "/settings"),
                ("GET", "/stats"),
                ("POST", "/drain"),
            ):
                answer = control_b.request(method, path, json={"action": "http_error"})
                assert answer.status_code == 403, (method, path, answer.text)
            assert len(control_a.get("/messages").json()["items"]) == 1


def test_replies_go_only_to_this_hubs_webhooks(demo: HubProcess) -> None:
    listener = Listener()
    try:
        with org_api(demo, "C") as c:
            control = httpx.Client(base_url=demo.url + "/sandbox/_sandbox", headers={"Authorization": key_of(c)})
            with control:
                control.post("/accounts", json={"account_sid": "AC" + "c" * 32, "auth_token": "t"})
                ids = sandbox_channel(c, demo, "AC" + "c" * 32, "t", "+14155550109")
                inbound = f"{demo.url}/webhooks/twilio/{ids['channel']['id']}/inbound"
                reply = {"account_sid": "AC" + "c" * 32, "from": phone(3), "to": "+14155550109", "body": "hi"}
                for url in (
                    f"http://127.0.0.1:{listener.port}/webhooks/x",
                    f"http://127.0.0.1:{listener.port}/",
                    "http://169.254.169.254/latest/meta-data",
                    f"{demo.url}/v1/orgs",
                    f"{demo.url}/webhooks/../v1/orgs",
                    f"{demo.url}@127.0.0.1:{listener.port}/webhooks/",
                    f"{demo.url}/webhooks/x\r\nX-Injected: 1",
                ):
                    refused = control.post("/replies", json={**reply, "url": url})
                    assert refused.status_code == 400, (url, refused.text)
                    assert refused.json()["error"]["code"] == "invalid_request"
                    telesign = control.post("/telesign/replies", json={"customer_id": "none", **reply, "url": url})
                    assert telesign.status_code in (400, 404), (url, telesign.text)
                ok = control.post("/replies", json={**reply, "url": inbound})
                assert ok.status_code == 200 and ok.json()["status"] == 200, ok.text
                conversations = wait_for(lambda: c.ok("GET", "/v1/conversations")["items"])
                assert conversations[0]["customer"] == phone(3)
        assert listener.accepted == 0
    finally:
        listener.sock.close()


def test_the_demo_key_answers_for_the_demo_customer(demo: HubProcess) -> None:
    """The README's first session: the demo org's key posts the demo customer's reply."""
    log = Path(demo.log_path or "").read_text()
    demo_key = log.split("Demo API key:", 1)[1].split()[0]
    answer = httpx.post(
        demo.url + "/sandbox/_sandbox/replies",
        headers=bearer(demo_key),
        json={
            "account_sid": DEMO_ACCOUNT,
            "from": "+14155552671",
            "to": DEMO_NUMBER,
            "body": "Is it fixed?",
            "url": f"{demo.url}/webhooks/twilio/{DEMO_CHANNEL}/inbound",
        },
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text


def test_telesign_channels_work_under_serve_sandbox(demo: HubProcess) -> None:
    with org_api(demo, "T") as t:
        control = httpx.Client(base_url=demo.url + "/sandbox/_sandbox", headers={"Authorization": key_of(t)})
        with control:
            assert (
                control.post("/telesign/accounts", json={"customer_id": CUSTOMER_ID, "api_key": API_KEY}).status_code
                == 201
            )
            channel = t.ok(
                "POST",
                "/v1/channels",
                201,
                json={
                    "type": "sms",
                    "provider": "telesign",
                    "address": "+14155550102",
                    "api_base_url": demo.url + "/sandbox",
                    "credentials": {"customer_id": CUSTOMER_ID, "api_key": API_KEY},
                },
            )
            template = t.ok(
                "POST",
                "/v1/templates",
                201,
                json={
                    "name": "T",
                    "channel_types": ["sms"],
                    "default_locale": "en-US",
                    "bodies": {"en-US": "Hi {{CustomerName}}"},
                },
            )
            config = t.ok(
                "POST",
                "/v1/outbound-configurations",
                201,
                json={"name": "C", "channel_type": "sms", "channel_id": channel["id"], "template_id": template["id"]},
            )
            activity = send_and_wait(t, config["id"], phone(4))
            assert activity["status"] == "delivered" and not activity.get("error_code"), activity
            answer = control.post(
                "/telesign/replies",
                json={
                    "customer_id": CUSTOMER_ID,
                    "from": phone(4),
                    "to": "+14155550102",
                    "body": "Thanks",
                    "url": f"{demo.url}/webhooks/telesign/{channel['id']}/inbound",
                },
            )
            assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text
            # Another org cannot read this customer's messages.
            with org_api(demo, "U") as u:
                other = httpx.get(demo.url + "/sandbox/_sandbox/messages", headers={"Authorization": key_of(u)})
                assert other.json()["items"] == []
