"""Media in conversations: an agent's reply carries images or PDFs (MMS on
SMS, media on WhatsApp) through the real twilio library to the sandbox;
refused attachments say why and send nothing; what customers attach is
shown to the agent, in the thread history and in the contact timeline."""

from __future__ import annotations

from typing import Any

import httpx

from tests.agents import AgentClient, create_agent, customer_replies, login
from tests.support import SANDBOX_SID, SENDER, Api, outbound_setup, phone, wait_for
from tests.test_telesign import customer_writes, telesign_setup
from tests.test_whatsapp import WA_SENDER

PHOTO = "https://cdn.example.com/parcel/photo.jpg"
INVOICE = "https://files.example.com/invoices/INV-42.pdf?X-Amz-Signature=abc123"


async def customer_sends_media(
    sandbox_url: str, hub_url: str, channel_id: str, customer: str, to: str, body: str, media: list[str]
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            sandbox_url + "/_sandbox/replies",
            json={
                "account_sid": SANDBOX_SID,
                "from": customer,
                "to": to,
                "body": body,
                "media_urls": media,
                "url": f"{hub_url}/webhooks/twilio/{channel_id}/inbound",
            },
        )
    assert response.json()["status"] == 200, response.text


def sent_to(sandbox: Any, to: str) -> list[Any]:
    return sandbox.state.list_messages(SANDBOX_SID, to=to)  # type: ignore[no-any-return]


async def test_an_mms_reply_reaches_the_provider_and_every_view_shows_the_media(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    channel_id, customer = ids["channel"]["id"], phone(31)
    create_agent(api, "mia@example.com")
    agent = await AgentClient(hub.url, login(hub.url, "mia@example.com")).connect()
    try:
        await customer_sends_media(
            sandbox.url,
            hub.url,
            channel_id,
            customer,
            SENDER,
            "The box arrived like this",
            ["https://media.example.net/MM1/damage.png"],
        )
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        (inbound,) = conv["messages"]
        assert inbound["media"] == [{"url": "https://media.example.net/MM1/damage.png", "content_type": "image/png"}]

        ack = await agent.command(
            {
                "type": "reply",
                "conversation_id": conv["id"],
                "client_id": "m1",
                "body": "Sorry! Here is your label and invoice.",
                "media": [PHOTO, INVOICE],
            }
        )
        assert ack["type"] == "ack", ack
        created = await agent.wait(lambda f: f["type"] == "message.created" and f["message"]["direction"] == "outbound")
        assert created["message"]["media"] == [
            {"url": PHOTO, "content_type": "image/jpeg"},
            {"url": INVOICE, "content_type": "application/pdf"},
        ]
        await agent.wait(lambda f: f["type"] == "message.status" and f["status"] == "delivered")

        (sent,) = wait_for(lambda: sent_to(sandbox, customer))
        assert sent.media_urls == [PHOTO, INVOICE]  # two MediaUrl fields, in order
        assert sent.resource["num_media"] == "2"
        assert sent.resource["body"] == "Sorry! Here is your label and invoice."

        # Attachments alone, no text.
        ack = await agent.command({"type": "reply", "conversation_id": conv["id"], "client_id": "m2", "media": [PHOTO]})
        assert ack["type"] == "ack", ack
        wait_for(lambda: len(sent_to(sandbox, customer)) == 2)
        alone = next(m for m in sent_to(sandbox, customer) if m.media_urls == [PHOTO])
        assert alone.resource["body"] == ""

        # The thread history and the customer's timeline show them too.
        full = api.ok("GET", f"/v1/conversations/{conv['id']}")
        assert [m.get("media") for m in full["messages"]] == [
            inbound["media"],
            created["message"]["media"],
            [{"url": PHOTO, "content_type": "image/jpeg"}],
        ]
        timeline = api.ok("GET", f"/v1/contacts/{customer}/timeline")
        medias = [i["message"].get("media") for i in timeline["items"] if i["kind"] == "message"]
        assert created["message"]["media"] in medias and inbound["media"] in medias

        # A reconnecting console gets them in its hello.
        again = await AgentClient(hub.url, login(hub.url, "mia@example.com")).connect()
        try:
            (hello,) = again.of_type("hello")
            (open_conv,) = hello["conversations"]
            assert [m.get("media") for m in open_conv["messages"]] == [m.get("media") for m in full["messages"]]
        finally:
            await again.close()
    finally:
        await agent.close()


async def test_bad_or_unsupported_media_is_refused_and_nothing_is_sent(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    ids = outbound_setup(api, sandbox.url)
    customer = phone(32)
    create_agent(api, "rex@example.com")
    agent = await AgentClient(hub.url, login(hub.url, "rex@example.com")).connect()
    try:
        await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], customer, "hello", SENDER)
        conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        refusals = [
            ([PHOTO.replace("https:", "http:")], "must be https"),
            (["https://127.0.0.1:6379/x.png"], "loopback"),
            (["https://10.1.2.3/x.png"], "private"),
            (["https://169.254.169.254/latest/meta-data"], "link-local"),
            (["javascript:alert(1)"], "must be https"),
            ([PHOTO] * 11, "at most 10"),
            ([], "1 to 10"),
            (PHOTO, "1 to 10"),
        ]
        for i, (media, reason) in enumerate(refusals):
            answer = await agent.command(
                {
                    "type": "reply",
                    "conversation_id": conv["id"],
                    "client_id": f"bad{i}",
                    "body": "see attached",
                    "media": media,
                }
            )
            assert answer["type"] == "error", answer
            assert answer["error"]["code"] == "invalid_media_url"
            assert answer["error"]["details"] == {"field": "media"}
            assert reason in answer["error"]["message"]
        # The old spelling is refused rather than silently sending the text alone.
        answer = await agent.command(
            {
                "type": "reply",
                "conversation_id": conv["id"],
                "client_id": "old",
                "body": "see attached",
                "media_url": PHOTO,
            }
        )
        assert answer["error"]["code"] == "invalid_media_url"
        assert "media" in answer["error"]["message"]

        # Another agent's conversation is refused as such, attachments or not.
        create_agent(api, "zed@example.com")
        other = await AgentClient(hub.url, login(hub.url, "zed@example.com")).connect()
        try:
            answer = await other.command(
                {"type": "reply", "conversation_id": conv["id"], "client_id": "z1", "body": "hi", "media": [PHOTO]}
            )
            assert answer["error"]["code"] == "not_your_conversation"
        finally:
            await other.close()

        # Refused replies recorded nothing and sent nothing; the same client id works once fixed.
        full = api.ok("GET", f"/v1/conversations/{conv['id']}")
        assert [m["direction"] for m in full["messages"]] == ["inbound"]
        assert sent_to(sandbox, customer) == []
        ack = await agent.command(
            {
                "type": "reply",
                "conversation_id": conv["id"],
                "client_id": "bad0",
                "body": "see attached",
                "media": [PHOTO],
            }
        )
        assert ack["type"] == "ack"
        (sent,) = wait_for(lambda: sent_to(sandbox, customer))
        assert sent.media_urls == [PHOTO]
    finally:
        await agent.close()


