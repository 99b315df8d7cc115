"""The OpenAPI 3.1 description of the hub's HTTP API, as plain data.

Built once at import and served as is by ``hub.api.openapi``. Enumerations and
limits are read from the domain modules so the document says what the
handlers actually accept. The shapes follow the handlers: ``hub.api.*``,
``hub.routing.agents_api`` and ``hub.routing.conversations_api``.
"""

from __future__ import annotations

from typing import Any

from hub.domain.agent_metrics import MAX_DAYS
from hub.domain.agents import QUEUE_RE, ROLES
from hub.domain.catalog import CHANNEL_TYPES, DEFAULT_LIMITS, PROVIDERS
from hub.domain.contacts import REQUIRED_FIELDS
from hub.domain.segments import MAX_BODY_LENGTH
from hub.domain.statuses import ActivityStatus
from hub.domain.templates import LOCALE_RE, MAX_NAME_LENGTH
from hub.errors import (
    ChannelMismatch,
    ConfigurationMismatch,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidField,
    InvalidPhone,
    InvalidRequest,
    MissingField,
    MissingPlaceholder,
    MissingRelationship,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    TooManyContacts,
    Unauthorized,
    Unavailable,
)

Schema = dict[str, Any]

ACTIVITY_STATUSES = [s.value for s in ActivityStatus]
CONVERSATION_STATUSES = ["waiting", "assigned", "closed"]
PRESENCES = ["offline", "available", "away"]
SEND_RESULT_STATUSES = ["queued", "deferred", "skipped_no_optin", "skipped_opted_out", "rejected"]
CONTACT_ERROR_CODES = [
    cls.code
    for cls in (
        MissingField,
        InvalidField,
        ChannelMismatch,
        ConfigurationMismatch,
        InvalidPhone,
        MissingRelationship,
        MissingPlaceholder,
    )
]

# HTTP status of every error code an API call can answer with.
ERROR_STATUS: dict[str, int] = {
    InvalidRequest.code: InvalidRequest.status,
    Unauthorized.code: Unauthorized.status,
    Forbidden.code: Forbidden.status,
    NotFound.code: NotFound.status,
    Conflict.code: Conflict.status,
    IdempotencyConflict.code: IdempotencyConflict.status,
    "email_taken": Conflict.status,
    "org_required": Conflict.status,
    "not_your_customer": Forbidden.status,
    "supervisor_only": Forbidden.status,
    "erasure_busy": Conflict.status,
    "queue_not_found": NotFound.status,
    "conversation_closed": Conflict.status,
    "too_many_endpoints": Conflict.status,
    "partitions_unsupported": Conflict.status,
    "cursor_expired": 410,
    TooManyContacts.code: TooManyContacts.status,
    RateLimited.code: RateLimited.status,
    PayloadTooLarge.code: PayloadTooLarge.status,
    Unavailable.code: Unavailable.status,
}

STATUS_TEXT = {
    400: "The request is malformed or a field is invalid (`details.field` names it).",
    401: "Missing, unknown or wrong bearer token.",
    403: "The call is not allowed.",
    404: "No such object in this org.",
    409: "The request conflicts with the current state.",
    410: "Gone: what the cursor points after is no longer kept.",
    413: "Too large: more contacts than the org's `contacts_per_request` limit "
    "(`too_many_contacts`), or a body over the route's byte limit (`payload_too_large`: 1 MiB "
    "for JSON, 64 KiB for webhooks).",
    429: "Over a limit (the org's `requests_per_hour`, or failed sign-ins); retry after `Retry-After` seconds.",
    503: "The hub cannot serve the call right now (Redis unreachable); retry after `Retry-After` "
    "seconds. Nothing was changed.",
}

ERROR_EXAMPLES: dict[str, Schema] = {
    "invalid_request": {
        "code": "invalid_request",
        "message": "name must be a non-empty string",
        "details": {"field": "name"},
    },
    "unauthorized": {"code": "unauthorized", "message": "unknown API key"},
    "forbidden": {"code": "forbidden", "message": "bad or missing X-Twilio-Signature"},
    "not_your_customer": {
        "code": "not_your_customer",
        "message": "agents read the history of customers they serve or have served",
        "details": {"field": "phone"},
    },
    "supervisor_only": {"code": "supervisor_only", "message": "only supervisors (or the org's API key) may read this"},
    "not_found": {"code": "not_found", "message": "no such configuration"},
    "conflict": {
        "code": "conflict",
        "message": "channel is used by configuration cfg_0a1b2c3d4e5f60718293",
        "details": {"configuration_id": "cfg_0a1b2c3d4e5f60718293"},
    },
    "idempotency_key_reused": {
        "code": "idempotency_key_reused",
        "message": "this Idempotency-Key was used with a different request body",
    },
    "email_taken": {
        "code": "email_taken",
        "message": "an agent of this org has this email",
        "details": {"field": "email"},
    },
    "org_required": {
        "code": "org_required",
        "message": "this email signs in to agents of several orgs: give org_id",
        "details": {"field": "org_id"},
    },
    "erasure_busy": {"code": "erasure_busy", "message": "the customer keeps writing; try again"},
    "queue_not_found": {"code": "queue_not_found", "message": "no such queue", "details": {"field": "name"}},
    "conversation_closed": {"code": "conversation_closed", "message": "this conversation is closed"},
    "too_many_endpoints": {"code": "too_many_endpoints", "message": "an org has at most 20 event endpoints"},
    "partitions_unsupported": {
        "code": "partitions_unsupported",
        "message": "event endpoints are not supported for an org with several partitions",
    },
    "cursor_expired": {
        "code": "cursor_expired",
        "message": "events after this cursor are no longer kept (HUB_EVENT_RETENTION_HOURS)",
        "details": {"field": "after", "oldest_after": "1733328000000-0"},
    },
    "too_many_contacts": {
        "code": "too_many_contacts",
        "message": "at most 100 contacts per request",
        "details": {"limit": 100, "given": 250},
    },
    "payload_too_large": {
        "code": "payload_too_large",
        "message": "the request body is over 1048576 bytes",
        "details": {"limit": 1048576},
    },
    "unavailable": {"code": "unavailable", "message": "the hub's Redis is unreachable; retry shortly"},
    "rate_limited": {
        "code": "rate_limited",
        "message": "more than 30000 send requests in the last hour",
        "details": {"limit": 30000, "retry_after": 12},
    },
}


# -- small builders -------------------------------------------------------------


def ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def string(description: str | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "string", **extra}
    if description:
        out["description"] = description
    return out


def enum(values: list[str] | tuple[str, ...], description: str | None = None) -> Schema:
    return string(description, enum=list(values))


def timestamp(description: str = "Unix time in seconds.") -> Schema:
    return {"type": "number", "description": description}


def obj(
    properties: Schema,
    required: tuple[str, ...] | list[str] = (),
    *,
    description: str | None = None,
    closed: bool = False,
    **extra: Any,
) -> Schema:
    """An object schema; ``closed`` when the server refuses unknown fields."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    if closed:
        out["additionalProperties"] = False
    if description:
        out["description"] = description
    out.update(extra)
    return out


def page_of(item: str) -> Schema:
    return obj(
        {
            "items": {"type": "array", "items": ref(item)},
            "next_cursor": nullable(string("Pass as `cursor` for the next page; null on the last page.")),
        },
        ["items", "next_cursor"],
        description="A page of a list.",
    )


def json_content(schema: Schema, example: Any = None) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def request_body(schema_name: str, example: Any = None) -> Schema:
    return {"required": True, "content": json_content(ref(schema_name), example)}


def ok(description: str, schema: Schema, example: Any = None) -> Schema:
    return {"description": description, "content": json_content(schema, example)}


NO_CONTENT: Schema = {"description": "Done; no body."}


def errors(*codes: str) -> dict[str, Schema]:
    """The error responses for ``codes``, grouped by HTTP status."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_STATUS[code], []).append(code)
    responses: dict[str, Schema] = {}
    for status, group in sorted(by_status.items()):
        envelope = obj({"error": {"allOf": [ref("Error"), {"properties": {"code": {"enum": group}}}]}}, ["error"])
        media: Schema = {"schema": envelope}
        if len(group) == 1:
            media["example"] = {"error": ERROR_EXAMPLES[group[0]]}
        else:
            media["examples"] = {c: {"value": {"error": ERROR_EXAMPLES[c]}} for c in group}
        response: Schema = {
            "description": f"{STATUS_TEXT[status]} Codes: {', '.join(group)}.",
            "content": {"application/json": media},
        }
        if status in (RateLimited.status, Unavailable.status):
            response["headers"] = {"Retry-After": ref("RetryAfter", "headers")}
        responses[str(status)] = response
    return responses


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: dict[str, Schema],
    *,
    description: str | None = None,
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
    security: list[Schema] | None = None,
) -> Schema:
    op: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    op["responses"] = responses
    if security is not None:
        op["security"] = security
    return op


ADMIN: list[Schema] = [{"adminToken": []}]
AGENT: list[Schema] = [{"agentToken": []}]
PUBLIC: list[Schema] = []
PAGING = [ref("Cursor", "parameters"), ref("Limit", "parameters")]
ID = [ref("Id", "parameters")]

# -- examples ---------------------------------------------------------------------

