"""The OpenAPI 3.1 description of the hub's HTTP API, as plain data.

The operations of orgs, the catalogue, outbound, contacts, agents, the
provider webhooks and health, each declared with its handler
(``hub.api.operations``), and the document around every module's
operations: errors, schemas, parameters. Built once at import and served
as is by ``hub.api.openapi``. Enumerations and limits are read from the
domain modules so the document says what the handlers actually accept.
"""

from __future__ import annotations

from typing import Any

from hub.api import catalog, contacts, ops, orgs, outbound
from hub.api.asyncapi import asyncapi
from hub.api.operations import Operation, Schema, path_items
from hub.domain import catalog_shapes
from hub.domain.agent_answers import AgentMetrics, LoginAnswer, Me, WsTicket
from hub.domain.agent_metrics import MAX_DAYS
from hub.domain.agents import QUEUE_RE, AgentInput, Login
from hub.domain.consent import Consent, ConsentInput, Erasure
from hub.domain.contacts import Contact, SendRequest
from hub.domain.outbound_shapes import Conversation, Report, Segments, SegmentsRequest, SendAnswer, TimelineItem
from hub.domain.shapes import components
from hub.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    TooManyContacts,
    Unauthorized,
    Unavailable,
)
from hub.routing import agents_api, conversations_api, supervision_api

CONVERSATION_STATUSES = ["waiting", "assigned", "closed"]

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
_QUEUE = string("Queue name.", pattern=QUEUE_RE.pattern, examples=["default"])

# Orgs and the catalogue: generated from the Structs that check their bodies
# (hub.domain.catalog_shapes); the answers are described by Structs beside them.
_, _CATALOG = components([*catalog_shapes.BODIES, *catalog_shapes.ANSWERS], "#/components/schemas/")


