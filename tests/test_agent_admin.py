"""What an admin changes on an agent through the API: capacity and queues
(routing takes them at once), a new password (old sessions end), and
deactivation (conversations go back to the queue, sign-in is refused)."""

from __future__ import annotations

import asyncio

import httpx

from tests.agents import PASSWORD, AgentClient, create_agent, customer_replies, login
from tests.support import SENDER, Api, outbound_setup, phone
from tests.test_supervisors import create_supervisor


def error_of(api: Api, method: str, path: str, status: int, **kw) -> dict:  # type: ignore[no-untyped-def]
    return api.ok(method, path, status, **kw)["error"]  # type: ignore[no-any-return]


async def test_capacity_and_queues_change_routing_at_once(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    agent = create_agent(api, "ana@example.com", capacity=1)
    client = await AgentClient(hub.url, login(hub.url, "ana@example.com")).connect()
    try:
        for n in (1, 2):
            await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(n), f"hello {n}", SENDER)
        await client.wait(lambda f: f["type"] == "conversation.assigned")
        await asyncio.sleep(0.5)
        assert len(client.of_type("conversation.assigned")) == 1  # at capacity: the second waits

        changed = api.ok("PATCH", f"/v1/agents/{agent['id']}", json={"capacity": 2})
        assert changed["capacity"] == 2 and changed["active"] is True
        second = await client.wait(
            lambda f: f["type"] == "conversation.assigned" and f["conversation"]["customer"] == phone(2)
        )
        assert second["conversation"]["status"] == "assigned"

        moved = api.ok("PATCH", f"/v1/agents/{agent['id']}", json={"queues": ["billing", "billing", "vip"]})
        assert moved["queues"] == ["billing", "vip"] and moved["capacity"] == 2
        assert [a["queues"] for a in api.ok("GET", "/v1/agents")["items"]] == [["billing", "vip"]]
    finally:
        await client.close()

    assert error_of(api, "PATCH", f"/v1/agents/{agent['id']}", 400, json={"queues": []})["details"] == {
        "field": "queues"
    }
    assert error_of(api, "PATCH", f"/v1/agents/{agent['id']}", 400, json={"capacity": 0})["details"] == {
        "field": "capacity"
    }
    assert error_of(api, "PATCH", f"/v1/agents/{agent['id']}", 400, json={"name": "x"})["details"] == {"field": "name"}
    assert error_of(api, "PATCH", "/v1/agents/agt_nobody", 404, json={"capacity": 2})["code"] == "not_found"


async def test_new_password_ends_sessions_and_deactivation_refuses_sign_in(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    ben = create_agent(api, "ben@example.com")
    old_token = login(hub.url, "ben@example.com")
    new_password = "a much longer passphrase"
    assert error_of(api, "POST", f"/v1/agents/{ben['id']}/password", 400, json={"password": "short"})["details"] == {
        "field": "password"
    }
    api.ok("POST", f"/v1/agents/{ben['id']}/password", json={"password": new_password})
    me = httpx.get(hub.url + "/v1/agents/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status_code == 401  # the session from the old password ended
    refused = httpx.post(hub.url + "/v1/agents/login", json={"email": "ben@example.com", "password": PASSWORD})
    assert refused.status_code == 401
    token = login(hub.url, "ben@example.com", new_password)

    # Ben holds a conversation; deactivated, he is signed out and it goes to Cy.
    client = await AgentClient(hub.url, token).connect()
    try:
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], phone(5), "help", SENDER)
        held = (await client.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        create_agent(api, "cy@example.com")
        create_supervisor(api, "sue@example.com")
        cy = await AgentClient(hub.url, login(hub.url, "cy@example.com")).connect()
        sue = await AgentClient(hub.url, login(hub.url, "sue@example.com")).connect()
        try:
            assert (await sue.command({"type": "board.subscribe"}))["type"] == "ack"
            await sue.wait(lambda f: f["type"] == "board" and ben["id"] in {a["id"] for a in f["board"]["agents"]})
            mark = len(sue.frames)
            gone = api.ok("POST", f"/v1/agents/{ben['id']}/deactivate")
            assert gone["active"] is False and gone["presence"] == "offline" and gone["open"] == 0
            taken = await cy.wait(lambda f: f["type"] == "conversation.assigned")
            assert taken["conversation"]["id"] == held["id"]
            # Off the supervisors' board for good.
            await sue.wait(
                lambda f: f["type"] == "board" and ben["id"] not in {a["id"] for a in f["board"]["agents"]}, start=mark
            )
        finally:
            await cy.close()
            await sue.close()
        await asyncio.wait_for(client.ws.wait_closed(), 15)  # the socket notices its token is gone
    finally:
        await client.close()
    refused = httpx.post(hub.url + "/v1/agents/login", json={"email": "ben@example.com", "password": new_password})
    assert refused.status_code == 401
    assert httpx.get(hub.url + "/v1/agents/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # Deactivating again answers the same; nothing else changes on a deactivated agent.
    assert api.ok("POST", f"/v1/agents/{ben['id']}/deactivate")["active"] is False
    assert error_of(api, "PATCH", f"/v1/agents/{ben['id']}", 409, json={"capacity": 4})["code"] == "conflict"
    assert (
        error_of(api, "POST", f"/v1/agents/{ben['id']}/password", 409, json={"password": new_password})["code"]
        == "conflict"
    )
    listed = {a["email"]: a["active"] for a in api.ok("GET", "/v1/agents")["items"]}
    assert listed == {"ben@example.com": False, "cy@example.com": True, "sue@example.com": True}
    assert error_of(api, "POST", "/v1/agents/agt_nobody/deactivate", 404)["code"] == "not_found"