CHANNEL_EXAMPLE = {
    "type": "sms",
    "provider": "twilio",
    "address": "+15550001111",
    "name": "Support line",
    "credentials": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "your-auth-token"},
}
TEMPLATE_EXAMPLE = {
    "name": "Shipment late",
    "channel_types": ["sms", "whatsapp"],
    "default_locale": "en-US",
    "bodies": {
        "en-US": "Hi {{CustomerName}}, your order for case {{CaseName}} ships on {{ship_date}}.",
        "fr-FR": "Bonjour {{CustomerName}}, votre commande ({{CaseName}}) part le {{ship_date}}.",
    },
}
CONFIGURATION_EXAMPLE = {
    "name": "Late shipment notice",
    "show_in_timeline": True,
    "channel_type": "sms",
    "channel_id": "ch_0a1b2c3d4e5f60718293",
    "template_id": "tpl_0a1b2c3d4e5f60718293",
    "queue": "support",
}
CONTACT_EXAMPLE = {
    "tocontactid": "+15551234567",
    "channelid": "sms",
    "optin": True,
    "locale": "fr-FR",
    "contextitems": {"ship_date": "12 mai"},
    "entityrelationshipname": "incident_msdyn_ocoutboundmessages",
    "msdyn_ocoutboundconfigurationid": "cfg_0a1b2c3d4e5f60718293",
    "CustomerName": "Ana Ruiz",
    "CaseName": "CAS-01234",
}
SEND_EXAMPLE = {
    "configuration_id": "cfg_0a1b2c3d4e5f60718293",
    "contacts": [
        CONTACT_EXAMPLE,
        {
            "tocontactid": "5551239876",
            "channelid": "SMS",
            "optin": False,
            "entityrelationshipname": "incident_msdyn_ocoutboundmessages",
            "CustomerName": "Bo Chen",
            "CaseName": "CAS-01235",
        },
        {
            "tocontactid": "not a number",
            "channelid": "sms",
            "optin": True,
            "entityrelationshipname": "incident_msdyn_ocoutboundmessages",
            "CustomerName": "Cy Dale",
            "CaseName": "CAS-01236",
        },
    ],
}
SEND_ANSWER_EXAMPLE = {
    "request_id": "req_0a1b2c3d4e5f60718293",
    "results": [
        {"index": 0, "status": "queued", "activity_id": "act_0a1b2c3d4e5f60718293", "encoding": "GSM-7", "segments": 1},
        {
            "index": 1,
            "status": "skipped_no_optin",
            "activity_id": "act_1a1b2c3d4e5f60718293",
            "encoding": "GSM-7",
            "segments": 1,
        },
        {
            "index": 2,
            "status": "rejected",
            "error": {
                "code": "invalid_phone",
                "message": "not a valid phone number",
                "details": {"field": "tocontactid", "reason": "not_a_number"},
            },
        },
    ],
}

# -- schemas ----------------------------------------------------------------------

_NAME = string("1 to 200 characters.", minLength=1, maxLength=200)
_LOCALE = string("BCP 47 language tag, e.g. `en-US`.", pattern=LOCALE_RE.pattern, examples=["en-US"])
_QUEUE = string("Queue name.", pattern=QUEUE_RE.pattern, examples=["default"])
_RECORD = {"id": string("Generated on create; opaque and stable."), "org_id": string(), "created_at": timestamp()}


def record(schema: Schema) -> Schema:
    """A stored catalog record: the input fields plus id, org_id and created_at."""
    return obj({**_RECORD, **schema["properties"]}, [*_RECORD, *schema.get("required", ())])


def optional(schema: Schema) -> Schema:
    """The same object with no field required (a PATCH body)."""
    return {k: v for k, v in schema.items() if k != "required"}


