"""GET /v1/conversations and /v1/conversations/{id} (org API key)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import current_org, ok, page_limit


async def list_conversations(request: Request) -> JSONResponse:
    org = await current_org(request)
    items, cursor = await request.app.state.conversations.page(
        org.id,
        request.query_params.get("status") or None,
        request.query_params.get("cursor") or None,
        page_limit(request),
    )
    return ok({"items": items, "next_cursor": cursor})


async def get_conversation(request: Request) -> JSONResponse:
    org = await current_org(request)
    return ok(await request.app.state.conversations.get(org.id, request.path_params["id"]))
