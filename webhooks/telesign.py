"""TeleSign webhooks: delivery reports and customers' messages (MO SMS).

TeleSign signs the raw JSON body: ``Authorization: TSA <customer id>:<base64
HMAC-SHA256 of the body, keyed with the base64-decoded API key>`` (or the bare
signature in ``X-TS-Authorization``). It is checked, in constant time, before
the body is even parsed: a bad one gets 403 and nothing is stored.

TeleSign retries anything but a 200, so every authentic callback gets 200,
a stale or unknown status included. It posts delivery reports and MO messages
to the same callback service, so both paths take both kinds, told apart by
``sub_resource`` (``mo_sms`` for a customer's message).
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.telesign_status import from_telesign_code
from hub.errors import Forbidden, InvalidRequest, NotFound
from hub.logs import get_logger
from hub.providers.telesign import is_inbound, parse_inbound, parse_status, verify_callback
from hub.services.context import Hub

log = get_logger("webhooks.telesign")


async def _verified(request: Request, hub: Hub, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    channel = await hub.directory.lookup(request.path_params["channel_id"])
    if channel is None or channel["provider"] != "telesign":
        hub.metrics.webhooks_rejected.labels(kind).inc()
        raise NotFound("no such channel")
    raw = await request.body()
    creds = channel.get("credentials") or {}
    header = request.headers.get("authorization") or request.headers.get("x-ts-authorization", "")
    if not verify_callback(creds.get("customer_id", ""), creds.get("api_key", ""), header, raw):
        hub.metrics.webhooks_rejected.labels(kind).inc()
        raise Forbidden("bad or missing TeleSign Authorization")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise InvalidRequest("the body must be JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("the body must be a JSON object")
    return channel, payload


async def _status(hub: Hub, channel: dict[str, Any], payload: dict[str, Any]) -> None:
    event = parse_status(payload)
    outcome = from_telesign_code(event.status)
    if not event.provider_id or outcome is None:
        log.info("telesign status ignored", extra={"code": event.status, "channel": channel["id"]})
        return
    await hub.activities.apply_callback(
        channel["org_id"], event.provider_id, str(outcome.status), int(time.time() * 1000),
        outcome.error_code)
    hub.metrics.statuses.labels("telesign", str(outcome.status)).inc()


async def _inbound(request: Request, channel: dict[str, Any], payload: dict[str, Any]) -> None:
    message = parse_inbound(payload)
    if not message.provider_id or not message.from_:
        raise InvalidRequest("reference_id and user_response.phone_number are required")
    # Stored once per reference_id: TeleSign's retries of a slow answer are no-ops.
    await request.app.state.conversations.ingest(channel, message)


async def _callback(request: Request, kind: str) -> Response:
    hub: Hub = request.app.state.hub
    started = time.perf_counter()
    channel, payload = await _verified(request, hub, kind)
    if is_inbound(payload):
        await _inbound(request, channel, payload)
        kind = "inbound"
    else:
        await _status(hub, channel, payload)
        kind = "status"
    hub.metrics.webhooks.labels(kind).observe(time.perf_counter() - started)
    return Response(status_code=200)


async def status_callback(request: Request) -> Response:
    """The ``callback_url`` of messages the hub sends on this channel."""
    return await _callback(request, "status")


async def inbound(request: Request) -> Response:
    """The account's MO callback URL: a customer's message, stored and routed before the 200."""
    return await _callback(request, "inbound")
