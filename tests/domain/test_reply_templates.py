"""An agent's template reply: locale, values and approval (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain.reply_templates import approved_whatsapp, render_reply_template
from hub.domain.templates import TemplateSpec
from hub.errors import HubError

SPEC = TemplateSpec(
    name="Follow-up",
    channel_types=("whatsapp", "sms"),
    default_locale="en-US",
    bodies={
        "en-US": "Hi {{CustomerName}}, {{CaseName}}: {{state}}",
        "fr-FR": "Bonjour {{CustomerName}}",
        "de-DE": "Hallo {{CustomerName}}",
    },
    content_sids={"en-US": "HX" + "a" * 32, "fr-FR": "HX" + "b" * 32},
)


def conv(channel_type: str, locale: str | None) -> dict[str, Any]:
    activity = {"customer_name": "Ada", "case_name": "CAS-1", "locale": locale} if locale else None
    return {"channel_type": channel_type, "activity": activity}


@pytest.mark.parametrize(
    "channel_type, locale, values, body, sid",
    [
        ("whatsapp", "fr-CA", {}, "Bonjour Ada", "HX" + "b" * 32),  # same language
        ("whatsapp", "en-US", {"state": "open"}, "Hi Ada, CAS-1: open", "HX" + "a" * 32),
        ("whatsapp", "ja-JP", {"state": "open"}, "Hi Ada, CAS-1: open", "HX" + "a" * 32),  # the default
        ("sms", "de-DE", {}, "Hallo Ada", None),  # no approval needed off WhatsApp
        ("whatsapp", "fr-FR", {"CustomerName": "Mme Martin"}, "Bonjour Mme Martin", "HX" + "b" * 32),
    ],
)
def test_renders_in_the_customers_locale(
    channel_type: str, locale: str, values: dict[str, str], body: str, sid: str | None
) -> None:
    rendered = render_reply_template(SPEC, conv(channel_type, locale), values)
    assert (rendered.body, rendered.content_sid) == (body, sid)


@pytest.mark.parametrize(
    "channel_type, locale, values, code",
    [
        ("whatsapp", "de-DE", {}, "template_not_approved"),
        ("whatsapp", "en-US", {}, "missing_placeholder"),
        ("whatsapp", None, {"state": "x"}, "missing_placeholder"),  # no outbound message: no names
        ("telesign_sms", "en-US", {}, "template_channel_mismatch"),
    ],
)
def test_refusals(channel_type: str, locale: str | None, values: dict[str, str], code: str) -> None:
    with pytest.raises(HubError) as refused:
        render_reply_template(SPEC, conv(channel_type, locale), values)
    assert refused.value.code == code


def test_only_whatsapp_templates_with_a_content_sid_are_offered() -> None:
    assert approved_whatsapp({"channel_types": ["whatsapp"], "content_sids": {"en-US": "HX1"}})
    assert not approved_whatsapp({"channel_types": ["whatsapp"], "content_sids": {}})
    assert not approved_whatsapp({"channel_types": ["sms"], "content_sids": {"en-US": "HX1"}})
