"""Agents' sign-in: one-time websocket tickets, no secret in the log, failed
sign-ins throttled, password rules, and no cross-org email oracle."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
import websockets

from tests.agents import PASSWORD, create_agent, login, ws_ticket
from tests.support import Api, create_org

JSON = {"Content-Type": "application/json"}


def ws_url(hub_url: str, query: str) -> str:
    return hub_url.replace("http://", "ws://") + "/v1/agent/ws?" + query


async def close_code(url: str) -> int:
    """The code the hub closes a connection with before any hello."""
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_a_ticket_opens_one_connection_and_no_secret_reaches_the_log(hub_factory) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(HUB_LOG_LEVEL="info", HUB_WS_TICKET_SECONDS="1")
    with Api(hub.url, create_org(hub.url)["api_key"]) as api:
        create_agent(api, "lou@example.com")
    token = login(hub.url, "lou@example.com")
    ticket = await ws_ticket(hub.url, token)
    async with websockets.connect(ws_url(hub.url, f"ticket={ticket}")) as ws:
        assert '"type": "hello"' in await asyncio.wait_for(ws.recv(), 10)
        # Spent: the same ticket opens nothing, even while its first socket is open.
        assert await close_code(ws_url(hub.url, f"ticket={ticket}")) == 4401
    # The spec's ?token= still works (and is redacted from the log).
    async with websockets.connect(ws_url(hub.url, f"token={token}")) as ws:
        assert '"type": "hello"' in await asyncio.wait_for(ws.recv(), 10)

    expired = await ws_ticket(hub.url, token)
    await asyncio.sleep(1.5)  # past the ticket's 1 s life
    assert await close_code(ws_url(hub.url, f"ticket={expired}")) == 4401
    assert await close_code(ws_url(hub.url, "ticket=wt_made_up_ticket_value")) == 4401

    # A ticket is worth no more than its token: signing out spends it too.
    unused = await ws_ticket(hub.url, token)
    assert httpx.post(hub.url + "/v1/agents/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert await close_code(ws_url(hub.url, f"ticket={unused}")) == 4401
    refused = httpx.post(hub.url + "/v1/agent/ws-ticket", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"

    hub.stop()  # flush the log
    log = hub.log_path.read_text()
    # uvicorn's info lines about the sockets are there, with the secrets taken out.
    assert re.search(r"WebSocket /v1/agent/ws\?ticket=\[redacted\]", log), log[-3000:]
    assert re.search(r"WebSocket /v1/agent/ws\?token=\[redacted\]", log), log[-3000:]
    for secret in (token, token[3:], ticket, ticket[3:], expired, unused, PASSWORD):
        assert secret not in log


def login_from(hub_url: str, address: str, email: str, password: str) -> httpx.Response:
    # uvicorn takes the client address from X-Forwarded-For when the peer is
    # 127.0.0.1 (its default trusted proxy), so tests can speak from many.
    return httpx.post(
        hub_url + "/v1/agents/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
        timeout=30,
    )


def refusals(hub_url: str) -> dict[str, float]:
    text = httpx.get(hub_url + "/metrics").text
    return {m[0]: float(m[1]) for m in re.findall(r'hub_login_refusals_total\{reason="(\w+)"\} (\S+)', text)}


async def test_guessing_is_throttled_without_locking_the_agent_out(api: Api, hub) -> None:  # type: ignore[no-untyped-def]
    create_agent(api, "max@example.com")

    # 40 wrong passwords at once from one address: only the budget's five are
    # ever checked; the rest are 429 with Retry-After.
    async with httpx.AsyncClient(timeout=60) as client:
        answers = await asyncio.gather(
            *[
                client.post(
                    hub.url + "/v1/agents/login",
                    headers={"X-Forwarded-For": "203.0.113.7"},
                    json={"email": "max@example.com", "password": f"guess number {i}"},
                )
                for i in range(40)
            ]
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 5 + [429] * 35
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 300

    # Locked out from that address, even with the right password (else the
    # answer would tell the guesser which guess was right)...
    assert login_from(hub.url, "203.0.113.7", "max@example.com", PASSWORD).status_code == 429
    # ...while the agent signing in from their own desk is not held up.
    assert login_from(hub.url, "198.51.100.20", "max@example.com", PASSWORD).status_code == 200
    counted = refusals(hub.url)
    assert counted["throttled"] == 36 and counted["wrong_password"] == 5


async def test_guessing_spread_over_addresses_or_emails_is_throttled(hub_factory) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(HUB_LOGIN_FAILURES_PER_EMAIL="6", HUB_LOGIN_FAILURES_PER_ADDRESS="8")
    with Api(hub.url, create_org(hub.url)["api_key"]) as api:
        create_agent(api, "ned@example.com")
    # One email from many addresses (two guesses each: under the pair budget).
    answers = [
        login_from(hub.url, f"192.0.2.{i // 2}", "ned@example.com", "wrong password!").status_code for i in range(7)
    ]
    assert answers == [401] * 6 + [429]
    assert login_from(hub.url, "192.0.2.99", "ned@example.com", PASSWORD).status_code == 429
    # Many emails from one address.
    answers = [
        login_from(hub.url, "2001:db8::1", f"nobody{i}@example.com", "wrong password!").status_code for i in range(8)
    ]
    assert answers == [401] * 8
    # IPv6 addresses are counted by their /64: the next one in it is refused too.
    assert login_from(hub.url, "2001:db8::2", "other@example.com", "wrong password!").status_code == 429
    assert login_from(hub.url, "2001:db9::1", "other@example.com", "wrong password!").status_code == 401


WEAK_PASSWORDS = [
    ("short1!", "10 to 256 characters"),
    (" " * 12, "only spaces"),
    ("1234567890", "too common"),
    ("Password123", "too common"),
    ("aaaaaaaaaaaaaaa", "too common"),
    ("ola@example.com", "must not be the email"),
    ("lone \udfff surrogate", "lone surrogate"),
]


def test_weak_passwords_are_refused_naming_the_field(api: Api) -> None:
    for password, problem in WEAK_PASSWORDS:
        # Sent as JSON escapes, as a hostile client would (httpx's json= cannot carry a lone surrogate).
        response = api.post(
            "/v1/agents",
            content=json.dumps({"name": "Ola", "email": "ola@example.com", "password": password}),
            headers=JSON,
        )
        assert response.status_code == 400, (password, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and error["details"] == {"field": "password"}
        assert problem in error["message"], (password, error)
    assert (
        api.post("/v1/agents", json={"name": "Ola", "email": "ola@example.com", "password": "ten chars!"}).status_code
        == 201
    )


def test_sign_in_with_a_lone_surrogate_is_a_400(hub) -> None:  # type: ignore[no-untyped-def]
    for field in ("email", "password"):
        body: dict[str, Any] = {"email": "pat@example.com", "password": "whatever it is"}
        body[field] = "pat\udfff@example.com"
        response = httpx.post(hub.url + "/v1/agents/login", content=json.dumps(body), headers=JSON)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"]["field"] == field


def test_an_org_cannot_learn_another_orgs_agent_emails(api: Api, hub) -> None:  # type: ignore[no-untyped-def]
    first = create_agent(api, "sam@example.com")
    with Api(hub.url, create_org(hub.url, name="Other")["api_key"]) as other:
        # Taken in another org: nothing tells this org so.
        second = create_agent(other, "sam@example.com", password="another passphrase")
        # Taken in the same org: that org knows its own agents anyway.
        again = other.post(
            "/v1/agents", json={"name": "Sam", "email": "sam@example.com", "password": "a third passphrase"}
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"

        # Each password signs in to its own org's agent.
        mine = httpx.post(hub.url + "/v1/agents/login", json={"email": "sam@example.com", "password": PASSWORD})
        theirs = httpx.post(
            hub.url + "/v1/agents/login", json={"email": "SAM@example.com", "password": "another passphrase"}
        )
        assert (mine.json()["agent"]["id"], mine.json()["org_id"]) == (first["id"], api.org["id"])  # type: ignore[attr-defined]
        assert theirs.json()["agent"]["id"] == second["id"]

        # One person, one password, two orgs: the hub asks which org.
        create_agent(other, "tom@example.com")
        create_agent(api, "tom@example.com")
        ambiguous = httpx.post(hub.url + "/v1/agents/login", json={"email": "tom@example.com", "password": PASSWORD})
        assert ambiguous.status_code == 409
        assert ambiguous.json()["error"]["code"] == "org_required"
        org_id = api.org["id"]  # type: ignore[attr-defined]
        chosen = httpx.post(
            hub.url + "/v1/agents/login", json={"email": "tom@example.com", "password": PASSWORD, "org_id": org_id}
        )
        assert chosen.status_code == 200 and chosen.json()["org_id"] == org_id
