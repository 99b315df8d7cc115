"""Media in the console, in headless Chromium: a customer's image shows
inline (loaded without a referrer, allowed by the page's CSP) and a PDF as
a link; the agent attaches an image link to a reply, which reaches the
provider as MMS and shows in the thread, in a supervisor's monitor and,
once the conversation is over, in the customer panel; a link the hub
refuses says why."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
from typing import Any

import httpx
from playwright.sync_api import Route, expect

from tests.agents import create_agent
from tests.support import SANDBOX_SID, SENDER, Api, HubProcess, outbound_setup, phone, wait_for
from tests.test_console import agent_signs_in, browser, conversation_button, reply_from_customer, tabs
from tests.test_supervisors import create_supervisor

__all__ = ["browser", "tabs"]  # fixtures shared with test_console

# A 2×1 PNG, served by the media host below.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAYAAAD0In+KAAAAEUlEQVR4nGP4z8DwH4QZGBgYAB3aA/3ZqhfYAAAAAElFTkSuQmCC"
)
DAMAGE = "https://media.example.net/MM1/damage.png"
RECEIPT = "https://media.example.net/MM1/receipt.pdf"
LABEL = "https://media.example.net/labels/label.png"


def customer_sends_media(
    sandbox_url: str, hub_url: str, channel_id: str, customer: str, body: str, media: list[str]
) -> None:
    async def post() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                sandbox_url + "/_sandbox/replies",
                json={
                    "account_sid": SANDBOX_SID,
                    "from": customer,
                    "to": SENDER,
                    "body": body,
                    "media_urls": media,
                    "url": f"{hub_url}/webhooks/twilio/{channel_id}/inbound",
                },
            )
        assert response.json()["status"] == 200, response.text

    # The sync Playwright API owns this thread's event loop: post from another.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, post()).result(timeout=30)


def test_agent_sees_media_inline_and_attaches_an_image_to_a_reply(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    ids = outbound_setup(api, sandbox.url)
    customer = phone(41)
    create_agent(api, "mo@example.com", name="Mo")
    create_supervisor(api, "sal@example.com", name="Sal")
    tab = tabs()
    # The media host: what a customer's phone or the provider would serve.
    fetched: list[dict[str, str]] = []

    def media_host(route: Route) -> None:
        fetched.append({"url": route.request.url, **route.request.headers})
        route.fulfill(status=200, content_type="image/png", body=PNG)

    tab.context.route("https://media.example.net/**", media_host)
    page = agent_signs_in(tab, "mo@example.com")

    customer_sends_media(sandbox.url, hub.url, ids["channel"]["id"], customer, "It arrived broken", [DAMAGE, RECEIPT])
    conversation_button(page, customer).click()
    inbound = page.locator("#messages .message.inbound")
    expect(inbound.locator(".message-body")).to_have_text("It arrived broken")
    image = inbound.locator(".media img")
    expect(image).to_have_attribute("src", DAMAGE)
    expect(image).to_have_attribute("referrerpolicy", "no-referrer")
    expect(image).to_have_attribute("alt", "Attachment 1 (image/png)")
    wait_for(lambda: image.evaluate("img => img.complete && img.naturalWidth") == 2, timeout=15)
    pdf = inbound.locator(".media .media-link a")
    expect(pdf).to_have_text("Attachment 2 (application/pdf)")
    expect(pdf).to_have_attribute("href", RECEIPT)
    expect(pdf).to_have_attribute("rel", "noopener noreferrer")
    loaded = [f for f in fetched if f["url"] == DAMAGE]
    assert loaded and all("referer" not in f for f in loaded)  # the console's address stays private
    assert not [f for f in fetched if f["url"] == RECEIPT]  # a PDF is only a link

    # A refused link says why; the text and link can be fixed and sent.
    page.get_by_label("Reply", exact=True).fill("Here is your return label")
    page.get_by_label("Attach (image or PDF link)").fill("http://media.example.net/labels/label.png")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#composer-error")).to_contain_text("must be https")
    expect(page.locator("#messages .message.failed")).to_have_count(1)
    page.locator("#messages .message.failed").get_by_role("button", name="Discard").click()

    page.get_by_label("Reply", exact=True).fill("Here is your return label")
    page.get_by_label("Attach (image or PDF link)").fill(LABEL)
    page.get_by_label("Attach (image or PDF link)").press("Enter")
    expect(page.get_by_label("Attach (image or PDF link)")).to_have_value("")
    outbound = page.locator("#messages .message.outbound:not(.local)")
    expect(outbound.locator(".message-body")).to_have_text("Here is your return label")
    expect(outbound.locator(".media img")).to_have_attribute("src", LABEL)
    expect(outbound.locator(".badge")).to_have_attribute("data-status", "delivered")
    (sent,) = wait_for(lambda: sandbox.state.list_messages(SANDBOX_SID, to=customer))
    assert sent.media_urls == [LABEL] and sent.resource["num_media"] == "1"
    assert sent.resource["body"] == "Here is your return label"
    expect(page.locator("#composer-error")).to_have_text("")

    # A supervisor monitoring the conversation sees the same attachments.
    boss_tab = tabs()
    boss_tab.context.route("https://media.example.net/**", media_host)
    boss = agent_signs_in(boss_tab, "sal@example.com")
    boss.locator("#board-agents tbody tr", has_text="Mo").get_by_role("button", name=customer).click()
    monitor = boss.locator("#monitor")
    expect(monitor.locator(".message.inbound .media img")).to_have_attribute("src", DAMAGE)
    expect(monitor.locator(".message.inbound .media-link a")).to_have_attribute("href", RECEIPT)
    expect(monitor.locator(".message.outbound .media img")).to_have_attribute("src", LABEL)

    # Attachments alone: the conversation list says so.
    page.get_by_label("Attach (image or PDF link)").fill(RECEIPT)
    page.get_by_label("Attach (image or PDF link)").press("Enter")
    expect(conversation_button(page, customer).locator(".conv-preview")).to_have_text("You: [1 attachment]")
    expect(page.locator("#messages .message.outbound:not(.local) .media-link a").last).to_have_text(
        "Attachment 1 (application/pdf)"
    )
    wait_for(lambda: len(sandbox.state.list_messages(SANDBOX_SID, to=customer)) == 2)

    # Once closed, the customer's next conversation shows it in the customer panel.
    page.get_by_role("button", name="Close conversation").click()
    expect(conversation_button(page, customer)).to_have_count(0)
    reply_from_customer(sandbox.url, hub.url, ids["channel"]["id"], customer, "Label printed, thanks")
    conversation_button(page, customer).click()
    panel = page.locator("#customer-panel")
    expect(panel.locator(".history-item.inbound .media img")).to_have_attribute("src", DAMAGE)
    expect(panel.locator(".history-item.inbound .media-link a")).to_have_text("Attachment 2 (application/pdf)")
    expect(panel.locator(".history-item.outbound .media img")).to_have_attribute("src", LABEL)
    expect(panel.locator(".history-item.outbound .media-link a")).to_have_attribute("href", RECEIPT)


def test_the_attach_field_reads_in_traditional_chinese(api: Api, hub: HubProcess, sandbox: Any, tabs: Any) -> None:
    outbound_setup(api, sandbox.url)
    create_agent(api, "lin@example.com", name="Lin")
    tab = tabs()
    page = agent_signs_in(tab, "lin@example.com")
    page.locator("#language").select_option("zh-TW")
    expect(page.locator("label[for=reply-media]")).to_have_text("附加（圖片或 PDF 連結）")
    expect(page.locator("#reply-media-hint")).to_contain_text("WhatsApp 1 個")