_PHONE_PARAMETER = {
    "name": "phone",
    "in": "path",
    "required": True,
    "schema": string(examples=["+15551234567"]),
    "description": "Phone number; without `+` it is read in the org's `default_region`. "
    "Not a number: 400 (`details.field`: `phone`).",
}
# Bodies of the outbound, contact and agent calls: generated from the Structs
# that check the requests and declare the answers.
_SHAPES: dict[str, Schema]
(_TIMELINE_ITEM,), _SHAPES = components([TimelineItem], "#/components/schemas/")
_SHAPES.update(
    components(
        [
            Contact,
            SendRequest,
            SendAnswer,
            SegmentsRequest,
            Segments,
            Report,
            ConsentInput,
            Consent,
            Erasure,
            AgentInput,
            Login,
            LoginAnswer,
            WsTicket,
            Me,
            AgentMetrics,
            Conversation,
        ],
        "#/components/schemas/",
    )[1]
)
_OURS = (
    "Contact SendRequest SendResult SegmentsRequest Segments SendAnswer ActivityStatus HistoryEvent Activity "
    "StatusCounts Report ConsentEntry Consent ConsentInput Erasure Message AgentInput Agent Login LoginAnswer "
    "WsTicket Me AgentMetrics Conversation"
).split()
# The parts they refer to (a contact's rejection, the report's rows, ...).
_SHAPE_PARTS = {name: schema for name, schema in _SHAPES.items() if name not in _OURS}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "code": string("Stable snake_case code."),
            "message": string("For people."),
            "details": {"description": 'Optional; e.g. `{"field": "name"}`.'},
        },
        ["code", "message"],
    ),
    "Limits": _CATALOG["Limits"],
    "QuietHours": _CATALOG["QuietHours"],
    "OrgInput": _CATALOG["OrgInput"],
    "OrgPatch": _CATALOG["OrgPatch"],
    "Org": _CATALOG["Org"],
    "OrgCreated": _CATALOG["OrgCreated"],
    "ChannelInput": _CATALOG["ChannelInput"],
    "ChannelPatch": _CATALOG["ChannelPatch"],
    "Channel": _CATALOG["Channel"],
    "TemplateInput": _CATALOG["TemplateInput"],
    "Template": _CATALOG["Template"],
    "OutboundConfigurationInput": _CATALOG["OutboundConfigurationInput"],
    "OutboundConfigurationPatch": _CATALOG["OutboundConfigurationPatch"],
    "OutboundConfiguration": _CATALOG["OutboundConfiguration"],
    "CannedResponseInput": _CATALOG["CannedResponseInput"],
    "CannedResponsePatch": _CATALOG["CannedResponsePatch"],
    "CannedResponse": _CATALOG["CannedResponse"],
    "Contact": _SHAPES["Contact"],
    "SendRequest": _SHAPES["SendRequest"],
    "SendResult": _SHAPES["SendResult"],
    "SegmentsRequest": _SHAPES["SegmentsRequest"],
    "Segments": _SHAPES["Segments"],
    "SendAnswer": _SHAPES["SendAnswer"],
    "ActivityStatus": _SHAPES["ActivityStatus"],
    "HistoryEvent": _SHAPES["HistoryEvent"],
    "Activity": _SHAPES["Activity"],
    "StatusCounts": _SHAPES["StatusCounts"],
    "Report": _SHAPES["Report"],
    "TimelineItem": _TIMELINE_ITEM,
    "ConsentEntry": _SHAPES["ConsentEntry"],
    "Consent": _SHAPES["Consent"],
    "ConsentInput": _SHAPES["ConsentInput"],
    "Erasure": _SHAPES["Erasure"],
    "Message": _SHAPES["Message"],
    "Conversation": _SHAPES["Conversation"],
    "AgentInput": _SHAPES["AgentInput"],
    "Agent": _SHAPES["Agent"],
    "Login": _SHAPES["Login"],
    "LoginAnswer": _SHAPES["LoginAnswer"],
    "WsTicket": _SHAPES["WsTicket"],
    "Me": _SHAPES["Me"],
    "AgentMetrics": _SHAPES["AgentMetrics"],
    **_SHAPE_PARTS,
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
    resource: catalog.Resource[Any],
    tag: str,
    name: str,
    plural: str,
    *,
    example: Schema,
    patch_merges: bool = True,
    guarded: bool = False,
    refs_checked: bool = False,
) -> list[Operation]:
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
    one = path + "/{id}"
    return [
        Operation(
            "POST",
            path,
            resource.create,
            f"create{name}",
            f"Create {a} {noun}",
            tag,
            {"201": ok(f"The created {noun}.", ref(name)), **errors("invalid_request", "unauthorized")},
            description=refs.strip() or None,
            body=request_body(f"{name}Input", example),
        ),
        Operation(
            "GET",
            path,
            resource.list,
            f"list{plural}",
            f"List {tag.lower()}",
            tag,
            {
                "200": ok(f"A page of {tag.lower()}, oldest first.", page_of(name)),
                **errors("invalid_request", "unauthorized"),
            },
            parameters=PAGING,
        ),
        Operation(
            "GET",
            one,
            resource.get,
            f"get{name}",
            f"Get {a} {noun}",
            tag,
            {"200": item, **errors("unauthorized", "not_found")},
            path_parameters=ID,
        ),
        # PATCH and PUT share the handler: it tells them apart by the method.
        Operation(
            "PATCH",
            one,
            resource.update,
            f"update{name}",
            f"Change {a} {noun}",
            tag,
            {"200": item, **change_errors},
            description=patch_text + breaks + refs,
            body=request_body(f"{name}Patch" if patch_merges else f"{name}Input"),
            path_parameters=ID,
        ),
        Operation(
            "PUT",
            one,
            resource.update,
            f"replace{name}",
            f"Replace {a} {noun}",
            tag,
            {"200": item, **change_errors},
            description="Takes the whole object." + breaks + refs,
            body=request_body(f"{name}Input", example),
            path_parameters=ID,
        ),
        Operation(
            "DELETE",
            one,
            resource.delete,
            f"delete{name}",
            f"Delete {a} {noun}",
            tag,
            {"204": NO_CONTENT, **errors("unauthorized", "not_found", *conflict)},
            description=in_use.strip() or None,
            path_parameters=ID,
        ),
    ]