async def test_whatsapp_takes_one_attachment_and_telesign_none(api: Api, hub, sandbox) -> None:  # type: ignore[no-untyped-def]
    wa = outbound_setup(api, sandbox.url, channel_type="whatsapp", address=WA_SENDER)
    ts = telesign_setup(api, sandbox.url)
    create_agent(api, "wes@example.com")
    agent = await AgentClient(hub.url, login(hub.url, "wes@example.com")).connect()
    try:
        wa_customer, ts_customer = phone(33), phone(34)
        await customer_sends_media(
            sandbox.url,
            hub.url,
            wa["channel"]["id"],
            "whatsapp:" + wa_customer,
            "whatsapp:" + WA_SENDER,
            "",
            ["https://media.example.net/MM2/receipt.pdf"],
        )
        wa_conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned"))["conversation"]
        assert wa_conv["messages"][0]["body"] == ""
        assert wa_conv["messages"][0]["media"] == [
            {"url": "https://media.example.net/MM2/receipt.pdf", "content_type": "application/pdf"}
        ]

        answer = await agent.command(
            {
                "type": "reply",
                "conversation_id": wa_conv["id"],
                "client_id": "w1",
                "body": "two",
                "media": [PHOTO, INVOICE],
            }
        )
        assert answer["type"] == "error"
        assert answer["error"]["code"] == "media_unsupported"
        assert "one attachment" in answer["error"]["message"]
        ack = await agent.command(
            {
                "type": "reply",
                "conversation_id": wa_conv["id"],
                "client_id": "w2",
                "body": "your label",
                "media": [PHOTO],
            }
        )
        assert ack["type"] == "ack", ack
        (sent,) = wait_for(lambda: sent_to(sandbox, "whatsapp:" + wa_customer))
        assert (sent.media_urls, sent.resource["body"]) == ([PHOTO], "your label")

        mark = len(agent.frames)
        await customer_writes(sandbox.url, hub.url, ts["channel"]["id"], ts_customer, "hi from TeleSign")
        ts_conv = (await agent.wait(lambda f: f["type"] == "conversation.assigned", start=mark))["conversation"]
        answer = await agent.command(
            {"type": "reply", "conversation_id": ts_conv["id"], "client_id": "t1", "body": "label", "media": [PHOTO]}
        )
        assert answer["type"] == "error"
        assert answer["error"]["code"] == "media_unsupported"
        assert "TeleSign" in answer["error"]["message"]
        full = api.ok("GET", f"/v1/conversations/{ts_conv['id']}")
        assert [m["direction"] for m in full["messages"]] == ["inbound"]
        # Text still goes.
        ack = await agent.command(
            {"type": "reply", "conversation_id": ts_conv["id"], "client_id": "t2", "body": "label follows by email"}
        )
        assert ack["type"] == "ack"
        # A closed conversation is refused as closed, whatever the attachments.
        assert (await agent.command({"type": "close", "conversation_id": ts_conv["id"]}))["type"] == "ack"
        answer = await agent.command(
            {"type": "reply", "conversation_id": ts_conv["id"], "client_id": "t3", "body": "label", "media": [PHOTO]}
        )
        assert answer["error"]["code"] == "conversation_closed"
    finally:
        await agent.close()
