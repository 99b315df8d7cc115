"""GET /openapi.json: the OpenAPI 3.1 description of the API (see ``openapi_spec``)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from hub.api.openapi_agents import with_agent_admin
from hub.api.openapi_events import with_events
from hub.api.openapi_flows import with_flows
from hub.api.openapi_policy import with_policy
from hub.api.openapi_spec import DOCUMENT

# The document is static: serialize it once.
DOCUMENT_JSON = json.dumps(
    with_agent_admin(with_events(with_policy(with_flows(DOCUMENT)))), ensure_ascii=False, separators=(",", ":")
).encode()


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT_JSON, media_type="application/json")
