"""WhatsApp through Twilio: approved templates by ContentSid, read receipts,
inbound media as links, the reply flow."""

from __future__ import annotations

import json

import httpx

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SANDBOX_SID, Api, contact, outbound_setup, phone, wait_for

WA_SENDER = "+14155550102"


def whatsapp_setup(api: Api, sandbox_url: str) -> dict:
    ids = outbound_setup(api, sandbox_url, channel_type="whatsapp", address=WA_SENDER)
    template = api.ok(
        "PUT",
        f"/v1/templates/{ids['template']['id']}",
        json={
            "name": "Case update",
            "channel_types": ["whatsapp"],
            "default_locale": "en-US",
            "bodies": {
                "en-US": "Hi {{CustomerName}}, case {{CaseName}} is {{state}}.",
                "fr-FR": "Bonjour {{CustomerName}}, le dossier {{CaseName}} est {{state}}.",
            },
            "content_sids": {"en-US": "HX" + "a" * 32},
        },
    )
    ids["template"] = template
    return ids


async def test_business_initiated_message_uses_the_approved_template_and_reply_flow(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = whatsapp_setup(api, sandbox.url)
    httpx.post(sandbox.url + "/_sandbox/rules", json={"action": "callbacks", "mode": "read"})
    customer = phone(11)
    answer = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={
            "configuration_id": ids["config"]["id"],
            "contacts": [
                contact(customer, channelid="WhatsApp", CaseName="CAS-9"),
                contact(phone(12), channelid="whatsapp", locale="fr-FR"),
            ],
        },
    )
    first, second = (r["activity_id"] for r in answer["results"])

    read = wait_for(lambda: (a := api.ok("GET", f"/v1/outbound/activities/{first}"))["status"] == "read" and a)
    (message,) = sandbox.state.list_messages(SANDBOX_SID, to="whatsapp:" + customer)
    assert message.resource["from"] == "whatsapp:" + WA_SENDER
    assert message.content_sid == "HX" + "a" * 32
    assert json.loads(message.content_variables) == {"1": "Ada", "2": "CAS-9", "3": "resolved"}
    assert not message.resource["body"]
    assert [e["status"] for e in read["history"] if e["source"] == "callback"] == ["sent", "delivered", "read"]
    # No approved template for French: the rendered text goes as a body.
    wait_for(lambda: sandbox.state.list_messages(SANDBOX_SID, to="whatsapp:" + phone(12)))
    (french,) = sandbox.state.list_messages(SANDBOX_SID, to="whatsapp:" + phone(12))
    assert french.resource["body"].startswith("Bonjour Ada")
    assert api.ok("GET", f"/v1/outbound/activities/{second}")["locale"] == "fr-FR"

    create_agent(api, "wa@example.com")
    agent = await AgentClient(hub.url, login(hub.url, "wa@example.com")).connect()
    try:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                sandbox.url + "/_sandbox/replies",
                json={
                    "account_sid": SANDBOX_SID,
                    "from": "whatsapp:" + customer,
                    "to": "whatsapp:" + WA_SENDER,
                    "body": "here is a photo",
                    "media_urls": ["https://example.com/photo.jpg"],
                    "url": f"{hub.url}/webhooks/twilio/{ids['channel']['id']}/inbound",
                },
            )
        assert response.json()["status"] == 200
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        assert conv["channel_type"] == "whatsapp"
        assert conv["activity"]["id"] == first and conv["activity"]["case_name"] == "CAS-9"
        inbound = conv["messages"][0]
        assert inbound["media"] == [{"url": "https://example.com/photo.jpg", "content_type": "image/jpeg"}]
        assert inbound["profile_name"]
        ack = await agent.command({"type": "reply", "conversation_id": conv["id"], "body": "Got it"})
        assert ack["type"] == "ack"
        await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "read")
        texts = [m.resource["body"] for m in sandbox.state.list_messages(SANDBOX_SID, to="whatsapp:" + customer)]
        assert "Got it" in texts
    finally:
        await agent.close()


async def test_uncorrelated_whatsapp_reply_and_sms_template_without_content_sid(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = whatsapp_setup(api, sandbox.url)
    create_agent(api, "wb@example.com")
    agent = await AgentClient(hub.url, login(hub.url, "wb@example.com")).connect()
    try:
        await customer_replies(
            sandbox.url, hub.url, ids["channel"]["id"], "whatsapp:" + phone(13), "hola", "whatsapp:" + WA_SENDER
        )
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        assert conv["customer"] == phone(13) and conv["correlated"] is False
    finally:
        await agent.close()
