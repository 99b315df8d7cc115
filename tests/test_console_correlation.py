"""The agent sees which message a reply answers and how the hub found it, in
English and in Traditional Chinese (headless Chromium, real hub)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.agents import create_agent
from tests.support import Api, HubProcess, outbound_setup, phone
from tests.test_console import (  # noqa: F401  (fixtures)
    agent_signs_in,
    browser,
    conversation_button,
    reply_from_customer,
    tabs,
)
from tests.test_correlation import send_cases


def test_the_agent_sees_which_case_the_reply_answers(api: Api, hub: HubProcess, sandbox: Any, tabs: Any) -> None:  # noqa: F811
    ids = outbound_setup(api, sandbox.url)
    customer = phone(21)
    send_cases(api, ids["config"]["id"], customer, ["CAS-100", "CAS-200"])
    create_agent(api, "cora@example.com", name="Cora")
    page = agent_signs_in(tabs(), "cora@example.com")
    reply_from_customer(sandbox.url, hub.url, ids["channel"]["id"], customer, "What about CAS-100?")
    conversation_button(page, customer).click()
    line = page.locator("#context-correlation")
    expect(line).to_have_text("Answers: CAS-100 · matched by content")
    expect(page.locator("#context .context-body")).to_contain_text("case CAS-100")

    page.get_by_label("Language").select_option("zh-TW")
    expect(page.locator("html")).to_have_attribute("lang", "zh-TW")
    conversation_button(page, customer).click()
    expect(line).to_have_text("回覆：CAS-100 · 比對方式：內容")
