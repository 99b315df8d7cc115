"""TeleSign webhooks: delivery reports and customers' messages (MO SMS).

TeleSign signs the raw JSON body: ``Authorization: TSA <customer id>:<base64
HMAC-SHA256 of the body, keyed with the base64-decoded API key>`` (or the bare
signature in ``X-TS-Authorization``). It is checked, in constant time, before
the body is even parsed: a bad one gets 403 and nothing is stored.

TeleSign retries anything but a 200, so every authentic callback gets 200,
a stale or unknown status included. It posts delivery reports and MO messages
to the same callback service, so both paths take both kinds, told apart by
``sub_resource`` (``mo_sms`` for a customer's message). The common path,
journal included, is hub/webhooks/intake.py; the routes are
hub/webhooks/front.py.
"""

from __future__ import annotations

from hub.domain.json_input import parse_json
from hub.domain.records import Channel
from hub.domain.telesign_status import from_telesign_code
from hub.errors import InvalidRequest
from hub.logs import get_logger
from hub.providers.base import StatusEvent
from hub.providers.telesign import is_inbound, parse_inbound, parse_status, verify_callback
from hub.webhooks.intake import Answer, Headers, Parsed, Received, header

log = get_logger("hub.webhooks.telesign")


OK = Answer(200)


class Telesign:
    name = "telesign"
    providers: tuple[str, ...] = ("telesign",)
    bad_signature = "bad or missing TeleSign Authorization"
    signs_url = False

    def signature(self, headers: Headers) -> str:
        return header(headers, b"authorization") or header(headers, b"x-ts-authorization")

    def verify(self, channel: Channel, received: Received) -> bool:
        creds = channel.credentials
        return verify_callback(
            creds.get("customer_id", ""), creds.get("api_key", ""), received.signature, received.body
        )

    def parse(self, received: Received) -> Parsed:
        # The API's parser: deep nesting, lone surrogates and NaN are refused
        # (400) rather than failing later (500) or being stored.
        payload = parse_json(received.body)
        if not isinstance(payload, dict):
            raise InvalidRequest("the body must be a JSON object")
        if not is_inbound(payload):
            return Parsed("status", parse_status(payload))
        message = parse_inbound(payload)
        if not message.provider_id or not message.from_:
            raise InvalidRequest("reference_id and user_response.phone_number are required")
        return Parsed("inbound", message)

    def status(self, channel: Channel, event: StatusEvent) -> tuple[str, str] | None:
        outcome = from_telesign_code(event.status)
        if not event.provider_id or outcome is None:
            log.info("telesign status ignored", extra={"code": event.status, "channel": channel.id})
            return None
        return str(outcome.status), outcome.error_code

    def answer(self, kind: str) -> Answer:
        return OK


TELESIGN = Telesign()
