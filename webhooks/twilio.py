"""Twilio webhooks (also what the sandbox provider calls): thin edges.

The signature is checked against the public URL the provider called
(HUB_PUBLIC_URL plus the path and query received), since a proxy in front of
the hub changes scheme and host. A bad signature gets 403 and nothing is stored.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.statuses import from_provider_status
from hub.errors import Forbidden, InvalidRequest, NotFound
from hub.providers.twilio import parse_inbound, parse_status, verify_signature
from hub.services.context import Hub


async def _verified_form(request: Request, hub: Hub, kind: str) -> tuple[dict, dict[str, str]]:
    channel = await hub.directory.lookup(request.path_params["channel_id"])
    if channel is None or channel["provider"] not in ("twilio", "sandbox"):
        hub.metrics.webhooks_rejected.labels(kind).inc()
        raise NotFound("no such channel")
    raw = await request.body()
    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    url = hub.settings.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    token = (channel.get("credentials") or {}).get("auth_token", "")
    if not verify_signature(token, url, form, request.headers.get("x-twilio-signature", "")):
        hub.metrics.webhooks_rejected.labels(kind).inc()
        raise Forbidden("bad or missing X-Twilio-Signature")
    return channel, form


async def status_callback(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    started = time.perf_counter()
    channel, form = await _verified_form(request, hub, "status")
    event = parse_status(form)
    status = from_provider_status(event.status)
    if event.provider_id and status is not None:
        await hub.activities.apply_callback(
            channel["org_id"], event.provider_id, str(status), int(time.time() * 1000), event.error_code
        )
        hub.metrics.statuses.labels(channel["provider"], str(status)).inc()
    hub.metrics.webhooks.labels("status").observe(time.perf_counter() - started)
    return Response(status_code=204)


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def inbound(request: Request) -> Response:
    """A customer's message: stored (once per MessageSid) and routed before the 200."""
    hub: Hub = request.app.state.hub
    started = time.perf_counter()
    channel, form = await _verified_form(request, hub, "inbound")
    message = parse_inbound(form)
    if not message.provider_id or not message.from_:
        raise InvalidRequest("MessageSid and From are required")
    await request.app.state.conversations.ingest(channel, message)
    hub.metrics.webhooks.labels("inbound").observe(time.perf_counter() - started)
    return Response(EMPTY_TWIML, media_type="text/xml")