_LIMITS = obj(
    {k: {"type": "integer", "minimum": 1, "maximum": 10_000_000, "default": v} for k, v in DEFAULT_LIMITS.items()},
    description="Per-org limits; omitted ones keep their current (or default) value.",
    closed=True,
)
_CLOCK = string(
    "Local time of day, `HH:MM` or `HH:MM:SS`; `end` may be `24:00`.",
    pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?|24:00(:00)?)$",
    examples=["08:00", "21:00"],
)
_QUIET_HOURS = obj(
    {
        "start": _CLOCK,
        "end": {**_CLOCK, "description": "Exclusive; after `start` (a window does not span midnight)."},
        "days": {
            "type": "array",
            "minItems": 1,
            "items": enum(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            "description": "Days the window is open, by the recipient's local date; default every day.",
        },
        "default_timezone": string(
            "IANA zone assumed for a number whose zone is unknown (e.g. `+800`); "
            "without it such a number is sent at once.",
            examples=["Europe/Paris"],
        ),
    },
    ["start", "end"],
    closed=True,
    description="Send only in these local hours and days of the recipient: its `timezone` context "
    "item, else every zone its number may be in (the window must be open in all). A "
    "contact outside them is accepted as `deferred` with `send_at` and sent then.",
    examples=[{"start": "08:00", "end": "21:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}],
)
_ORG_INPUT = obj(
    {
        "name": _NAME,
        "limits": ref("Limits"),
        "default_region": string(
            "ISO 3166 country used to read numbers written without `+`.", default="US", examples=["US", "GB"]
        ),
        "quiet_hours": nullable(ref("QuietHours")),
    },
    ["name"],
)
_PARTITIONS = {
    "type": "integer",
    "minimum": 1,
    "maximum": 16,
    "default": 1,
    "description": "Outbound partitions: above 1, the org's contacts (channel and number) are spread "
    "over this many Redis hash tags, so that one org's sends spread over the nodes of a Redis "
    "Cluster; each contact's messages keep their order. Set at creation only. Above 1, event "
    "endpoints are refused (not supported yet). A send request answered with an "
    "error (503) may then still be completed: retry it with the same `Idempotency-Key`. Absent from an org: 1.",
}
_ORG_CREATE = {**_ORG_INPUT, "properties": {**_ORG_INPUT["properties"], "partitions": _PARTITIONS}}
_ORG = obj(
    {
        "id": string(),
        "name": string(),
        "limits": ref("Limits"),
        "default_region": string(),
        "created_at": timestamp(),
        "quiet_hours": nullable(
            {**ref("QuietHours"), "description": "Applies to every configuration without its own; `null`: none."}
        ),
        "partitions": _PARTITIONS,
    },
    ["id", "name", "limits", "default_region", "created_at"],
)

_CREDENTIALS = obj(
    {
        "account_sid": string("Twilio and sandbox."),
        "auth_token": string("Twilio and sandbox."),
        "customer_id": string("TeleSign."),
        "api_key": string("TeleSign."),
    },
    description="Write-only. `twilio` and `sandbox` need `account_sid` and `auth_token`; "
    "`telesign` needs `customer_id` and `api_key`. On PATCH, given keys replace stored ones.",
    additionalProperties={"type": "string"},
)
_CHANNEL_FIELDS = {
    "type": enum(CHANNEL_TYPES),
    "provider": enum(PROVIDERS),
    "address": string("Sender number; normalized to E.164.", examples=["+15550001111"]),
    "name": _NAME,
    "api_base_url": string(
        "Provider API base URL (else `TWILIO_API_BASE_URL` or `TELESIGN_API_BASE_URL`, "
        "else the provider's own). https to a public address, without user info, "
        "query or control characters; http and private addresses only for hosts in "
        "the operator's `HUB_ALLOWED_PROVIDER_HOSTS`. Refused with 400 "
        "(`details.field`: `api_base_url`); a send to an address refused at "
        "connection time ends `rejected` with `provider_url_forbidden`.",
        format="uri",
    ),
    "messages_per_second": {
        "type": ["number", "null"],
        "exclusiveMinimum": 0,
        "maximum": 10_000,
        "description": "Sending pace, kept by all hub processes together; `null` clears it.",
    },
    "keyword_replies": {
        "enum": ["auto", "hub", "provider", None],
        "default": "auto",
        "description": "Who sends the one confirmation a STOP or START gets: `hub` "
        "(through this channel), `provider` (the provider answers "
        "itself; the hub sends nothing), `auto` (the default; "
        "`null` restores it): `provider` for Twilio SMS, whose "
        "opt-out handling answers, `hub` otherwise.",
    },
}
_CHANNEL_INPUT = obj(
    {**_CHANNEL_FIELDS, "credentials": ref("Credentials")}, ["type", "provider", "address", "credentials"], closed=True
)
_CHANNEL = obj(
    {
        **_RECORD,
        **_CHANNEL_FIELDS,
        "credentials": obj(
            {},
            description="Which credentials are set, never their values.",
            additionalProperties={"const": "set"},
            examples=[{"account_sid": "set", "auth_token": "set"}],
        ),
        "circuit": enum(
            ["closed", "open", "half_open"],
            "Only on `GET /v1/channels/{id}`: the channel's circuit breaker. `open` after "
            "`HUB_CIRCUIT_THRESHOLD` retryable provider failures in a row: sends wait "
            "without calling the provider for `HUB_CIRCUIT_COOLDOWN`; `half_open`: one "
            "probe at a time; a success closes it.",
        ),
    },
    [*_RECORD, "type", "provider", "address", "credentials"],
)

_TEMPLATE_INPUT = obj(
    {
        "name": string(f"1 to {MAX_NAME_LENGTH} characters.", minLength=1, maxLength=MAX_NAME_LENGTH),
        "channel_types": {"type": "array", "items": enum(CHANNEL_TYPES), "minItems": 1, "uniqueItems": True},
        "default_locale": {**_LOCALE, "description": "Must be a key of `bodies`."},
        "bodies": obj(
            {},
            description="Text per locale, with `{{CustomerName}}`, `{{CaseName}}` and "
            "`{{key}}` (a context item) placeholders.",
            minProperties=1,
            propertyNames={"pattern": LOCALE_RE.pattern},
            additionalProperties=string(minLength=1, maxLength=MAX_BODY_LENGTH),
        ),
        "content_sids": obj(
            {},
            description="WhatsApp: the approved template (Twilio `ContentSid`) per "
            "locale of `bodies`, for business-initiated messages.",
            propertyNames={"pattern": LOCALE_RE.pattern},
            additionalProperties=string(pattern="^HX"),
        ),
    },
    ["name", "channel_types", "default_locale", "bodies"],
)

_CONFIGURATION_INPUT = obj(
    {
        "name": _NAME,
        "show_in_timeline": {
            "type": "boolean",
            "default": False,
            "description": "Show its activities in the contact timeline; contacts then need `entityrelationshipname`.",
        },
        "channel_type": enum(CHANNEL_TYPES),
        "channel_id": string("A channel of `channel_type`."),
        "template_id": string("A template whose `channel_types` include `channel_type`."),
        "queue": string("Where replies are routed.", default="default", minLength=1, maxLength=100),
        "quiet_hours": {
            "anyOf": [ref("QuietHours"), {"const": False}, {"type": "null"}],
            "description": "Overrides the org's quiet hours; `false`: send at any hour; "
            "`null` or absent: the org's apply.",
        },
        "correlation_keys": nullable(
            {
                "type": "array",
                "maxItems": 5,
                "default": ["case_name"],
                "items": string(minLength=1, maxLength=100),
                "description": "What a reply may name to say which of several recent messages it answers: "
                "`case_name` (the contact's `CaseName`) or names of context items. When a "
                "customer has more than one message from the hub within the correlation window, "
                "a reply is linked to the newest whose value of one of these keys it contains "
                "(case-insensitive, not glued to a letter or digit; values of fewer than 3 "
                "characters never match; the first 64 characters count). `null` or absent: "
                '`["case_name"]`; `[]`: replies are linked to the quoted or the latest message only.',
                "examples": [["case_name", "OrderNumber"]],
            }
        ),
        "priority": {
            "type": "integer",
            "minimum": 0,
            "maximum": 100,
            "default": 50,
            "description": "Priority of the conversations its replies open: higher waits less.",
        },
        "required_skills": {
            "type": "array",
            "items": ref("RequiredSkill"),
            "maxItems": 50,
            "description": "Only agents with these skills take its replies.",
        },
    },
    ["name", "channel_type", "channel_id", "template_id"],
    closed=True,
)

_CANNED_INPUT = obj(
    {
        "title": string(minLength=1, maxLength=100),
        "body": string(minLength=1, maxLength=MAX_BODY_LENGTH),
    },
    ["title", "body"],
)

_CONTACT = obj(
    {
        "tocontactid": string(
            "Customer phone number; normalized to E.164. A number without `+` is read in "
            "the org's `default_region`. Invalid: `invalid_phone`.",
            examples=["+15551234567", "5551234567"],
        ),
        "channelid": string(
            "`sms` or `whatsapp`, any case; must equal the configuration's channel type (else `channel_mismatch`).",
            examples=["sms", "whatsapp"],
        ),
        "optin": {
            "anyOf": [{"type": "boolean"}, enum(["true", "false", "yes", "no", "1", "0"], "Read case-insensitively.")],
            "description": "`false`: not sent, status `skipped_no_optin`. Anything unclear: `invalid_field`.",
        },
        "locale": string(
            "Preferred language; missing or unknown falls back to the same language, then to the template's default.",
            examples=["fr-FR"],
        ),
        "contextitems": obj(
            {}, description="Values for the template's `{{key}}` placeholders.", additionalProperties=True
        ),
        "entityrelationshipname": string(
            "Relationship the activity is tracked under; required when the "
            "configuration shows in the timeline (else `missing_relationship`)."
        ),
        "msdyn_ocoutboundconfigurationid": string(
            "If given, must equal `configuration_id` (case-insensitive), else `configuration_mismatch`."
        ),
        "CustomerName": string("Customer's name (`{{CustomerName}}`)."),
        "CaseName": string("Case's name (`{{CaseName}}`)."),
    },
    list(REQUIRED_FIELDS),
    description="One contact, in the ContactList shape. Faults in a contact reject "
    "only that contact (see `SendResult`); a blank required field is "
    "`missing_field`.",
    examples=[CONTACT_EXAMPLE],
)

_SEND_REQUEST = obj(
    {
        "configuration_id": string("An outbound configuration of this org.", minLength=1),
        "contacts": {
            "type": "array",
            "minItems": 1,
            "items": ref("Contact"),
            "description": "At most the org's `contacts_per_request` (default "
            f"{DEFAULT_LIMITS['contacts_per_request']}); "
            "more is `413 too_many_contacts`.",
        },
    },
    ["configuration_id", "contacts"],
)

_ENCODING = enum(
    ["GSM-7", "UCS-2"],
    "SMS encoding of the rendered body: one character outside "
    "the GSM alphabet sends it all in UCS-2 (70 characters a segment, not 160).",
)
_SEGMENT_COUNT: Schema = {
    "type": "integer",
    "minimum": 0,
    "description": "SMS segments the rendered body costs (providers bill by segment).",
}

_SEND_RESULT = obj(
    {
        "index": {"type": "integer", "minimum": 0, "description": "Position of the contact in the request."},
        "status": enum(SEND_RESULT_STATUSES),
        "activity_id": string("Present unless `rejected`."),
        "send_at": string(
            "When `deferred`: the instant (ISO 8601, UTC) the recipient's quiet hours open, when the hub sends it.",
            format="date-time",
        ),
        "encoding": _ENCODING,
        "segments": {
            **_SEGMENT_COUNT,
            "description": _SEGMENT_COUNT["description"] + " Present with `encoding` for SMS unless `rejected`.",
        },
        "error": obj(
            {"code": enum(CONTACT_ERROR_CODES), "message": string(), "details": {}},
            ["code", "message"],
            description="Present when `rejected`.",
        ),
    },
    ["index", "status"],
)

_HISTORY_EVENT = obj(
    {
        "status": ref("ActivityStatus"),
        "at": timestamp(),
        "source": enum(["hub", "worker", "provider", "callback"]),
        "error_code": string("Provider error code."),
        "provider_status": string(),
    },
    ["status", "at", "source"],
)

_ACTIVITY = obj(
    {
        "id": string(),
        "org_id": string(),
        "configuration_id": string(),
        "request_id": string(),
        "channel_id": string(),
        "channel_type": enum(CHANNEL_TYPES),
        "to": string("E.164."),
        "from": string("E.164 sender."),
        "locale": string("Template locale used."),
        "body": nullable(string("Rendered text; null once the customer was erased.")),
        "customer_name": nullable(string()),
        "case_name": nullable(string()),
        "entityrelationshipname": nullable(string()),
        "provider_message_id": nullable(string()),
        "status": ref("ActivityStatus"),
        "error_code": nullable(string("Provider error code.")),
        "created_at": timestamp(),
        "updated_at": timestamp(),
        "delivered_at": nullable(timestamp()),
        "send_at": nullable(
            string(
                "Set when the recipient's quiet hours deferred it: when it was "
                "(or will be) released to send (ISO 8601, UTC).",
                format="date-time",
            )
        ),
        "content_sid": nullable(string("WhatsApp approved template used, if any.")),
        "erased": {
            "const": True,
            "description": "Only once the customer was erased "
            "(`DELETE /v1/contacts/{phone}`): body and customer details are null.",
        },
        "encoding": _ENCODING,
        "segments": {**_SEGMENT_COUNT, "description": _SEGMENT_COUNT["description"] + " SMS only."},
        "retrying": obj(
            {
                "attempts": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Provider attempts that failed and will be retried.",
                },
                "next_at": timestamp("When the next attempt is due (Unix time in seconds)."),
                "last_error": nullable(
                    string(
                        "The last failure's provider code (`unreachable`: no connection; "
                        "`timeout`: no answer in time; `circuit_open`: held back, "
                        "provider not called)."
                    )
                ),
            },
            ["attempts", "next_at", "last_error"],
            description="Only while `sending` and waiting on a retry after the provider could not take "
            "it (unreachable, 429, 5xx): tried again until `HUB_SEND_RETRY_WINDOW` after the "
            "first attempt, then `failed` with the last error.",
        ),
        "history": {
            "type": "array",
            "items": ref("HistoryEvent"),
            "description": "Every status event in arrival order (only on `GET /v1/outbound/activities/{id}`).",
        },
    },
    [
        "id",
        "org_id",
        "configuration_id",
        "request_id",
        "channel_id",
        "channel_type",
        "to",
        "from",
        "status",
        "created_at",
        "updated_at",
    ],
    description="One message to one contact.",
)

_STATUS_COUNTS = obj({s: {"type": "integer", "minimum": 0} for s in ACTIVITY_STATUSES})
_NONZERO_COUNTS = obj({}, additionalProperties={"type": "integer"}, description="Non-zero counts by status.")

_RATE = nullable({"type": "number", "minimum": 0})
_SMS_TOTALS = obj(
    {
        "messages": {
            "type": "integer",
            "description": "SMS messages that left the hub (`sending` to `failed`: the delivery rate's denominator).",
        },
        "segments": {
            "type": "integer",
            "description": "Their SMS segments, the unit providers bill "
            "(messages archived before the hub recorded segments count 0).",
        },
    },
    ["messages", "segments"],
)
_REPLIES = obj(
    {
        "delivered": {"type": "integer", "description": "Activities delivered or read: the rates' denominator."},
        "replied": {
            "type": "integer",
            "description": "Activities a customer answered within the "
            "correlation window (a conversation correlated to them opened).",
        },
        "reply_rate": {
            **_RATE,
            "description": "`replied` over `delivered` (null: none delivered; "
            "above 1 when replies come to messages whose receipt never came).",
        },
        "opted_out": {
            "type": "integer",
            "description": "Activities answered by an opt-out keyword (STOP) within the correlation window.",
        },
        "opt_out_rate": {**_RATE, "description": "`opted_out` over `delivered`."},
        "conversations_opened": {
            "type": "integer",
            "description": "Conversations opened in answer to the activities (a customer may open more than one).",
        },
        "time_to_first_reply": obj(
            {
                "count": {"type": "integer"},
                "average_seconds": nullable({"type": "number"}),
                "p50_seconds_at_most": nullable(
                    {
                        "type": "number",
                        "description": "Upper bound of the "
                        "histogram bucket holding the median (60, 300, 900, 1800, "
                        "3600, 7200, 21600, 86400 or 259200 s; null past the last).",
                    }
                ),
                "p90_seconds_at_most": nullable({"type": "number"}),
            },
            ["count", "average_seconds", "p50_seconds_at_most", "p90_seconds_at_most"],
        ),
    },
    ["delivered", "replied", "reply_rate", "opted_out", "opt_out_rate", "conversations_opened", "time_to_first_reply"],
)
_ENGAGEMENT = {"sms": _SMS_TOTALS, "replies": _REPLIES}
_ENGAGEMENT_KEYS = ["sms", "replies"]

_REPORT = obj(
    {
        "configuration_id": string(),
        "total": {"type": "integer"},
        "counts": ref("StatusCounts"),
        "delivery_rate": nullable(
            {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Delivered or read, over messages that left the hub.",
            }
        ),
        "time_to_deliver": obj(
            {
                "count": {"type": "integer"},
                "average_seconds": nullable({"type": "number"}),
                "p50_seconds_at_most": nullable({"type": "number"}),
                "p90_seconds_at_most": nullable({"type": "number"}),
            },
            ["count", "average_seconds", "p50_seconds_at_most", "p90_seconds_at_most"],
        ),
        **_ENGAGEMENT,
        "by_hour": {
            "type": "array",
            "items": obj(
                {
                    "hour": string("UTC hour the activities were created in.", format="date-time"),
                    "counts": _NONZERO_COUNTS,
                    **_ENGAGEMENT,
                },
                ["hour", "counts", *_ENGAGEMENT_KEYS],
            ),
        },
        "by_template": {
            "type": "array",
            "description": "Counts by the template each activity was "
            "rendered from (a configuration's template can change).",
            "items": obj(
                {
                    "template_id": nullable(string()),
                    "counts": _NONZERO_COUNTS,
                    **_ENGAGEMENT,
                },
                ["template_id", "counts", *_ENGAGEMENT_KEYS],
            ),
        },
        "by_locale": {
            "type": "array",
            "description": "Counts by the locale each body was rendered in (null: none recorded).",
            "items": obj(
                {
                    "locale": nullable(string(examples=["es-MX"])),
                    "counts": _NONZERO_COUNTS,
                    **_ENGAGEMENT,
                },
                ["locale", "counts", *_ENGAGEMENT_KEYS],
            ),
        },
    },
    [
        "configuration_id",
        "total",
        "counts",
        "delivery_rate",
        "time_to_deliver",
        *_ENGAGEMENT_KEYS,
        "by_hour",
        "by_template",
        "by_locale",
    ],
)

_MESSAGE = obj(
    {
        "id": string(),
        "direction": enum(
            ["inbound", "outbound", "system", "note"], "`note`: an agent's internal note, never sent to the customer."
        ),
        "body": string(),
        "at": timestamp(),
        "provider_message_id": string(),
        "media": {
            "type": "array",
            "items": obj({"url": string(format="uri"), "content_type": string()}),
            "description": "Attachments. Inbound: the provider's media links and content types; outbound: "
            "the https links an agent's reply attached (content type from the file "
            "extension, empty when unknown).",
        },
        "profile_name": string("WhatsApp profile name of the customer."),
        "agent_id": string("Outbound and note: the agent who replied or wrote it."),
        "client_id": string("Outbound and note: the console's id for the command."),
        "status": string("Outbound: delivery status."),
        "template_id": string("Outbound: the template an agent sent (the `template` command)."),
        "locale": string("Outbound from a template: the locale it was rendered in."),
        "error_code": string(),
    },
    ["id", "direction", "body", "at"],
)

_CONVERSATION = obj(
    {
        "id": string(),
        "customer": string("Customer phone number."),
        "channel_id": string(),
        "channel_type": enum(CHANNEL_TYPES),
        "status": enum(CONVERSATION_STATUSES),
        "agent_id": nullable(string()),
        "queue": string(),
        "correlated": {"type": "boolean", "description": "Whether it answers an outbound activity."},
        "created_at": timestamp(),
        "previous_conversation_id": nullable(string("The closed conversation this one follows.")),
        "activity": nullable(
            obj(
                {
                    "id": string(),
                    "body": string(),
                    "configuration_id": string(),
                    "configuration_name": nullable(string()),
                    "case_name": string(),
                    "customer_name": string(),
                    "sent_at": timestamp(),
                    "locale": string(),
                },
                ["id"],
                description="The outbound activity the customer answers (once it has left Redis, "
                "an older one than the latest may show only its id, case and time).",
            )
        ),
        "correlation": nullable(
            obj(
                {
                    "activity_id": string(),
                    "method": enum(
                        ["provider_context", "content_match", "latest"],
                        "`provider_context`: the provider said which message is answered (a WhatsApp "
                        "quoted reply); `content_match`: the reply names that message's case or another "
                        "of its configuration's `correlation_keys`, and other recent messages went to the "
                        "customer; `latest`: the latest message sent to the customer on this channel "
                        "within the correlation window.",
                    ),
                },
                ["activity_id", "method"],
                description="Which outbound activity the conversation answers and how "
                "the hub found it; `null` when it answers none.",
            )
        ),
        "messages": {"type": "array", "items": ref("Message"), "description": "Only on `GET /v1/conversations/{id}`."},
        "priority": {
            "type": "integer",
            "minimum": 0,
            "maximum": 100,
            "description": "Waiting order: higher first, then oldest (default 50).",
        },
        "close_reason": string(
            "Why the hub closed it: `inactive` (no customer message for the queue's "
            "`inactive_close_seconds`), `erased`; absent when an agent closed it."
        ),
        "whatsapp_window_closes_at": timestamp(
            "Open WhatsApp conversations: when free text stops being allowed (24 h after the customer's "
            "last message on this channel); after it, only an approved template (the agent's `template` "
            "command)."
        ),
    },
    [
        "id",
        "customer",
        "channel_id",
        "status",
        "agent_id",
        "queue",
        "correlated",
        "created_at",
        "activity",
        "correlation",
    ],
)

_PHONE_PARAMETER = {
    "name": "phone",
    "in": "path",
    "required": True,
    "schema": string(examples=["+15551234567"]),
    "description": "Phone number; without `+` it is read in the org's `default_region`. "
    "Not a number: 400 (`details.field`: `phone`).",
}
_CONSENT_SOURCES = ["keyword", "api", "send_request"]
_CONSENT_ENTRY = obj(
    {
        "id": string("The entry's place in the ledger; the cursor of a page ends at it."),
        "phone": nullable(
            string("E.164; null once the customer was erased (the entry stays, found by the number's hash).")
        ),
        "channel_id": string(),
        "action": enum(["opt_in", "opt_out"]),
        "source": enum(
            _CONSENT_SOURCES,
            "`keyword`: the customer's STOP/START-type message; `api`: "
            "`POST /v1/contacts/{phone}/consent`; `send_request`: a send "
            "request's `optin: true`, recorded when the ledger's last word for "
            "the number and channel was not already an opt-in.",
        ),
        "at": timestamp(),
        "message_id": nullable(string("Keyword: the hub's id of the customer's message.")),
        "provider_message_id": nullable(string("Keyword: the provider's id of the customer's message.")),
        "activity_id": nullable(string("Send request: the activity that carried the opt-in.")),
        "actor": nullable(string("API: who asked (`api_key:` and the start of the key's hash).")),
    },
    ["id", "phone", "channel_id", "action", "source", "at"],
)
_ERASED_COUNTS = obj(
    {
        "activities": {
            "type": "integer",
            "minimum": 0,
            "description": "Activities whose body and customer details were erased.",
        },
        "conversations": {"type": "integer", "minimum": 0, "description": "Conversations deleted."},
        "messages": {"type": "integer", "minimum": 0, "description": "Conversation messages deleted."},
        "opt_outs_kept": {
            "type": "integer",
            "minimum": 0,
            "description": "Channels the customer stays opted out of (kept as the number's hash).",
        },
        "activities_in_flight": {
            "type": "integer",
            "minimum": 0,
            "description": "Activities still queued, deferred or sending, left whole: they go "
            "out as accepted. Erase again once they are sent.",
        },
    },
    ["activities", "conversations", "messages", "opt_outs_kept", "activities_in_flight"],
)
_CONSENT = obj(
    {
        "phone": string("E.164."),
        "channels": {
            "type": "array",
            "items": obj({"channel_id": string(), "opted_out": {"type": "boolean"}}, ["channel_id", "opted_out"]),
            "description": "The current state on each of the org's channels.",
        },
        "erasures": {
            "type": "array",
            "description": "Erasures of this number, newest first (at most 20).",
            "items": obj(
                {"at": timestamp(), "requested_by": string(), "erased": _ERASED_COUNTS},
                ["at", "requested_by", "erased"],
            ),
        },
        "items": {
            "type": "array",
            "items": ref("ConsentEntry"),
            "description": "The ledger, newest first. An entry shows a few seconds after the change "
            "(it is written to the history by the archiver).",
        },
        "next_cursor": nullable(string("Pass as `cursor` for the next page; null on the last page.")),
    },
    ["phone", "channels", "erasures", "items", "next_cursor"],
)
_CONSENT_INPUT = obj(
    {"channel_id": string(), "action": enum(["opt_in", "opt_out"])}, ["channel_id", "action"], closed=True
)
_ERASURE = obj({"phone": string("E.164."), "erased": _ERASED_COUNTS}, ["phone", "erased"])

_TIMELINE_ITEM = {
    "oneOf": [
        obj(
            {"kind": {"const": "activity"}, "at": timestamp(), "activity": ref("Activity")}, ["kind", "at", "activity"]
        ),
        obj(
            {"kind": {"const": "message"}, "at": timestamp(), "conversation_id": string(), "message": ref("Message")},
            ["kind", "at", "conversation_id", "message"],
        ),
    ],
    "description": "An outbound activity (of a configuration shown in the timeline) or a conversation message.",
}

_AGENT = obj(
    {
        "id": string(),
        "name": string(),
        "email": string(format="email"),
        "queues": {"type": "array", "items": _QUEUE},
        "capacity": {"type": "integer"},
        "presence": enum(PRESENCES),
        "open": {"type": "integer", "description": "Open conversations now."},
        "role": enum(list(ROLES)),
        "skills": obj(
            {},
            additionalProperties={"type": "integer", "minimum": 1, "maximum": 5},
            description="Skill → level (1-5), set by `PUT /v1/agents/{id}/skills`.",
        ),
        "created_at": timestamp(),
    },
    ["id", "name", "email", "queues", "capacity", "presence", "open", "role", "created_at"],
)
_AGENT_INPUT = obj(
    {
        "name": _NAME,
        "email": string("The login; unique within the org.", format="email", maxLength=254),
        "password": string(
            "At least 10 characters, not only spaces, not one of the most common passwords.",
            minLength=10,
            maxLength=256,
            writeOnly=True,
        ),
        "queues": {
            "type": "array",
            "items": _QUEUE,
            "default": ["default"],
            "description": "At least one for an agent; a supervisor serves none by default.",
        },
        "capacity": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 3,
            "description": "Open conversations at once.",
        },
        "role": {
            **enum(list(ROLES)),
            "default": "agent",
            "description": "`supervisor`: signs in like an agent; on the websocket also watches the "
            "org's board, monitors, whispers, takes over and reassigns; reads agent metrics.",
        },
    },
    ["name", "email", "password"],
)
_LOGIN = obj(
    {
        "email": string(format="email"),
        "password": string(writeOnly=True),
        "org_id": string(
            "Only when the hub answers `409 org_required` (one email signing "
            "in to agents of several orgs with one password)."
        ),
    },
    ["email", "password"],
)
_LOGIN_ANSWER = obj(
    {
        "token": string("Agent token: bearer for `/v1/agents/me`, `/v1/agents/logout` and `/v1/agent/ws-ticket`."),
        "expires_in": {"type": "integer", "description": "Seconds."},
        "agent": ref("Agent"),
        "org_id": string(),
    },
    ["token", "expires_in", "agent", "org_id"],
)
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_AGENT_METRICS = obj(
    {
        "from": string(format="date"),
        "to": string(format="date"),
        "items": {
            "type": "array",
            "items": obj(
                {
                    "day": string(format="date"),
                    "agent_id": string(),
                    "agent_name": {"type": ["string", "null"]},
                    "handled": {"type": "integer"},
                    "replies": {"type": "integer"},
                    "first_responses": {
                        "type": "integer",
                        "description": "Conversations first answered by the agent that day.",
                    },
                    "first_response_p50_s": _NUMBER_OR_NULL,
                    "first_response_p90_s": _NUMBER_OR_NULL,
                    "handle_time_avg_s": _NUMBER_OR_NULL,
                    "handle_time_p50_s": _NUMBER_OR_NULL,
                },
                [
                    "day",
                    "agent_id",
                    "agent_name",
                    "handled",
                    "replies",
                    "first_responses",
                    "first_response_p50_s",
                    "first_response_p90_s",
                    "handle_time_avg_s",
                    "handle_time_p50_s",
                ],
            ),
        },
    },
    ["from", "to", "items"],
)
_ME = obj(
    {
        "agent": ref("Agent"),
        "org_id": string(),
        "waiting": {"type": "integer", "description": "Conversations waiting in the agent's queues."},
        "colleagues": {
            "type": "array",
            "items": obj(
                {
                    "id": string(),
                    "name": string(),
                    "presence": enum(PRESENCES),
                    "queues": {"type": "array", "items": _QUEUE},
                },
                ["id", "name", "presence", "queues"],
            ),
        },
        "queues": {"type": "array", "items": _QUEUE, "description": "Every queue of the org's agents."},
        "canned_responses": {
            "type": "array",
            "items": obj({"id": string(), "title": string(), "body": string()}, ["id", "title", "body"]),
        },
        "whatsapp_templates": {
            "type": "array",
            "description": "The org's templates approved for WhatsApp "
            "(a content sid for at least one locale): what the console offers once a "
            "conversation's 24-hour window has closed.",
            "items": obj(
                {
                    "id": string(),
                    "name": string(),
                    "default_locale": string(),
                    "bodies": {"type": "object", "additionalProperties": string()},
                    "approved_locales": {"type": "array", "items": string()},
                },
                ["id", "name", "default_locale", "bodies", "approved_locales"],
            ),
        },
    },
    ["agent", "org_id", "waiting", "colleagues", "queues", "canned_responses", "whatsapp_templates"],
)

_WS_TICKET = obj(
    {
        "ticket": string("Opens one websocket: `/v1/agent/ws?ticket=`."),
        "expires_at": timestamp("Unix time in seconds after which the ticket opens nothing."),
        "expires_in": {"type": "number", "description": "Seconds."},
    },
    ["ticket", "expires_at", "expires_in"],
)

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "code": string("Stable snake_case code."),
            "message": string("For people."),
            "details": {"description": 'Optional; e.g. `{"field": "name"}`.'},
        },
        ["code", "message"],
    ),
    "Limits": _LIMITS,
    "QuietHours": _QUIET_HOURS,
    "OrgInput": _ORG_CREATE,
    "OrgPatch": {**optional(_ORG_INPUT), "additionalProperties": False},
    "Org": _ORG,
    "OrgCreated": {"allOf": [ref("Org"), obj({"api_key": string("Shown once; the org's bearer token.")}, ["api_key"])]},
    "Credentials": _CREDENTIALS,
    "ChannelInput": _CHANNEL_INPUT,
    "ChannelPatch": optional(_CHANNEL_INPUT),
    "Channel": _CHANNEL,
    "TemplateInput": _TEMPLATE_INPUT,
    "Template": record(_TEMPLATE_INPUT),
    "OutboundConfigurationInput": _CONFIGURATION_INPUT,
    "OutboundConfigurationPatch": optional(_CONFIGURATION_INPUT),
    "OutboundConfiguration": record(_CONFIGURATION_INPUT),
    "CannedResponseInput": _CANNED_INPUT,
    "CannedResponsePatch": optional(_CANNED_INPUT),
    "CannedResponse": record(_CANNED_INPUT),
    "Contact": _CONTACT,
    "SendRequest": _SEND_REQUEST,
    "SendResult": _SEND_RESULT,
    "SegmentsRequest": obj({"body": string("A rendered body.", minLength=1, maxLength=MAX_BODY_LENGTH)}, ["body"]),
    "Segments": obj(
        {
            "encoding": _ENCODING,
            "segments": _SEGMENT_COUNT,
            "characters": {"type": "integer", "minimum": 0},
            "ucs2_characters": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The characters that force UCS-2, in order of first use (empty for GSM-7).",
            },
        },
        ["encoding", "segments", "characters", "ucs2_characters"],
    ),
    "SendAnswer": obj(
        {
            "request_id": string(),
            "results": {"type": "array", "items": ref("SendResult"), "description": "One per contact, in order."},
        },
        ["request_id", "results"],
    ),
    "ActivityStatus": enum(
        ACTIVITY_STATUSES,
        "(`deferred` →) `queued` → `sending` → `sent` → "
        "`delivered` → `read`; or a failure or skip. Never moves "
        "backwards. `deferred`: held by the recipient's quiet hours "
        "until `send_at`.",
    ),
    "HistoryEvent": _HISTORY_EVENT,
    "Activity": _ACTIVITY,
    "StatusCounts": _STATUS_COUNTS,
    "Report": _REPORT,
    "TimelineItem": _TIMELINE_ITEM,
    "ConsentEntry": _CONSENT_ENTRY,
    "Consent": _CONSENT,
    "ConsentInput": _CONSENT_INPUT,
    "Erasure": _ERASURE,
    "Message": _MESSAGE,
    "Conversation": _CONVERSATION,
    "AgentInput": _AGENT_INPUT,
    "Agent": _AGENT,
    "Login": _LOGIN,
    "LoginAnswer": _LOGIN_ANSWER,
    "WsTicket": _WS_TICKET,
    "Me": _ME,
    "AgentMetrics": _AGENT_METRICS,
}