_ORGS: list[Operation] = [
    Operation(
        "POST",
        "/v1/orgs",
        orgs.create_org,
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
    Operation(
        "GET",
        "/v1/orgs/{org_id}",
        orgs.get_org,
        "getOrg",
        "Get an org",
        "Orgs",
        {"200": ok("The org.", ref("Org")), **errors("unauthorized", "not_found")},
        security=ADMIN,
        path_parameters=[ref("OrgId", "parameters")],
    ),
    Operation(
        "PATCH",
        "/v1/orgs/{org_id}",
        orgs.patch_org,
        "updateOrg",
        "Change an org's name, limits, region or quiet hours",
        "Orgs",
        {"200": ok("The org.", ref("Org")), **errors("invalid_request", "unauthorized", "not_found")},
        body=request_body("OrgPatch", {"limits": {"requests_per_hour": 60000}}),
        security=ADMIN,
        path_parameters=[ref("OrgId", "parameters")],
    ),
]

_OUTBOUND: list[Operation] = [
    Operation(
        "POST",
        "/v1/templates/segments",
        catalog.segments,
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
    Operation(
        "POST",
        "/v1/outbound/send",
        outbound.send,
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
    Operation(
        "GET",
        "/v1/outbound/activities",
        outbound.list_activities,
        "listActivities",
        "List outbound activities, newest first",
        "Outbound",
        {
            "200": ok("A page of activities (without `history`).", page_of("Activity")),
            **errors("invalid_request", "unauthorized"),
        },
        parameters=[ref("ConfigurationFilter", "parameters"), ref("ActivityStatusFilter", "parameters"), *PAGING],
    ),
    Operation(
        "GET",
        "/v1/outbound/activities/{id}",
        outbound.get_activity,
        "getActivity",
        "Get an activity with its status history",
        "Outbound",
        {"200": ok("The activity, with `history`.", ref("Activity")), **errors("unauthorized", "not_found")},
        path_parameters=ID,
    ),
    Operation(
        "GET",
        "/v1/outbound/report",
        outbound.report,
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
    Operation(
        "GET",
        "/v1/outbound/report.csv",
        outbound.report_csv,
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
    Operation(
        "GET",
        "/v1/contacts/{phone}/timeline",
        outbound.timeline,
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
    Operation(
        "GET",
        "/v1/contacts/{phone}/consent",
        contacts.get_consent,
        "getConsent",
        "A contact's consent: state per channel and the ledger",
        "Contacts",
        {
            "200": ok("The state, past erasures and a page of the ledger.", ref("Consent")),
            **errors("invalid_request", "unauthorized"),
        },
        parameters=[_PHONE_PARAMETER, *PAGING],
    ),
    Operation(
        "POST",
        "/v1/contacts/{phone}/consent",
        contacts.set_consent,
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
    Operation(
        "GET",
        "/v1/contacts/consent.csv",
        contacts.export_consent,
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
                "description": "Only this number's entries (also those kept after its erasure, without the number).",
            },
        ],
    ),
    Operation(
        "DELETE",
        "/v1/contacts/{phone}",
        contacts.erase_contact,
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
]

_AGENTS: list[Operation] = [
    Operation(
        "GET",
        "/v1/agents/metrics",
        supervision_api.metrics,
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
    Operation(
        "POST",
        "/v1/agents",
        agents_api.create_agent,
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
    Operation(
        "GET",
        "/v1/agents",
        agents_api.list_agents,
        "listAgents",
        "List the org's agents",
        "Agents",
        {"200": ok("All agents (`next_cursor` is always null).", page_of("Agent")), **errors("unauthorized")},
    ),
    Operation(
        "POST",
        "/v1/agents/login",
        agents_api.login,
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
    Operation(
        "POST",
        "/v1/agents/logout",
        agents_api.logout,
        "logout",
        "Revoke the agent token",
        "Agents",
        {"204": NO_CONTENT, **errors("unauthorized")},
        description="Open websockets using the token are closed (code 4401).",
        security=AGENT,
    ),
    Operation(
        "POST",
        "/v1/agent/ws-ticket",
        agents_api.ws_ticket,
        "createWsTicket",
        "A one-time ticket to open the agent websocket",
        "Agents",
        {"201": ok("The ticket.", ref("WsTicket")), **errors("unauthorized")},
        description="The ticket opens one connection to `/v1/agent/ws?ticket=` "
        "within its lifetime (30 s by default) and is then spent, so "
        "the agent token never travels in a URL.",
        security=AGENT,
    ),
    Operation(
        "GET",
        "/v1/agents/me",
        agents_api.me,
        "getMe",
        "The logged-in agent and what the console needs",
        "Agents",
        {
            "200": ok("The agent, waiting count, colleagues, queues and canned responses.", ref("Me")),
            **errors("unauthorized"),
        },
        security=AGENT,
    ),
    Operation(
        "GET",
        "/v1/conversations",
        conversations_api.list_conversations,
        "listConversations",
        "List conversations, newest first",
        "Conversations",
        {
            "200": ok("A page of conversations (without `messages`).", page_of("Conversation")),
            **errors("invalid_request", "unauthorized"),
        },
        parameters=[ref("ConversationStatusFilter", "parameters"), *PAGING],
    ),
    Operation(
        "GET",
        "/v1/conversations/{id}",
        conversations_api.get_conversation,
        "getConversation",
        "Get a conversation with its messages",
        "Conversations",
        {
            "200": ok("The conversation, with `messages`.", ref("Conversation")),
            **errors("unauthorized", "not_found"),
        },
        path_parameters=ID,
    ),
]


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
# Served before the router, by the lean webhook route (hub/webhooks/front.py):
# documented here, without a handler.
_WEBHOOKS: list[Operation] = [
    Operation(
        "POST",
        "/webhooks/twilio/{channel_id}/inbound",
        None,
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
        path_parameters=[ref("ChannelId", "parameters"), ref("TwilioSignature", "parameters")],
    ),
    Operation(
        "POST",
        "/webhooks/twilio/{channel_id}/status",
        None,
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
        path_parameters=[ref("ChannelId", "parameters"), ref("TwilioSignature", "parameters")],
    ),
]


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
_TELESIGN_WEBHOOKS = [
    Operation(
        "POST",
        f"/webhooks/telesign/{{channel_id}}/{kind}",
        None,
        f"telesign{kind.title()}",
        summary,
        "Provider webhooks",
        _TELESIGN_RESPONSES,
        description=f"{text} TeleSign posts delivery reports and MO messages to one callback "
        f"service, so both paths take both (`sub_resource: mo_sms` marks a customer's "
        f"message). {_TELESIGN_AUTH}",
        body=_TELESIGN_BODY,
        path_parameters=[ref("ChannelId", "parameters")],
        security=PUBLIC,
    )
    for kind, summary, text in (
        ("status", "TeleSign: a delivery report", "The `callback_url` of messages sent on this channel."),
        (
            "inbound",
            "TeleSign: a customer's message",
            "The account's MO callback URL; a repeated `reference_id` is stored once.",
        ),
    )
]


def _readiness(status: str) -> Schema:
    return obj({"status": enum([status]), "checks": obj({}, additionalProperties=string())}, ["status", "checks"])


_OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/healthz",
        ops.healthz,
        "healthz",
        "Liveness",
        "Operations",
        {"200": ok("Alive.", obj({"status": string()}, ["status"]), {"status": "ok"})},
        security=PUBLIC,
    ),
    Operation(
        "GET",
        "/readyz",
        ops.readyz,
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
    ),
    Operation(
        "GET",
        "/metrics",
        ops.metrics,
        "metrics",
        "Prometheus metrics",
        "Operations",
        {"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": string()}}}},
        security=PUBLIC,
    ),
    Operation(
        "GET",
        "/asyncapi.json",
        asyncapi,
        "asyncapi",
        "The agent websocket's commands and events",
        "Operations",
        {"200": ok("AsyncAPI 3.0 document of `/v1/agent/ws`.", {"type": "object"})},
        security=PUBLIC,
    ),
]

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
                    # The operation's own codes first, each once.
                    response = errors(*dict.fromkeys([*codes, *ours]))[status]
                responses[status] = response
            item[method] = {**op, "responses": responses}
    return out


OPERATIONS: list[Operation] = [
    *_ORGS,
    *crud("/v1/channels", catalog.channels, "Channels", "Channel", "Channels", example=CHANNEL_EXAMPLE, guarded=True),
    *crud(
        "/v1/templates",
        catalog.templates,
        "Templates",
        "Template",
        "Templates",
        example=TEMPLATE_EXAMPLE,
        patch_merges=False,
        guarded=True,
    ),
    *crud(
        "/v1/outbound-configurations",
        catalog.configurations,
        "Outbound configurations",
        "OutboundConfiguration",
        "OutboundConfigurations",
        example=CONFIGURATION_EXAMPLE,
        refs_checked=True,
    ),
    *crud(
        "/v1/canned-responses",
        catalog.canned_responses,
        "Canned responses",
        "CannedResponse",
        "CannedResponses",
        example={"title": "Thanks", "body": "Thanks for your message, we are on it."},
    ),
    *_OUTBOUND,
    *_AGENTS,
    *_WEBHOOKS,
    *_TELESIGN_WEBHOOKS,
    *_OPERATIONS,
]


def document(operations: list[Operation], tags: list[Schema], schemas: dict[str, Schema]) -> dict[str, Any]:
    """The whole document: ``operations``, with the shared errors added, under
    ``paths``; ``tags`` and ``schemas`` after this module's own."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Messaging hub", "version": "0.1.0", "description": _DESCRIPTION},
        "tags": [*_TAGS, *tags],
        "security": [{"orgApiKey": []}],
        "paths": with_shared_errors(path_items(operations)),
        "components": {
            "schemas": {**SCHEMAS, **schemas},
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
