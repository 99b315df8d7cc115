"""The console's languages.

Without a browser: both catalogues hold the same keys, each plural message
has the forms its language needs, every key the scripts and the page use
exists, and no static text of the page escapes translation. In headless
Chromium with the browser's language set to zh-TW: the agent's and the
admin's main screens speak Traditional Chinese, write dates the Taiwanese
way, and the header menu switches to English without signing anybody out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.agents import create_agent
from tests.support import ROOT, Api, HubProcess, contact, outbound_setup, phone, wait_for
from tests.test_console import PASSWORD, Tab, browser, conversation_button, reply_from_customer

__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with test_console

STATIC = ROOT / "agent_ui" / "static"
LOCALES = {"en": {"one", "other"}, "zh-TW": {"other"}}  # the plural forms each language has
# Names that stay as they are in every language.
UNTRANSLATED = {"ID", "SMS", "WhatsApp", "Twilio", "TeleSign", "English", "繁體中文"}
# A full date and time as Intl writes it for zh-TW, e.g. 2026/12/3 下午4:05:09.
ZH_TW_DATE_TIME = re.compile(r"\d{4}/\d{1,2}/\d{1,2} [上下]午\d{1,2}:\d{2}:\d{2}")


def catalogue(locale: str) -> dict[str, Any]:
    return json.loads((STATIC / "locales" / f"{locale}.json").read_text(encoding="utf-8"))


def used_keys() -> set[str]:
    keys: set[str] = set()
    for script in STATIC.glob("*.js"):
        keys |= set(re.findall(r"\bt\(\s*'([^']+)'", script.read_text(encoding="utf-8")))
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    keys |= set(re.findall(r'data-i18n="([^"]+)"', html))
    for pairs in re.findall(r'data-i18n-attr="([^"]+)"', html):
        keys |= {pair.split(":", 1)[1] for pair in pairs.split(";")}
    return keys


def params(message: Any) -> set[str]:
    forms = message.values() if isinstance(message, dict) else [message]
    return {name for form in forms for name in re.findall(r"(?<!\{)\{(\w+)\}(?!\})", form)}


def test_every_catalogue_holds_every_key_used_and_no_other() -> None:
    en = catalogue("en")
    used = used_keys()
    assert len(used) > 250
    assert sorted(used - set(en)) == []
    assert sorted(set(en) - used) == []
    for locale, forms in LOCALES.items():
        messages = catalogue(locale)
        assert sorted(set(en) - set(messages)) == [], locale
        assert sorted(set(messages) - set(en)) == [], locale
        for key, message in messages.items():
            if isinstance(message, dict):
                assert set(message) == forms, (locale, key)
                assert isinstance(en[key], dict), (locale, key)
            else:
                assert isinstance(message, str) and message, (locale, key)
            # The same parameters in every language, so no value is lost in translation.
            assert params(message) == params(en[key]), (locale, key)
    zh = catalogue("zh-TW")
    # Chinese means Chinese: most of the catalogue is written in Han characters.
    han = sum(1 for m in zh.values() if re.search(r"[\u4e00-\u9fff]", json.dumps(m, ensure_ascii=False)))
    assert han > 0.9 * len(zh)


class StaticTexts(HTMLParser):
    """Text in the page that no data-i18n element holds."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.loose: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"meta", "link", "input", "br", "img"}:
            return
        self.stack.append(any(name == "data-i18n" for name, _ in attrs) or tag in {"script", "style", "code"})

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"meta", "link", "input", "br", "img"} and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if re.search(r"[^\W\d_]", text) and not (self.stack and self.stack[-1]) and text not in UNTRANSLATED:
            self.loose.append(text)


def test_every_static_text_of_the_page_is_translated() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    parser = StaticTexts()
    parser.feed(html)
    assert parser.loose == []
    # Labels in attributes too (placeholders are example values, the same in every language).
    for name in ("aria-label", "title", "alt"):
        for tag in re.findall(rf"<[^<>]*\s{name}=\"[^\"]*[A-Za-z][^\"]*\"[^<>]*>", html):
            assert re.search(rf'data-i18n-attr="[^"]*\b{name}:', tag), tag


@pytest.fixture
def tabs(browser: Browser, hub: HubProcess) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab(locale: str) -> Tab:
        tab = Tab(browser, hub.url, locale=locale)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()
    for tab in opened:
        assert tab.errors == [], tab.errors