PARAMETERS: dict[str, Schema] = {
    "Id": {"name": "id", "in": "path", "required": True, "schema": string()},
    "OrgId": {"name": "org_id", "in": "path", "required": True, "schema": string()},
    "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "schema": string(),
        "description": "`next_cursor` of the previous page.",
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    "ConfigurationFilter": {
        "name": "configuration_id",
        "in": "query",
        "required": False,
        "schema": string(),
        "description": "Only activities of this configuration.",
    },
    "ActivityStatusFilter": {"name": "status", "in": "query", "required": False, "schema": ref("ActivityStatus")},
    "ConversationStatusFilter": {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": enum(CONVERSATION_STATUSES),
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": string(minLength=1, maxLength=255),
        "description": "The same key and body within 24 h answers the first answer again and "
        "sends nothing; the same key with another body is "
        "`409 idempotency_key_reused`.",
    },
    "ChannelId": {"name": "channel_id", "in": "path", "required": True, "schema": string()},
    "TwilioSignature": {
        "name": "X-Twilio-Signature",
        "in": "header",
        "required": True,
        "schema": string(),
        "description": "HMAC-SHA1 of `HUB_PUBLIC_URL` + path + query and the sorted form "
        "fields, keyed by the channel's `auth_token`.",
    },
}

# -- paths ------------------------------------------------------------------------


