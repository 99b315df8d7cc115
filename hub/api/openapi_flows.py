"""The operations of flows, events and bulk jobs, with their handlers
(``hub.api.flows``), for the router and /openapi.json. The bodies' and
answers' schemas are generated from the Structs in ``hub.domain.flows``."""

from __future__ import annotations

from typing import Any

from hub.api import flows
from hub.api.openapi_spec import (
    ID,
    NO_CONTENT,
    PAGING,
    Schema,
    errors,
    json_content,
    obj,
    ok,
    page_of,
    ref,
    string,
)
from hub.api.operations import Operation
from hub.domain.contact_rows import CONTACT_FIELDS, RESULT_COLUMNS
from hub.domain.flows import BulkJob, Event, EventAnswer, Flow, FlowFiring, FlowInput, FlowPatch, FlowRun
from hub.domain.shapes import components

TAG = "Flows"
BULK_TAG = "Bulk jobs"

# Bodies and answers: the Structs that check them (``hub.domain.flows``).
(_INPUT, *_), _SHAPES = components(
    [FlowInput, FlowPatch, Flow, FlowRun, Event, EventAnswer, FlowFiring, BulkJob], "#/components/schemas/"
)
SCHEMAS: dict[str, Schema] = {"FlowInput": _INPUT, **_SHAPES}

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

OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        "/v1/flows",
        flows.create_flow,
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
    Operation(
        "GET",
        "/v1/flows",
        flows.list_flows,
        "listFlows",
        "List flows, oldest first",
        TAG,
        {
            "200": ok("A page of flows (without contacts and runs).", page_of("Flow")),
            **errors("invalid_request", "unauthorized"),
        },
        parameters=PAGING,
    ),
    Operation(
        "GET",
        "/v1/flows/{id}",
        flows.get_flow,
        "getFlow",
        "Get a flow, its next run and its runs",
        TAG,
        {"200": ok("The flow.", ref("Flow")), **errors("unauthorized", "not_found")},
        path_parameters=ID,
    ),
    Operation(
        "PATCH",
        "/v1/flows/{id}",
        flows.patch_flow,
        "updateFlow",
        "Enable or disable a flow",
        TAG,
        {"200": ok("The flow.", ref("Flow")), **errors("invalid_request", "unauthorized", "not_found")},
        body={"required": True, "content": json_content(ref("FlowPatch"), {"enabled": False})},
        path_parameters=ID,
    ),
    Operation(
        "DELETE",
        "/v1/flows/{id}",
        flows.delete_flow,
        "deleteFlow",
        "Delete (cancel) a flow",
        TAG,
        {"204": NO_CONTENT, **errors("unauthorized", "not_found")},
        path_parameters=ID,
    ),
    Operation(
        "POST",
        "/v1/events",
        flows.post_event,
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
    Operation(
        "POST",
        "/v1/bulk-jobs",
        flows.create_bulk_job,
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
    Operation(
        "GET",
        "/v1/bulk-jobs",
        flows.list_bulk_jobs,
        "listBulkJobs",
        "List bulk jobs, newest first",
        BULK_TAG,
        {"200": ok("A page of jobs.", page_of("BulkJob")), **errors("invalid_request", "unauthorized")},
        parameters=PAGING,
    ),
    Operation(
        "GET",
        "/v1/bulk-jobs/{id}",
        flows.get_bulk_job,
        "getBulkJob",
        "A bulk job's progress",
        BULK_TAG,
        {"200": ok("The job.", ref("BulkJob")), **errors("unauthorized", "not_found")},
        path_parameters=ID,
    ),
    Operation(
        "GET",
        "/v1/bulk-jobs/{id}/results",
        flows.bulk_job_results,
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
        path_parameters=ID,
    ),
    Operation(
        "POST",
        "/v1/bulk-jobs/{id}/cancel",
        flows.cancel_bulk_job,
        "cancelBulkJob",
        "Cancel a pending or running job",
        BULK_TAG,
        {"200": ok("The job, canceled.", ref("BulkJob")), **errors("unauthorized", "not_found", "conflict")},
        description="A request already on its way still goes out; a finished job answers 409.",
        path_parameters=ID,
    ),
]

TAGS = [
    {"name": TAG, "description": "Automated (on events) and scheduled (at, cron, delay) sends."},
    {"name": BULK_TAG, "description": "Instant sends to a contact list of any size."},
]
