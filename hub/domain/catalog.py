"""Validation of org, channel and configuration bodies (pure)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from hub.domain.correlation import DEFAULT_KEYS, validate_correlation_keys
from hub.domain.keywords import KEYWORD_REPLIES
from hub.domain.pacing import MAX_MESSAGES_PER_SECOND, valid_rate
from hub.domain.partitions import validate_partitions
from hub.domain.phones import is_valid_region, normalize_sender
from hub.domain.provider_urls import check_provider_url
from hub.domain.quiet_hours import parse_quiet_hours
from hub.domain.records import Channel, Configuration, Org, Template
from hub.domain.routing_policy import DEFAULT_PRIORITY, validate_priority, validate_required_skills
from hub.domain.segments import MAX_BODY_LENGTH
from hub.errors import InvalidPhone, InvalidRequest

CHANNEL_TYPES = ("sms", "whatsapp")
PROVIDERS = ("twilio", "telesign", "sandbox")
DEFAULT_LIMITS = {"contacts_per_request": 100, "requests_per_hour": 30000}


_CREDENTIAL = re.compile(r"[\x21-\x7e]{1,512}")


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def _require_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def _name(body: Mapping[str, Any], field: str = "name", *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise _bad(field, f"{field} must be a non-empty string of at most 200 characters")
    return value.strip()


def validate_limits(raw: Any, current: Mapping[str, int] | None = None) -> dict[str, int]:
    limits = dict(current or DEFAULT_LIMITS)
    if raw is None:
        return limits
    if not isinstance(raw, Mapping):
        raise _bad("limits", "limits must be an object")
    for key, value in raw.items():
        if key not in DEFAULT_LIMITS:
            raise _bad(f"limits.{key}", f"unknown limit {key!r}")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000_000:
            raise _bad(f"limits.{key}", f"{key} must be a positive integer")
        limits[key] = value
    return limits


def validate_region(raw: Any) -> str:
    if not isinstance(raw, str) or not is_valid_region(raw.upper()):
        raise _bad("default_region", "default_region must be an ISO 3166 country code such as US")
    return raw.upper()


def validate_quiet_hours(raw: Any, *, allow_false: bool = False) -> dict[str, Any] | bool | None:
    """Stored as given, normalised: ``None`` (none set), or the window's
    public form; a configuration may also say ``false`` (send at any hour,
    whatever the org's)."""
    if raw is None or (allow_false and raw is False):
        return raw
    return parse_quiet_hours(raw).public()


def _org_quiet_hours(raw: Any) -> dict[str, Any] | None:
    window = validate_quiet_hours(raw)
    return window if isinstance(window, dict) else None


def validate_org(body: Any, *, id: str, created_at: float) -> Org:
    body = _require_object(body)
    partitions = validate_partitions(body.get("partitions", 1))
    quiet_hours = _org_quiet_hours(body.get("quiet_hours"))
    return Org(
        id=id,
        name=str(_name(body)),
        created_at=created_at,
        limits=validate_limits(body.get("limits")),
        default_region=validate_region(body.get("default_region", "US")),
        quiet_hours=quiet_hours,
        partitions=partitions,
    )


def validate_org_patch(body: Any, org: Org) -> Org:
    body = _require_object(body)
    if "partitions" in body:
        # Contacts hash to partitions: changing their number would move contacts mid-flight.
        raise _bad("partitions", "partitions are set when the org is created and cannot change")
    unknown = set(body) - {"name", "limits", "default_region", "quiet_hours"}
    if unknown:
        raise _bad(sorted(unknown)[0], "only name, limits, default_region and quiet_hours can change")
    if "name" in body:
        org = replace(org, name=str(_name(body)))
    if "limits" in body:
        org = replace(org, limits=validate_limits(body["limits"], org.limits))
    if "default_region" in body:
        org = replace(org, default_region=validate_region(body["default_region"]))
    if "quiet_hours" in body:
        org = replace(org, quiet_hours=_org_quiet_hours(body["quiet_hours"]))
    return org


def validate_channel(
    body: Any,
    current: Mapping[str, Any] | None = None,
    *,
    allowed_hosts: Collection[str] = (),
    trusted_urls: Collection[str] = (),
) -> dict[str, Any]:
    """A full channel body, or a patch over ``current``. Credentials are write-only.

    ``allowed_hosts`` and ``trusted_urls``: the operator's exceptions to the
    provider URL rule (``hub.domain.provider_urls``)."""
    body = _require_object(body)
    merged: dict[str, Any] = dict(current or {})
    merged.update({k: v for k, v in body.items() if k != "credentials"})
    if merged.get("type") not in CHANNEL_TYPES:
        raise _bad("type", "type must be sms or whatsapp")
    if merged.get("provider") not in PROVIDERS:
        raise _bad("provider", "provider must be twilio, telesign or sandbox")
    if merged["provider"] == "telesign" and merged["type"] != "sms":
        raise _bad("type", "telesign channels are sms only")
    try:
        merged["address"] = normalize_sender(str(merged.get("address", "")), "US")
    except InvalidPhone:
        raise _bad("address", "address must be a valid phone number in E.164 form") from None
    if merged.get("api_base_url") is not None:
        merged["api_base_url"] = check_provider_url(
            merged["api_base_url"], allowed_hosts=allowed_hosts, trusted=trusted_urls
        )
    if "name" in merged and merged["name"] is not None:
        merged["name"] = _name(merged)
    if merged.get("messages_per_second") is None:
        merged.pop("messages_per_second", None)  # null clears the pace
    elif not valid_rate(merged["messages_per_second"]):
        raise _bad(
            "messages_per_second",
            f"messages_per_second must be a number above 0 and at most {MAX_MESSAGES_PER_SECOND:g}",
        )
    if merged.get("keyword_replies") is None:
        merged.pop("keyword_replies", None)  # null: back to auto
    elif merged["keyword_replies"] not in KEYWORD_REPLIES:
        raise _bad("keyword_replies", "keyword_replies must be auto, hub or provider")
    creds = dict((current or {}).get("credentials") or {})
    if "credentials" in body:
        given = body["credentials"]
        if not isinstance(given, Mapping) or not all(isinstance(v, str) for v in given.values()):
            raise _bad("credentials", "credentials must be an object of strings")
        for key, value in given.items():
            # Credentials go into HTTP headers: a CR/LF would split them.
            if not _CREDENTIAL.fullmatch(value):
                raise _bad(
                    f"credentials.{key}",
                    f"credentials.{key} must be 1 to 512 printable ASCII characters without spaces",
                )
        creds.update(given)
    needed = ("account_sid", "auth_token") if merged["provider"] != "telesign" else ("customer_id", "api_key")
    for key in needed:
        if not creds.get(key):
            raise _bad(f"credentials.{key}", f"credentials.{key} is required")
    if merged["provider"] == "telesign" and not _is_base64(creds["api_key"]):
        # TeleSign signs with the decoded key: a mistyped one would fail every send.
        raise _bad("credentials.api_key", "credentials.api_key must be the base64 key TeleSign issued")
    merged["credentials"] = creds
    allowed = {
        "id",
        "org_id",
        "created_at",
        "type",
        "provider",
        "address",
        "credentials",
        "api_base_url",
        "name",
        "messages_per_second",
        "keyword_replies",
    }
    extra = set(merged) - allowed
    if extra:
        raise _bad(sorted(extra)[0], f"unknown field {sorted(extra)[0]!r}")
    return merged


def _is_base64(value: str) -> bool:
    try:
        return bool(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return False


def validate_configuration(body: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body = _require_object(body)
    merged: dict[str, Any] = dict(current or {})
    merged.update(body)
    merged["name"] = _name(merged)
    if not isinstance(merged.get("show_in_timeline", False), bool):
        raise _bad("show_in_timeline", "show_in_timeline must be true or false")
    merged["show_in_timeline"] = merged.get("show_in_timeline", False)
    if merged.get("channel_type") not in CHANNEL_TYPES:
        raise _bad("channel_type", "channel_type must be sms or whatsapp")
    for field in ("channel_id", "template_id"):
        if not isinstance(merged.get(field), str) or not merged[field]:
            raise _bad(field, f"{field} is required")
    queue = merged.get("queue", "default")
    if not isinstance(queue, str) or not queue.strip() or len(queue) > 100:
        raise _bad("queue", "queue must be a non-empty string")
    merged["queue"] = queue.strip()
    if merged.get("quiet_hours") is None:
        merged.pop("quiet_hours", None)  # null: the org's quiet hours apply
    else:
        merged["quiet_hours"] = validate_quiet_hours(merged["quiet_hours"], allow_false=True)
    # Absent or null: the default keys (the case name); [] turns content matching off.
    if merged.get("correlation_keys") is None:
        merged["correlation_keys"] = list(DEFAULT_KEYS)
    merged["correlation_keys"] = validate_correlation_keys(merged["correlation_keys"])
    # Replies to it wait by this priority and go to agents with these skills
    # (hub.domain.routing_policy).
    merged["priority"] = validate_priority(merged.get("priority", DEFAULT_PRIORITY))
    merged["required_skills"] = validate_required_skills(merged.get("required_skills") or [])
    allowed = {
        "id",
        "org_id",
        "created_at",
        "name",
        "show_in_timeline",
        "channel_type",
        "channel_id",
        "template_id",
        "queue",
        "quiet_hours",
        "correlation_keys",
        "priority",
        "required_skills",
    }
    extra = set(merged) - allowed
    if extra:
        raise _bad(sorted(extra)[0], f"unknown field {sorted(extra)[0]!r}")
    return merged


def check_configuration_refs(config: Configuration, channel: Channel | None, template: Template | None) -> None:
    if channel is None:
        raise _bad("channel_id", "no such channel")
    channel_suits(config, channel)
    if template is None:
        raise _bad("template_id", "no such template")
    template_suits(config, template)


def channel_suits(config: Configuration, channel: Channel) -> None:
    """A configuration's channel is of its type."""
    if channel.type != config.channel_type:
        raise _bad("channel_id", f"channel is {channel.type}, configuration is {config.channel_type}")


def template_suits(config: Configuration, template: Template) -> None:
    """A configuration's template allows its channel type."""
    if config.channel_type not in template.channel_types:
        raise _bad("template_id", f"template does not allow {config.channel_type}")


def validate_canned(body: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A canned response's title and body, or a patch over ``current``."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    merged = {**(current or {}), **body}
    title, text = merged.get("title"), merged.get("body")
    if not isinstance(title, str) or not title.strip() or len(title) > 100:
        raise InvalidRequest("title must be 1 to 100 characters", details={"field": "title"})
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_BODY_LENGTH:
        raise InvalidRequest(f"body must be 1 to {MAX_BODY_LENGTH} characters", details={"field": "body"})
    return {"title": title.strip(), "body": text}