def crud(
    path: str,
    tag: str,
    name: str,
    plural: str,
    *,
    example: Schema,
    patch_merges: bool = True,
    guarded: bool = False,
    refs_checked: bool = False,
) -> dict[str, Schema]:
    """The five routes every catalog resource has. ``guarded``: a change or delete that
    breaks an outbound configuration is refused with 409."""
    noun = tag[:-1].lower()
    a = "an" if noun[0] in "aeiou" else "a"
    conflict = ("conflict",) if guarded else ()
    change_errors = errors("invalid_request", "unauthorized", "not_found", *conflict)
    item = ok(f"The {noun}.", ref(name))
    refs = (
        " `channel_id` must be a channel of `channel_type` and `template_id` a template allowing it, else 400."
        if refs_checked
        else ""
    )
    in_use = " Refused (409) while an outbound configuration uses it." if guarded else ""
    breaks = " Refused (409) if the change would break an outbound configuration using it." if guarded else ""
    patch_text = (
        "Changes the given fields; the others keep their values."
        if patch_merges
        else "Takes the whole template, like PUT."
    )
    return {
        path: {
            "post": operation(
                f"create{name}",
                f"Create {a} {noun}",
                tag,
                {"201": ok(f"The created {noun}.", ref(name)), **errors("invalid_request", "unauthorized")},
                description=refs.strip() or None,
                body=request_body(f"{name}Input", example),
            ),
            "get": operation(
                f"list{plural}",
                f"List {tag.lower()}",
                tag,
                {
                    "200": ok(f"A page of {tag.lower()}, oldest first.", page_of(name)),
                    **errors("invalid_request", "unauthorized"),
                },
                parameters=PAGING,
            ),
        },
        path + "/{id}": {
            "parameters": ID,
            "get": operation(
                f"get{name}", f"Get {a} {noun}", tag, {"200": item, **errors("unauthorized", "not_found")}
            ),
            "patch": operation(
                f"update{name}",
                f"Change {a} {noun}",
                tag,
                {"200": item, **change_errors},
                description=patch_text + breaks + refs,
                body=request_body(f"{name}Patch" if patch_merges else f"{name}Input"),
            ),
            "put": operation(
                f"replace{name}",
                f"Replace {a} {noun}",
                tag,
                {"200": item, **change_errors},
                description="Takes the whole object." + breaks + refs,
                body=request_body(f"{name}Input", example),
            ),
            "delete": operation(
                f"delete{name}",
                f"Delete {a} {noun}",
                tag,
                {"204": NO_CONTENT, **errors("unauthorized", "not_found", *conflict)},
                description=in_use.strip() or None,
            ),
        },
    }


