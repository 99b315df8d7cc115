"""Twilio webhooks (also what the sandbox provider calls): thin edges.

The signature is checked against the public URL the provider called
(HUB_PUBLIC_URL plus the path and query received), since a proxy in front of
the hub changes scheme and host. A bad signature gets 403 and nothing is stored.
The common path, journal included, is hub/webhooks/intake.py.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.records import Channel
from hub.domain.statuses import from_provider_status
from hub.errors import InvalidRequest
from hub.providers.base import StatusEvent
from hub.providers.twilio import parse_inbound, parse_status, verify_signature
from hub.webhooks.intake import Parsed, Received, handle

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class Twilio:
    name = "twilio"
    providers: tuple[str, ...] = ("twilio", "sandbox")
    bad_signature = "bad or missing X-Twilio-Signature"
    signs_url = True

    def signature(self, request: Request) -> str:
        return request.headers.get("x-twilio-signature", "")

    def verify(self, channel: Channel, received: Received) -> bool:
        token = channel.credentials.get("auth_token", "")
        return verify_signature(token, received.url, received.form, received.signature)

    def parse(self, received: Received) -> Parsed:
        if received.route == "status":
            return Parsed("status", parse_status(received.form))
        message = parse_inbound(received.form)
        if not message.provider_id or not message.from_:
            raise InvalidRequest("MessageSid and From are required")
        return Parsed("inbound", message)

    def status(self, channel: Channel, event: StatusEvent) -> tuple[str, str] | None:
        status = from_provider_status(event.status)
        if not event.provider_id or status is None:
            return None
        return str(status), event.error_code

    def answer(self, kind: str) -> Response:
        if kind == "status":
            return Response(status_code=204)
        return Response(EMPTY_TWIML, media_type="text/xml")


TWILIO = Twilio()


async def status_callback(request: Request) -> Response:
    return await handle(request, TWILIO, "status")


async def inbound(request: Request) -> Response:
    """A customer's message: stored (once per MessageSid) and routed before the 200."""
    return await handle(request, TWILIO, "inbound")
