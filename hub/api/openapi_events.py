"""The OpenAPI description of the event feed (endpoints and the event log),
added to the document by ``with_events``. The request bodies' schemas are
generated from the Structs in ``hub.domain.event_feed`` that check them."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_spec import (
    ID,
    NO_CONTENT,
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
from hub.domain.event_feed import EVENT_TYPES, MAX_ENDPOINTS, EventEndpointPatch, NewEventEndpoint
from hub.domain.shapes import components

TAG = "Event feed"
_EVENT_ID = string("An event id: `<ms>-<n>`; ids only grow.", pattern=r"^[0-9]+-[0-9]+$", examples=["1733328000000-0"])
_TYPES = {"type": "array", "items": {"enum": list(EVENT_TYPES)}, "minItems": 1}
_DELIVERY = obj(
    {
        "cursor": nullable(_EVENT_ID),
        "failures": {"type": "integer", "minimum": 0, "description": "Failed attempts in a row."},
        "next_attempt_at": nullable(timestamp()),
        "last_error": nullable(string(examples=["http_503", "unreachable: ClientConnectorError"])),
        "last_success_at": nullable(timestamp()),
    },
    ["cursor", "failures", "next_attempt_at", "last_error", "last_success_at"],
    description="Where delivery stands: the last event the endpoint acknowledged (or skipped: not "
    "of its types), and the backoff while it fails.",
)
_ENDPOINT = obj(
    {
        "id": string(),
        "org_id": string(),
        "url": string(),
        "event_types": _TYPES,
        "enabled": {"type": "boolean"},
        "description": string(),
        "created_at": timestamp(),
        "updated_at": timestamp(),
        "delivery": _DELIVERY,
    },
    ["id", "url", "event_types", "enabled", "description", "created_at", "delivery"],
)
_FEED_EVENT = obj(
    {
        "id": _EVENT_ID,
        "type": {"enum": list(EVENT_TYPES)},
        "created_at": timestamp(),
        "data": obj(
            {},
            description="By type: `activity.status` {activity_id, status, previous_status, "
            "error_code?}; `message.received` {conversation_id, customer, "
            "channel_id, message}; `conversation.opened` {conversation_id, "
            "customer, channel_id, queue, activity_id}; `conversation.assigned` "
            "{conversation_id, agent_id, queue}; `conversation.closed` "
            "{conversation_id, agent_id, reason}; `contact.opted_out` / "
            "`contact.opted_in` {phone, channel_id, source: keyword | api}.",
        ),
    },
    ["id", "type", "created_at", "data"],
    description="One event, as posted to endpoints and listed by `GET /v1/events`.",
)
_EVENTS_PAGE = obj(
    {
        "events": {"type": "array", "items": ref("FeedEvent")},
        "next_after": string("Pass as `after` for the next page (the last id given, or `after` itself)."),
        "has_more": {"type": "boolean"},
    },
    ["events", "next_after", "has_more"],
)

# Request bodies: derived from the Structs that check them.
_, _BODIES = components([NewEventEndpoint, EventEndpointPatch], "#/components/schemas/")

SCHEMAS: dict[str, Schema] = {
    **_BODIES,
    "EventEndpoint": _ENDPOINT,
    "FeedEvent": _FEED_EVENT,
    "FeedEventPage": _EVENTS_PAGE,
}

_EXAMPLE = {
    "url": "https://crm.example.com/hub-events",
    "secret": "a-long-random-secret-0123",
    "event_types": ["activity.status", "message.received"],
}

_LIST_EVENTS = operation(
    "listFeedEvents",
    "The org's event log, to replay what a consumer missed",
    TAG,
    {
        "200": ok("Events after `after`, oldest first.", ref("FeedEventPage")),
        **errors("invalid_request", "unauthorized", "cursor_expired"),
    },
    description="Holds the events of the types the org's enabled endpoints subscribe to, for "
    "`HUB_EVENT_RETENTION_HOURS` (72 by default). A cursor older than what is kept "
    "answers 410 `cursor_expired`.",
    parameters=[
        {
            "name": "after",
            "in": "query",
            "required": False,
            "schema": _EVENT_ID,
            "description": "Exclusive; none: from the oldest event kept.",
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
    ],
)

PATHS: dict[str, Any] = {
    "/v1/event-endpoints": {
        "post": operation(
            "createEventEndpoint",
            "Register an endpoint for the event feed",
            TAG,
            {
                "201": ok("The endpoint (without its secret).", ref("EventEndpoint")),
                **errors("invalid_request", "unauthorized", "too_many_endpoints", "partitions_unsupported"),
            },
            description=f"At most {MAX_ENDPOINTS} per org. Delivery starts with the next event.",
            body={"required": True, "content": json_content(ref("NewEventEndpoint"), _EXAMPLE)},
        ),
        "get": operation(
            "listEventEndpoints",
            "List the org's endpoints",
            TAG,
            {"200": ok("Every endpoint, in one page.", page_of("EventEndpoint")), **errors("unauthorized")},
        ),
    },
    "/v1/event-endpoints/{id}": {
        "parameters": ID,
        "get": operation(
            "getEventEndpoint",
            "An endpoint and where its delivery stands",
            TAG,
            {"200": ok("The endpoint.", ref("EventEndpoint")), **errors("unauthorized", "not_found")},
        ),
        "patch": operation(
            "updateEventEndpoint",
            "Change an endpoint (fields given replace)",
            TAG,
            {
                "200": ok("The endpoint.", ref("EventEndpoint")),
                **errors("invalid_request", "unauthorized", "not_found"),
            },
            body={"required": True, "content": json_content(ref("EventEndpointPatch"), {"enabled": False})},
        ),
        "delete": operation(
            "deleteEventEndpoint", "Delete an endpoint", TAG, {"204": NO_CONTENT, **errors("unauthorized", "not_found")}
        ),
    },
}

TAGS = [{"name": TAG, "description": "Signed webhooks of state changes to a CRM, and their log."}]


def with_events(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the event feed's paths, schemas and tag added (it is not changed)."""
    components = dict(document["components"])
    components["schemas"] = {**components["schemas"], **SCHEMAS}
    ours = with_shared_errors({**PATHS, "/v1/events": {"get": _LIST_EVENTS}})
    paths = {**document["paths"], **PATHS}
    paths["/v1/events"] = {**paths.get("/v1/events", {}), **ours.pop("/v1/events")}
    paths.update(ours)
    return {**document, "tags": [*document["tags"], *TAGS], "paths": paths, "components": components}
