"""An agent's reply made from one of the org's templates (pure): the
WhatsApp way to reach a customer once the 24-hour window has closed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.domain.templates import RenderedMessage, TemplateSpec, render_for_contact
from hub.errors import Conflict, InvalidRequest


def render_reply_template(
    spec: TemplateSpec, conversation: Mapping[str, Any], values: Mapping[str, str]
) -> RenderedMessage:
    """The template rendered for the conversation's customer: in the locale
    their outbound message was written in (else the template's default, with
    the usual fallback), its placeholders filled from ``values`` and, for
    ``CustomerName`` and ``CaseName``, from that outbound message. On
    WhatsApp only an approved template (a content sid for the chosen locale)
    may be sent."""
    channel_type = str(conversation.get("channel_type") or "")
    if channel_type not in spec.channel_types:
        raise InvalidRequest(
            f"this template is not for {channel_type or 'this channel'}",
            code="template_channel_mismatch",
            details={"field": "template_id"},
        )
    activity = conversation.get("activity") or {}
    known = {"CustomerName": activity.get("customer_name"), "CaseName": activity.get("case_name")}
    merged = {**{k: v for k, v in known.items() if v}, **values}
    rendered = render_for_contact(spec, activity.get("locale"), merged)
    if channel_type == "whatsapp" and not rendered.content_sid:
        raise Conflict(
            f"this template has no approved WhatsApp content for {rendered.locale}",
            code="template_not_approved",
            details={"field": "template_id", "locale": rendered.locale},
        )
    return rendered


def approved_whatsapp(template: Mapping[str, Any]) -> bool:
    """Whether a template can be offered once a WhatsApp window has closed."""
    return "whatsapp" in (template.get("channel_types") or []) and bool(template.get("content_sids"))
