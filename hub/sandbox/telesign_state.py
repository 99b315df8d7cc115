"""The sandbox's TeleSign: accounts, request authentication, and the shapes of
TeleSign's answers and callbacks. Pure; ``hub.sandbox.telesign`` does the HTTP.

Written from TeleSign's documentation, not from the hub's adapter, so the two
check each other: here the string to sign is rebuilt from the headers that
arrived, as TeleSign's servers do.

Messages live in the shared ``SandboxState`` under the customer id as account,
so the control API and tests see them next to Twilio's. ``to`` and ``from`` are
kept in E.164 with ``+`` (TeleSign itself takes bare digits) so the same
helpers find them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from hub.domain.segments import MAX_BODY_LENGTH

AUTH_METHOD = "HMAC-SHA256"
MAX_CLOCK_SKEW_S = 15 * 60
MESSAGE_TYPES = frozenset({"OTP", "ARN", "MKT"})
IN_PROGRESS = 290
MO_DELIVERED = 1500
STATUS_TEXT = {
    200: "Delivered to handset",
    203: "Delivered to gateway",
    207: "Error delivering SMS to handset (reason unknown)",
    210: "Temporary phone error",
    211: "Permanent phone error",
    220: "Gateway/network cannot route message",
    221: "Message expired before delivery",
    222: "SMS not supported",
    229: "Message blocked by your request",
    230: "Message blocked by TeleSign",
    231: "Invalid/unsupported message content",
    237: "Message blocked in requested country",
    238: "Destination blocked by prefix",
    250: "Final status unknown",
    251: "Message sent out for delivery; no receipt",
    290: "Message in progress",
    1500: "Delivered",
}
# The sandbox's callback plans speak Twilio's words (rules are shared by both
# APIs); TeleSign reports these codes for them.
PLAN_CODES = {"sent": 203, "delivered": 200, "undelivered": 210, "failed": 230}
# Illustrative error codes (TeleSign's are negative numbers in `errors[].code`).
INVALID_REQUEST, UNKNOWN_CUSTOMER, BAD_SIGNATURE = -10001, -30000, -30006


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def new_reference_id() -> str:
    return os.urandom(16).hex().upper()


def error_body(code: int, description: str, now: float) -> dict[str, Any]:
    return {
        "errors": [{"code": code, "description": description}],
        "status": {"code": 10000, "description": "Transaction failed", "updated_on": iso(now)},
    }


def status_body(code: int, at: float) -> dict[str, Any]:
    return {"code": code, "description": STATUS_TEXT.get(code, "Status"), "updated_on": iso(at)}


def sign(api_key: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(api_key), data, hashlib.sha256).digest()).decode()


class TelesignAccounts:
    """Customer ids and their API keys; the nonces already used (replays are refused)."""

    def __init__(self, remembered_nonces: int = 100_000) -> None:
        self.keys: dict[str, str] = {}
        self._nonces: set[str] = set()
        self._order: deque[str] = deque()
        self._limit = remembered_nonces

    def add(self, customer_id: str, api_key: str) -> None:
        try:
            base64.b64decode(api_key, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("api_key must be base64") from None
        self.keys[customer_id] = api_key

    def authenticate(
        self, method: str, path: str, headers: Mapping[str, str], body: str, now: float
    ) -> tuple[str | None, int]:
        """The customer id a TSA-signed request comes from, or ``(None, error code)``."""
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        customer_id, _, signature = credentials.partition(":")
        key = self.keys.get(customer_id)
        if scheme != "TSA" or key is None:
            return None, UNKNOWN_CUSTOMER
        nonce = headers.get("x-ts-nonce", "")
        ts_date = headers.get("x-ts-date")
        try:
            sent_at = parsedate_to_datetime(ts_date or headers.get("date", "")).timestamp()
        except (TypeError, ValueError):
            return None, BAD_SIGNATURE
        if (
            headers.get("x-ts-auth-method") != AUTH_METHOD
            or not nonce
            or nonce in self._nonces
            or abs(now - sent_at) > MAX_CLOCK_SKEW_S
        ):
            return None, BAD_SIGNATURE
        content_type = headers.get("content-type", "")
        lines = [method, content_type, headers.get("date", ""), f"x-ts-auth-method:{AUTH_METHOD}"]
        if ts_date:
            lines.append(f"x-ts-date:{ts_date}")
        lines.append(f"x-ts-nonce:{nonce}")
        if content_type and body:
            lines.append(body)
        lines.append(path)
        if not hmac.compare_digest(signature.encode(), sign(key, "\n".join(lines).encode()).encode()):
            return None, BAD_SIGNATURE
        self._remember(nonce)
        return customer_id, 0

    def _remember(self, nonce: str) -> None:
        self._nonces.add(nonce)
        self._order.append(nonce)
        if len(self._order) > self._limit:
            self._nonces.discard(self._order.popleft())


def send_fault(fields: Mapping[str, str]) -> str | None:
    """What is wrong with a send request, in TeleSign's words, if anything."""
    number = fields.get("phone_number", "")
    if not number.isdigit() or not 7 <= len(number) <= 15:
        return "Invalid Request: PhoneNumber Parameter"
    if not fields.get("message") or len(fields["message"]) > MAX_BODY_LENGTH:
        return "Invalid Request: Message Parameter"
    if fields.get("message_type") not in MESSAGE_TYPES:
        return "Invalid Request: MessageType Parameter"
    return None


def plan_code(status: str, error_code: str | None) -> int | None:
    """The TeleSign code reported for a plan step; a rule's own 2xx code wins."""
    if status in ("undelivered", "failed") and error_code and error_code.isdigit():
        if 200 <= int(error_code) < 300:
            return int(error_code)
    return PLAN_CODES.get(status)


def dlr_payload(
    reference_id: str, external_id: str | None, code: int, submitted: float, now: float, parts: int
) -> dict[str, Any]:
    return {
        "reference_id": reference_id,
        "external_id": external_id,
        "status": status_body(code, now),
        "submit_timestamp": iso(submitted),
        "sub_resource": "sms",
        "errors": [],
        "additional_info": {"message_parts_count": parts},
    }


_ACTIONS = {
    "stop": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET"),
    "start": ("START", "UNSTOP", "YES"),
    "help": ("HELP", "INFO"),
}


def mo_payload(reference_id: str, customer: str, sender: str, text: str, now: float) -> dict[str, Any]:
    """TeleSign's MO SMS callback, with its keyword handling turned on."""
    word = text.strip().upper()
    action = next((a for a, words in _ACTIONS.items() if word in words), "generic")
    return {
        "reference_id": reference_id,
        "status": status_body(MO_DELIVERED, now),
        "sub_resource": "mo_sms",
        "errors": {},
        "submit_timestamp": iso(now),
        "user_response": {
            "sender_id": "".join(c for c in sender if c.isdigit()),
            "iso_country_code": "US",
            "action": action,
            "keyword": "" if action == "generic" else text.strip().lower(),
            "phone_number": "".join(c for c in customer if c.isdigit()),
            "mo_message": text,
            "price": "0.0075",
        },
    }
