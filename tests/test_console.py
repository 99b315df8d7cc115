"""The console in headless Chromium against a real hub process on loopback.

An admin signs in with the org's API key and sets up and pushes an outbound
message through the admin pages; an agent, in a second browser context,
answers the customer's reply. Also: customer text is never HTML, the
connection banner and resume after the hub restarts, and keyboard use.
Screenshots for the docs are written to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.agents import create_agent, customer_replies
from tests.support import (
    ROOT,
    SANDBOX_SID,
    SANDBOX_TOKEN,
    SENDER,
    Api,
    HubProcess,
    outbound_setup,
    phone,
    wait_for,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "correct horse"

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """A browser context with one page that records script errors and dialogs."""

    def __init__(self, browser: Browser, base_url: str, locale: str | None = None) -> None:
        self.context: BrowserContext = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 860}, **({"locale": locale} if locale else {})
        )
        self.context.grant_permissions(["clipboard-read", "clipboard-write"])
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)

    def _console(self, message: Any) -> None:
        # The browser itself logs failed websocket attempts while the hub is away
        # and HTTP error answers (which the console shows); script errors count.
        if message.type == "error" and not message.text.startswith(
            ("WebSocket connection to", "Failed to load resource")
        ):
            self.errors.append(message.text)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(browser: Browser, hub: HubProcess) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab() -> Tab:
        tab = Tab(browser, hub.url)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()
    for tab in opened:
        assert tab.errors == [], tab.errors


def reply_from_customer(sandbox_url: str, hub_url: str, channel_id: str, customer: str, body: str) -> None:
    """The sandbox customer answers (a signed inbound webhook); the sync
    Playwright API owns this thread's event loop, so run it on another."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, customer_replies(sandbox_url, hub_url, channel_id, customer, body, SENDER)).result(
            timeout=30
        )


def sandbox_bodies(sandbox: Any, to: str) -> list[str]:
    return [m.resource["body"] for m in sandbox.state.list_messages(SANDBOX_SID, to=to)]


def agent_signs_in(tab: Tab, email: str) -> Page:
    page = tab.page
    page.goto("/console")
    page.locator("#agent-login").get_by_label("Email").fill(email)
    page.locator("#agent-login").get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in as agent").click()
    expect(page.locator("#view-agent")).to_be_visible()
    expect(page.locator("#session-who")).to_contain_text("Signed in as")
    return page


def admin_signs_in(tab: Tab, api_key: str) -> Page:
    page = tab.page
    page.goto("/console")
    page.get_by_label("Organisation API key").fill(api_key)
    page.get_by_role("button", name="Open admin").click()
    expect(page.locator("#tab-channels")).to_be_visible()
    return page


def conversation_button(page: Page, customer: str) -> Any:
    return page.locator("#conversation-list").get_by_role("button", name=re.compile(re.escape(customer)))