_ORGS = {
    "/v1/orgs": {
        "post": operation(
            "createOrg",
            "Create an org",
            "Orgs",
            {
                "201": ok("The org with its API key (shown only here).", ref("OrgCreated")),
                **errors("invalid_request", "unauthorized"),
            },
            body=request_body(
                "OrgInput", {"name": "Contoso", "default_region": "US", "limits": {"contacts_per_request": 100}}
            ),
            security=ADMIN,
        ),
    },
    "/v1/orgs/{org_id}": {
        "parameters": [ref("OrgId", "parameters")],
        "get": operation(
            "getOrg",
            "Get an org",
            "Orgs",
            {"200": ok("The org.", ref("Org")), **errors("unauthorized", "not_found")},
            security=ADMIN,
        ),
        "patch": operation(
            "updateOrg",
            "Change an org's name, limits, region or quiet hours",
            "Orgs",
            {"200": ok("The org.", ref("Org")), **errors("invalid_request", "unauthorized", "not_found")},
            body=request_body("OrgPatch", {"limits": {"requests_per_hour": 60000}}),
            security=ADMIN,
        ),
    },
}

_OUTBOUND = {
    "/v1/templates/segments": {
        "post": operation(
            "countSegments",
            "Encoding and SMS segments of a body",
            "Templates",
            {
                "200": ok(
                    "How the body is sent and billed.",
                    ref("Segments"),
                    {"encoding": "UCS-2", "segments": 1, "characters": 24, "ucs2_characters": ["’"]},
                ),
                **errors("invalid_request", "unauthorized"),
            },
            description="The console's template preview asks this for each locale's rendered body. "
            "Characters of the GSM extension table (`{ } [ ] ~ \\ | ^ €`) take two of "
            "the 160; neither they nor an emoji are split across segments.",
            body=request_body("SegmentsRequest", {"body": "Hi Ada, it’s on its way"}),
        ),
    },
    "/v1/outbound/send": {
        "post": operation(
            "send",
            "Send to a list of contacts",
            "Outbound",
            {
                "202": ok(
                    "Accepted: one result per contact, in order. Contact-level faults reject only that contact.",
                    ref("SendAnswer"),
                    SEND_ANSWER_EXAMPLE,
                ),
                **errors(
                    "invalid_request",
                    "unauthorized",
                    "not_found",
                    "idempotency_key_reused",
                    "too_many_contacts",
                    "rate_limited",
                ),
            },
            description="Request-level faults (malformed JSON, unknown configuration, too many contacts, "
            "over the hourly limit) reject the whole request and queue nothing; refused "
            "requests do not count towards the hourly limit.",
            body=request_body("SendRequest", SEND_EXAMPLE),
            parameters=[ref("IdempotencyKey", "parameters")],
        ),
    },
    "/v1/outbound/activities": {
        "get": operation(
            "listActivities",
            "List outbound activities, newest first",
            "Outbound",
            {
                "200": ok("A page of activities (without `history`).", page_of("Activity")),
                **errors("invalid_request", "unauthorized"),
            },
            parameters=[ref("ConfigurationFilter", "parameters"), ref("ActivityStatusFilter", "parameters"), *PAGING],
        ),
    },
    "/v1/outbound/activities/{id}": {
        "parameters": ID,
        "get": operation(
            "getActivity",
            "Get an activity with its status history",
            "Outbound",
            {"200": ok("The activity, with `history`.", ref("Activity")), **errors("unauthorized", "not_found")},
        ),
    },
    "/v1/outbound/report": {
        "get": operation(
            "getReport",
            "Delivery report of a configuration",
            "Outbound",
            {
                "200": ok(
                    "Counts by status, delivery rate, time to deliver, SMS messages "
                    "and segments, replies (reply rate, time to first reply, opt-out "
                    "rate, conversations opened) by the hour the messages were created "
                    "in, template and locale, over all history (statuses and segments "
                    "exact right after a 202; answers once archived, seconds later).",
                    ref("Report"),
                ),
                **errors("invalid_request", "unauthorized", "not_found"),
            },
            parameters=[
                {
                    **PARAMETERS["ConfigurationFilter"],
                    "required": True,
                    "description": "The configuration to report on.",
                }
            ],
        ),
    },
    "/v1/outbound/report.csv": {
        "get": operation(
            "exportReport",
            "A configuration's report as CSV",
            "Outbound",
            {
                "200": {
                    "description": "One row per hour the messages were created in (UTC, oldest "
                    "first), template or locale, then a row `total`. Columns: the "
                    "group (hour, template_id or locale), total, a count per status, "
                    "delivery_rate, sms_messages, sms_segments, delivered, replied, "
                    "reply_rate, opted_out, opt_out_rate, conversations_opened, "
                    "first_reply_average_seconds, first_reply_p50_seconds_at_most, "
                    "first_reply_p90_seconds_at_most (as in the JSON report; empty "
                    "where it has null).",
                    "content": {"text/csv": {"schema": string()}},
                },
                **errors("invalid_request", "unauthorized", "not_found"),
            },
            parameters=[
                {
                    **PARAMETERS["ConfigurationFilter"],
                    "required": True,
                    "description": "The configuration to report on.",
                },
                {
                    "name": "group_by",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["hour", "template", "locale"], "default": "hour"},
                    "description": "One row per hour, template or locale.",
                },
            ],
        ),
    },
    "/v1/contacts/{phone}/timeline": {
        "get": operation(
            "getTimeline",
            "A contact's timeline, newest first",
            "Contacts",
            {
                "200": ok("A page of timeline items.", page_of("TimelineItem")),
                **errors("invalid_request", "unauthorized", "not_your_customer"),
            },
            description="With the org's API key, any contact. With an agent's token, "
            "only a customer the agent serves or has served within the "
            "retention period (assigned a conversation with them, also one "
            "since transferred or closed); any other is `403 not_your_customer`.",
            security=[{"orgApiKey": []}, *AGENT],
            parameters=[_PHONE_PARAMETER, *PAGING],
        ),
    },
    "/v1/contacts/{phone}/consent": {
        "get": operation(
            "getConsent",
            "A contact's consent: state per channel and the ledger",
            "Contacts",
            {
                "200": ok("The state, past erasures and a page of the ledger.", ref("Consent")),
                **errors("invalid_request", "unauthorized"),
            },
            parameters=[_PHONE_PARAMETER, *PAGING],
        ),
        "post": operation(
            "setConsent",
            "Opt a contact out of a channel, or back in",
            "Contacts",
            {
                "200": ok("The state now (the ledger entry shows a few seconds later).", ref("Consent")),
                **errors("invalid_request", "unauthorized", "not_found"),
            },
            description="Recorded in the ledger with source `api`. Sends the customer "
            "nothing. An opt-in also lifts an erased customer's kept opt-out.",
            body=request_body("ConsentInput", {"channel_id": "ch_0a1b2c3d4e5f60718293", "action": "opt_out"}),
            parameters=[_PHONE_PARAMETER],
        ),
    },
    "/v1/contacts/consent.csv": {
        "get": operation(
            "exportConsent",
            "The org's consent ledger as CSV",
            "Contacts",
            {
                "200": {
                    "description": "Oldest first. Columns: id, phone, phone_hash, channel_id, action, "
                    "source, at (Unix seconds), message_id, provider_message_id, "
                    "activity_id, actor.",
                    "content": {"text/csv": {"schema": string()}},
                },
                **errors("invalid_request", "unauthorized"),
            },
            parameters=[
                {
                    "name": "since",
                    "in": "query",
                    "required": False,
                    "schema": string(examples=["2026-12-01T00:00:00Z", "1764547200"]),
                    "description": "Entries recorded at or after this time: Unix seconds or ISO 8601 with its offset.",
                },
                {
                    "name": "phone",
                    "in": "query",
                    "required": False,
                    "schema": string(examples=["+15551234567"]),
                    "description": "Only this number's entries (also those kept after its "
                    "erasure, without the number).",
                },
            ],
        ),
    },
    "/v1/contacts/{phone}": {
        "delete": operation(
            "eraseContact",
            "Erase a customer",
            "Contacts",
            {
                "200": ok("Erased; what was. Idempotent: a repeat answers zeros, but `opt_outs_kept`.", ref("Erasure")),
                **errors("invalid_request", "unauthorized", "erasure_busy"),
            },
            description="Closes the customer's open conversations (their agent gets "
            "`conversation.closed` with `reason: erased`), deletes their conversations and "
            "messages, empties their timeline, drops the reply-correlation pointers, and "
            "erases the body and the customer's details of their activities (which stay, "
            "with `erased: true`, for the reports), in Redis and in the SQL history. "
            "The ledger keeps its entries without the number. A tombstone records the "
            "number's hash, the time and who asked; an opted-out customer stays opted out "
            "(kept as the hash). Only this org's data is touched.",
            parameters=[_PHONE_PARAMETER],
        ),
    },
}

