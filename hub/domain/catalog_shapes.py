"""The bodies of orgs and of the catalogue (channels, templates, outbound
configurations, canned responses), declared once as msgspec Structs (pure).

``hub.domain.shapes.convert`` refuses a body that does not fit its
declaration with the hub's error shape (400 ``invalid_request`` naming the
field, down to the key of a nested object: ``limits.requests_per_hour``,
``credentials.auth_token``);
``hub.api.openapi_spec`` publishes the same declarations as JSON Schema.
What a schema cannot say (a channel's credentials by provider, a template's
default locale among its bodies, ...) stays in the per-kind rules of
``hub.domain.catalog`` and ``hub.domain.templates``, which run after.

Each ``...Patch`` is its ``...Input`` with every field optional (``UNSET``
when not given), derived by ``_patch``; /openapi.json publishes it as such.

The response Structs describe what ``public()`` of ``hub.domain.records``
answers, key for key; the records keep writing the answers themselves.
Struct names are the schema names in /openapi.json.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.domain.catalog import DEFAULT_LIMITS
from hub.domain.keywords import KEYWORD_REPLIES
from hub.domain.pacing import MAX_MESSAGES_PER_SECOND
from hub.domain.partitions import MAX_PARTITIONS
from hub.domain.quiet_hours import DAYS, MAX_ZONE_NAME
from hub.domain.routing_policy import DEFAULT_PRIORITY, MAX_PRIORITY, MAX_SKILLS
from hub.domain.segments import MAX_BODY_LENGTH
from hub.domain.templates import LOCALE_RE, MAX_NAME_LENGTH


def _any_case(words: tuple[str, ...], *, padded: bool = False) -> str:
    """A pattern matching one of ``words`` in any case (and, ``padded``, with
    spaces around: the rules strip and lower-case these)."""
    alternatives = "|".join("".join(f"[{c.upper()}{c}]" for c in word) for word in words)
    space = r"\s*" if padded else ""
    return f"^{space}(?:{alternatives}){space}$"


# -- the parts ------------------------------------------------------------------------

ChannelType = Literal["sms", "whatsapp"]
Provider = Literal["twilio", "telesign", "sandbox"]
KeywordReplies = Literal["auto", "hub", "provider"]
assert get_args(KeywordReplies) == tuple(KEYWORD_REPLIES)

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S", description="1 to 200 characters, not blank.")]
Region = Annotated[
    str,
    Meta(
        min_length=2,
        max_length=2,
        description="ISO 3166 country used to read numbers written without `+` (any case).",
        examples=["US", "GB"],
    ),
]
LimitValue = Annotated[int, Meta(ge=1, le=10_000_000)]
Clock = Annotated[
    str,
    Meta(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?|24:00(:00)?)$",
        description="Local time of day, `HH:MM` or `HH:MM:SS`; `end` may be `24:00`.",
        examples=["08:00", "21:00"],
    ),
]
Day = Annotated[str, Meta(pattern=_any_case(DAYS), description="`mon` to `sun`, any case.")]
Zone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_ZONE_NAME,
        pattern=r"\S",
        description="IANA zone assumed for a number whose zone is unknown (e.g. `+800`); "
        "without it such a number is sent at once.",
        examples=["Europe/Paris"],
    ),
]
CredentialValue = Annotated[str, Meta(pattern=r"^[!-~]{1,512}$")]
Credentials = Annotated[
    dict[str, CredentialValue],
    Meta(
        description="Write-only. `twilio` and `sandbox` need `account_sid` and `auth_token`; "
        "`telesign` needs `customer_id` and `api_key` (the base64 key TeleSign issued). Each value "
        "1 to 512 printable ASCII characters without spaces. On PATCH, given keys replace stored ones.",
        examples=[{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "your-auth-token"}],
    ),
]
Address = Annotated[str, Meta(description="Sender number; normalized to E.164.", examples=["+15550001111"])]
ApiBaseUrl = Annotated[
    str,
    Meta(
        description="Provider API base URL (else `TWILIO_API_BASE_URL` or `TELESIGN_API_BASE_URL`, "
        "else the provider's own). https to a public address, without user info, "
        "query or control characters; http and private addresses only for hosts in "
        "the operator's `HUB_ALLOWED_PROVIDER_HOSTS`. Refused with 400 "
        "(`details.field`: `api_base_url`); a send to an address refused at "
        "connection time ends `rejected` with `provider_url_forbidden`.",
    ),
]
Rate = Annotated[
    float,
    Meta(
        gt=0,
        le=MAX_MESSAGES_PER_SECOND,
        description="Sending pace, kept by all hub processes together; `null` clears it.",
    ),
]
KeywordRepliesField = Annotated[
    KeywordReplies,
    Meta(
        description="Who sends the one confirmation a STOP or START gets: `hub` "
        "(through this channel), `provider` (the provider answers "
        "itself; the hub sends nothing), `auto` (the default; "
        "`null` restores it): `provider` for Twilio SMS, whose "
        "opt-out handling answers, `hub` otherwise.",
    ),
]
# A record read back may be sent again whole: its own id, org_id and
# created_at are taken and ignored.
Ignored = Annotated[Any, Meta(description="Ignored: the record keeps its own.")]

TemplateName = Annotated[
    str,
    Meta(min_length=1, pattern=r"\S", description=f"Not blank; at most {MAX_NAME_LENGTH} characters once trimmed."),
]
TemplateChannelType = Annotated[str, Meta(pattern=_any_case(("sms", "whatsapp"), padded=True))]
Locale = Annotated[str, Meta(pattern=LOCALE_RE.pattern, description="BCP 47 language tag, e.g. `en-US`.")]
BodyText = Annotated[str, Meta(min_length=1, max_length=MAX_BODY_LENGTH, pattern=r"\S")]
Bodies = Annotated[
    dict[Locale, BodyText],
    Meta(
        min_length=1,
        description="Text per locale, with `{{CustomerName}}`, `{{CaseName}}` and "
        "`{{key}}` (a context item) placeholders.",
    ),
]
ContentSids = Annotated[
    dict[Locale, Annotated[str, Meta(pattern="^HX")]],
    Meta(
        description="WhatsApp: the approved template (Twilio `ContentSid`) per "
        "locale of `bodies`, for business-initiated messages."
    ),
]

Queue = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S", description="Where replies are routed.")]
CorrelationKey = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
CorrelationKeys = Annotated[
    list[CorrelationKey],
    Meta(
        max_length=5,
        description="What a reply may name to say which of several recent messages it answers: "
        "`case_name` (the contact's `CaseName`) or names of context items. When a "
        "customer has more than one message from the hub within the correlation window, "
        "a reply is linked to the newest whose value of one of these keys it contains "
        "(case-insensitive, not glued to a letter or digit; values of fewer than 3 "
        "characters never match; the first 64 characters count). `null` or absent: "
        '`["case_name"]`; `[]`: replies are linked to the quoted or the latest message only.',
        examples=[["case_name", "OrderNumber"]],
    ),
]
Priority = Annotated[
    int,
    Meta(
        ge=0,
        le=MAX_PRIORITY,
        description="Priority of the conversations its replies open: higher waits less.",
    ),
]
# The skill's own shape belongs to the routing policy (its RequiredSkill schema).
RequiredSkills = Annotated[
    list[Annotated[dict[str, Any], Meta(extra_json_schema={"$ref": "#/components/schemas/RequiredSkill"})]],
    Meta(max_length=MAX_SKILLS, description="Only agents with these skills take its replies."),
]
CannedTitle = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
CannedBody = Annotated[str, Meta(min_length=1, max_length=MAX_BODY_LENGTH, pattern=r"\S")]
Timestamp = Annotated[float, Meta(description="Unix time in seconds.")]
RecordId = Annotated[str, Meta(description="Generated on create; opaque and stable.")]


def _patch(shape: type[msgspec.Struct], doc: str, *, forbid_unknown_fields: bool = False, **types: Any) -> Any:
    """The PATCH body of ``shape``: its fields (``types`` replaces some of
    their types), each optional and ``UNSET`` when not given, with its
    ``refusals``; ``doc`` is its description in /openapi.json."""
    fields = [
        (f.name, f.type if f.default is UNSET else types.get(f.name, f.type) | UnsetType, UNSET)
        for f in msgspec.structs.fields(shape)
    ]
    return msgspec.defstruct(
        shape.__name__.removesuffix("Input") + "Patch",
        fields,
        module=__name__,
        namespace={"__doc__": doc, "refusals": getattr(shape, "refusals", {})},
        forbid_unknown_fields=forbid_unknown_fields,
    )


# -- orgs -----------------------------------------------------------------------------


class Limits(msgspec.Struct, forbid_unknown_fields=True):
    """Per-org limits; omitted ones keep their current (or default) value."""

    contacts_per_request: (
        Annotated[LimitValue, Meta(extra_json_schema={"default": DEFAULT_LIMITS["contacts_per_request"]})] | UnsetType
    ) = UNSET
    requests_per_hour: (
        Annotated[LimitValue, Meta(extra_json_schema={"default": DEFAULT_LIMITS["requests_per_hour"]})] | UnsetType
    ) = UNSET


class QuietHours(msgspec.Struct, forbid_unknown_fields=True):
    """Send only in these local hours and days of the recipient: its `timezone` context
    item, else every zone its number may be in (the window must be open in all). A
    contact outside them is accepted as `deferred` with `send_at` and sent then."""

    start: Clock
    end: Annotated[Clock, Meta(description="Exclusive; after `start` (a window does not span midnight).")]
    days: (
        Annotated[
            list[Day],
            Meta(
                min_length=1, description="Days the window is open, by the recipient's local date; default every day."
            ),
        ]
        | UnsetType
    ) = UNSET
    default_timezone: Zone | None | UnsetType = UNSET


_QUIET_HOURS_REFUSALS = {
    "quiet_hours": "quiet_hours must be an object with start, end and days",
    "quiet_hours.start": "quiet_hours.start must be a time of day HH:MM (or HH:MM:SS), 00:00 to 24:00",
    "quiet_hours.end": "quiet_hours.end must be a time of day HH:MM (or HH:MM:SS), 00:00 to 24:00",
    "quiet_hours.days": f"days must be a non-empty list of {', '.join(DAYS)}",
    "quiet_hours.default_timezone": "quiet_hours.default_timezone must be an IANA time zone name "
    "such as Australia/Sydney",
}
_ORG_REFUSALS = {
    "name": "name must be a non-empty string of at most 200 characters",
    "default_region": "default_region must be an ISO 3166 country code such as US",
    "limits": "limits must be an object",
    "partitions": f"partitions must be a whole number from 1 to {MAX_PARTITIONS}",
    **{f"limits.{key}": f"{key} must be a positive integer" for key in DEFAULT_LIMITS},
    **_QUIET_HOURS_REFUSALS,
}


Partitions = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_PARTITIONS,
        description="Outbound partitions: above 1, the org's contacts (channel and number) are spread "
        "over this many Redis hash tags, so that one org's sends spread over the nodes of a Redis "
        "Cluster; each contact's messages keep their order. Set at creation only. Above 1, event "
        "endpoints are refused (not supported yet). A send request answered with an "
        "error (503) may then still be completed: retry it with the same `Idempotency-Key`. Absent from an org: 1.",
    ),
]


class OrgInput(msgspec.Struct):
    """POST /v1/orgs. Other fields are ignored."""

    name: Name
    limits: Limits | None = None
    default_region: Region = "US"
    quiet_hours: QuietHours | None = None
    partitions: Partitions = 1
    refusals: ClassVar[dict[str, str]] = _ORG_REFUSALS


OrgPatch = _patch(
    OrgInput,
    "PATCH /v1/orgs/{org_id}: the fields given replace the org's (limits: the limits given).",
    forbid_unknown_fields=True,
    # Declared so that a change is refused by its own rule (set at creation only).
    partitions=int,
)


class Org(msgspec.Struct):
    """An org, as answered (its API key is shown once, on creation)."""

    id: str
    name: str
    limits: Limits
    default_region: str
    created_at: Timestamp
    quiet_hours: Annotated[
        QuietHours | None, Meta(description="Applies to every configuration without its own; `null`: none.")
    ]
    partitions: Partitions = 1


class OrgCreated(Org, kw_only=True):
    """The org just created, with its API key."""

    api_key: Annotated[str, Meta(description="Shown once; the org's bearer token.")]


# -- channels -------------------------------------------------------------------------

_CHANNEL_REFUSALS = {
    "type": "type must be sms or whatsapp",
    "provider": "provider must be twilio, telesign or sandbox",
    "address": "address must be a valid phone number in E.164 form",
    "name": "name must be a non-empty string of at most 200 characters",
    "credentials": "credentials must be an object of strings",
    "credentials.*": "must be 1 to 512 printable ASCII characters without spaces",
    "messages_per_second": f"messages_per_second must be a number above 0 and at most {MAX_MESSAGES_PER_SECOND:g}",
    "keyword_replies": "keyword_replies must be auto, hub or provider",
}


class ChannelInput(msgspec.Struct, forbid_unknown_fields=True):
    """POST and PUT /v1/channels: a channel whole."""

    type: ChannelType
    provider: Provider
    address: Address
    credentials: Credentials
    api_base_url: ApiBaseUrl | None = None
    name: Name | None = None
    messages_per_second: Rate | None = None
    keyword_replies: KeywordRepliesField | None = None
    id: Ignored = UNSET
    org_id: Ignored = UNSET
    created_at: Ignored = UNSET
    refusals: ClassVar[dict[str, str]] = _CHANNEL_REFUSALS


ChannelPatch = _patch(
    ChannelInput,
    "PATCH /v1/channels/{id}: the fields given replace the channel's; `null` clears\n"
    "`name`, `api_base_url`, `messages_per_second` and `keyword_replies`.",
    forbid_unknown_fields=True,
)


class Channel(msgspec.Struct):
    """A channel, as answered: which credentials are set, never their values."""

    id: RecordId
    org_id: str
    created_at: Timestamp
    type: ChannelType
    provider: Provider
    address: Address
    credentials: Annotated[
        dict[str, Literal["set"]],
        Meta(
            description="Which credentials are set, never their values.",
            examples=[{"account_sid": "set", "auth_token": "set"}],
        ),
    ]
    api_base_url: ApiBaseUrl | UnsetType = UNSET
    name: str | UnsetType = UNSET
    messages_per_second: Rate | UnsetType = UNSET
    keyword_replies: KeywordRepliesField | UnsetType = UNSET
    circuit: (
        Annotated[
            Literal["closed", "open", "half_open"],
            Meta(
                description="Only on `GET /v1/channels/{id}`: the channel's circuit breaker. `open` after "
                "`HUB_CIRCUIT_THRESHOLD` retryable provider failures in a row: sends wait "
                "without calling the provider for `HUB_CIRCUIT_COOLDOWN`; `half_open`: one "
                "probe at a time; a success closes it.",
            ),
        ]
        | UnsetType
    ) = UNSET


# -- templates ------------------------------------------------------------------------

_TEMPLATE_REFUSALS = {
    "name": "name must be a non-empty string",
    "channel_types": "channel_types must be a non-empty list of sms, whatsapp",
    "default_locale": "default_locale must be a locale tag such as 'en' or 'en-US'",
    "bodies": "bodies must be a non-empty object of locale -> text",
    "content_sids": "content_sids must be an object of locale -> content sid starting with 'HX'",
}


class TemplateInput(msgspec.Struct):
    """POST, PUT and PATCH /v1/templates: a template is always given whole. Other fields are ignored."""

    name: TemplateName
    channel_types: Annotated[
        list[TemplateChannelType],
        Meta(min_length=1, description="`sms` and/or `whatsapp` (any case), each once."),
    ]
    default_locale: Annotated[Locale, Meta(description="Must be a key of `bodies`.", examples=["en-US"])]
    bodies: Bodies
    content_sids: ContentSids | None = None
    refusals: ClassVar[dict[str, str]] = _TEMPLATE_REFUSALS


class Template(msgspec.Struct):
    """A template, as answered."""

    id: RecordId
    org_id: str
    created_at: Timestamp
    name: str
    channel_types: list[ChannelType]
    default_locale: Locale
    bodies: dict[str, str]
    content_sids: dict[str, str]


# -- outbound configurations ----------------------------------------------------------

_CONFIGURATION_REFUSALS = {
    "name": "name must be a non-empty string of at most 200 characters",
    "show_in_timeline": "show_in_timeline must be true or false",
    "channel_type": "channel_type must be sms or whatsapp",
    "channel_id": "channel_id is required",
    "template_id": "template_id is required",
    "queue": "queue must be a non-empty string",
    "correlation_keys": "correlation_keys must be a list of at most 5 non-empty names of at most 100 characters",
    "priority": f"priority must be an integer from 0 to {MAX_PRIORITY}",
    "required_skills": f"required_skills must be a list of at most {MAX_SKILLS} skills",
    **_QUIET_HOURS_REFUSALS,
    "quiet_hours": "quiet_hours must be an object with start, end and days, false or null",
}
ShowInTimeline = Annotated[
    bool, Meta(description="Show its activities in the contact timeline; contacts then need `entityrelationshipname`.")
]
ConfigQuietHours = Annotated[
    QuietHours | Literal[False] | None,
    Meta(description="Overrides the org's quiet hours; `false`: send at any hour; `null` or absent: the org's apply."),
]
ChannelRef = Annotated[str, Meta(min_length=1, description="A channel of `channel_type`.")]
TemplateRef = Annotated[str, Meta(min_length=1, description="A template whose `channel_types` include `channel_type`.")]


class OutboundConfigurationInput(msgspec.Struct, forbid_unknown_fields=True):
    """POST and PUT /v1/outbound-configurations: a configuration whole."""

    name: Name
    channel_type: ChannelType
    channel_id: ChannelRef
    template_id: TemplateRef
    show_in_timeline: ShowInTimeline = False
    queue: Queue = "default"
    quiet_hours: ConfigQuietHours = None
    correlation_keys: CorrelationKeys | None = None
    priority: Priority = DEFAULT_PRIORITY
    required_skills: RequiredSkills | None = None
    id: Ignored = UNSET
    org_id: Ignored = UNSET
    created_at: Ignored = UNSET
    refusals: ClassVar[dict[str, str]] = _CONFIGURATION_REFUSALS


OutboundConfigurationPatch = _patch(
    OutboundConfigurationInput,
    "PATCH /v1/outbound-configurations/{id}: the fields given replace the configuration's.",
    forbid_unknown_fields=True,
)


class OutboundConfiguration(msgspec.Struct):
    """An outbound configuration, as answered."""

    id: RecordId
    org_id: str
    created_at: Timestamp
    name: str
    show_in_timeline: bool
    channel_type: ChannelType
    channel_id: str
    template_id: str
    queue: str
    correlation_keys: list[str]
    priority: Priority
    required_skills: RequiredSkills
    quiet_hours: QuietHours | Literal[False] | UnsetType = UNSET


# -- canned responses -----------------------------------------------------------------

_CANNED_REFUSALS = {
    "title": "title must be 1 to 100 characters",
    "body": f"body must be 1 to {MAX_BODY_LENGTH} characters",
}


class CannedResponseInput(msgspec.Struct):
    """POST and PUT /v1/canned-responses. Other fields are ignored."""

    title: CannedTitle
    body: CannedBody
    refusals: ClassVar[dict[str, str]] = _CANNED_REFUSALS


CannedResponsePatch = _patch(
    CannedResponseInput, "PATCH /v1/canned-responses/{id}: the fields given replace the response's."
)


class CannedResponse(msgspec.Struct):
    """A canned response, as answered."""

    id: RecordId
    org_id: str
    created_at: Timestamp
    title: str
    body: str


BODIES: tuple[type[Any], ...] = (
    OrgInput,
    OrgPatch,
    ChannelInput,
    ChannelPatch,
    TemplateInput,
    OutboundConfigurationInput,
    OutboundConfigurationPatch,
    CannedResponseInput,
    CannedResponsePatch,
)
ANSWERS: tuple[type[Any], ...] = (Org, OrgCreated, Channel, Template, OutboundConfiguration, CannedResponse)
