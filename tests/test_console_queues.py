"""The Queues page in headless Chromium: an admin lists the org's queues,
sets a queue's routing policy in the form (a required skill, operating hours
with a holiday, replies when closed, overflow, inactivity close), sees it
listed, edits it, gets the hub's validation errors next to the field they
name, and deletes it. What the hub saved is read back through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.agents import create_agent
from tests.support import Api, HubProcess
from tests.test_console import admin_signs_in, browser, tabs

__all__ = ["browser", "tabs"]  # fixtures shared with test_console

ZONE = "Europe/Madrid"
SCRIPTED = "<img src=x onerror=\"document.title='pwned'\">Cerrado"


def queue_row(page: Page, name: str) -> Any:
    return page.locator(f'#queues-table tbody tr[data-queue="{name}"]')


def test_an_admin_sets_edits_and_deletes_a_queue_policy(api: Api, hub: HubProcess, tabs: Any) -> None:
    create_agent(api, "ana@example.com", name="Ana", queues=["billing"])
    page = admin_signs_in(tabs(), api.org["api_key"])  # type: ignore[attr-defined]
    page.locator("#view-admin nav").get_by_role("link", name="Queues").click()
    expect(page).to_have_url(re.compile(r"/console/admin/queues$"))

    # A queue an agent serves is listed with the defaults, open.
    billing = queue_row(page, "billing")
    expect(billing).to_contain_text("Defaults")
    expect(billing).to_contain_text("Always open")
    expect(billing.locator("td").nth(1)).to_have_text("Open")

    # A new policy: today is a holiday, so the queue is closed now whatever the hour.
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date().isoformat()
    form = page.locator("#queue-form")
    form.get_by_label("Queue", exact=True).fill("spanish")
    form.get_by_role("button", name="Add a skill").click()
    form.get_by_label("Skill", exact=True).fill("es")
    form.get_by_label("Lowest level").select_option("3")
    form.get_by_label("Open only at set hours").check()
    form.get_by_label("Time zone").fill(ZONE)
    form.get_by_label("Monday").fill("08:00-13:00, 14:00-18:00")
    form.get_by_label("Tuesday").fill("09:00 - 17:00")
    form.get_by_label("Holidays").fill(f"2026-12-25, {today}")
    form.get_by_role("button", name="Add a language").click()
    form.get_by_label("Locale", exact=True).last.fill("es")
    form.get_by_label("Reply", exact=True).last.fill(SCRIPTED)
    form.get_by_role("button", name="Add a language").click()
    form.get_by_label("Locale", exact=True).last.fill("en")
    form.get_by_label("Reply", exact=True).last.fill("We are closed.")
    form.get_by_label("Move conversations").select_option(label="After waiting (seconds)")
    form.get_by_label("To queue").fill("billing")
    form.get_by_label("Threshold").fill("300")
    form.get_by_label("Close after inactivity (seconds)").fill("3600")
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator("#admin-status")).to_have_text("Policy of queue spanish saved.")

    row = queue_row(page, "spanish")
    expect(row.locator("td").nth(1)).to_have_text("Closed")
    expect(row).to_contain_text("Configured")
    expect(row).to_contain_text("es (level 3+)")
    expect(row).to_contain_text(f"{ZONE}: Monday, Tuesday")
    expect(row).to_contain_text("to billing after 300 s")
    expect(row).to_contain_text("3,600 s")
    saved = api.ok("GET", "/v1/queues/spanish")
    assert saved["configured"] is True and saved["open"] is False
    assert saved["required_skills"] == [{"name": "es", "min_level": 3}]
    assert saved["hours"] == {
        "timezone": ZONE,
        "weekly": {
            "mon": [["08:00", "13:00"], ["14:00", "18:00"]],
            "tue": [["09:00", "17:00"]],
            "wed": [],
            "thu": [],
            "fri": [],
            "sat": [],
            "sun": [],
        },
        "holidays": sorted({"2026-12-25", today}),
    }
    assert saved["closed_reply"] == {"es": SCRIPTED, "en": "We are closed."}
    assert saved["overflow"] == {"queue": "billing", "after_seconds": 300}
    assert saved["inactive_close_seconds"] == 3600
    assert page.title() != "pwned"

    # Edit: the form holds what was saved, entered text as it was typed.
    row.get_by_role("button", name="Edit the policy of queue spanish").click()
    expect(page.locator("#queue-form-title")).to_have_text("Policy of queue spanish")
    expect(form.get_by_label("Queue", exact=True)).to_have_value("spanish")
    expect(form.get_by_label("Time zone")).to_have_value(ZONE)
    expect(form.get_by_label("Monday")).to_have_value("08:00-13:00, 14:00-18:00")
    expect(form.get_by_label("Lowest level")).to_have_value("3")
    expect(form.get_by_label("Reply", exact=True).first).to_have_value(SCRIPTED)
    form.get_by_label("Lowest level").select_option("4")
    form.get_by_label("Tuesday").fill("")
    form.get_by_label("Holidays").fill("2026-12-25")
    form.get_by_label("Move conversations").select_option(label="When more than this many wait")
    form.get_by_label("Threshold").fill("5")
    form.get_by_role("button", name="Remove locale en").click()
    form.get_by_role("button", name="Save policy").click()
    expect(row).to_contain_text("es (level 4+)")
    expect(row).to_contain_text("to billing when more than 5 wait")
    expect(row).to_contain_text(f"{ZONE}: Monday")
    edited = api.ok("GET", "/v1/queues/spanish")
    assert edited["required_skills"] == [{"name": "es", "min_level": 4}]
    assert edited["hours"]["weekly"]["tue"] == [] and edited["hours"]["holidays"] == ["2026-12-25"]
    assert edited["overflow"] == {"queue": "billing", "waiting_over": 5}
    assert edited["closed_reply"] == {"es": SCRIPTED}

    # The hub's validation errors, each next to the field it names; nothing saved.
    form.get_by_label("Time zone").fill("Mars/Olympus_Mons")
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator("#qp-timezone-error")).to_contain_text("IANA time zone")
    expect(form.get_by_label("Time zone")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Time zone").fill(ZONE)
    form.get_by_label("Monday").fill("18:00-08:00")
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator("#qp-day-mon-error")).to_contain_text("start must come before its end")
    expect(page.locator("#qp-timezone-error")).to_have_text("")
    expect(form.get_by_label("Monday")).to_be_focused()
    form.get_by_label("Monday").fill("08:00-18:00")
    form.get_by_label("To queue").fill("spanish")
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator("#qp-overflow-queue-error")).to_contain_text("cannot overflow into itself")
    expect(page.locator("#qp-day-mon-error")).to_have_text("")
    still = api.ok("GET", "/v1/queues/spanish")
    assert still["hours"]["weekly"]["mon"] == [["08:00", "13:00"], ["14:00", "18:00"]]

    # Ana gets the skill the queue asks for; a bad skill name is refused and changes nothing.
    ana = page.locator("#agent-skills-table tbody tr", has_text="ana@example.com")
    expect(ana).to_contain_text("billing")
    ana.get_by_role("button", name="Edit the skills of Ana").click()
    skills_form = page.locator("#agent-skills-form")
    expect(page.locator("#agent-skills-title")).to_have_text("Skills of Ana")
    skills_form.get_by_role("button", name="Add a skill").click()
    skills_form.get_by_label("Skill", exact=True).fill("has space")
    skills_form.get_by_role("button", name="Save skills").click()
    expect(page.locator("#agent-skills-form-error")).to_contain_text("skill names are")
    skills_form.get_by_label("Skill", exact=True).fill("es")
    skills_form.get_by_label("Level", exact=True).select_option("4")
    skills_form.get_by_role("button", name="Save skills").click()
    expect(page.locator("#admin-status")).to_have_text("Skills of Ana saved.")
    expect(skills_form).to_be_hidden()
    expect(ana).to_contain_text("es (level 4)")
    agents = api.ok("GET", "/v1/agents")["items"]
    assert [a["skills"] for a in agents if a["email"] == "ana@example.com"] == [{"es": 4}]

    # Delete (asks twice): the queue nothing else knows leaves the list, and the API forgets it.
    row.get_by_role("button", name="Delete the policy of queue spanish").click()
    row.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page.locator("#admin-status")).to_contain_text("Policy of queue spanish deleted")
    expect(queue_row(page, "spanish")).to_have_count(0)
    expect(queue_row(page, "billing")).to_contain_text("Defaults")
    assert api.get("/v1/queues/spanish").status_code == 404
