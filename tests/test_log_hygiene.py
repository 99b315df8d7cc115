"""At info level the log holds no secret, token, API key, full phone number or
message body, whatever the hub was asked to do."""

from __future__ import annotations

import httpx
import websockets

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import ADMIN_TOKEN, SANDBOX_TOKEN, SENDER, Api, contact, create_org, outbound_setup, wait_for

CUSTOMER = "+14155552671"
PASSWORD = "a long pass phrase 7"


async def test_a_whole_loop_at_info_level_leaves_nothing_private_in_the_log(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(HUB_LOG_LEVEL="info")
    org = create_org(hub.url)
    api = Api(hub.url, org["api_key"])
    ids = outbound_setup(api, sandbox.url)
    sent = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={
            "configuration_id": ids["config"]["id"],
            "contacts": [contact(CUSTOMER, CustomerName="Philippa", CaseName="CAS-PRIVATE-77")],
        },
    )
    activity_id = sent["results"][0]["activity_id"]
    activity = wait_for(
        lambda: (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"] == "delivered" and a
    )

    create_agent(api, "quiet@example.com", password=PASSWORD)
    assert (
        httpx.post(
            hub.url + "/v1/agents/login", json={"email": "quiet@example.com", "password": "wrong pass phrase"}
        ).status_code
        == 401
    )
    token = login(hub.url, "quiet@example.com", PASSWORD)
    # The compatible way in (token in the URL) must be redacted too.
    legacy = await websockets.connect(hub.url.replace("http://", "ws://") + f"/v1/agent/ws?token={token}")
    await legacy.recv()
    await legacy.close()
    agent = await AgentClient(hub.url, token).connect()
    try:
        await customer_replies(
            sandbox.url, hub.url, ids["channel"]["id"], CUSTOMER, "My card ends 4417, please call", SENDER
        )
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        await agent.command(
            {
                "type": "reply",
                "conversation_id": conv["id"],
                "body": "We will never ask for your PIN",
                "client_id": "c1",
            }
        )
        await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered")
    finally:
        await agent.close()
    api.http.close()
    hub.stop()

    log = hub.log_path.read_text()
    assert '"hub started"' in log  # the log was written at info level
    private = {
        "API key": org["api_key"],
        "admin token": ADMIN_TOKEN,
        "agent token": token,
        "password": PASSWORD,
        "provider auth token": SANDBOX_TOKEN,
        "customer number": CUSTOMER,
        "customer number digits": CUSTOMER[1:],
        "outbound body": activity["body"],
        "case name": "CAS-PRIVATE-77",
        "customer name": "Philippa",
        "customer's message": "My card ends 4417",
        "agent's reply": "never ask for your PIN",
    }
    leaked = {what: value for what, value in private.items() if value in log}
    assert not leaked, leaked
