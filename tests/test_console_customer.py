"""The customer panel in headless Chromium: beside a conversation the agent
sees the customer's earlier outbound message and earlier conversation, and
adds an internal note that shows in the thread and is never sent. On
WhatsApp, a countdown while the 24-hour window is open, then the approved
templates instead of the reply box. The README's screenshot of the customer
panel is taken here."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from typing import Any

from playwright.sync_api import expect

from hub.storage import keys
from tests.agents import create_agent, customer_replies
from tests.support import (
    SANDBOX_SID,
    Api,
    HubProcess,
    contact,
    outbound_setup,
    phone,
    redis_client,
    wait_for,
)
from tests.test_console import (
    SHOTS,
    agent_signs_in,
    browser,
    conversation_button,
    reply_from_customer,
    sandbox_bodies,
    tabs,
)
from tests.test_whatsapp import WA_SENDER, whatsapp_setup

__all__ = ["browser", "tabs"]  # fixtures shared with test_console


def test_agent_sees_the_customers_history_and_adds_a_note(api: Api, hub: HubProcess, sandbox: Any, tabs: Any) -> None:
    ids = outbound_setup(api, sandbox.url)
    channel = ids["channel"]["id"]
    customer = phone(21)
    sent = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": ids["config"]["id"], "contacts": [contact(customer)]},
    )
    act = sent["results"][0]["activity_id"]
    wait_for(lambda: api.ok("GET", f"/v1/outbound/activities/{act}")["status"] == "delivered", timeout=30)
    create_agent(api, "dee@example.com", name="Dee")
    page = agent_signs_in(tabs(), "dee@example.com")

    # An earlier conversation, closed.
    reply_from_customer(sandbox.url, hub.url, channel, customer, "Where is my parcel?")
    conversation_button(page, customer).click()
    expect(page.locator("#customer-panel")).to_be_visible()
    page.get_by_role("button", name="Close conversation").click()
    expect(conversation_button(page, customer)).to_have_count(0)
    expect(page.locator("#customer-panel")).to_be_hidden()

    # The customer writes again: the panel shows what came before.
    reply_from_customer(sandbox.url, hub.url, channel, customer, "Any news?")
    conversation_button(page, customer).click()
    panel = page.locator("#customer-panel")
    expect(panel.locator("#customer-number")).to_have_text(customer)
    outbound = panel.locator(".history-item.activity")
    expect(outbound).to_have_count(1)
    expect(outbound.locator(".message-body")).to_have_text("Hi Ada, case CAS-1 is resolved.")
    expect(outbound.locator(".badge")).to_have_attribute("data-status", "delivered")
    earlier = panel.locator(".history-item.inbound")
    expect(earlier).to_have_count(1)  # this conversation's own message is in the thread, not here
    expect(earlier.locator(".message-body")).to_have_text("Where is my parcel?")

    # A note, kept as text, shown apart from the messages, never sent.
    note = "Promised a call back <b>today</b>"
    panel.get_by_label("Internal note").fill(note)
    panel.get_by_role("button", name="Add note").click()
    shown = page.locator("#messages .message.note")
    expect(shown.locator(".message-body")).to_have_text(note)
    expect(shown.locator(".message-who")).to_have_text("Internal note · You")
    expect(panel.get_by_label("Internal note")).to_have_value("")
    assert page.locator("#messages b").count() == 0
    conv = api.ok("GET", "/v1/conversations", params={"status": "assigned"})["items"][0]["id"]
    messages = api.ok("GET", f"/v1/conversations/{conv}")["messages"]
    assert [(m["direction"], m["body"]) for m in messages] == [("inbound", "Any news?"), ("note", note)]
    assert note not in sandbox_bodies(sandbox, customer)
    page.screenshot(path=str(SHOTS / "customer-history.png"))


def test_a_closed_whatsapp_window_offers_the_approved_templates(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any, redis_url: str
) -> None:
    ids = whatsapp_setup(api, sandbox.url)  # its template is approved in en-US
    create_agent(api, "eve@example.com", name="Eve")
    page = agent_signs_in(tabs(), "eve@example.com")
    customer = phone(22)
    reply_from_whatsapp(sandbox.url, hub.url, ids["channel"]["id"], customer, "Hello?")
    conversation_button(page, customer).click()
    window = page.locator("#wa-window")
    expect(window).to_contain_text(re.compile(r"WhatsApp reply window: 2[34]:\d\d:\d\d left"))
    expect(page.locator("#reply")).to_be_visible()
    expect(page.locator("#template-picker")).to_be_hidden()

    # A day and an hour later (the customer's last message, moved back in time).
    org_id = page.evaluate("JSON.parse(sessionStorage.getItem('hub.console.agent')).org_id")
    r = redis_client(redis_url)
    r.hset(
        f"{keys.org_prefix(org_id)}:contact:{customer}",
        f"last_in:{ids['channel']['id']}",
        int((time.time() - 25 * 3600) * 1000),
    )
    r.close()
    page.reload()
    conversation_button(page, customer).click()
    expect(window).to_contain_text("The WhatsApp 24-hour window has closed")
    expect(page.locator("#reply")).to_be_hidden()
    picker = page.locator("#template-picker")
    expect(picker.get_by_label("Approved template")).to_have_value(ids["template"]["id"])
    picker.get_by_label("Value for CustomerName").fill("Ada")
    picker.get_by_label("Value for CaseName").fill("CAS-5")
    picker.get_by_label("Value for state").fill("closed")
    expect(picker.locator("#template-preview")).to_have_text("Hi Ada, case CAS-5 is closed.")
    picker.get_by_role("button", name="Send template").click()
    expect(page.locator("#messages .message.outbound .message-body")).to_have_text("Hi Ada, case CAS-5 is closed.")
    sent = wait_for(
        lambda: [m for m in sandbox.state.list_messages(SANDBOX_SID, to="whatsapp:" + customer) if m.content_sid],
        timeout=30,
    )
    assert sent[0].content_sid == ids["template"]["content_sids"]["en-US"]


def reply_from_whatsapp(sandbox_url: str, hub_url: str, channel_id: str, customer: str, body: str) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(
            asyncio.run,
            customer_replies(sandbox_url, hub_url, channel_id, "whatsapp:" + customer, body, "whatsapp:" + WA_SENDER),
        ).result(timeout=30)
