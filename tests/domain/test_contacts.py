import dataclasses
from typing import Any

import pytest

from hub.domain.contacts import (
    ConfigurationView,
    ValidContact,
    parse_send_request,
    placeholder_values,
    validate_contact,
)
from hub.errors import (
    ChannelMismatch,
    ConfigurationMismatch,
    InvalidField,
    InvalidPhone,
    InvalidRequest,
    MissingField,
    MissingRelationship,
)

CONFIG_ID = "9f1c2d3e-0000-4000-8000-00000000abcd"
SMS = ConfigurationView(id=CONFIG_ID, channel_type="sms", show_in_timeline=True)
WHATSAPP = ConfigurationView(id=CONFIG_ID, channel_type="whatsapp", show_in_timeline=False)

_DROP = object()  # marks a key to leave out of the contact


def contact(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "tocontactid": "+14155550100",
        "channelid": "sms",
        "optin": True,
        "locale": "es-MX",
        "contextitems": {"due": "Friday"},
        "entityrelationshipname": "msdyn_ocoutboundmessage_incident",
        "msdyn_ocoutboundconfigurationid": CONFIG_ID,
        "CustomerName": "Ana Díaz",
        "CaseName": "CAS-01234",
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not _DROP}


def test_validate_contact_full():
    assert validate_contact(contact(), SMS, "US") == ValidContact(
        to="+14155550100",
        optin=True,
        locale="es-MX",
        customer_name="Ana Díaz",
        case_name="CAS-01234",
        relationship="msdyn_ocoutboundmessage_incident",
        context={"due": "Friday"},
    )


def test_validate_contact_minimal_whatsapp():
    raw = contact(
        tocontactid="whatsapp:+447911123456",
        channelid="WhatsApp",
        optin="no",
        locale=_DROP,
        contextitems=_DROP,
        entityrelationshipname=_DROP,
        msdyn_ocoutboundconfigurationid=_DROP,
    )
    assert validate_contact(raw, WHATSAPP, "US") == ValidContact(
        to="+447911123456",
        optin=False,
        locale=None,
        customer_name="Ana Díaz",
        case_name="CAS-01234",
        relationship=None,
        context={},
    )


@pytest.mark.parametrize(
    ("changes", "attr", "expected"),
    [
        ({"tocontactid": "(415) 555-0100"}, "to", "+14155550100"),
        ({"channelid": " SMS "}, "to", "+14155550100"),
        ({"optin": False}, "optin", False),
        ({"optin": "true"}, "optin", True),
        ({"optin": "TRUE"}, "optin", True),
        ({"optin": "Yes"}, "optin", True),
        ({"optin": "1"}, "optin", True),
        ({"optin": " false "}, "optin", False),
        ({"optin": "NO"}, "optin", False),
        ({"optin": "0"}, "optin", False),
        ({"locale": None}, "locale", None),
        ({"locale": ""}, "locale", None),
        ({"locale": " fr "}, "locale", "fr"),
        ({"contextitems": None}, "context", {}),
        ({"contextitems": {}}, "context", {}),
        ({"contextitems": {"n": 3, "nested": {"a": 1}}}, "context", {"n": 3, "nested": {"a": 1}}),
        ({"msdyn_ocoutboundconfigurationid": CONFIG_ID.upper()}, "to", "+14155550100"),
        ({"msdyn_ocoutboundconfigurationid": f" {CONFIG_ID} "}, "to", "+14155550100"),
        ({"msdyn_ocoutboundconfigurationid": None}, "to", "+14155550100"),
        ({"msdyn_ocoutboundconfigurationid": ""}, "to", "+14155550100"),
        ({"CustomerName": "  Ana  "}, "customer_name", "Ana"),
        ({"entityrelationshipname": " rel "}, "relationship", "rel"),
    ],
)
def test_validate_contact_accepts(changes, attr, expected):
    assert getattr(validate_contact(contact(**changes), SMS, "US"), attr) == expected


