"""The admin's report shows replies, opt-outs and SMS segments, charts the
reply rate per hour and downloads the report as CSV, in English and in
Traditional Chinese (headless Chromium, real hub)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support import Api, HubProcess, contact, outbound_setup, phone, wait_for
from tests.test_console import (  # noqa: F401  (fixtures)
    admin_signs_in,
    browser,
    reply_from_customer,
    tabs,
)

REPORT = "/v1/outbound/report"


def test_the_report_page_shows_replies_and_downloads_the_csv(
    api: Api, hub: HubProcess, sandbox: Any, tabs: Any
) -> None:  # noqa: F811
    ids = outbound_setup(api, sandbox.url)
    channel_id, config_id = ids["channel"]["id"], ids["config"]["id"]
    answering, leaving = phone(41), phone(42)
    sent = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": config_id, "contacts": [contact(answering), contact(leaving)]},
    )
    for r in sent["results"]:
        wait_for(
            lambda r=r: api.ok("GET", f"/v1/outbound/activities/{r['activity_id']}")["status"] == "delivered",
            timeout=20,
        )
    reply_from_customer(sandbox.url, hub.url, channel_id, answering, "Is it really resolved?")
    reply_from_customer(sandbox.url, hub.url, channel_id, leaving, "STOP")
    wait_for(
        lambda: (
            api.ok("GET", REPORT, params={"configuration_id": config_id})["replies"]["opted_out"] == 1
            and api.ok("GET", REPORT, params={"configuration_id": config_id})["replies"]["replied"] == 1
        ),
        timeout=30,
    )

    admin = admin_signs_in(tabs(), api.org["api_key"])  # type: ignore[attr-defined]
    admin.get_by_role("link", name="Report").click()
    expect(admin.locator(f'#report-config option[value="{config_id}"]')).to_have_count(1)
    admin.locator("#report-config").select_option(config_id)
    admin.get_by_role("button", name="Show report").click()
    summary = admin.locator("#report-summary")
    expect(summary).to_contain_text("Reply rate50.0 %")
    expect(summary).to_contain_text("Opt-out rate50.0 %")
    expect(summary).to_contain_text("Conversations opened1")
    expect(summary).to_contain_text("SMS messages sent2")
    expect(summary).to_contain_text("SMS segments billed2")
    expect(summary).to_contain_text("Half replied within≤ 1 min")
    chart = admin.locator("#report-replies-chart svg")
    expect(chart.locator("rect.reply-bar")).to_have_count(1)
    expect(chart.locator("rect.optout-bar")).to_have_count(1)
    expect(chart).to_have_attribute(
        "aria-label", "Bar chart of the reply rate and opt-out rate over 1 hour: 1 of 2 delivered replied"
    )
    row = admin.locator("#report-replies tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td")).to_have_text(["2", "1", "50.0 %", "≤ 1 min / ≤ 1 min", "1", "1", "2", "2"])

    admin.locator("#report-group").select_option("locale")
    with admin.expect_download() as download:
        admin.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == f"report-{config_id}-locale.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [
        (r["locale"], r["delivered"], r["replied"], r["reply_rate"], r["opt_out_rate"], r["sms_segments"]) for r in rows
    ] == [("en-US", "2", "1", "0.5", "0.5", "2"), ("total", "2", "1", "0.5", "0.5", "2")]

    admin.get_by_label("Language").select_option("zh-TW")
    expect(admin.locator("html")).to_have_attribute("lang", "zh-TW")
    admin.get_by_role("button", name="顯示報表").click()
    expect(summary).to_contain_text("回覆率50.0%")
    expect(summary).to_contain_text("退訂率50.0%")
    expect(summary).to_contain_text("半數回覆時間≤ 1 分鐘")
    expect(admin.locator("#report-replies caption")).to_have_text("每小時回覆與簡訊則數")
    expect(admin.get_by_role("button", name="下載 CSV")).to_be_visible()
