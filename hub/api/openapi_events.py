"""The operations of the event feed (endpoints and the event log), with
their handlers (``hub.api.event_feed``), for the router and /openapi.json.
The bodies' and answers' schemas are generated from the Structs in
``hub.domain.event_feed``."""

from __future__ import annotations

import msgspec

from hub.api import event_feed
from hub.api.openapi_spec import ID, NO_CONTENT, errors, json_content, ok, page_of, ref
from hub.api.operations import Operation
from hub.domain.event_feed import (
    MAX_ENDPOINTS,
    EventEndpoint,
    EventEndpointPatch,
    EventId,
    FeedEvent,
    FeedEventPage,
    NewEventEndpoint,
)
from hub.domain.shapes import components

TAG = "Event feed"
_EVENT_ID = msgspec.json.schema(EventId)

# Bodies and answers: the Structs that check and describe them (``hub.domain.event_feed``).
_, SCHEMAS = components(
    [NewEventEndpoint, EventEndpointPatch, EventEndpoint, FeedEvent, FeedEventPage], "#/components/schemas/"
)

_EXAMPLE = {
    "url": "https://crm.example.com/hub-events",
    "secret": "a-long-random-secret-0123",
    "event_types": ["activity.status", "message.received"],
}

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/v1/events",
        event_feed.list_events,
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
    ),
    Operation(
        "POST",
        "/v1/event-endpoints",
        event_feed.create_endpoint,
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
    Operation(
        "GET",
        "/v1/event-endpoints",
        event_feed.list_endpoints,
        "listEventEndpoints",
        "List the org's endpoints",
        TAG,
        {"200": ok("Every endpoint, in one page.", page_of("EventEndpoint")), **errors("unauthorized")},
    ),
    Operation(
        "GET",
        "/v1/event-endpoints/{id}",
        event_feed.get_endpoint,
        "getEventEndpoint",
        "An endpoint and where its delivery stands",
        TAG,
        {"200": ok("The endpoint.", ref("EventEndpoint")), **errors("unauthorized", "not_found")},
        path_parameters=ID,
    ),
    Operation(
        "PATCH",
        "/v1/event-endpoints/{id}",
        event_feed.update_endpoint,
        "updateEventEndpoint",
        "Change an endpoint (fields given replace)",
        TAG,
        {
            "200": ok("The endpoint.", ref("EventEndpoint")),
            **errors("invalid_request", "unauthorized", "not_found"),
        },
        body={"required": True, "content": json_content(ref("EventEndpointPatch"), {"enabled": False})},
        path_parameters=ID,
    ),
    Operation(
        "DELETE",
        "/v1/event-endpoints/{id}",
        event_feed.delete_endpoint,
        "deleteEventEndpoint",
        "Delete an endpoint",
        TAG,
        {"204": NO_CONTENT, **errors("unauthorized", "not_found")},
        path_parameters=ID,
    ),
]

TAGS = [{"name": TAG, "description": "Signed webhooks of state changes to a CRM, and their log."}]
