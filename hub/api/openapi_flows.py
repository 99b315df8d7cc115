"""The OpenAPI description of flows, events and bulk jobs, added to the
document of ``openapi_spec`` by ``with_flows``. Shapes follow
``hub.services.flows``, ``hub.services.bulk_jobs`` and ``hub.storage.bulk_jobs``."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_spec import (
    ID,
    NO_CONTENT,
    PAGING,
    Schema,
    errors,
    json_content,
    nullable,
    obj,
    ok,
    operation,
    page_of,
    ref,
    string,
    timestamp,
    with_shared_errors,
)
from hub.domain.contact_rows import CONTACT_FIELDS, FORMATS, RESULT_COLUMNS
from hub.domain.flows import MAX_DELAY_S, MAX_FLOW_CONTACTS
from hub.storage.bulk_jobs import STATUSES

TAG = "Flows"
BULK_TAG = "Bulk jobs"
_INT = {"type": "integer", "minimum": 0}
_COUNTS = obj({}, description="Contacts by send result status.", additionalProperties=_INT)
_ISO = string("ISO 8601 time, UTC.", format="date-time")
_DELAY = {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_S}
_CONTACTS = {"type": "array", "items": ref("Contact"), "maxItems": MAX_FLOW_CONTACTS}

_AUTOMATED = obj(
    {
        "kind": {"const": "automated"},
        "name": string(),
        "event_type": string(examples=["case.created"]),
        "configuration_id": string(),
        "delay_seconds": _DELAY,
    },
    ["kind", "event_type", "configuration_id"],
    closed=True,
    description="Fires on every `POST /v1/events` of its `event_type`, once per event id.",
)
_SCHEDULED = obj(
    {
        "kind": {"const": "scheduled"},
        "name": string(),
        "configuration_id": string(),
        "contacts": _CONTACTS,
        "at": string("One-off time, ISO 8601; without an offset it is read in `timezone`."),
        "cron": string(
            "Five fields (or six, seconds last), read on the wall clock of `timezone`.", examples=["0 9 * * 1-5"]
        ),
        "timezone": string("IANA name; default UTC.", examples=["America/New_York"]),
        "delay_seconds": _DELAY,
    },
    ["kind", "configuration_id", "contacts"],
    closed=True,
    description="Exactly one of `at`, `cron` or `delay_seconds`.",
)
_RUN = obj(
    {
        "occurrence": _ISO,
        "at": _ISO,
        "late": {"type": "boolean"},
        "skipped": {**_INT, "description": "Missed occurrences before this one that never fired."},
        "request_id": nullable(string()),
        "request_ids": {"type": "array", "items": string()},
        "counts": _COUNTS,
        "error": ref("Error"),
    },
    ["occurrence", "at", "late", "skipped", "request_id", "request_ids", "counts"],
)
_FLOW = obj(
    {
        "id": string(),
        "kind": {"enum": ["automated", "scheduled"]},
        "name": nullable(string()),
        "configuration_id": string(),
        "enabled": {"type": "boolean"},
        "created_at": timestamp(),
        "event_type": string(),
        "delay_seconds": nullable(_DELAY),
        "at": nullable(_ISO),
        "cron": nullable(string()),
        "timezone": string(),
        "contact_count": _INT,
        "next_run_at": nullable(_ISO),
        "next_runs": {
            "type": "array",
            "items": _ISO,
            "maxItems": 5,
            "description": "The next run and, for a cron, the ones after it (5 at most; "
            "empty while disabled); only on GET of one flow.",
        },
        "contacts": {**_CONTACTS, "description": "Only on GET of one flow."},
        "runs": {
            "type": "array",
            "items": ref("FlowRun"),
            "description": "Latest 100, oldest first; only on GET of one flow.",
        },
    },
    ["id", "kind", "configuration_id", "enabled", "created_at"],
)
_FIRING = obj(
    {
        "flow_id": string(),
        "configuration_id": string(),
        "status": {"enum": ["sent", "scheduled", "failed"]},
        "send_at": _ISO,
        "request_id": nullable(string()),
        "request_ids": {"type": "array", "items": string()},
        "counts": _COUNTS,
        "requests": {"type": "array", "items": ref("SendAnswer")},
        "error": ref("Error"),
    },
    ["flow_id", "configuration_id", "status"],
)
_JOB = obj(
    {
        "id": string(),
        "configuration_id": string(),
        "status": {"enum": list(STATUSES)},
        "format": {"enum": sorted(set(FORMATS.values()))},
        "total": _INT,
        "processed": _INT,
        "counts": _COUNTS,
        "chunks": _INT,
        "chunks_done": _INT,
        "waiting": {"type": "boolean", "description": "Waiting out the hourly limit (not failed)."},
        "retry_after": nullable({"type": "integer", "description": "Seconds, while waiting."}),
        "error": nullable(ref("Error")),
        "created_at": timestamp(),
        "started_at": nullable(timestamp()),
        "finished_at": nullable(timestamp()),
    },
    ["id", "configuration_id", "status", "total", "processed", "counts", "waiting"],
)

SCHEMAS: dict[str, Schema] = {
    "FlowInput": {"oneOf": [_AUTOMATED, _SCHEDULED]},
    "FlowPatch": obj({"enabled": {"type": "boolean"}}, ["enabled"], closed=True),
    "Flow": _FLOW,
    "FlowRun": _RUN,
    "Event": obj(
        {"id": string(maxLength=200), "type": string(maxLength=100), "data": obj({"contacts": _CONTACTS})},
        ["id", "type"],
    ),
    "EventAnswer": obj(
        {"event_id": string(), "type": string(), "flows": {"type": "array", "items": ref("FlowFiring")}},
        ["event_id", "type", "flows"],
    ),
    "FlowFiring": _FIRING,
    "BulkJob": _JOB,
}

_UNSUPPORTED = {
    "415": {
        "description": "The body is neither CSV nor JSON lines. Codes: unsupported_media_type.",
        "content": json_content(
            obj(
                {"error": {"allOf": [ref("Error"), {"properties": {"code": {"enum": ["unsupported_media_type"]}}}]}},
                ["error"],
            ),
            {
                "error": {
                    "code": "unsupported_media_type",
                    "message": "send the contacts as text/csv or application/x-ndjson",
                }
            },
        ),
    }
}
_CSV_HEADER = ",".join(CONTACT_FIELDS[:6]) + ",ship_date"
_EVENT_EXAMPLE: dict[str, Any] = {
    "id": "evt-000123",
    "type": "case.created",
    "data": {
        "contacts": [
            {
                "tocontactid": "+15551234567",
                "channelid": "sms",
                "optin": True,
                "CustomerName": "Ana Ruiz",
                "CaseName": "CAS-01234",
                "entityrelationshipname": "incident_msdyn_ocoutboundmessages",
            }
        ]
    },
}

PATHS: dict[str, Schema] = {
    "/v1/flows": {
        "post": operation(
            "createFlow",
            "Create an automated or scheduled flow",
            TAG,
            {"201": ok("The flow.", ref("Flow")), **errors("invalid_request", "unauthorized", "not_found")},
            body={
                "required": True,
                "content": json_content(
                    ref("FlowInput"),
                    {
                        "kind": "scheduled",
                        "configuration_id": "cfg_0a1b2c3d4e5f60718293",
                        "cron": "0 9 * * 1-5",
                        "timezone": "Europe/Paris",
                        "contacts": _EVENT_EXAMPLE["data"]["contacts"],
                    },
                ),
            },
        ),
        "get": operation(
            "listFlows",
            "List flows, oldest first",
            TAG,
            {
                "200": ok("A page of flows (without contacts and runs).", page_of("Flow")),
                **errors("invalid_request", "unauthorized"),
            },
            parameters=PAGING,
        ),
    },
    "/v1/flows/{id}": {
        "parameters": ID,
        "get": operation(
            "getFlow",
            "Get a flow, its next run and its runs",
            TAG,
            {"200": ok("The flow.", ref("Flow")), **errors("unauthorized", "not_found")},
        ),
        "patch": operation(
            "updateFlow",
            "Enable or disable a flow",
            TAG,
            {"200": ok("The flow.", ref("Flow")), **errors("invalid_request", "unauthorized", "not_found")},
            body={"required": True, "content": json_content(ref("FlowPatch"), {"enabled": False})},
        ),
        "delete": operation(
            "deleteFlow", "Delete (cancel) a flow", TAG, {"204": NO_CONTENT, **errors("unauthorized", "not_found")}
        ),
    },
    "/v1/events": {
        "post": operation(
            "postEvent",
            "A system event: fire the enabled flows of its type",
            TAG,
            {
                "202": ok("One entry per flow fired.", ref("EventAnswer")),
                **errors("invalid_request", "unauthorized", "idempotency_key_reused", "rate_limited"),
            },
            description="Once per event id: the same id and body answers the first answer again and "
            "sends nothing. Over the hourly limit (429) the event is not remembered, so a "
            "retry finishes what is left, still once per contact.",
            body={"required": True, "content": json_content(ref("Event"), _EVENT_EXAMPLE)},
        ),
    },
    "/v1/bulk-jobs": {
        "post": operation(
            "createBulkJob",
            "Upload a contact list to send",
            BULK_TAG,
            {
                "201": ok("The job, pending.", ref("BulkJob")),
                **errors("invalid_request", "unauthorized", "not_found", "too_many_contacts"),
                **_UNSUPPORTED,
            },
            description="CSV with a header row naming the ContactList fields (any case; other "
            "columns become context items), or JSON lines. Sent in requests of the "
            "org's `contacts_per_request`, waiting out the hourly limit.",
            parameters=[{"name": "configuration_id", "in": "query", "required": True, "schema": string()}],
            body={
                "required": True,
                "content": {
                    "text/csv": {
                        "schema": string(),
                        "example": _CSV_HEADER + "\n+15551234567,sms,true,fr-FR,Ana Ruiz,CAS-01234,12 mai\n",
                    },
                    "application/x-ndjson": {"schema": string()},
                },
            },
        ),
        "get": operation(
            "listBulkJobs",
            "List bulk jobs, newest first",
            BULK_TAG,
            {"200": ok("A page of jobs.", page_of("BulkJob")), **errors("invalid_request", "unauthorized")},
            parameters=PAGING,
        ),
    },
    "/v1/bulk-jobs/{id}": {
        "parameters": ID,
        "get": operation(
            "getBulkJob",
            "A bulk job's progress",
            BULK_TAG,
            {"200": ok("The job.", ref("BulkJob")), **errors("unauthorized", "not_found")},
        ),
    },
    "/v1/bulk-jobs/{id}/results": {
        "parameters": ID,
        "get": operation(
            "getBulkJobResults",
            "Per-contact outcomes as CSV",
            BULK_TAG,
            {
                "200": {
                    "description": "Columns: " + ", ".join(RESULT_COLUMNS) + ". Rows "
                    "not sent say `pending`, `canceled` or `failed`.",
                    "content": {"text/csv": {"schema": string()}},
                },
                **errors("unauthorized", "not_found"),
            },
        ),
    },
    "/v1/bulk-jobs/{id}/cancel": {
        "parameters": ID,
        "post": operation(
            "cancelBulkJob",
            "Cancel a pending or running job",
            BULK_TAG,
            {"200": ok("The job, canceled.", ref("BulkJob")), **errors("unauthorized", "not_found", "conflict")},
            description="A request already on its way still goes out; a finished job answers 409.",
        ),
    },
}

TAGS = [
    {"name": TAG, "description": "Automated (on events) and scheduled (at, cron, delay) sends."},
    {"name": BULK_TAG, "description": "Instant sends to a contact list of any size."},
]


def with_flows(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the flow paths, schemas and tags added (it is not changed)."""
    components = dict(document["components"])
    components["schemas"] = {**components["schemas"], **SCHEMAS}
    return {
        **document,
        "tags": [*document["tags"], *TAGS],
        "paths": with_shared_errors({**document["paths"], **PATHS}),
        "components": components,
    }