def test_default_region_applies_to_national_numbers():
    assert validate_contact(contact(tocontactid="07911 123456"), SMS, "GB").to == "+447911123456"


@pytest.mark.parametrize(
    ("config", "changes", "error", "details"),
    [
        # required fields, in order
        (SMS, {"tocontactid": _DROP}, MissingField, {"field": "tocontactid"}),
        (SMS, {"tocontactid": None}, MissingField, {"field": "tocontactid"}),
        (SMS, {"tocontactid": "  "}, MissingField, {"field": "tocontactid"}),
        (SMS, {"channelid": _DROP}, MissingField, {"field": "channelid"}),
        (SMS, {"optin": _DROP}, MissingField, {"field": "optin"}),
        (SMS, {"optin": None}, MissingField, {"field": "optin"}),
        (SMS, {"CustomerName": _DROP}, MissingField, {"field": "CustomerName"}),
        (SMS, {"CustomerName": ""}, MissingField, {"field": "CustomerName"}),
        (SMS, {"CaseName": _DROP}, MissingField, {"field": "CaseName"}),
        (SMS, {"customername": "x", "CustomerName": _DROP}, MissingField, {"field": "CustomerName"}),
        (SMS, {"tocontactid": _DROP, "CaseName": _DROP}, MissingField, {"field": "tocontactid"}),
        (SMS, {"optin": _DROP, "CustomerName": _DROP}, MissingField, {"field": "optin"}),
        # presence is checked before anything else
        (SMS, {"channelid": "whatsapp", "CaseName": _DROP}, MissingField, {"field": "CaseName"}),
        # channel
        (
            SMS,
            {"channelid": "whatsapp"},
            ChannelMismatch,
            {"field": "channelid", "expected": "sms", "received": "whatsapp"},
        ),
        (
            WHATSAPP,
            {"channelid": "sms"},
            ChannelMismatch,
            {"field": "channelid", "expected": "whatsapp", "received": "sms"},
        ),
        (SMS, {"channelid": "email"}, ChannelMismatch, {"field": "channelid", "expected": "sms", "received": "email"}),
        (SMS, {"channelid": 1}, InvalidField, {"field": "channelid"}),
        # configuration id
        (
            SMS,
            {"msdyn_ocoutboundconfigurationid": "other"},
            ConfigurationMismatch,
            {"field": "msdyn_ocoutboundconfigurationid", "expected": CONFIG_ID, "received": "other"},
        ),
        (SMS, {"msdyn_ocoutboundconfigurationid": 7}, InvalidField, {"field": "msdyn_ocoutboundconfigurationid"}),
        # optin
        (SMS, {"optin": "maybe"}, InvalidField, {"field": "optin"}),
        (SMS, {"optin": 1}, InvalidField, {"field": "optin"}),
        (SMS, {"optin": "y"}, InvalidField, {"field": "optin"}),
        (SMS, {"optin": []}, InvalidField, {"field": "optin"}),
        # phone
        (SMS, {"tocontactid": "+15550001111"}, InvalidPhone, {"field": "tocontactid", "reason": "invalid"}),
        (SMS, {"tocontactid": "call me"}, InvalidPhone, {"field": "tocontactid", "reason": "unparseable"}),
        (SMS, {"tocontactid": 14155550100}, InvalidPhone, {"field": "tocontactid", "reason": "not_a_string"}),
        # relationship
        (SMS, {"entityrelationshipname": _DROP}, MissingRelationship, {"field": "entityrelationshipname"}),
        (SMS, {"entityrelationshipname": ""}, MissingRelationship, {"field": "entityrelationshipname"}),
        (SMS, {"entityrelationshipname": 5}, InvalidField, {"field": "entityrelationshipname"}),
        (
            WHATSAPP,
            {"channelid": "whatsapp", "entityrelationshipname": 5},
            InvalidField,
            {"field": "entityrelationshipname"},
        ),
        # contextitems
        (SMS, {"contextitems": []}, InvalidField, {"field": "contextitems"}),
        (SMS, {"contextitems": "due=Friday"}, InvalidField, {"field": "contextitems"}),
        # remaining types
        (SMS, {"CustomerName": 42}, InvalidField, {"field": "CustomerName"}),
        (SMS, {"CaseName": ["CAS-1"]}, InvalidField, {"field": "CaseName"}),
        (SMS, {"locale": 3}, InvalidField, {"field": "locale"}),
    ],
)
def test_validate_contact_rejects(config, changes, error, details):
    with pytest.raises(error) as info:
        validate_contact(contact(**changes), config, "US")
    assert type(info.value) is error
    assert info.value.details == details
    assert info.value.status == 422


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        # channel before configuration id before optin before phone before relationship before contextitems
        ({"channelid": "whatsapp", "msdyn_ocoutboundconfigurationid": "x"}, ChannelMismatch),
        ({"msdyn_ocoutboundconfigurationid": "x", "optin": "maybe"}, ConfigurationMismatch),
        ({"optin": "maybe", "tocontactid": "+15550001111"}, InvalidField),
        ({"tocontactid": "+15550001111", "entityrelationshipname": _DROP}, InvalidPhone),
        ({"entityrelationshipname": _DROP, "contextitems": []}, MissingRelationship),
    ],
)
def test_validate_contact_check_order(changes, error):
    with pytest.raises(error):
        validate_contact(contact(**changes), SMS, "US")


