"""Org and catalogue bodies, declared once (hub.domain.catalog_shapes): the
bodies the hub takes are the bodies /openapi.json's schemas allow, but for
the rules a JSON Schema cannot say (a channel's credentials by provider, a
phone number, a template's default locale among its bodies, a quiet-hours
window ending after it starts, ...), and a refused body names its field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hub.api.openapi import DOCUMENT_JSON
from hub.domain import catalog_shapes
from hub.domain.catalog import validate_org, validate_org_patch
from hub.domain.kinds import CANNED_RESPONSES, CHANNELS, CONFIGURATIONS, TEMPLATES, Kind, Stamp, UrlRule
from hub.domain.records import CannedResponse, Channel, Configuration, Org, Template
from hub.domain.shapes import convert
from hub.errors import InvalidRequest

SCHEMAS = json.loads(DOCUMENT_JSON)["components"]["schemas"]


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**SCHEMAS[name], "components": {"schemas": SCHEMAS}})


STAMP = Stamp("rec_1", "org_1", 1_700_000_000.0)
URLS = UrlRule()
SID = "AC" + "1" * 32
CHANNEL = {
    "type": "sms",
    "provider": "twilio",
    "address": "+14155550111",
    "credentials": {"account_sid": SID, "auth_token": "secret-token"},
    "name": "Main line",
    "api_base_url": "https://api.example.com/v1",
    "messages_per_second": 5,
    "keyword_replies": "hub",
}
TEMPLATE = {
    "name": "Late",
    "channel_types": ["sms", "WhatsApp"],
    "default_locale": "en-US",
    "bodies": {"en-US": "Hi {{CustomerName}}", "fr": "Salut {{CustomerName}}"},
    "content_sids": {"en-US": "HX123"},
}
WINDOW = {"start": "08:00", "end": "21:00", "days": ["MON", "tue"], "default_timezone": "Europe/Paris"}
CONFIGURATION = {
    "name": "Late shipments",
    "channel_type": "sms",
    "channel_id": "ch_1",
    "template_id": "tpl_1",
    "show_in_timeline": True,
    "queue": "billing",
    "quiet_hours": WINDOW,
    "correlation_keys": ["case_name", "OrderNumber"],
    "priority": 70,
    "required_skills": [{"name": "french", "min_level": 2}],
}
CANNED = {"title": "Hello", "body": "Hello, how can I help?"}
ORG = {"name": "Acme", "limits": {"contacts_per_request": 5}, "default_region": "gb", "quiet_hours": WINDOW}


def _kind(kind: Kind[Any], current: Any) -> Callable[[Any], Any]:
    return lambda body: kind.validate(body, current, STAMP, URLS)


CURRENT_CHANNEL = CHANNELS.validate(CHANNEL, None, STAMP, URLS)
CURRENT_CONFIGURATION = CONFIGURATIONS.validate(CONFIGURATION, None, STAMP, URLS)
CURRENT_CANNED = CANNED_RESPONSES.validate(CANNED, None, STAMP, URLS)
CURRENT_ORG = validate_org(ORG, id="org_1", created_at=1.0)


def _org(body: Any) -> Org:
    convert(body, catalog_shapes.OrgInput)
    return validate_org(body, id="org_1", created_at=1.0)


def _org_patch(body: Any) -> Org:
    convert(body, catalog_shapes.OrgPatch)
    return validate_org_patch(body, CURRENT_ORG)


# What the hub does with a body (as its handlers do), the schema it publishes
# for it, a good body, and the fields of the refusals a schema cannot foresee.
BODIES: dict[str, tuple[Callable[[Any], Any], dict[str, Any], set[str]]] = {
    "OrgInput": (_org, ORG, {"default_region", "quiet_hours.end", "quiet_hours.default_timezone"}),
    "OrgPatch": (_org_patch, ORG, {"default_region", "quiet_hours.end", "quiet_hours.default_timezone"}),
    "ChannelInput": (_kind(CHANNELS, None), CHANNEL, {"type", "address", "api_base_url", "credentials.*"}),
    "ChannelPatch": (_kind(CHANNELS, CURRENT_CHANNEL), CHANNEL, {"type", "address", "api_base_url", "credentials.*"}),
    "TemplateInput": (_kind(TEMPLATES, None), TEMPLATE, {"name", "channel_types", "default_locale", "content_sids"}),
    "OutboundConfigurationInput": (_kind(CONFIGURATIONS, None), CONFIGURATION, {"quiet_hours", "required_skills"}),
    "OutboundConfigurationPatch": (
        _kind(CONFIGURATIONS, CURRENT_CONFIGURATION),
        CONFIGURATION,
        {"quiet_hours", "required_skills"},
    ),
    "CannedResponseInput": (_kind(CANNED_RESPONSES, None), CANNED, set()),
    "CannedResponsePatch": (_kind(CANNED_RESPONSES, CURRENT_CANNED), CANNED, set()),
}
FIELDS = sorted({field for _, good, _ in BODIES.values() for field in good} | {"id", "surprise"})

bad_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=2),
    st.sampled_from([0.5, 20_000, 10_000_001, "", " ", "x", "a" * 201, "b" * 1601, "fax", "sms", "telesign"]),
    st.sampled_from(["US", "XX", "twilio", "auto", "never", "12", "+14155550112", "ftp://x", "en", "e n"]),
    st.sampled_from([[], ["sms"], ["sms", "SMS"], ["fax"], [1], ["case_name"] * 6, [" "], [{"name": "x"}]]),
    st.sampled_from([{}, {"x": 1}, {"en": "HX1"}, {"fr-FR": "x"}, {"en-US": ""}, {"en-US": "Hi {{x"}]),
    st.sampled_from([{"account_sid": SID}, {"account_sid": SID, "auth_token": "a b"}, {"customer_id": "c"}]),
    st.sampled_from([{"contacts_per_request": 0}, {"requests_per_hour": 7}, {"messages_per_day": 1}]),
    st.sampled_from([{"start": "10:00", "end": "09:00"}, {"start": "25:00", "end": "26:00"}, {"start": "08:00"}]),
    st.sampled_from([{**WINDOW, "days": ["someday"]}, {**WINDOW, "default_timezone": "Mars/Base"}]),
)


# Values at the edges of each field's rules.
EDGES: dict[str, list[Any]] = {
    "name": ["a" * 200, "a" * 201, " a ", "", "\t"],
    "title": ["t" * 100, "t" * 101, " t "],
    "body": ["b" * 1600, "b" * 1601, " "],
    "queue": ["q" * 100, "q" * 101, " q "],
    "priority": [0, 100, 101, -1, 50.5, True],
    "messages_per_second": [0, 0.001, 10_000, 10_000.5, True, "5"],
    "default_region": ["us", "USA", "U", "ZZ", None],
    "channel_types": [[" SMS "], ["whatsapp", "sms"], ["sms", " sms"], ["sms", None]],
    "default_locale": ["en_US", "en-", "fr", "EN-us"],
    "correlation_keys": [[], ["k" * 100], ["k" * 101], ["a", "a", "b", "c", "d", "e"]],
    "required_skills": [[], [{"name": "x", "min_level": 6}], [{"name": "x", "extra": 1}], [1]],
    "limits": [{"contacts_per_request": 10_000_000}, {"requests_per_hour": 10_000_001}, {}],
    "quiet_hours": [False, True, {"start": "00:00", "end": "24:00"}, {"start": "08:00", "end": "24:01"}],
    "keyword_replies": ["auto", "provider", "AUTO"],
    "credentials": [{"account_sid": SID, "auth_token": "x" * 513}, {"account_sid": SID, "auth_token": 1}],
}


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, Any]:
    """A good body of one kind with one or two of its fields wrong, at an
    edge, null or missing, or a field of another kind added."""
    name = draw(st.sampled_from(sorted(BODIES)))
    good = BODIES[name][1]
    if draw(st.integers(0, 30)) == 0:
        return name, draw(st.sampled_from([[], "x", 1, None]))
    body: dict[str, Any] = dict(good)
    for _ in range(draw(st.integers(1, 2))):
        field = draw(st.sampled_from([*sorted(good)] * 3 + FIELDS))
        choice = draw(st.sampled_from(["bad", "edge", "edge", "none", "omit"]))
        if choice == "bad":
            body[field] = draw(bad_values)
        elif choice == "edge":
            body[field] = draw(st.sampled_from(EDGES.get(field, [good.get(field, "x")])))
        elif choice == "none":
            body[field] = None
        else:
            body.pop(field, None)
    return name, body


def _bad_skill(body: Any) -> bool:
    skills = body.get("required_skills") if isinstance(body, dict) else None
    skill = validator("RequiredSkill")
    return isinstance(skills, list) and not all(skill.is_valid(s) for s in skills)


def _beyond(field: str, allowed: set[str]) -> bool:
    # A rule on a nested field (quiet_hours.end after start) belongs to its object.
    top = field.split(".", 1)[0]
    return field in allowed or top in allowed or (field.startswith("credentials.") and "credentials.*" in allowed)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(bodies())
def test_the_hub_takes_what_the_published_schema_allows(case: tuple[str, Any]) -> None:
    name, body = case
    handle, _, beyond_the_schema = BODIES[name]
    allowed = validator(name).is_valid(body)
    shape = getattr(catalog_shapes, name)
    try:
        convert(body, shape)
    except InvalidRequest:
        declared_ok = False
    else:
        declared_ok = True
    # The declaration and the published schema are one: same verdict (a
    # required skill's own shape is the routing policy's, checked by its rule).
    assert declared_ok == allowed or _bad_skill(body), (name, json.dumps(body))
    try:
        handle(body)
    except InvalidRequest as refused:
        field = (refused.details or {}).get("field")
        assert isinstance(field, str) and field, (name, body, refused.message)
        top = field.split(".", 1)[0]
        assert field == "body" or top in body or top in SCHEMAS[name]["properties"], (name, body, field)
        # A body the schema allows is refused only by a rule the schema cannot say.
        assert not allowed or _beyond(field, beyond_the_schema), (name, body, field, refused.message)
    else:
        assert allowed, (name, body)


@pytest.mark.parametrize(
    ("shape", "body", "field", "words"),
    [
        ("OrgInput", {}, "name", "name"),
        ("OrgInput", {"name": " "}, "name", "non-empty"),
        ("OrgInput", {"name": "A", "limits": {"contacts_per_request": 0}}, "limits.contacts_per_request", "positive"),
        ("OrgInput", {"name": "A", "limits": {"requests_per_hour": True}}, "limits.requests_per_hour", "positive"),
        ("OrgInput", {"name": "A", "limits": {"messages_per_day": 5}}, "limits.messages_per_day", "unknown field"),
        ("OrgInput", {"name": "A", "limits": [1]}, "limits", "object"),
        ("OrgInput", {"name": "A", "quiet_hours": {"start": "08:00"}}, "quiet_hours.end", "time of day"),
        ("OrgInput", {"name": "A", "quiet_hours": {**WINDOW, "days": ["funday"]}}, "quiet_hours.days", "days"),
        ("OrgPatch", {"colour": "red"}, "colour", "unknown field 'colour'"),
        ("OrgPatch", {"name": None}, "name", "name"),
        ("OrgPatch", {"default_region": 44}, "default_region", "ISO 3166"),
        ("ChannelInput", {**CHANNEL, "type": "fax"}, "type", "sms or whatsapp"),
        ("ChannelInput", {**CHANNEL, "credentials": "secret"}, "credentials", "object"),
        ("ChannelInput", {**CHANNEL, "credentials": {"auth_token": "a\r\nb"}}, "credentials.auth_token", "printable"),
        ("ChannelInput", {**CHANNEL, "messages_per_second": 0}, "messages_per_second", "above 0"),
        ("ChannelPatch", {"keyword_replies": "never"}, "keyword_replies", "auto, hub or provider"),
        ("ChannelPatch", {"provider": None}, "provider", "twilio"),
        ("TemplateInput", {**TEMPLATE, "bodies": {}}, "bodies", "non-empty"),
        ("TemplateInput", {**TEMPLATE, "bodies": {"not a tag": "x"}}, "bodies", "locale"),
        ("TemplateInput", {**TEMPLATE, "channel_types": ["fax"]}, "channel_types", "sms, whatsapp"),
        ("TemplateInput", {**TEMPLATE, "content_sids": {"en-US": "MG1"}}, "content_sids", "HX"),
        ("OutboundConfigurationInput", {**CONFIGURATION, "show_in_timeline": "yes"}, "show_in_timeline", "true"),
        ("OutboundConfigurationInput", {**CONFIGURATION, "priority": 101}, "priority", "0 to 100"),
        ("OutboundConfigurationInput", {**CONFIGURATION, "quiet_hours": True}, "quiet_hours", "quiet_hours"),
        ("OutboundConfigurationPatch", {"queue": " "}, "queue", "non-empty"),
        ("OutboundConfigurationPatch", {"channel_id": ""}, "channel_id", "channel_id"),
        ("CannedResponseInput", {"title": "Hi"}, "body", "body"),
        ("CannedResponsePatch", {"title": "t" * 101}, "title", "1 to 100"),
        ("CannedResponsePatch", ["title"], "body", "JSON object"),
    ],
)
def test_a_bad_body_is_refused_naming_its_field(shape: str, body: Any, field: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        convert(body, getattr(catalog_shapes, shape))
    assert refused.value.details == {"field": field}
    assert words in refused.value.message, refused.value.message
    assert not validator(shape).is_valid(body)


def test_patches_keep_what_they_do_not_name_and_null_clears_what_it_may() -> None:
    patch = _kind(CHANNELS, CURRENT_CHANNEL)
    changed = patch({"name": None, "messages_per_second": None, "credentials": {"auth_token": "rotated-token"}})
    assert changed.name is None and changed.messages_per_second is None
    assert changed.address == CURRENT_CHANNEL.address and changed.api_base_url == CURRENT_CHANNEL.api_base_url
    assert changed.credentials == {"account_sid": SID, "auth_token": "rotated-token"}
    config = _kind(CONFIGURATIONS, CURRENT_CONFIGURATION)({"quiet_hours": None, "correlation_keys": None})
    assert config.quiet_hours is None and config.correlation_keys == ("case_name",)
    assert config.required_skills == CURRENT_CONFIGURATION.required_skills
    org = _org_patch({"limits": {"requests_per_hour": 9}})
    assert dict(org.limits) == {"contacts_per_request": 5, "requests_per_hour": 9}
    assert _org_patch({"limits": None}).limits == CURRENT_ORG.limits
    # A record read back may be sent again whole: its id and stamp are ignored.
    again = _kind(CONFIGURATIONS, None)(CURRENT_CONFIGURATION.public())
    assert again.public() == {**CURRENT_CONFIGURATION.public(), **STAMP.json()}


def test_what_the_records_answer_is_what_the_schemas_say() -> None:
    answers: list[tuple[str, dict[str, Any]]] = [
        ("Org", CURRENT_ORG.public()),
        ("Org", validate_org({"name": "Bare"}, id="org_2", created_at=2.0).public()),
        ("OrgCreated", {**CURRENT_ORG.public(), "api_key": "hk_x"}),
        ("Channel", CURRENT_CHANNEL.public()),
        ("Channel", {**CHANNELS.validate({**CHANNEL, "name": None}, None, STAMP, URLS).public(), "circuit": "open"}),
        ("Template", TEMPLATES.validate(TEMPLATE, None, STAMP, URLS).public()),
        ("OutboundConfiguration", CURRENT_CONFIGURATION.public()),
        ("OutboundConfiguration", _kind(CONFIGURATIONS, CURRENT_CONFIGURATION)({"quiet_hours": False}).public()),
        ("CannedResponse", CURRENT_CANNED.public()),
    ]
    for name, answer in answers:
        errors = [e.message for e in validator(name).iter_errors(answer)]
        assert not errors, (name, answer, errors)
    # Credentials are write-only: an answer holding a value is not what the schema says.
    leaked = {**CURRENT_CHANNEL.public(), "credentials": {"auth_token": "secret-token"}}
    assert not validator("Channel").is_valid(leaked)
    assert "secret-token" not in json.dumps(CURRENT_CHANNEL.public())
    assert "secret-token" not in json.dumps(SCHEMAS["Channel"])


def test_records_the_schemas_describe_are_the_records_of_the_domain() -> None:
    for record, name in (
        (Channel, "Channel"),
        (Template, "Template"),
        (Configuration, "OutboundConfiguration"),
        (CannedResponse, "CannedResponse"),
        (Org, "Org"),
    ):
        fields = set(record.__dataclass_fields__) - {"api_key_hash"}
        assert fields <= set(SCHEMAS[name]["properties"]), (name, fields - set(SCHEMAS[name]["properties"]))