def test_console_in_traditional_chinese_and_back_to_english(api: Api, hub: HubProcess, sandbox: Any, tabs: Any) -> None:
    ids = outbound_setup(api, sandbox.url)
    config_id = ids["config"]["id"]
    create_agent(api, "mei@example.com", name="Mei")
    customer = phone(21)
    api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": config_id, "contacts": [contact(customer, CaseName="CAS-88")]},
    )
    wait_for(
        lambda: api.ok("GET", f"/v1/outbound/activities?configuration_id={config_id}&status=delivered")["items"],
        timeout=20,
    )

    # The agent's browser asks for zh-TW: sign-in page, workspace and thread in Chinese.
    agent_tab = tabs("zh-TW")
    page = agent_tab.page
    page.goto("/console")
    expect(page.locator("html")).to_have_attribute("lang", "zh-TW")
    expect(page).to_have_title("登入 · 訊息中樞主控台")
    expect(page.locator("#login-heading")).to_have_text("登入")
    expect(page.get_by_label("語言")).to_have_value("zh-TW")
    page.locator("#agent-login").get_by_label("電子郵件").fill("mei@example.com")
    page.locator("#agent-login").get_by_label("密碼").fill("wrong")
    page.get_by_role("button", name="以客服人員身分登入").click()
    expect(page.locator("#agent-login-error")).to_have_text("電子郵件或密碼錯誤。")
    page.locator("#agent-login").get_by_label("密碼").fill(PASSWORD)
    page.get_by_role("button", name="以客服人員身分登入").click()
    expect(page.locator("#session-who")).to_have_text("已登入：Mei")
    expect(page.get_by_label("上線狀態")).to_have_value("available")
    expect(page.locator("#presence option:checked")).to_have_text("有空")
    expect(page.locator("#no-conversations")).to_have_text("沒有進行中的對話。")
    expect(page.locator("#thread-empty-title")).to_have_text("未開啟任何對話")

    reply_from_customer(sandbox.url, hub.url, ids["channel"]["id"], customer, "請問包裹何時到？")
    button = conversation_button(page, customer)
    expect(button.locator(".tag-new")).to_have_text("新")
    button.click()
    expect(page.locator("#thread-title")).to_have_text(f"與 {customer} 的對話")
    expect(page.locator("#thread-meta")).to_contain_text("佇列 default")
    expect(page.locator("#thread-meta")).to_contain_text(re.compile(r"開始於 " + ZH_TW_DATE_TIME.pattern))
    context = page.locator("#context")
    expect(context.locator(".context-label")).to_have_text("回覆的訊息")
    expect(context).to_contain_text("案例CAS-88")
    expect(context.locator("dt", has_text="傳送時間").locator("xpath=following-sibling::dd")).to_have_text(
        ZH_TW_DATE_TIME
    )
    expect(page.locator("#messages .message.inbound .message-body")).to_have_text("請問包裹何時到？")
    expect(page.get_by_role("button", name="結束對話")).to_be_visible()
    expect(page.get_by_role("button", name="傳送", exact=True)).to_be_visible()

    # The header menu switches to English; the session and the conversation survive.
    page.get_by_label("語言").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#session-who")).to_have_text("Signed in as Mei")
    expect(page.get_by_label("Language")).to_have_value("en")
    conversation_button(page, customer).click()
    expect(page.locator("#thread-title")).to_have_text(f"Conversation with {customer}")
    expect(page.get_by_role("button", name="Close conversation")).to_be_visible()
    assert not ZH_TW_DATE_TIME.search(page.locator("#thread-meta").inner_text())
    # The choice is remembered over the browser's language.
    page.reload()
    expect(page.locator("#session-who")).to_have_text("Signed in as Mei")

    # The admin's browser asks for zh-TW too: tabs, tables, dates and the report.
    admin_tab = tabs("zh-TW")
    admin = admin_tab.page
    admin.goto("/console")
    admin.get_by_label("組織 API 金鑰").fill(api.org["api_key"])  # type: ignore[attr-defined]
    admin.get_by_role("button", name="開啟管理頁面").click()
    expect(admin.locator("#channels-heading")).to_have_text("通道")
    expect(admin.locator("#session-who")).to_have_text("管理員（API 金鑰）")
    expect(admin.locator("#channels-table")).to_contain_text("已儲存（僅能寫入）")
    admin.get_by_role("link", name="活動").click()
    admin.locator("#act-config").select_option(config_id)
    admin.locator("#activities-form").get_by_role("button", name="顯示").click()
    row = admin.locator("#activities-table tbody tr").first
    expect(row.locator(".badge")).to_have_text("已送達")
    expect(row.locator("td").first).to_have_text(ZH_TW_DATE_TIME)
    admin.get_by_role("link", name="報表").click()
    admin.locator("#report-config").select_option(config_id)
    admin.get_by_role("button", name="顯示報表").click()
    expect(admin.locator("#report-summary")).to_contain_text("活動總數1")
    expect(admin.locator("#report-summary")).to_contain_text("送達率100.0%")
    expect(admin.locator("#report-table")).to_contain_text("已送達1100.0%")
    expect(admin.locator("#report-chart svg")).to_have_attribute("aria-label", re.compile("1 筆活動"))
    admin.get_by_role("link", name="範本").click()
    expect(admin.locator("#template-form-title")).to_have_text("新範本")
    admin.locator("#tpl-bodies textarea").first.fill("您好 {{CustomerName}}")
    expect(admin.locator(".preview-segments").first).to_have_text(re.compile(r"以簡訊傳送：1 段，UCS-2，因為含有 "))

    # Which locale which browser language gets.
    picks = admin.evaluate("""async () => {
        const {pickLocale} = await import('/console/static/i18n.js');
        return [['zh-TW'], ['zh-Hant'], ['zh-HK'], ['zh-Hant-TW'], ['zh-CN'], ['fr-FR', 'zh-TW'], ['fr-FR'], []]
            .map(pickLocale);
    }""")
    assert picks == ["zh-TW", "zh-TW", "zh-TW", "zh-TW", "en", "zh-TW", "en", "en"]
