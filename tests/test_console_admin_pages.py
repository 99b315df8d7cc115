"""The console's Agents, Flows and Bulk jobs pages in headless Chromium,
against a real hub process: what an admin does there reaches the API and
the people it concerns (an agent signs in with the new password, and not at
all once deactivated; flows list their next runs; bulk jobs show their
progress, hand over their results and cancel)."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.support import ADMIN_TOKEN, Api, HubProcess, outbound_setup, phone
from tests.test_console import PASSWORD, Tab, admin_signs_in, browser, tabs

__all__ = ["browser", "tabs"]  # the Chromium fixtures, shared with test_console

HEADER = "tocontactid,channelid,optin,CustomerName,CaseName,entityrelationshipname,state"


def contacts_csv(count: int, first: int = 1) -> str:
    rows = [HEADER] + [f"{phone(first + i)},sms,true,Name {i},CAS-{i},incident,open" for i in range(count)]
    return "\n".join(rows) + "\n"


def agent_row(admin: Page, email: str) -> Any:
    return admin.locator(f'#agents-table tr[data-email="{email}"]')


def agent_sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/console")
    page.locator("#agent-login").get_by_label("Email").fill(email)
    page.locator("#agent-login").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in as agent").click()


def test_admin_adds_an_agent_changes_its_routing_and_password_then_deactivates_it(
    api: Api, hub: HubProcess, tabs: Any
) -> None:
    admin = admin_signs_in(tabs(), api.org["api_key"])  # type: ignore[attr-defined]
    admin.get_by_role("link", name="Agents").click()
    expect(admin).to_have_url(re.compile(r"/console/admin/agents$"))
    expect(admin.locator("#agents-table")).to_contain_text("No agents yet.")

    form = admin.locator("#agent-form")
    form.get_by_label("Name").fill("Dana <b>Scully</b>")
    form.get_by_label("Email").fill("dana@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Capacity").fill("2")
    form.get_by_role("button", name="Add agent").click()
    row = agent_row(admin, "dana@example.com")
    expect(row.locator("td").first).to_have_text("Dana <b>Scully</b>")  # typed text stays text
    expect(row.locator("b")).to_have_count(0)
    expect(row.locator("td").nth(3)).to_have_text("default")
    expect(row.locator("td").nth(4)).to_have_text("2")
    expect(row.locator("td").nth(7)).to_have_text("Active")

    row.get_by_role("button", name="Edit Dana <b>Scully</b>").click()
    edit = admin.locator("#agent-edit")
    expect(edit.get_by_label("Capacity")).to_have_value("2")
    edit.get_by_label("Capacity").fill("5")
    edit.get_by_label("Queues (comma separated)").fill("default, billing")
    edit.get_by_role("button", name="Save capacity and queues").click()
    expect(admin.locator("#admin-status")).to_have_text("Capacity and queues of Dana <b>Scully</b> saved.")
    expect(row.locator("td").nth(3)).to_have_text("billing, default")
    expect(row.locator("td").nth(4)).to_have_text("5")
    [stored] = api.ok("GET", "/v1/agents")["items"]
    assert (stored["capacity"], stored["queues"]) == (5, ["billing", "default"])

    # A too-short password is refused with the API's reason; a good one replaces the old.
    edit.get_by_label("New password").fill("short")
    edit.get_by_role("button", name="Set password").click()
    expect(admin.locator("#agent-edit-error")).to_contain_text("[invalid_request]")
    new_password = "a brand new passphrase"
    edit.get_by_label("New password").fill(new_password)
    edit.get_by_role("button", name="Set password").click()
    expect(admin.locator("#admin-status")).to_contain_text("New password set for Dana")

    agent = tabs().page
    agent_sign_in(agent, "dana@example.com", PASSWORD)
    expect(agent.locator("#agent-login-error")).to_have_text("Wrong email or password.")
    agent_sign_in(agent, "dana@example.com", new_password)
    expect(agent.locator("#view-agent")).to_be_visible()
    expect(agent.locator("#session-who")).to_have_text("Signed in as Dana <b>Scully</b>")

    # Deactivate asks twice; then the agent is listed as deactivated and cannot sign in.
    deactivate = row.get_by_role("button", name="Deactivate Dana <b>Scully</b>")
    deactivate.click()
    expect(row.get_by_role("button", name="Confirm: Deactivate Dana <b>Scully</b>")).to_be_visible()
    row.get_by_role("button", name=re.compile("^Confirm")).click()
    expect(row.locator("td").nth(7)).to_have_text("Deactivated")
    expect(row.locator("td").nth(5)).to_have_text("Offline")
    expect(row.get_by_role("button")).to_have_count(0)
    expect(agent.locator("#view-login")).to_be_visible(timeout=20_000)  # its session ended
    again = tabs().page
    agent_sign_in(again, "dana@example.com", new_password)
    expect(again.locator("#agent-login-error")).to_have_text("Wrong email or password.")
    assert api.ok("GET", "/v1/agents")["items"][0]["active"] is False


def test_admin_creates_automated_and_scheduled_flows_sees_next_runs_and_history_and_pauses(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    outbound_setup(api, sandbox.url)
    admin = admin_signs_in(tabs(), api.org["api_key"])  # type: ignore[attr-defined]
    admin.get_by_role("link", name="Flows").click()
    expect(admin.locator("#flows-table")).to_contain_text("No flows yet.")
    form = admin.locator("#flow-form")
    expect(form.get_by_label("Configuration")).to_have_value(re.compile("^cfg_"))

    form.get_by_label("Name (optional)").fill("New cases")
    form.get_by_label("Event type").fill("case.created")
    form.get_by_label("Delay (seconds, optional)").fill("60")
    form.get_by_role("button", name="Add flow").click()
    automated = admin.locator("#flows-table tbody tr", has_text="New cases")
    expect(automated).to_contain_text("Automated (on an event)")
    expect(automated).to_contain_text("On event case.created · sent in 60 seconds")
    expect(automated).to_contain_text("Case updates")

    form.get_by_label("Kind").select_option("scheduled")
    form.get_by_label("Name (optional)").fill("Weekday mornings")
    form.get_by_label("Cron (minute hour day month weekday)").fill("30 9 * * 1-5")
    form.get_by_label("Time zone").fill("Europe/Paris")
    form.get_by_label("Contacts (CSV with a header row)").fill(contacts_csv(2))
    form.get_by_role("button", name="Add flow").click()
    expect(admin.locator("#flow-detail-title")).to_have_text("Runs of Weekday mornings")
    times = admin.locator("#flow-next-runs time")
    expect(times).to_have_count(5)
    flow = next(f for f in api.ok("GET", "/v1/flows")["items"] if f["name"] == "Weekday mornings")
    shown = api.ok("GET", f"/v1/flows/{flow['id']}")["next_runs"]
    assert [times.nth(i).get_attribute("datetime") for i in range(5)] == shown
    assert all(datetime.fromisoformat(s).strftime("%H:%M") in ("08:30", "07:30") for s in shown)  # 9:30 Paris
    expect(admin.locator("#flow-runs")).to_contain_text("No runs yet.")
    scheduled = admin.locator("#flows-table tbody tr", has_text="Weekday mornings")
    expect(scheduled).to_contain_text("Cron 30 9 * * 1-5 (Europe/Paris)")

    scheduled.get_by_role("button", name="Pause flow Weekday mornings").click()
    expect(scheduled.locator("td").nth(4)).to_have_text("Paused")
    expect(scheduled.locator("td").nth(5)).to_have_text("—")
    expect(admin.locator("#flow-detail-next")).to_have_text("No run to come (paused or already run).")
    assert api.ok("GET", f"/v1/flows/{flow['id']}")["enabled"] is False
    scheduled.get_by_role("button", name="Resume flow Weekday mornings").click()
    expect(scheduled.locator("td").nth(4)).to_have_text("Active")
    expect(times).to_have_count(5)

    # A one-off flow a second from now: its run shows in the history.
    form.get_by_label("Name (optional)").fill("Right away")
    form.get_by_label("When").select_option("delay_seconds")
    form.get_by_label("Delay (seconds)", exact=True).fill("1")
    form.get_by_label("Contacts (CSV with a header row)").fill(contacts_csv(1, first=7))
    form.get_by_role("button", name="Add flow").click()
    expect(admin.locator("#flow-detail-title")).to_have_text("Runs of Right away")
    runs_button = admin.locator("#flows-table tbody tr", has_text="Right away").get_by_role(
        "button", name="Runs of Right away"
    )
    deadline = time.monotonic() + 30
    while "1 queued" not in admin.locator("#flow-runs").inner_text() and time.monotonic() < deadline:
        admin.wait_for_timeout(500)
        runs_button.click()
    expect(admin.locator("#flow-runs tbody tr")).to_have_count(1)
    expect(admin.locator("#flow-runs tbody tr")).to_contain_text("1 queued")
    expect(admin.locator("#flow-detail-next")).to_have_text("No run to come (paused or already run).")


def set_limits(hub: HubProcess, org_id: str, **limits: int) -> None:
    response = httpx.patch(
        f"{hub.url}/v1/orgs/{org_id}", json={"limits": limits}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200, response.text


def results_of(page: Page, job_id: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.get_by_role("button", name=f"Download the results of job {job_id}").click()
    download = info.value
    assert download.suggested_filename == f"{job_id}-results.csv"
    with open(download.path(), encoding="utf-8") as f:
        return list(csv.DictReader(io.StringIO(f.read())))


def test_admin_uploads_a_bulk_list_watches_it_finish_downloads_results_and_cancels_another(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:
    outbound_setup(api, sandbox.url)
    admin = admin_signs_in(tabs(), api.org["api_key"])  # type: ignore[attr-defined]
    admin.get_by_role("link", name="Bulk jobs").click()
    expect(admin.locator("#bulk-table")).to_contain_text("No bulk jobs yet.")
    admin.get_by_role("button", name="Upload and send").click()
    expect(admin.locator("#bulk-form-error")).to_have_text("Choose a CSV or JSON lines file first.")

    admin.get_by_label("File (CSV or JSON lines)").set_input_files(
        files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": contacts_csv(3).encode()}]
    )
    admin.get_by_role("button", name="Upload and send").click()
    expect(admin.locator("#admin-status")).to_contain_text("started: 3 contacts.")
    row = admin.locator("#bulk-table tbody tr").first
    expect(row).to_have_attribute("data-job", re.compile(r"."))
    job_id = row.get_attribute("data-job")
    expect(row.locator(".job-state")).to_have_text("Done")  # the page polls until the job ends
    expect(row.locator(".job-progress")).to_have_text("3 of 3 contacts processed")
    expect(row.locator("progress")).to_have_attribute("value", "3")
    expect(row).to_contain_text("3 queued")
    expect(row.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(0)
    rows = results_of(admin, str(job_id))
    assert [r["tocontactid"] for r in rows] == [phone(1), phone(2), phone(3)]
    assert {r["status"] for r in rows} == {"queued"}

    # One request an hour, two contacts a request: the next job waits, and is canceled.
    set_limits(hub, api.org["id"], contacts_per_request=2, requests_per_hour=1)  # type: ignore[attr-defined]
    admin.get_by_label("File (CSV or JSON lines)").set_input_files(
        files=[{"name": "more.csv", "mimeType": "text/csv", "buffer": contacts_csv(5, first=11).encode()}]
    )
    admin.get_by_role("button", name="Upload and send").click()
    expect(admin.locator("#bulk-table tbody tr")).to_have_count(2)
    running = admin.locator("#bulk-table tbody tr").first
    other_id = str(running.get_attribute("data-job"))
    expect(running.locator(".job-state")).to_have_text("Running")
    expect(running).to_contain_text("waiting for the hourly limit")
    running.get_by_role("button", name=f"Cancel job {other_id}").click()
    running.get_by_role("button", name=f"Confirm: Cancel job {other_id}").click()
    expect(running.locator(".job-state")).to_have_text("Canceled")
    expect(admin.locator("#admin-status")).to_have_text(f"Job {other_id} canceled.")
    assert api.ok("GET", f"/v1/bulk-jobs/{other_id}")["status"] == "canceled"
    statuses = [r["status"] for r in results_of(admin, other_id)]
    assert len(statuses) == 5 and statuses[-1] == "canceled"


def test_the_new_pages_speak_traditional_chinese(api: Api, hub: HubProcess, browser: Browser) -> None:
    tab = Tab(browser, hub.url, locale="zh-TW")
    try:
        page = tab.page
        page.goto("/console")
        page.get_by_label("組織 API 金鑰").fill(api.org["api_key"])  # type: ignore[attr-defined]
        page.get_by_role("button", name="開啟管理頁面").click()
        page.get_by_role("link", name="客服人員").click()
        expect(page.locator("#agents-heading")).to_have_text("客服人員")
        expect(page.locator("#agents-table")).to_contain_text("尚無客服人員。")
        expect(page.locator("#agent-form").get_by_role("button", name="新增客服人員")).to_be_visible()
        page.get_by_role("link", name="流程").click()
        expect(page.locator("#flows-table")).to_contain_text("尚無流程。")
        expect(page.locator("#flow-form").get_by_label("種類")).to_contain_text("自動（依事件觸發）")
        page.get_by_role("link", name="大量傳送").click()
        expect(page.locator("#bulk-table")).to_contain_text("尚無大量傳送工作。")
        expect(page.get_by_role("button", name="上傳並傳送")).to_be_visible()
        assert tab.errors == [], tab.errors
    finally:
        tab.close()
