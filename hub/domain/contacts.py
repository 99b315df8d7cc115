"""Validation of a send request and of each of its contacts.

Field names follow the contact-centre platform's payload verbatim
(``tocontactid``, ``CustomerName``, ...). A bad contact only rejects that
contact, so every fault here is a ``ContactError`` subclass; only a broken
request envelope (``parse_send_request``) is an ``InvalidRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from hub.domain import shapes
from hub.domain.catalog import DEFAULT_LIMITS
from hub.domain.phones import normalize_phone
from hub.domain.quiet_hours import parse_zone_name
from hub.errors import (
    ChannelMismatch,
    ConfigurationMismatch,
    InvalidField,
    InvalidPhone,
    InvalidRequest,
    MissingField,
    MissingRelationship,
)

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _any_case(words: frozenset[str]) -> str:
    """A JSON Schema pattern for ``words`` in any case, blanks around (what ``_parse_optin`` reads)."""
    spelled = ("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in w) for w in sorted(words))
    return rf"^\s*({'|'.join(spelled)})\s*$"


Filled = Annotated[str, Meta(pattern=r"\S")]  # blank is `missing_field`


class Contact(msgspec.Struct):
    """One contact, in the ContactList shape. Faults in a contact reject only
    that contact (see `SendResult`); a blank required field is `missing_field`.
    Other fields are ignored."""

    tocontactid: Annotated[
        Filled,
        Meta(
            description="Customer phone number; normalized to E.164. A number without `+` is read in "
            "the org's `default_region`. Invalid: `invalid_phone`.",
            examples=["+15551234567", "5551234567"],
        ),
    ]
    channelid: Annotated[
        Filled,
        Meta(
            description="`sms` or `whatsapp`, any case; must equal the configuration's channel type "
            "(else `channel_mismatch`).",
            examples=["sms", "whatsapp"],
        ),
    ]
    optin: Annotated[
        bool | Annotated[str, Meta(pattern=_any_case(_TRUE | _FALSE), description="Read case-insensitively.")],
        Meta(description="`false`: not sent, status `skipped_no_optin`. Anything unclear: `invalid_field`."),
    ]
    CustomerName: Annotated[Filled, Meta(description="Customer's name (`{{CustomerName}}`).")]
    CaseName: Annotated[Filled, Meta(description="Case's name (`{{CaseName}}`).")]
    locale: Annotated[
        str | None,
        Meta(
            description="Preferred language; missing or unknown falls back to the same language, "
            "then to the template's default.",
            examples=["fr-FR"],
        ),
    ] = None
    contextitems: Annotated[
        dict[str, Any] | None, Meta(description="Values for the template's `{{key}}` placeholders.")
    ] = None
    entityrelationshipname: Annotated[
        str | None,
        Meta(
            description="Relationship the activity is tracked under; required when the "
            "configuration shows in the timeline (else `missing_relationship`)."
        ),
    ] = None
    msdyn_ocoutboundconfigurationid: Annotated[
        str | None,
        Meta(description="If given, must equal `configuration_id` (case-insensitive), else `configuration_mismatch`."),
    ] = None


# Checked in this order so the reported field is predictable: the Contact's
# fields without a default, as declared.
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(Contact) if f.required)


class SendRequest(msgspec.Struct):
    """POST /v1/outbound/send. The contacts are checked one by one
    (``validate_contact``): a bad one is rejected in the answer, not the request."""

    configuration_id: Annotated[
        str, Meta(min_length=1, pattern=r"\S", description="An outbound configuration of this org.")
    ]
    contacts: Annotated[
        list[Any],
        Meta(
            min_length=1,
            description="At most the org's `contacts_per_request` (default "
            f"{DEFAULT_LIMITS['contacts_per_request']}); more is `413 too_many_contacts`.",
            extra_json_schema={"items": {"$ref": "#/components/schemas/Contact"}},
        ),
    ]
    refusals: ClassVar[dict[str, str]] = {
        "configuration_id": "configuration_id must be a non-empty string",
        "contacts": "contacts must be a non-empty list",
    }


@dataclass(frozen=True)
class ConfigurationView:
    id: str
    channel_type: str
    show_in_timeline: bool


@dataclass(frozen=True)
class ValidContact:
    to: str  # E.164, no ``whatsapp:`` prefix
    optin: bool
    locale: str | None
    customer_name: str
    case_name: str
    relationship: str | None
    context: dict[str, Any]
    # The ``timezone`` context item (IANA), which overrides the number's zones.
    timezone: str | None = None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_optin(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    # Guessing consent is not an option: anything unclear is rejected.
    raise InvalidField("optin must be true or false", details={"field": "optin"})


def _optional_str(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(f"{field} must be a string", details={"field": field})
    return value.strip() or None


def validate_contact(raw: Any, config: ConfigurationView, default_region: str) -> ValidContact:
    """Check one contact against its outbound configuration.

    Order: required fields present -> channelid -> configuration id -> optin
    -> phone -> relationship -> contextitems -> remaining field types. A
    required field that is absent, ``None`` or blank counts as missing.
    """
    if not isinstance(raw, dict):
        raise InvalidField("contact must be a JSON object", details={"field": "contact"})

    for field in REQUIRED_FIELDS:
        if _blank(raw.get(field)):
            raise MissingField(f"contact is missing required field {field}", details={"field": field})

    channel = raw["channelid"]
    if not isinstance(channel, str):
        raise InvalidField("channelid must be a string", details={"field": "channelid"})
    if channel.strip().lower() != config.channel_type.lower():
        raise ChannelMismatch(
            f"channelid {channel!r} does not match the configuration's channel {config.channel_type!r}",
            details={"field": "channelid", "expected": config.channel_type, "received": channel},
        )

    config_id = raw.get("msdyn_ocoutboundconfigurationid")
    if not _blank(config_id):
        if not isinstance(config_id, str):
            raise InvalidField(
                "msdyn_ocoutboundconfigurationid must be a string",
                details={"field": "msdyn_ocoutboundconfigurationid"},
            )
        # Dynamics GUIDs arrive in either case.
        if config_id.strip().lower() != config.id.lower():
            raise ConfigurationMismatch(
                "msdyn_ocoutboundconfigurationid does not match the request's configuration",
                details={"field": "msdyn_ocoutboundconfigurationid", "expected": config.id, "received": config_id},
            )

    optin = _parse_optin(raw["optin"])

    try:
        to = normalize_phone(raw["tocontactid"], default_region)
    except InvalidPhone as exc:
        reason = exc.details.get("reason") if isinstance(exc.details, dict) else None
        raise InvalidPhone(exc.message, details={"field": "tocontactid", "reason": reason}) from exc

    relationship = raw.get("entityrelationshipname")
    if _blank(relationship):
        if config.show_in_timeline:
            # The timeline entry is attached through this relationship; without it the activity is orphaned.
            raise MissingRelationship(
                "entityrelationshipname is required when the configuration shows messages in the timeline",
                details={"field": "entityrelationshipname"},
            )
        relationship = None
    elif not isinstance(relationship, str):
        raise InvalidField("entityrelationshipname must be a string", details={"field": "entityrelationshipname"})
    else:
        relationship = relationship.strip()

    context = raw.get("contextitems")
    if context is None:
        context = {}
    elif not isinstance(context, dict):
        raise InvalidField("contextitems must be a JSON object", details={"field": "contextitems"})
    zone = None
    if context.get("timezone") is not None:
        try:
            zone = parse_zone_name(context["timezone"], "contextitems.timezone")
        except InvalidRequest as exc:
            raise InvalidField(exc.message, details=exc.details) from None

    customer_name = raw["CustomerName"]
    case_name = raw["CaseName"]
    for field, value in (("CustomerName", customer_name), ("CaseName", case_name)):
        if not isinstance(value, str):
            raise InvalidField(f"{field} must be a string", details={"field": field})

    return ValidContact(
        to=to,
        optin=optin,
        locale=_optional_str(raw, "locale"),
        customer_name=customer_name.strip(),
        case_name=case_name.strip(),
        relationship=relationship,
        context=dict(context),
        timezone=zone,
    )


def placeholder_values(contact: ValidContact) -> dict[str, Any]:
    """Values for template rendering; the named fields win over context items."""
    return {**contact.context, "CustomerName": contact.customer_name, "CaseName": contact.case_name}


def parse_send_request(body: Any) -> tuple[str, list[Any]]:
    """Check the envelope of a send request and return ``(configuration_id, contacts)``.

    Contacts are returned unvalidated (each is checked on its own); the size
    limit is the caller's business.
    """
    request = shapes.convert(body, SendRequest)
    return request.configuration_id.strip(), request.contacts
