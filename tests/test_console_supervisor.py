"""The supervisor board in headless Chromium: a supervisor watches the board
change as customers write, monitors an agent's conversation live and
whispers a note the agent sees and the customer never gets, reads the
agent metrics (and their CSV), reassigns and takes over. The board's
screenshot for the docs is taken here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.agents import create_agent
from tests.support import Api, HubProcess, outbound_setup, phone, wait_for
from tests.test_console import (
    SHOTS,
    agent_signs_in,
    browser,
    conversation_button,
    reply_from_customer,
    sandbox_bodies,
    tabs,
)
from tests.test_supervisors import create_supervisor

__all__ = ["browser", "tabs"]  # fixtures shared with test_console


def test_a_supervisor_watches_an_agents_conversation_and_whispers(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    channel = outbound_setup(api, sandbox.url)["channel"]["id"]
    create_agent(api, "ana@example.com", name="Ana", capacity=1)
    create_agent(api, "ben@example.com", name="Ben", queues=["billing"])  # never signs in
    create_supervisor(api, "sue@example.com", name="Sue")
    agent = agent_signs_in(tabs(), "ana@example.com")
    expect(agent.locator("#board")).to_be_hidden()  # agents have no board
    boss = agent_signs_in(tabs(), "sue@example.com")
    board = boss.locator("#board")
    expect(board).to_be_visible()
    ana_row = boss.locator("#board-agents tbody tr", has_text="Ana")
    expect(ana_row).to_contain_text("available")

    # Customers write: the board follows without a reload.
    first, second = phone(41), phone(42)
    reply_from_customer(sandbox.url, hub.url, channel, first, "Where is my parcel?")
    expect(conversation_button(agent, first)).to_have_count(1)
    expect(ana_row).to_contain_text("1 / 1")
    reply_from_customer(sandbox.url, hub.url, channel, second, "Hello? Anyone?")
    expect(boss.locator("#board-waiting")).to_contain_text(second)
    default_row = boss.locator("#board-queues tbody tr", has_text="default")
    expect(default_row.locator("td").first).to_have_text("1")

    # Monitor the agent's conversation, live on both sides.
    ana_row.get_by_role("button", name=re.compile(re.escape(first))).click()
    monitor = boss.locator("#monitor")
    expect(monitor.locator("#monitor-title")).to_contain_text(first)
    expect(monitor.locator(".message.inbound .message-body")).to_have_text("Where is my parcel?")
    conversation_button(agent, first).click()
    reply = agent.get_by_label("Reply", exact=True)
    reply.fill("Checking with the courier.")
    reply.press("Enter")
    expect(monitor.locator(".message.outbound .message-body")).to_have_text("Checking with the courier.")
    reply_from_customer(sandbox.url, hub.url, channel, first, "Thanks!")
    expect(monitor.locator(".message.inbound .message-body").last).to_have_text("Thanks!")

    # A whisper: the agent sees it as an internal note; the customer never gets it.
    boss.get_by_label("Whisper to the agent").fill("Offer free shipping on the next order")
    boss.get_by_role("button", name="Whisper", exact=True).click()
    note = agent.locator("#messages .message.note")
    expect(note.locator(".message-body")).to_have_text("Offer free shipping on the next order")
    expect(note.locator(".message-who")).to_contain_text("Sue")
    expect(monitor.locator(".message.note .message-body")).to_have_text("Offer free shipping on the next order")
    wait_for(lambda: "Checking with the courier." in sandbox_bodies(sandbox, first), timeout=15)
    assert all("free shipping" not in body for body in sandbox_bodies(sandbox, first))

    # Today's metrics: Ana's one reply and first response; the same as CSV.
    boss.get_by_role("button", name="Show metrics").click()
    ana_metrics = boss.locator("#metrics-table tbody tr", has_text="Ana")
    expect(ana_metrics).to_have_count(1)
    expect(ana_metrics.locator("td").nth(2)).to_have_text("1")  # replies
    with boss.expect_download() as download:
        boss.get_by_role("button", name="Download CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert exported[0].startswith("day,agent_id,agent_name,handled,replies")
    assert [line.split(",")[2:5] for line in exported[1:]] == [["Ana", "0", "1"]]

    SHOTS.mkdir(parents=True, exist_ok=True)
    boss.screenshot(path=str(SHOTS / "supervisor-board.png"), full_page=True)

    # Reassign to the billing queue (its agent is away): the agent's list lets
    # it go, and Ana's freed capacity takes the customer who waited.
    boss.locator("#monitor-target").select_option(label="queue billing")
    boss.get_by_role("button", name="Reassign", exact=True).click()
    expect(conversation_button(agent, first)).to_have_count(0)
    expect(monitor.locator("#monitor-meta")).to_have_text("Waiting in billing")
    expect(conversation_button(agent, second)).to_have_count(1)
    expect(boss.locator("#board-waiting li")).to_have_count(1)
    expect(boss.locator("#board-waiting")).to_contain_text(first)

    # Take over Ana's new conversation: it moves to the supervisor's own list.
    boss.locator("#board-agents tbody tr", has_text="Ana").get_by_role(
        "button", name=re.compile(re.escape(second))
    ).click()
    expect(monitor.locator("#monitor-title")).to_contain_text(second)
    boss.get_by_role("button", name="Take over").click()
    expect(conversation_button(boss, second)).to_have_count(1)
    expect(conversation_button(agent, second)).to_have_count(0)
    expect(monitor.locator("#monitor-meta")).to_have_text("With Sue")
