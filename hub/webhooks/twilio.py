"""Twilio webhooks (also what the sandbox provider calls): what differs from TeleSign's.

The signature is checked against the public URL the provider called
(HUB_PUBLIC_URL plus the path and query received), since a proxy in front of
the hub changes scheme and host. A bad signature gets 403 and nothing is stored.
The common path, journal included, is hub/webhooks/intake.py; the routes
are hub/webhooks/front.py.
"""

from __future__ import annotations

from hub.domain.records import Channel
from hub.domain.statuses import from_provider_status
from hub.errors import InvalidRequest
from hub.providers.base import StatusEvent
from hub.providers.twilio import parse_inbound, parse_status, verify_signature
from hub.webhooks.intake import Answer, Headers, Parsed, Received, header

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
STATUS_ANSWER = Answer(204)
INBOUND_ANSWER = Answer(200, EMPTY_TWIML.encode(), b"text/xml; charset=utf-8")


class Twilio:
    name = "twilio"
    providers: tuple[str, ...] = ("twilio", "sandbox")
    bad_signature = "bad or missing X-Twilio-Signature"
    signs_url = True

    def signature(self, headers: Headers) -> str:
        return header(headers, b"x-twilio-signature")

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

    def answer(self, kind: str) -> Answer:
        return STATUS_ANSWER if kind == "status" else INBOUND_ANSWER


TWILIO = Twilio()
