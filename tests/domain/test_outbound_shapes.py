"""The outbound, contact and agent bodies, declared once: a bad body is refused
naming its field, and the schemas /openapi.json publishes take what the
handlers' checks take, but for the rules a JSON Schema cannot say (a common
password, an agent without a queue, a phone number that does not parse)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hub.api.openapi import DOCUMENT_JSON
from hub.domain import outbound_shapes
from hub.domain.agents import validate_agent, validate_login
from hub.domain.consent import ConsentInput
from hub.domain.contacts import ConfigurationView, parse_send_request, validate_contact
from hub.domain.outbound_shapes import SegmentsRequest
from hub.domain.shapes import convert
from hub.errors import (
    ChannelMismatch,
    ConfigurationMismatch,
    ContactError,
    InvalidField,
    InvalidPhone,
    InvalidRequest,
    MissingField,
    MissingPlaceholder,
    MissingRelationship,
)

COMPONENTS = json.loads(DOCUMENT_JSON)["components"]
VIEW = ConfigurationView("cfg_1", "sms", show_in_timeline=False)


def published(name: str) -> Draft202012Validator:
    """The schema of ``name`` as /openapi.json publishes it."""
    return Draft202012Validator({**COMPONENTS["schemas"][name], "components": COMPONENTS})


def refused_field(check: Any, body: Any) -> str | None:
    try:
        check(body)
    except InvalidRequest as refused:
        assert refused.status == 400 and refused.code == "invalid_request"
        return str(refused.details["field"])
    return None


# -- refusals name the field ----------------------------------------------------------

CONTACT = {"tocontactid": "+14155552671", "channelid": "sms", "optin": True, "CustomerName": "Ada", "CaseName": "C-1"}
AGENT = {"name": "Dana", "email": "dana@example.com", "password": "a long passphrase"}


@pytest.mark.parametrize(
    "check, body, field",
    [
        (parse_send_request, [], "body"),
        (parse_send_request, {"contacts": [CONTACT]}, "configuration_id"),
        (parse_send_request, {"configuration_id": "  ", "contacts": [CONTACT]}, "configuration_id"),
        (parse_send_request, {"configuration_id": 7, "contacts": [CONTACT]}, "configuration_id"),
        (parse_send_request, {"configuration_id": "cfg_1", "contacts": []}, "contacts"),
        (parse_send_request, {"configuration_id": "cfg_1", "contacts": {"0": CONTACT}}, "contacts"),
        (lambda b: convert(b, SegmentsRequest), {"body": ""}, "body"),
        (lambda b: convert(b, SegmentsRequest), {"body": "x" * 1601}, "body"),
        (lambda b: convert(b, ConsentInput), {"channel_id": "ch_1", "action": "maybe"}, "action"),
        (lambda b: convert(b, ConsentInput), {"action": "opt_out"}, "channel_id"),
        (lambda b: convert(b, ConsentInput), {"channel_id": "ch_1", "action": "opt_in", "why": 1}, "why"),
        (validate_agent, {**AGENT, "email": "dana"}, "email"),
        (validate_agent, {**AGENT, "password": "short"}, "password"),
        (validate_agent, {**AGENT, "password": "1234567890"}, "password"),  # common
        (validate_agent, {**AGENT, "capacity": True}, "capacity"),
        (validate_agent, {**AGENT, "capacity": 101}, "capacity"),
        (validate_agent, {**AGENT, "queues": ["no spaces"]}, "queues"),
        (validate_agent, {**AGENT, "queues": []}, "queues"),  # an agent serves a queue
        (validate_agent, {**AGENT, "role": "boss"}, "role"),
        (validate_agent, {**AGENT, "name": " "}, "name"),
        (validate_login, {"password": "x"}, "email"),
        (validate_login, {"email": "a@b.c", "password": 5}, "password"),
        (validate_login, {"email": "a@b.c", "password": "x", "org_id": 5}, "org_id"),
    ],
)
def test_a_bad_body_is_refused_naming_its_field(check: Any, body: Any, field: str) -> None:
    assert refused_field(check, body) == field


def test_what_the_checks_take() -> None:
    assert parse_send_request({"configuration_id": " cfg_1 ", "contacts": [1], "extra": True}) == ("cfg_1", [1])
    assert validate_agent({**AGENT, "role": "supervisor"})["queues"] == []
    assert validate_agent({**AGENT, "email": "Dana@Example.com"})["email"] == "dana@example.com"
    assert validate_login({"email": " A@B.c ", "password": "pw", "org_id": ""}) == ("a@b.c", "pw", None)


def test_the_contact_rejection_codes_are_those_of_the_contact_errors() -> None:
    kinds = (
        MissingField,
        InvalidField,
        ChannelMismatch,
        ConfigurationMismatch,
        InvalidPhone,
        MissingRelationship,
        MissingPlaceholder,
    )
    assert all(issubclass(k, ContactError) for k in kinds)
    assert set(outbound_shapes.ContactErrorCode.__args__) == {k.code for k in kinds}


# -- the published schemas take what the checks take --------------------------------

texts = st.sampled_from(["", " ", "x", "sms", "SMS ", "whatsapp", "+14155552671", "4155552671", "not a phone"])
optins = st.sampled_from([True, False, "yes", " No ", "TRUE", "0", "maybe", 1, None])
values = st.one_of(st.none(), texts, st.integers(-1, 1), st.booleans(), st.just({"k": "v"}), st.just(["a"]))


@st.composite
def contacts(draw: st.DrawFn) -> dict[str, Any]:
    """A contact whose fields are mostly right, some wrong or missing."""
    out: dict[str, Any] = {}
    for field, good in (*CONTACT.items(), ("locale", "fr-FR"), ("contextitems", {"timezone": "Europe/Paris"})):
        choice = draw(st.sampled_from(["good", "good", "good", "bad", "omit"]))
        if choice == "good":
            out[field] = good
        elif choice == "bad":
            out[field] = draw(optins if field == "optin" else values)
    return out


def contact_taken(contact: Any) -> bool:
    try:
        validate_contact(contact, VIEW, "US")
    except ContactError:
        return False
    return True


@settings(max_examples=400, deadline=None, derandomize=True)
@given(contacts())
def test_the_contact_schema_takes_every_contact_the_hub_takes(contact: dict[str, Any]) -> None:
    if contact_taken(contact):
        assert published("Contact").is_valid(contact), contact


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(["configuration_id", "contacts", "other"]),
        st.one_of(values, st.lists(contacts(), max_size=3)),
    )
)
def test_the_send_request_schema_takes_what_the_hub_takes(body: dict[str, Any]) -> None:
    envelope = refused_field(parse_send_request, body) is None
    contacts_taken = envelope and all(contact_taken(c) for c in body["contacts"])
    schema = published("SendRequest").is_valid(body)
    # A bad contact rejects that contact only (its result says why), not the request.
    assert schema == contacts_taken, body
    if not envelope:
        assert not schema


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(["name", "email", "password", "queues", "capacity", "role", "other"]),
        st.one_of(
            values,
            st.sampled_from(["dana@example.com", "a long passphrase", "agent", "supervisor", "1234567890"]),
            st.sampled_from([0, 3, 100, 101, 3.0]),
            st.lists(st.sampled_from(["support", "sales", "no spaces", ""]), max_size=2),
        ),
    )
)
def test_the_agent_schema_takes_what_the_hub_takes(body: dict[str, Any]) -> None:
    taken = refused_field(validate_agent, body) is None
    schema = published("AgentInput").is_valid(body)
    if taken:
        assert schema, body
    elif schema:  # refused by a rule the schema cannot say
        field = refused_field(validate_agent, body)
        # The password rules the schema cannot say: not a common one, not the email.
        common = field == "password" and (
            str(body["password"]) == "1234567890" or str(body["password"]).lower() == str(body.get("email")).lower()
        )
        no_queue = field == "queues" and body.get("role", "agent") == "agent" and body.get("queues") == []
        assert common or no_queue, body


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.sampled_from(["Login", "ConsentInput", "SegmentsRequest"]),
    st.dictionaries(
        st.sampled_from(["email", "password", "org_id", "channel_id", "action", "body", "other"]),
        st.one_of(values, st.sampled_from(["opt_in", "opt_out", "ch_1", "a" * 1025, "b" * 1601, "c" * 101])),
    ),
)
def test_the_other_request_schemas_are_exactly_what_the_hub_takes(name: str, body: dict[str, Any]) -> None:
    check = {
        "Login": validate_login,
        "ConsentInput": lambda b: convert(b, ConsentInput),
        "SegmentsRequest": lambda b: convert(b, SegmentsRequest),
    }[name]
    assert (refused_field(check, body) is None) == published(name).is_valid(body), body


def test_the_published_schemas_are_valid() -> None:
    for name in ("Contact", "SendRequest", "SendAnswer", "Activity", "Report", "Consent", "AgentInput", "Me"):
        Draft202012Validator.check_schema(COMPONENTS["schemas"][name])
