"""Every HTTP operation of the API (``OPERATIONS``, the router's too: hub/app.py)
and GET /openapi.json, their OpenAPI 3.1 description (see ``openapi_spec``)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from hub.api import openapi_agents, openapi_events, openapi_flows, openapi_policy, openapi_spec
from hub.api.openapi_spec import PUBLIC, ok
from hub.api.operations import Operation


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT_JSON, media_type="application/json")


OPERATIONS: list[Operation] = [
    *openapi_spec.OPERATIONS,
    *openapi_flows.OPERATIONS,
    *openapi_policy.OPERATIONS,
    *openapi_events.OPERATIONS,
    *openapi_agents.OPERATIONS,
    # Declared here, beside the document it serves.
    Operation(
        "GET",
        "/openapi.json",
        openapi,
        "openapi",
        "This document",
        "Operations",
        {"200": ok("OpenAPI 3.1 document.", {"type": "object"})},
        security=PUBLIC,
    ),
]

# The document is static: serialize it once.
DOCUMENT_JSON = json.dumps(
    openapi_spec.document(
        OPERATIONS,
        tags=[*openapi_flows.TAGS, *openapi_policy.TAGS, *openapi_events.TAGS],
        schemas={
            **openapi_flows.SCHEMAS,
            **openapi_policy.SCHEMAS,
            **openapi_events.SCHEMAS,
            **openapi_agents.SCHEMAS,
        },
    ),
    ensure_ascii=False,
    separators=(",", ":"),
).encode()
