"""What every HTTP handler shares: auth, JSON in and out, paging."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.domain.cursors import finite_score
from hub.domain.json_input import parse_json
from hub.domain.records import Org
from hub.errors import InvalidRequest, Unauthorized
from hub.services.context import Hub


def hub_of(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <API key>")
    return token.strip()


async def current_org(request: Request) -> Org:
    hub = hub_of(request)
    org = await hub.orgs.for_key(bearer(request))
    if org is None:
        raise Unauthorized("unknown API key")
    return org


def require_admin(request: Request) -> None:
    expected = hub_of(request).settings.admin_token
    given = bearer(request)
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("this call needs the admin token (HUB_ADMIN_TOKEN)")


async def json_body(request: Request) -> Any:
    """The body as JSON (read within the route's size limit, see ``body_limit``)."""
    return parse_json(await request.body())


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def page_limit(request: Request, default: int = 50, maximum: int = 200) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest("limit must be an integer", details={"field": "limit"}) from None
    if not 1 <= value <= maximum:
        raise InvalidRequest(f"limit must be between 1 and {maximum}", details={"field": "limit"})
    return value


def time_cursor(request: Request) -> float | None:
    """A list cursor that is a creation time (the catalogue's record lists)."""
    raw = request.query_params.get("cursor")
    return finite_score(raw) if raw else None