_AGENTS = {
    "/v1/agents/metrics": {
        "get": operation(
            "getAgentMetrics",
            "Agent metrics per day and per agent",
            "Agents",
            {
                "200": {
                    "description": "One row per day (UTC) and agent with anything to count, by day then "
                    "agent; with `format=csv`, the same rows as CSV (`text/csv`, a header row).",
                    "content": {**json_content(ref("AgentMetrics")), "text/csv": {"schema": string()}},
                },
                **errors("invalid_request", "unauthorized", "supervisor_only"),
            },
            description="Read with the org's API key or a supervisor's token (an agent's is "
            "`403 supervisor_only`). From hot conversations in Redis and archived ones in "
            "SQL alike. `handled`: conversations closed that day while the agent held them; "
            "`handle_time_*`: from their (last) assignment to the agent to the close; "
            "`first_response_*`: from a conversation's first customer message to its first "
            "agent reply, counted for the agent who sent it that day (nearest-rank p50 and "
            "p90); `replies`: the agent's replies sent that day (notes are not replies).",
            parameters=[
                {
                    "name": "from",
                    "in": "query",
                    "required": False,
                    "schema": string(format="date"),
                    "description": "First day (UTC, included); default 6 days before `to`.",
                },
                {
                    "name": "to",
                    "in": "query",
                    "required": False,
                    "schema": string(format="date"),
                    "description": f"Last day (UTC, included); default today. At most {MAX_DAYS} days.",
                },
                {
                    "name": "agent_id",
                    "in": "query",
                    "required": False,
                    "schema": string(),
                    "description": "Only this agent's rows.",
                },
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {**enum(["json", "csv"]), "default": "json"},
                },
            ],
            security=[{"orgApiKey": []}, *AGENT],
        ),
    },
    "/v1/agents": {
        "post": operation(
            "createAgent",
            "Create an agent",
            "Agents",
            {"201": ok("The agent.", ref("Agent")), **errors("invalid_request", "unauthorized", "email_taken")},
            body=request_body(
                "AgentInput",
                {
                    "name": "Dana",
                    "email": "dana@example.com",
                    "password": "correct horse",
                    "queues": ["support"],
                    "capacity": 3,
                },
            ),
        ),
        "get": operation(
            "listAgents",
            "List the org's agents",
            "Agents",
            {"200": ok("All agents (`next_cursor` is always null).", page_of("Agent")), **errors("unauthorized")},
        ),
    },
    "/v1/agents/login": {
        "post": operation(
            "login",
            "Log an agent in",
            "Agents",
            {
                "200": ok("An agent token.", ref("LoginAnswer")),
                **errors("invalid_request", "unauthorized", "org_required", "rate_limited"),
            },
            description="Failed sign-ins are limited per email and address, per email "
            "and per address (`429` with `Retry-After`; during the wait "
            "even the right password is refused).",
            body=request_body("Login", {"email": "dana@example.com", "password": "correct horse"}),
            security=PUBLIC,
        ),
    },
    "/v1/agents/logout": {
        "post": operation(
            "logout",
            "Revoke the agent token",
            "Agents",
            {"204": NO_CONTENT, **errors("unauthorized")},
            description="Open websockets using the token are closed (code 4401).",
            security=AGENT,
        ),
    },
    "/v1/agent/ws-ticket": {
        "post": operation(
            "createWsTicket",
            "A one-time ticket to open the agent websocket",
            "Agents",
            {"201": ok("The ticket.", ref("WsTicket")), **errors("unauthorized")},
            description="The ticket opens one connection to `/v1/agent/ws?ticket=` "
            "within its lifetime (30 s by default) and is then spent, so "
            "the agent token never travels in a URL.",
            security=AGENT,
        ),
    },
    "/v1/agents/me": {
        "get": operation(
            "getMe",
            "The logged-in agent and what the console needs",
            "Agents",
            {
                "200": ok("The agent, waiting count, colleagues, queues and canned responses.", ref("Me")),
                **errors("unauthorized"),
            },
            security=AGENT,
        ),
    },
    "/v1/conversations": {
        "get": operation(
            "listConversations",
            "List conversations, newest first",
            "Conversations",
            {
                "200": ok("A page of conversations (without `messages`).", page_of("Conversation")),
                **errors("invalid_request", "unauthorized"),
            },
            parameters=[ref("ConversationStatusFilter", "parameters"), *PAGING],
        ),
    },
    "/v1/conversations/{id}": {
        "parameters": ID,
        "get": operation(
            "getConversation",
            "Get a conversation with its messages",
            "Conversations",
            {
                "200": ok("The conversation, with `messages`.", ref("Conversation")),
                **errors("unauthorized", "not_found"),
            },
        ),
    },
}


def _form(properties: Schema, required: list[str]) -> Schema:
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": obj(properties, required, additionalProperties={"type": "string"})
            }
        },
    }


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_WEBHOOK_ERRORS = {
    "403": {
        "description": "Bad or missing `X-Twilio-Signature`; nothing is stored.",
        "content": json_content(ref("Error")),
    },
    "404": {"description": "No such Twilio or sandbox channel.", "content": json_content(ref("Error"))},
    "503": {
        "description": "`journal_unavailable`: Redis is down and the webhook journal is full or cannot "
        "be written; nothing is stored.",
        "content": json_content(ref("Error")),
    },
}
_WEBHOOKS = {
    "/webhooks/twilio/{channel_id}/inbound": {
        "parameters": [ref("ChannelId", "parameters"), ref("TwilioSignature", "parameters")],
        "post": operation(
            "twilioInbound",
            "Twilio: a customer's message",
            "Provider webhooks",
            {
                "200": {
                    "description": "Stored and routed (while Redis is down: journaled on disk, applied "
                    "once it is back); empty TwiML.",
                    "content": {"text/xml": {"schema": string(), "example": EMPTY_TWIML}},
                },
                "400": {"description": "`MessageSid` or `From` missing.", "content": json_content(ref("Error"))},
                **_WEBHOOK_ERRORS,
            },
            description="Set as the channel number's messaging webhook. A repeated `MessageSid` is processed "
            "once. STOP-type keywords opt the customer out of the channel (one confirmation; no new "
            "conversation), START-type back in (one confirmation); who sends the "
            "confirmation is the channel's `keyword_replies`. Both are recorded in the "
            "consent ledger. "
            "The reply becomes (or joins) a conversation routed to an agent.",
            body=_form(
                {
                    "MessageSid": string(),
                    "From": string("`+1555...` or `whatsapp:+1555...`."),
                    "To": string(),
                    "Body": string(),
                    "NumMedia": string(),
                    "MediaUrl0": string(),
                    "MediaContentType0": string(),
                    "ProfileName": string("WhatsApp."),
                    "WaId": string("WhatsApp."),
                },
                ["MessageSid", "From"],
            ),
            security=PUBLIC,
        ),
    },
    "/webhooks/twilio/{channel_id}/status": {
        "parameters": [ref("ChannelId", "parameters"), ref("TwilioSignature", "parameters")],
        "post": operation(
            "twilioStatus",
            "Twilio: a message status callback",
            "Provider webhooks",
            {
                "204": {
                    "description": "Applied (or ignored when stale: a status never moves backwards, and a "
                    "repeated one adds nothing; while Redis is down: journaled, applied once "
                    "it is back)."
                },
                **_WEBHOOK_ERRORS,
            },
            description="The `StatusCallback` of messages the hub sends on this channel.",
            body=_form(
                {
                    "MessageSid": string(),
                    "MessageStatus": enum(
                        [
                            "queued",
                            "accepted",
                            "scheduled",
                            "sending",
                            "sent",
                            "delivered",
                            "partially_delivered",
                            "read",
                            "undelivered",
                            "failed",
                            "canceled",
                        ]
                    ),
                    "ErrorCode": string(),
                },
                ["MessageSid", "MessageStatus"],
            ),
            security=PUBLIC,
        ),
    },
}


_TELESIGN_AUTH = (
    "Authenticated by `Authorization: TSA <customer_id>:<signature>` (or the bare signature in "
    "`X-TS-Authorization`): base64 HMAC-SHA256 of the raw body keyed by the base64-decoded "
    "`api_key`."
)
_TELESIGN_RESPONSES: dict[str, Schema] = {
    "200": {"description": "Applied, stored and routed, or ignored when stale or unknown."},
    "400": {
        "description": "Not JSON, or an MO message without `reference_id` or sender.",
        "content": json_content(ref("Error")),
    },
    "403": {
        "description": "Bad or missing TeleSign signature; nothing is stored.",
        "content": json_content(ref("Error")),
    },
    "404": {"description": "No such TeleSign channel.", "content": json_content(ref("Error"))},
    "503": {
        "description": "`journal_unavailable`: Redis is down and the webhook journal is full or cannot "
        "be written; nothing is stored.",
        "content": json_content(ref("Error")),
    },
}
_TELESIGN_BODY = {
    "required": True,
    "content": json_content(
        obj(
            {
                "reference_id": string(),
                "external_id": nullable(string()),
                "status": obj({"code": {"type": "integer"}, "description": string(), "updated_on": string()}),
                "sub_resource": string("`mo_sms` for a customer's message."),
                "user_response": obj({"phone_number": string(), "sender_id": string(), "mo_message": string()}),
            },
            ["reference_id"],
        )
    ),
}
_TELESIGN_WEBHOOKS = {
    f"/webhooks/telesign/{{channel_id}}/{kind}": {
        "parameters": [ref("ChannelId", "parameters")],
        "post": operation(
            f"telesign{kind.title()}",
            summary,
            "Provider webhooks",
            _TELESIGN_RESPONSES,
            description=f"{text} TeleSign posts delivery reports and MO messages to one callback "
            f"service, so both paths take both (`sub_resource: mo_sms` marks a customer's "
            f"message). {_TELESIGN_AUTH}",
            body=_TELESIGN_BODY,
            security=PUBLIC,
        ),
    }
    for kind, summary, text in (
        ("status", "TeleSign: a delivery report", "The `callback_url` of messages sent on this channel."),
        (
            "inbound",
            "TeleSign: a customer's message",
            "The account's MO callback URL; a repeated `reference_id` is stored once.",
        ),
    )
}