@pytest.mark.parametrize("raw", [None, [], "contact", 3, [contact()]])
def test_validate_contact_rejects_non_objects(raw):
    with pytest.raises(InvalidField) as info:
        validate_contact(raw, SMS, "US")
    assert info.value.details == {"field": "contact"}


def test_validate_contact_copies_context():
    raw = contact()
    valid = validate_contact(raw, SMS, "US")
    raw["contextitems"]["due"] = "Monday"
    assert valid.context == {"due": "Friday"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        valid.to = "+14155550101"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, {"CustomerName": "Ana", "CaseName": "C-1"}),
        ({"due": "Fri", "n": 2}, {"due": "Fri", "n": 2, "CustomerName": "Ana", "CaseName": "C-1"}),
        ({"CustomerName": "Impostor", "CaseName": "X"}, {"CustomerName": "Ana", "CaseName": "C-1"}),
        ({"customername": "lower"}, {"customername": "lower", "CustomerName": "Ana", "CaseName": "C-1"}),
    ],
)
def test_placeholder_values(context, expected):
    valid = ValidContact(
        to="+14155550100",
        optin=True,
        locale=None,
        customer_name="Ana",
        case_name="C-1",
        relationship=None,
        context=context,
    )
    assert placeholder_values(valid) == expected
    assert valid.context == context  # not mutated


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"configuration_id": "cfg-1", "contacts": [{}]}, ("cfg-1", [{}])),
        ({"configuration_id": " cfg-1 ", "contacts": [1, "x", None]}, ("cfg-1", [1, "x", None])),
        ({"configuration_id": "cfg-1", "contacts": [{}], "extra": True}, ("cfg-1", [{}])),
    ],
)
def test_parse_send_request(body, expected):
    assert parse_send_request(body) == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "body"),
        ([], "body"),
        ("{}", "body"),
        ({}, "configuration_id"),
        ({"configuration_id": "", "contacts": [{}]}, "configuration_id"),
        ({"configuration_id": "  ", "contacts": [{}]}, "configuration_id"),
        ({"configuration_id": 12, "contacts": [{}]}, "configuration_id"),
        ({"configuration_id": "cfg-1"}, "contacts"),
        ({"configuration_id": "cfg-1", "contacts": None}, "contacts"),
        ({"configuration_id": "cfg-1", "contacts": {"0": {}}}, "contacts"),
        ({"configuration_id": "cfg-1", "contacts": []}, "contacts"),
    ],
)
def test_parse_send_request_rejects(body, field):
    with pytest.raises(InvalidRequest) as info:
        parse_send_request(body)
    assert info.value.details == {"field": field}
    assert info.value.status == 400
