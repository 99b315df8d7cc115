"""The catalogue's records: read from what is stored, written back the same,
and shown without secrets (pure)."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from hub.domain.catalog import check_configuration_refs, validate_org, validate_org_patch
from hub.domain.correlation import DEFAULT_KEYS
from hub.domain.kinds import CANNED_RESPONSES, CHANNELS, CONFIGURATIONS, TEMPLATES, Stamp, UrlRule
from hub.domain.records import CannedResponse, Channel, Configuration, Org, Template
from hub.domain.routing_policy import DEFAULT_PRIORITY
from hub.errors import InvalidRequest

STAMP = {"id": "ch_1", "org_id": "org_1", "created_at": 1700000000.5}

# As the hub has stored them (key order as a create request gave them).
STORED_CHANNEL = {
    "type": "sms",
    "provider": "twilio",
    "address": "+14155550100",
    "name": "Support",
    "messages_per_second": 2.5,
    "keyword_replies": "hub",
    "api_base_url": "https://api.example.test",
    "credentials": {"account_sid": "AC" + "1" * 32, "auth_token": "secret-token"},
    **STAMP,
}
STORED_TEMPLATE = {
    "name": "Case update",
    "channel_types": ["sms", "whatsapp"],
    "default_locale": "en-US",
    "bodies": {"en-US": "Hi {{CustomerName}}", "fr-FR": "Bonjour {{CustomerName}}"},
    "content_sids": {"en-US": "HX" + "a" * 32},
    **STAMP,
    "id": "tpl_1",
}
STORED_CONFIGURATION = {
    "name": "Case updates",
    "show_in_timeline": True,
    "channel_type": "sms",
    "channel_id": "ch_1",
    "template_id": "tpl_1",
    "queue": "billing",
    "quiet_hours": False,
    "correlation_keys": ["case_name", "order"],
    "priority": 80,
    "required_skills": [{"name": "french", "min_level": 2}],
    **STAMP,
    "id": "cfg_1",
}
STORED_CANNED = {"title": "Hello", "body": "How can I help?", **STAMP, "id": "cr_1"}


def same_json(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal once stored: the same keys and values, whatever their order."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize(
    ("record", "stored"),
    [
        (Channel, STORED_CHANNEL),
        (Template, STORED_TEMPLATE),
        (Configuration, STORED_CONFIGURATION),
        (CannedResponse, STORED_CANNED),
    ],
    ids=["channel", "template", "configuration", "canned"],
)
def test_a_stored_record_is_written_back_as_it_was(record: Any, stored: dict[str, Any]) -> None:
    loaded = record.from_json(json.loads(json.dumps(stored)))
    assert same_json(loaded.to_json(), stored)
    assert record.from_json(loaded.to_json()) == loaded


def test_records_cannot_change_in_place() -> None:
    channel = Channel.from_json(STORED_CHANNEL)
    with pytest.raises(FrozenInstanceError):
        channel.provider = "telesign"  # type: ignore[misc]


def test_a_channel_shows_which_credentials_are_set_never_their_values() -> None:
    channel = Channel.from_json(STORED_CHANNEL)
    shown = channel.public()
    assert shown["credentials"] == {"account_sid": "set", "auth_token": "set"}
    assert "secret-token" not in json.dumps(shown)
    assert channel.credentials["auth_token"] == "secret-token"  # kept for the provider
    assert {k: v for k, v in shown.items() if k != "credentials"} == {
        k: v for k, v in STORED_CHANNEL.items() if k != "credentials"
    }


def test_a_channel_without_its_optional_fields_leaves_them_out() -> None:
    stored = {
        k: v
        for k, v in STORED_CHANNEL.items()
        if k not in ("name", "messages_per_second", "keyword_replies", "api_base_url")
    }
    channel = Channel.from_json(stored)
    assert (channel.name, channel.messages_per_second, channel.keyword_replies, channel.api_base_url) == (None,) * 4
    assert same_json(channel.to_json(), stored)
    # Stored as null by an older hub: read as unset.
    assert Channel.from_json({**stored, "name": None, "api_base_url": None}).to_json() == channel.to_json()


def test_fields_a_record_does_not_know_are_left_out() -> None:
    channel = Channel.from_json({**STORED_CHANNEL, "legacy": 1})
    assert "legacy" not in channel.to_json()


def test_an_older_configuration_takes_the_defaults_the_senders_used() -> None:
    """Stored before queues, correlation keys, priorities and skills existed."""
    stored = {
        k: v
        for k, v in STORED_CONFIGURATION.items()
        if k not in ("queue", "quiet_hours", "correlation_keys", "priority", "required_skills", "show_in_timeline")
    }
    config = Configuration.from_json(stored)
    assert config.queue == "default"
    assert config.quiet_hours is None  # the org's
    assert config.correlation_keys == DEFAULT_KEYS
    assert config.priority == DEFAULT_PRIORITY
    assert config.required_skills == ()
    assert config.show_in_timeline is False
    assert "quiet_hours" not in config.to_json()
    assert Configuration.from_json({**stored, "queue": None}).queue == "default"


def test_a_configuration_keeps_its_quiet_hours_window() -> None:
    window = {"start": "08:00", "end": "21:00", "days": ["mon", "tue"], "default_timezone": "Europe/Paris"}
    config = Configuration.from_json({**STORED_CONFIGURATION, "quiet_hours": window})
    assert config.quiet_hours == window
    assert config.to_json()["quiet_hours"] == window


def test_an_older_template_without_content_sids_has_none() -> None:
    stored = {k: v for k, v in STORED_TEMPLATE.items() if k != "content_sids"}
    template = Template.from_json(stored)
    assert template.content_sids == {}
    assert not template.approved_whatsapp
    assert template.to_json()["content_sids"] == {}


def test_a_template_gives_its_rendering_spec_directly() -> None:
    template = Template.from_json(STORED_TEMPLATE)
    spec = template.spec()
    assert (spec.name, spec.channel_types, spec.default_locale) == ("Case update", ("sms", "whatsapp"), "en-US")
    assert spec.bodies == STORED_TEMPLATE["bodies"]
    assert spec.content_sids == STORED_TEMPLATE["content_sids"]
    assert template.approved_whatsapp


def test_a_kind_makes_a_request_body_its_record_with_the_hubs_stamp() -> None:
    stamp = Stamp("ch_9", "org_9", 1.0)
    body = {k: v for k, v in STORED_CHANNEL.items() if k not in STAMP and k != "api_base_url"}
    channel = CHANNELS.validate({**body, "id": "ch_forged"}, None, stamp, UrlRule())
    assert (channel.id, channel.org_id, channel.created_at) == ("ch_9", "org_9", 1.0)
    # A patch keeps the credentials not given again.
    patched = CHANNELS.validate({"name": "Sales"}, channel, stamp, UrlRule())
    assert patched.name == "Sales" and patched.credentials == channel.credentials
    canned = CANNED_RESPONSES.validate({"title": " Hi ", "body": "Hello"}, None, Stamp("cr_1", "org_9", 2.0), UrlRule())
    assert canned.to_json() == {"id": "cr_1", "org_id": "org_9", "created_at": 2.0, "title": "Hi", "body": "Hello"}
    with pytest.raises(InvalidRequest) as error:
        CANNED_RESPONSES.validate({"title": "", "body": "x"}, None, stamp, UrlRule())
    assert error.value.details == {"field": "title"}


def test_a_kind_says_which_configurations_depend_on_it() -> None:
    config = Configuration.from_json(STORED_CONFIGURATION)
    channel = Channel.from_json(STORED_CHANNEL)
    template = Template.from_json(STORED_TEMPLATE)
    assert CHANNELS.named_by is not None and CHANNELS.named_by(config) == "ch_1"
    assert TEMPLATES.named_by is not None and TEMPLATES.named_by(config) == "tpl_1"
    assert CONFIGURATIONS.named_by is None and CANNED_RESPONSES.named_by is None
    check_configuration_refs(config, channel, template)
    assert CHANNELS.suits is not None and TEMPLATES.suits is not None
    with pytest.raises(InvalidRequest) as error:
        CHANNELS.suits(config, Channel.from_json({**STORED_CHANNEL, "type": "whatsapp"}))
    assert error.value.details == {"field": "channel_id"}
    with pytest.raises(InvalidRequest) as error:
        TEMPLATES.suits(config, Template.from_json({**STORED_TEMPLATE, "channel_types": ["whatsapp"]}))
    assert error.value.details == {"field": "template_id"}


STORED_ORG = {
    "id": "org_1",
    "name": "Acme",
    "limits": {"contacts_per_request": 100, "requests_per_hour": 30000},
    "default_region": "GB",
    "quiet_hours": {"start": "08:00", "end": "21:00", "days": ["mon"]},
    "created_at": 1700000000.5,
    "api_key_hash": "ab" * 32,
}


def test_an_org_is_written_back_as_it_was_and_shown_without_its_key_hash() -> None:
    org = Org.from_json(STORED_ORG)
    assert same_json(org.to_json(), STORED_ORG)
    shown = org.public()
    assert "api_key_hash" not in shown
    assert list(shown) == ["id", "name", "limits", "default_region", "created_at", "quiet_hours"]


def test_an_org_made_before_quiet_hours_has_none() -> None:
    """The demo org was stored without quiet_hours, and without a key until it got one."""
    stored = {k: v for k, v in STORED_ORG.items() if k not in ("quiet_hours", "api_key_hash")}
    org = Org.from_json(stored)
    assert org.quiet_hours is None and org.api_key_hash is None
    assert org.public()["quiet_hours"] is None
    assert "api_key_hash" not in org.to_json()


def test_an_org_patch_changes_only_what_it_names() -> None:
    org = Org.from_json(STORED_ORG)
    patched = validate_org_patch({"limits": {"requests_per_hour": 10}, "quiet_hours": None}, org)
    assert patched.limits == {"contacts_per_request": 100, "requests_per_hour": 10}
    assert patched.quiet_hours is None
    assert (patched.name, patched.default_region, patched.api_key_hash) == ("Acme", "GB", org.api_key_hash)
    assert org.limits["requests_per_hour"] == 30000  # the loaded record is unchanged
    created = validate_org({"name": " New ", "default_region": "fr"}, id="org_2", created_at=2.0)
    assert created.to_json() == {
        "id": "org_2",
        "name": "New",
        "limits": {"contacts_per_request": 100, "requests_per_hour": 30000},
        "default_region": "FR",
        "created_at": 2.0,
        "quiet_hours": None,
    }