def _readiness(status: str) -> Schema:
    return obj({"status": enum([status]), "checks": obj({}, additionalProperties=string())}, ["status", "checks"])


_OPERATIONS = {
    "/healthz": {
        "get": operation(
            "healthz",
            "Liveness",
            "Operations",
            {"200": ok("Alive.", obj({"status": string()}, ["status"]), {"status": "ok"})},
            security=PUBLIC,
        )
    },
    "/readyz": {
        "get": operation(
            "readyz",
            "Readiness: Redis reachable and workers alive",
            "Operations",
            {
                "200": ok(
                    "Ready.",
                    _readiness("ready"),
                    {"status": "ready", "checks": {"redis": "ok", "workers": "4/4 alive"}},
                ),
                "503": ok("Not ready.", _readiness("not_ready")),
            },
            security=PUBLIC,
        )
    },
    "/metrics": {
        "get": operation(
            "metrics",
            "Prometheus metrics",
            "Operations",
            {"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": string()}}}},
            security=PUBLIC,
        )
    },
    "/openapi.json": {
        "get": operation(
            "openapi",
            "This document",
            "Operations",
            {"200": ok("OpenAPI 3.1 document.", {"type": "object"})},
            security=PUBLIC,
        )
    },
    "/asyncapi.json": {
        "get": operation(
            "asyncapi",
            "The agent websocket's commands and events",
            "Operations",
            {"200": ok("AsyncAPI 3.0 document of `/v1/agent/ws`.", {"type": "object"})},
            security=PUBLIC,
        )
    },
}

_DESCRIPTION = """\
Admin API of the messaging hub: channels, templates, outbound configurations,
send requests and their activities, agents and conversations.

All bodies are JSON. Authenticate with `Authorization: Bearer <org API key>`
unless an operation says otherwise (`/v1/orgs` takes the admin token,
`/v1/agents/me` and `/v1/agents/logout` an agent token). Creation answers
`201` with the object; lists answer `{"items": [...], "next_cursor"}`; errors
answer `{"error": {"code", "message", "details"}}` with a 4xx status (a 5xx
only for a server fault: `internal_error` with `details.request_id`).

**Provider webhooks.** Twilio (and the sandbox provider) post form-encoded
requests signed with `X-Twilio-Signature` to
`/webhooks/twilio/{channel_id}/inbound` (customer messages; answered with
empty TwiML) and `/webhooks/twilio/{channel_id}/status` (delivery statuses).
TeleSign posts signed JSON to `/webhooks/telesign/{channel_id}/status` and
`/webhooks/telesign/{channel_id}/inbound`. While Redis is down, a webhook is
written to a journal on the hub's disk and answered as usual, then applied
once Redis is back.

**Agent websocket.** `GET /v1/agent/ws?ticket=<ticket>` upgrades to a
websocket of JSON frames; the ticket comes from `POST /v1/agent/ws-ticket`
and opens one connection. `/v1/agent/ws?token=<agent token>` works too, but
puts the token in the URL. A missing, expired, used or revoked ticket or
token closes with 4401, a deleted agent with 4404. A frame that is not a
command (binary, not a JSON object, nested too deep) is answered with an
`error` frame (`invalid_command`), one over 64 KiB with `frame_too_large`,
and the connection stays. Server events carry `type` and a
monotonic `id`: `hello`, `conversation.assigned`, `message.created`,
`message.status`, `conversation.transferred`, `conversation.closed`, `error`;
`conversation.assigned` carries the `Conversation` as the API shows it, with
its `activity` and `correlation` (which message the customer answers, and
how that was found). Commands: `presence` (`status`: `available` | `away`), `reply`
(`conversation_id`, `body`, `client_id`), `note` (`conversation_id`, `body`,
`client_id`: an internal note on a conversation the agent holds, kept with its
messages as `direction: "note"`, pushed as `message.created`, never sent to the
customer; the same `client_id` records once), `template` (`conversation_id`,
`template_id`, `client_id`, optional `values`: placeholder name to text; one of
the org's templates as a reply, rendered in the locale of the outbound message
the customer answered, with the usual fallback, `CustomerName` and `CaseName`
filled from that message; on WhatsApp it must have a content sid for that
locale, else `template_not_approved`, and is then sent by its ContentSid, also
after the 24-hour window has closed), `close` (`conversation_id`),
`transfer` (`conversation_id`, `agent_id` or `queue`) and `resume`
(`after`: the last event id seen); each is answered by
`{"type": "ack", "client_id"}` or an `error` event.

**Supervisors** (agents with `role: "supervisor"`) use the same websocket
and commands, plus: `board.subscribe` / `board.unsubscribe` (frames
`{"type": "board", "board"}`, without an `id`: the whole board, again at each
change: `queues` with `waiting`, `longest_waiting_since`, `agents`,
`agents_available`, `free_capacity`; `agents` with `presence`,
`presence_since`, `connected`, `open`, `capacity`, `free_capacity` and their
open `conversations`; `waiting` conversations with `waiting_since`; times in
epoch seconds), `monitor` / `monitor.stop` (`conversation_id`: frames
`monitor.started` with the conversation and its messages, then
`monitor.message` and `monitor.conversation`, without `id`), `takeover`
(`conversation_id`: the supervisor becomes its agent, within its capacity).
A supervisor's `note` (a whisper) may go on any open conversation of the org
and reaches its agent as `message.created` (`author_role: "supervisor"`); a
supervisor's `transfer` moves any conversation of the org. An agent sending
a supervisor's command gets `supervisor_only`.
"""

_TAGS = [
    {"name": "Orgs", "description": "Tenants; admin token."},
    {"name": "Channels", "description": "Sender numbers. Credentials are write-only."},
    {"name": "Templates", "description": "Message texts per locale."},
    {"name": "Outbound configurations", "description": "Channel + template + reply queue."},
    {"name": "Canned responses", "description": "Prepared replies offered in the agent console."},
    {"name": "Outbound", "description": "Send requests, activities and reports."},
    {"name": "Contacts", "description": "A contact's timeline, consent ledger and erasure."},
    {
        "name": "Agents",
        "description": "Agents and their login. Their live connection is the websocket "
        "`/v1/agent/ws?ticket=` (see the API description).",
    },
    {"name": "Conversations", "description": "Customer replies and the threads agents work."},
    {"name": "Provider webhooks", "description": "Called by the providers, not by API clients."},
    {"name": "Operations", "description": "Health, readiness, metrics and this document."},
]


def with_shared_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` with what any API call may answer besides its own errors:
    503 `unavailable` while Redis is unreachable, and 413 `payload_too_large`
    for a JSON body over the limit (hub/api/limits.py). ``paths`` is not changed."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        out[path] = item = dict(item)
        if not path.startswith("/v1"):
            continue
        for method, op in list(item.items()):
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = dict(op["responses"])
            extra = ["unavailable"]
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                extra.append("payload_too_large")
            for status, response in errors(*extra).items():
                if status in responses:
                    schema = responses[status]["content"]["application/json"]["schema"]
                    codes = schema["properties"]["error"]["allOf"][1]["properties"]["code"]["enum"]
                    ours = [c for c in extra if str(ERROR_STATUS[c]) == status]
                    response = errors(*codes, *ours)[status]
                responses[status] = response
            item[method] = {**op, "responses": responses}
    return out


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Messaging hub", "version": "0.1.0", "description": _DESCRIPTION},
    "tags": _TAGS,
    "security": [{"orgApiKey": []}],
    "paths": {
        **_ORGS,
        **crud("/v1/channels", "Channels", "Channel", "Channels", example=CHANNEL_EXAMPLE, guarded=True),
        **crud(
            "/v1/templates",
            "Templates",
            "Template",
            "Templates",
            example=TEMPLATE_EXAMPLE,
            patch_merges=False,
            guarded=True,
        ),
        **crud(
            "/v1/outbound-configurations",
            "Outbound configurations",
            "OutboundConfiguration",
            "OutboundConfigurations",
            example=CONFIGURATION_EXAMPLE,
            refs_checked=True,
        ),
        **crud(
            "/v1/canned-responses",
            "Canned responses",
            "CannedResponse",
            "CannedResponses",
            example={"title": "Thanks", "body": "Thanks for your message, we are on it."},
        ),
        **_OUTBOUND,
        **_AGENTS,
        **_WEBHOOKS,
        **_TELESIGN_WEBHOOKS,
        **_OPERATIONS,
    },
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "headers": {
            "RetryAfter": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
        "securitySchemes": {
            "orgApiKey": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "hk_...",
                "description": "The org's API key, returned once by `POST /v1/orgs`.",
            },
            "adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The hub's admin token (`HUB_ADMIN_TOKEN`).",
            },
            "agentToken": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "at_...",
                "description": "An agent token from `POST /v1/agents/login`.",
            },
        },
    },
}