def test_admin_pushes_to_a_list_and_an_agent_answers_the_reply(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    httpx.post(sandbox.url + "/_sandbox/accounts", json={"account_sid": SANDBOX_SID, "auth_token": SANDBOX_TOKEN})
    channel = api.ok(
        "POST",
        "/v1/channels",
        201,
        json={
            "type": "sms",
            "provider": "sandbox",
            "address": SENDER,
            "name": "Care line",
            "credentials": {"account_sid": SANDBOX_SID, "auth_token": SANDBOX_TOKEN},
            "api_base_url": sandbox.url,
        },
    )
    create_agent(api, "ana@example.com", name="Ana")
    create_agent(api, "ben@example.com", name="Ben", queues=["default", "billing"])

    admin_tab = tabs()
    admin = admin_signs_in(admin_tab, api.org["api_key"])  # type: ignore[attr-defined]
    expect(admin.locator("#channels-table")).to_contain_text(SENDER)
    expect(admin.locator("#channels-table")).to_contain_text("Stored (write-only)")
    expect(admin.locator("#channels-table")).not_to_contain_text(SANDBOX_TOKEN)

    # A template with two localized bodies and a live preview of its placeholders.
    admin.get_by_role("link", name="Templates").click()
    expect(admin).to_have_url(re.compile(r"/console/admin/templates$"))
    admin.locator("#tpl-name").fill("Shipment delay")
    admin.get_by_label("Body (en-US)").fill("Hi {{CustomerName}}, case {{CaseName}}: your parcel is {{state}}.")
    admin.get_by_label("New locale").fill("fr-FR")
    admin.get_by_role("button", name="Add locale").click()
    admin.get_by_label("Body (fr-FR)").fill("Bonjour {{CustomerName}}, dossier {{CaseName}} : colis {{state}}.")
    expect(admin.locator("#tpl-placeholders")).to_have_text("{{CustomerName}}{{CaseName}}{{state}}")
    admin.get_by_label("Sample value for state").fill("delayed")
    expect(admin.locator("#tpl-preview")).to_contain_text("Hi Ada Lovelace, case CAS-01024: your parcel is delayed.")
    expect(admin.locator("#tpl-preview")).to_contain_text("Bonjour Ada Lovelace, dossier CAS-01024 : colis delayed.")
    # What each body costs as an SMS; a curly apostrophe turns it into UCS-2 and two segments.
    segments = admin.locator("#tpl-preview .preview-segments")
    expect(segments.first).to_have_text("As SMS: 1 segment, GSM-7")
    admin.get_by_label("Body (fr-FR)").fill(
        "Bonjour {{CustomerName}}, votre colis n’est pas arrivé : nous vous tiendrons informé du dossier {{CaseName}}."
    )
    expect(segments.nth(1)).to_have_text("As SMS: 2 segments, UCS-2 because of ’")
    expect(segments.nth(1)).to_have_class(re.compile(r"\bwarn\b"))
    admin.get_by_label("Body (fr-FR)").fill("Bonjour {{CustomerName}}, dossier {{CaseName}} : colis {{state}}.")
    expect(segments.nth(1)).to_have_text("As SMS: 1 segment, GSM-7")
    admin.get_by_role("button", name="Save template").click()
    expect(admin.locator("#templates-table")).to_contain_text("Shipment delay")
    expect(admin.locator("#templates-table")).to_contain_text("en-US, fr-FR")

    # A configuration; its generated id is shown with a copy button.
    admin.get_by_role("link", name="Configurations").click()
    admin.locator("#cfg-name").fill("Late shipments")
    expect(admin.locator("#cfg-template option", has_text="Shipment delay")).to_have_count(1)
    admin.locator("#cfg-template").select_option(label="Shipment delay")
    admin.get_by_role("button", name="Add configuration").click()
    created_id = admin.locator("#config-created-id")
    expect(created_id).to_have_text(re.compile(r"^cfg_"))
    config_id = created_id.inner_text()
    admin.locator("#config-created").get_by_role("button", name="Copy ID of Late shipments").click()
    expect(admin.locator("#admin-status")).to_contain_text("Copied")
    assert admin.evaluate("navigator.clipboard.readText()") == config_id
    expect(admin.locator("#configurations-table")).to_contain_text(config_id)

    # Canned responses for agents.
    admin.get_by_role("link", name="Canned responses").click()
    admin.get_by_label("Title", exact=True).fill("On its way")
    admin.get_by_label("Text", exact=True).fill("Your parcel left our depot this morning.")
    admin.get_by_role("button", name="Add canned response").click()
    expect(admin.locator("#canned-list")).to_contain_text("On its way")

    # Push to three contacts from pasted CSV (quoted fields with commas and quotes).
    customers = [phone(1), phone(2), phone(3)]
    csv_text = (
        "tocontactid,channelid,optin,CustomerName,CaseName,entityrelationshipname,state\n"
        f'{customers[0]},sms,true,Ada,"CAS-7, urgent",incident,delayed\n'
        f'{customers[1]},SMS,yes,"Bo ""B"" Li",CAS-8,incident,"held at customs, sorry"\n'
        f"{customers[2]},sms,true,Cy,CAS-9,incident,delayed\n"
        f"{phone(4)},sms,false,Di,CAS-10,incident,delayed\n"
        "12,sms,true,Ed,CAS-11,incident,delayed\n"
    )
    admin.get_by_role("link", name="Send").click()
    expect(admin.locator(f'#send-config option[value="{config_id}"]')).to_have_count(1)
    admin.locator("#send-config").select_option(config_id)
    admin.locator("#send-csv").fill(csv_text)
    expect(admin.locator("#send-csv-summary")).to_contain_text("5 contact(s) in 1 request(s)")
    admin.locator("#send-form").get_by_role("button", name="Send").click()
    expect(admin.locator("#send-progress-text")).to_have_text("5 of 5 contacts processed")
    rows = admin.locator("#send-outcomes tbody tr")
    expect(rows).to_have_count(5)
    expect(admin.locator('#send-outcomes tbody tr[data-status="queued"]')).to_have_count(3)
    for i, number in enumerate(customers):
        expect(rows.nth(i)).to_contain_text(number)
        expect(rows.nth(i)).to_contain_text("Queued")
    expect(rows.nth(3)).to_have_attribute("data-status", "skipped_no_optin")
    expect(rows.nth(4)).to_have_attribute("data-status", "rejected")
    expect(rows.nth(4)).to_contain_text("invalid_phone")
    expect(admin.locator("#send-summary")).to_contain_text("3 queued")
    wait_for(
        lambda: (
            len(api.ok("GET", f"/v1/outbound/activities?configuration_id={config_id}&status=delivered")["items"]) == 3
        ),
        timeout=20,
    )
    assert sandbox_bodies(sandbox, customers[1]) == ['Hi Bo "B" Li, case CAS-8: your parcel is held at customs, sorry.']

    # The agent signs in (second browser context) and gets the reply at once.
    agent_tab = tabs()
    agent = agent_signs_in(agent_tab, "ana@example.com")
    expect(agent.get_by_label("Presence")).to_have_value("available")
    reply_from_customer(sandbox.url, hub.url, channel["id"], customers[0], "Is it on its way?")
    button = conversation_button(agent, customers[0])
    expect(button).to_be_visible()
    expect(button).to_have_class(re.compile(r"\bis-new\b"))
    expect(agent.locator("#new-count")).to_have_text("1")
    expect(agent.locator("#live")).to_contain_text(f"New conversation assigned: {customers[0]}")
    button.click()
    expect(agent.locator("#new-count")).to_have_text("0")
    context = agent.locator("#context")
    expect(context).to_contain_text("Hi Ada, case CAS-7, urgent: your parcel is delayed.")
    expect(context).to_contain_text("CAS-7, urgent")
    expect(context).to_contain_text("Late shipments")
    expect(agent.locator("#messages .message.inbound")).to_have_text(re.compile("Is it on its way\\?"))

    # A canned response goes into the reply box; Enter sends it.
    agent.get_by_label("Canned response", exact=True).select_option(label="On its way")
    reply = agent.get_by_label("Reply", exact=True)
    expect(reply).to_have_value("Your parcel left our depot this morning.")
    expect(reply).to_be_focused()
    reply.press("End")
    reply.type(" Tracking follows.")
    reply.press("Enter")
    expect(reply).to_have_value("")
    sent = "Your parcel left our depot this morning. Tracking follows."
    outbound = agent.locator("#messages .message.outbound")
    expect(outbound).to_have_count(1)
    expect(outbound.locator(".message-body")).to_have_text(sent)
    wait_for(lambda: sent in sandbox_bodies(sandbox, customers[0]), timeout=15)
    expect(outbound.locator(".badge")).to_have_attribute("data-status", "delivered")
    expect(outbound.locator(".badge")).to_have_text("Delivered")

    # The transfer menu lists colleagues and queues from /v1/agents/me.
    expect(agent.locator("#transfer-target option", has_text="Ben")).to_have_count(1)
    expect(agent.locator("#transfer-target option", has_text="Queue: billing")).to_have_count(1)

    SHOTS.mkdir(parents=True, exist_ok=True)
    agent.screenshot(path=str(SHOTS / "agent.png"))

    agent.get_by_role("button", name="Close conversation").click()
    expect(button).to_have_count(0)
    expect(agent.locator("#no-conversations")).to_be_visible()
    expect(agent.locator("#thread-empty-title")).to_have_text("Conversation ended")
    wait_for(lambda: api.ok("GET", "/v1/conversations?status=closed")["items"], timeout=10)

    # Activities and the report with its chart.
    admin.get_by_role("link", name="Activities").click()
    admin.locator("#act-config").select_option(config_id)
    admin.locator("#activities-form").get_by_role("button", name="Show").click()
    expect(admin.locator("#activities-table tbody tr")).to_have_count(4)
    # The customer's reply counts once the archiver has written its conversation.
    wait_for(
        lambda: api.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})["replies"]["replied"] == 1,
        timeout=20,
    )
    admin.get_by_role("link", name="Report").click()
    expect(admin.locator(f'#report-config option[value="{config_id}"]')).to_have_count(1)
    admin.locator("#report-config").select_option(config_id)
    admin.get_by_role("button", name="Show report").click()
    expect(admin.locator("#report-summary")).to_contain_text("Total activities4")
    expect(admin.locator("#report-summary")).to_contain_text("Reply rate33.3 %")
    expect(admin.locator("#report-summary")).to_contain_text("SMS segments billed3")
    expect(admin.locator("#report-summary")).to_contain_text("Delivery rate100.0 %")
    expect(admin.locator("#report-chart svg rect.seg-delivered")).to_have_count(1)
    expect(admin.locator("#report-chart svg rect.seg-skipped_no_optin")).to_have_count(1)
    expect(admin.locator("#report-table")).to_contain_text("Delivered3")
    expect(admin.locator("#report-legend")).to_contain_text("Delivered")
    admin.screenshot(path=str(SHOTS / "report.png"), full_page=True)


