"""A contact's consent (state, ledger, API opt-out and opt-in), the org's
ledger export, and a customer's erasure."""

from __future__ import annotations

import math
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from hub.api.common import current_org, hub_of, json_body, ok, page_limit
from hub.domain.phones import normalize_phone
from hub.domain.records import Org
from hub.errors import InvalidPhone, InvalidRequest
from hub.services import consent


def _phone(request: Request, org: Org, raw: str | None = None) -> str:
    try:
        return normalize_phone(raw if raw is not None else request.path_params["phone"], org.default_region)
    except InvalidPhone:
        raise InvalidRequest("not a valid phone number", details={"field": "phone"}) from None


def _who(org: Org) -> str:
    """Who asked, for the ledger and the tombstone: the org's API key by the
    start of its hash (never the key)."""
    return "api_key:" + (org.api_key_hash or "")[:12]


async def get_consent(request: Request) -> JSONResponse:
    org = await current_org(request)
    phone = _phone(request, org)
    return ok(
        await consent.ledger(
            hub_of(request), org.id, phone, request.query_params.get("cursor") or None, page_limit(request)
        )
    )


async def set_consent(request: Request) -> JSONResponse:
    org = await current_org(request)
    phone = _phone(request, org)
    hub = hub_of(request)
    await consent.set_consent(hub, org.id, phone, await json_body(request), _who(org))
    return ok(await consent.ledger(hub, org.id, phone, None, 1))


def _since_ms(raw: str | None) -> int:
    """Unix seconds or an ISO 8601 time with its offset."""
    if not raw:
        return 0
    try:
        value = float(raw)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidRequest(
                "since must be Unix seconds or an ISO 8601 time with an offset", details={"field": "since"}
            ) from None
        if parsed.tzinfo is None:
            raise InvalidRequest("since must carry its UTC offset", details={"field": "since"}) from None
        value = parsed.timestamp()
    if not math.isfinite(value) or not 0 <= value < 1e11:
        raise InvalidRequest("since is out of range", details={"field": "since"})
    return int(value * 1000)


async def export_consent(request: Request) -> StreamingResponse:
    org = await current_org(request)
    since = _since_ms(request.query_params.get("since"))
    raw_phone = request.query_params.get("phone")
    phone = _phone(request, org, raw_phone) if raw_phone is not None else None
    return StreamingResponse(
        consent.export_csv(hub_of(request), org.id, since, phone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="consent.csv"'},
    )


async def erase_contact(request: Request) -> JSONResponse:
    org = await current_org(request)
    phone = _phone(request, org)
    conversations = request.app.state.conversations

    async def close(conversation_id: str) -> None:
        await conversations.close(org.id, conversation_id, "", reason="erased")

    counts = await consent.erase(hub_of(request), org.id, phone, _who(org), close, partitions=org.partitions)
    return ok({"phone": phone, "erased": counts})
