"""The OpenAPI description of the event feed (endpoints and the event log),
added to the document by ``with_events``. The bodies' and answers' schemas
are generated from the Structs in ``hub.domain.event_feed``."""

from __future__ import annotations

from typing import Any

import msgspec

from hub.api.openapi_spec import (
    ID,
    NO_CONTENT,
    errors,
    json_content,
    ok,
    operation,
    page_of,
    ref,
    with_shared_errors,
)
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