def test_customer_text_is_shown_as_text_and_never_runs(api: Api, hub: HubProcess, sandbox: Any, tabs: Any) -> None:
    ids = outbound_setup(api, sandbox.url)
    create_agent(api, "cy@example.com", name="Cy")
    tab = tabs()
    page = agent_signs_in(tab, "cy@example.com")
    customer = phone(11)
    hostile = "<img src=x onerror=alert(1)>"
    reply_from_customer(sandbox.url, hub.url, ids["channel"]["id"], customer, hostile)
    button = conversation_button(page, customer)
    expect(button).to_contain_text(hostile)
    button.click()
    body = page.locator("#messages .message.inbound .message-body")
    expect(body).to_have_text(hostile)
    expect(body).to_be_visible()
    expect(page.locator("#context")).to_contain_text("Not linked to an outbound message")
    assert page.locator("#thread img").count() == 0
    assert page.locator("#conversation-list img").count() == 0
    assert page.evaluate("document.querySelectorAll('img').length") == 0

    # A reload keeps the session (sessionStorage) and the conversation (hello).
    page.reload()
    expect(page.locator("#view-agent")).to_be_visible()
    button.click()
    expect(body).to_have_text(hostile)
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert tab.dialogs == []

    # Transfer to another queue: the conversation leaves this agent's list.
    create_agent(api, "fay@example.com", name="Fay", queues=["billing"])
    transfer = page.get_by_label("Transfer to")
    expect(transfer.locator("option", has_text="Queue: billing")).to_have_count(1)
    transfer.select_option("queue:billing")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(button).to_have_count(0)
    expect(page.locator("#thread-empty-text")).to_have_text("Transferred to queue billing.")
    waiting = api.ok("GET", "/v1/conversations?status=waiting")["items"]
    assert [(c["customer"], c["queue"]) for c in waiting] == [(customer, "billing")]

    # Every console response carries the strict policy; client routes serve the page.
    for path in ("/console", "/console/agent", "/console/static/agent.js"):
        response = httpx.get(hub.url + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "connect-src 'self' ws: wss:" in policy
    assert httpx.get(hub.url + "/console/static/nothing.js").status_code == 404


def test_dropped_connection_shows_a_banner_and_resumes_without_losing_anything(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any, redis_url: str
) -> None:
    ids = outbound_setup(api, sandbox.url)
    channel_id = ids["channel"]["id"]
    create_agent(api, "di@example.com", name="Di")
    tab = tabs()
    sockets: list[str] = []
    tab.page.on("websocket", lambda ws: sockets.append(ws.url))
    page = agent_signs_in(tab, "di@example.com")
    customer = phone(21)
    reply_from_customer(sandbox.url, hub.url, channel_id, customer, "first")
    conversation_button(page, customer).click()
    expect(page.locator("#messages .message.inbound")).to_have_count(1)
    banner = page.locator("#banner")
    expect(banner).to_be_hidden()

    restarted: HubProcess | None = None
    try:
        hub.stop()  # the hub goes away: the socket drops
        expect(banner).to_be_visible()
        expect(banner).to_have_text("Connection lost — reconnecting…")
        tab.context.set_offline(True)  # and the browser cannot reconnect yet
        restarted = HubProcess(redis_url, sandbox_url=sandbox.url, port=hub.port).start()

        # While the agent is disconnected: the customer writes, the agent answers.
        reply_from_customer(sandbox.url, hub.url, channel_id, customer, "anyone there?")
        reply = page.get_by_label("Reply", exact=True)
        reply.fill("Sorry, I was offline.")
        reply.press("Enter")
        expect(page.locator("#messages .message.local .badge")).to_have_attribute("data-status", "pending")
        expect(banner).to_be_visible()
        assert "Sorry, I was offline." not in sandbox_bodies(sandbox, customer)

        tab.context.set_offline(False)
        expect(banner).to_be_hidden()
        inbound = page.locator("#messages .message.inbound .message-body")
        expect(inbound).to_have_text(["first", "anyone there?"])
        expect(page.locator("#live")).to_contain_text(f"New message from {customer}: anyone there?")
        outbound = page.locator("#messages .message.outbound")
        expect(outbound).to_have_count(1)
        expect(outbound.locator(".badge")).to_have_attribute("data-status", "delivered")
        assert sandbox_bodies(sandbox, customer) == ["Sorry, I was offline."]
        # Events are applied once: no duplicate messages after the resume.
        expect(page.locator("#messages li.message")).to_have_count(3)
        # Each connection was opened with a ticket of its own, never the token.
        tickets = [parse_qs(urlsplit(url).query).get("ticket", [""])[0] for url in sockets]
        assert len(tickets) >= 2 and all(tickets) and len(set(tickets)) == len(tickets), sockets
        assert not any("token=" in url for url in sockets)
    finally:
        if restarted is not None:
            restarted.stop()


def test_keyboard_only_agent_reaches_the_reply_box_and_enter_sends(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    ids = outbound_setup(api, sandbox.url)
    create_agent(api, "ed@example.com", name="Ed")
    tab = tabs()
    page = tab.page
    page.goto("/console")

    def tab_to(selector: str, limit: int = 25) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reached with Tab")

    tab_to("#agent-email")
    page.keyboard.type("ed@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#view-agent")).to_be_visible()

    customer = phone(31)
    reply_from_customer(sandbox.url, hub.url, ids["channel"]["id"], customer, "hello from the keyboard test")
    expect(conversation_button(page, customer)).to_be_visible()
    tab_to("#conversation-list button")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", outline  # focus is visible
    page.keyboard.press("Enter")
    expect(page.locator("#thread-title")).to_have_text(f"Conversation with {customer}")
    tab_to("#reply")
    page.keyboard.type("Typed by keyboard")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(page.locator("#reply")).to_have_value("Typed by keyboard\nsecond line")
    page.keyboard.press("Enter")
    expect(page.locator("#messages .message.outbound .message-body")).to_have_text("Typed by keyboard\nsecond line")
    wait_for(lambda: sandbox_bodies(sandbox, customer) == ["Typed by keyboard\nsecond line"], timeout=15)

    token = page.evaluate("JSON.parse(sessionStorage.getItem('hub.console.agent')).token")
    page.keyboard.press("Shift+Tab")
    for _ in range(25):
        if page.evaluate("document.activeElement.id") == "logout":
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#view-login")).to_be_visible()
    expect(page.locator("#login-notice")).to_have_text("You are signed out.")
    assert page.evaluate("sessionStorage.getItem('hub.console.agent')") is None
    wait_for(
        lambda: httpx.get(hub.url + "/v1/agents/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401,
        timeout=10,
    )


def test_send_form_uploads_a_file_splits_by_100_and_waits_out_rate_limits(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    ids = outbound_setup(api, sandbox.url, show_in_timeline=False)
    config_id = ids["config"]["id"]
    tab = tabs()
    page = admin_signs_in(tab, api.org["api_key"])  # type: ignore[attr-defined]

    # The CSV parser: quotes, doubled quotes, separators and line breaks inside quotes, CRLF, BOM.
    text = '\ufeffa,b,c\r\n"x, y","say ""hi""","two\nlines"\r\n\r\n,,\n'
    parsed = page.evaluate(
        "async (text) => (await import('/console/static/csv.js')).parseCsv(text).map((r) => r.cells)", text
    )
    assert parsed == [["a", "b", "c"], ["x, y", 'say "hi"', "two\nlines"], ["", "", ""]]

    # 150 contacts (opted out, so nothing reaches the provider): two requests, 100 + 50.
    lines = ["tocontactid,channelid,optin,CustomerName,CaseName,state"]
    lines += [f"{phone(100 + i)},sms,false,Customer {i},CAS-{i},late" for i in range(150)]
    seen: list[int] = []
    refused: list[int] = []

    def first_one_is_rate_limited(route: Any) -> None:
        seen.append(len(route.request.post_data_json["contacts"]))
        if not refused:
            refused.append(1)
            route.fulfill(
                status=429,
                headers={"Retry-After": "1"},
                content_type="application/json",
                body='{"error": {"code": "rate_limited", "message": "slow down"}}',
            )
        else:
            route.continue_()

    page.route("**/v1/outbound/send", first_one_is_rate_limited)
    page.get_by_role("link", name="Send").click()
    expect(page.locator(f'#send-config option[value="{config_id}"]')).to_have_count(1)
    page.locator("#send-config").select_option(config_id)
    page.get_by_label("Upload a CSV file").set_input_files(
        {"name": "contacts.csv", "mimeType": "text/csv", "buffer": "\r\n".join(lines).encode()}
    )
    expect(page.locator("#send-csv-summary")).to_contain_text("contacts.csv: 150 contact(s) in 2 request(s)")
    page.locator("#send-form").get_by_role("button", name="Send").click()
    expect(page.locator("#send-progress-text")).to_contain_text("Rate limited")
    expect(page.locator("#send-progress-text")).to_have_text("150 of 150 contacts processed")
    expect(page.locator('#send-outcomes tbody tr[data-status="skipped_no_optin"]')).to_have_count(150)
    expect(page.locator("#send-progress")).to_have_js_property("value", 150)
    assert seen == [100, 100, 50]
    activities = api.ok("GET", f"/v1/outbound/activities?configuration_id={config_id}&limit=200")["items"]
    assert len(activities) == 150
    assert sandbox.state.list_messages(SANDBOX_SID) == []


def test_a_message_held_by_quiet_hours_shows_deferred_until_its_send_at(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]
    # A UTC window that is closed now (the contact's timezone item says UTC).
    start = "13:00" if datetime.now(UTC).hour < 12 else "01:00"
    api.ok(
        "PATCH",
        f"/v1/outbound-configurations/{config_id}",
        json={"quiet_hours": {"start": start, "end": start.replace(":00", ":30")}},
    )
    held = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={
            "configuration_id": config_id,
            "contacts": [
                {
                    "tocontactid": "+12125550123",
                    "channelid": "sms",
                    "optin": True,
                    "CustomerName": "Ada",
                    "CaseName": "CAS-1",
                    "entityrelationshipname": "incident",
                    "contextitems": {"state": "open", "timezone": "UTC"},
                }
            ],
        },
    )["results"][0]
    assert held["status"] == "deferred"
    admin = admin_signs_in(tabs(), api.org["api_key"])  # type: ignore[attr-defined]
    admin.get_by_role("link", name="Activities").click()
    admin.locator("#act-status").select_option("deferred")
    admin.locator("#activities-form").get_by_role("button", name="Show").click()
    badge = admin.locator('#activities-table tbody .badge[data-status="deferred"]')
    expect(badge).to_have_count(1)
    expect(badge).to_contain_text(re.compile(r"Deferred \(quiet hours\) · until .+"))
