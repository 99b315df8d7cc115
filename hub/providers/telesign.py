"""TeleSign SMS adapter: the Messaging REST API over aiohttp.

Requests are signed exactly as TeleSign's SDK (telesign 4.x, ``RestClient.
generate_telesign_headers``) signs them; a test pins this to the SDK's output.
The SDK itself is not used: it is built on ``requests`` and so synchronous, and
running it in ``asyncio.to_thread`` would tie up a thread for every in-flight
send (hundreds under load, each possibly waiting out a provider timeout) and
add ``requests`` to the dependencies for one POST and one GET.

The only module that speaks TeleSign. Its answers become ``ProviderError`` here,
with the decision whether to retry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import aiohttp

from hub.errors import ProviderError
from hub.providers import guard
from hub.providers.base import InboundMessage, OutboundMessage, SendReceipt, StatusEvent

DEFAULT_BASE_URL = "https://rest-ww.telesign.com"
MESSAGING = "/v1/messaging"
FORM = "application/x-www-form-urlencoded"
AUTH_METHOD = "HMAC-SHA256"
# Alerts, reminders and notifications: what a contact centre sends.
MESSAGE_TYPE = "ARN"
MO_SMS = "mo_sms"


def digits(number: str) -> str:
    """TeleSign writes numbers as bare digits with the country code (no ``+``)."""
    return "".join(ch for ch in number if ch.isdigit())


def _hmac_b64(api_key: str, data: bytes) -> str:
    key = base64.b64decode(api_key)
    return base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode()


def request_headers(
    customer_id: str,
    api_key: str,
    method: str,
    resource: str,
    body: str,
    *,
    date: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """TSA headers for one request; ``resource`` is the path without the query.

    String to sign: method, content type, date, auth method, nonce, the form
    body (when there is one) and the resource, one per line."""
    date = date or formatdate(usegmt=True)
    nonce = nonce or str(uuid.uuid4())
    content_type = FORM if method in ("POST", "PUT") else ""
    lines = [method, content_type, date, f"x-ts-auth-method:{AUTH_METHOD}", f"x-ts-nonce:{nonce}"]
    if content_type and body:
        lines.append(body)
    lines.append(resource)
    signature = _hmac_b64(api_key, "\n".join(lines).encode())
    headers = {
        "Authorization": f"TSA {customer_id}:{signature}",
        "Date": date,
        "x-ts-auth-method": AUTH_METHOD,
        "x-ts-nonce": nonce,
    }
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def callback_signature(api_key: str, body: bytes) -> str:
    return _hmac_b64(api_key, body)


def verify_callback(customer_id: str, api_key: str, header: str, body: bytes) -> bool:
    """``Authorization: TSA <customer id>:<signature>``, or the bare signature
    (``X-TS-Authorization``); compared in constant time."""
    value = header.strip()
    if not value or not customer_id or not api_key:
        return False
    same_customer = True
    if value.startswith("TSA "):
        claimed, _, value = value[4:].partition(":")
        same_customer = hmac.compare_digest(claimed.encode(), customer_id.encode())
    try:
        expected = callback_signature(api_key, body)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(value.encode(), expected.encode()) and same_customer


def _answer(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _code(answer: Mapping[str, Any], http_status: int) -> str:
    """TeleSign's own code: the first ``errors[].code``, else ``status.code``."""
    errors = answer.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and "code" in errors[0]:
        return str(errors[0]["code"])
    status = answer.get("status")
    if isinstance(status, dict) and status.get("code") is not None:
        return str(status["code"])
    return str(http_status)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class TelesignProvider:
    def __init__(
        self,
        customer_id: str,
        api_key: str,
        *,
        base_url: str,
        timeout: float,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        # Built inside the running event loop (the session binds to it). A
        # tenant's URL gets a guarded connector (hub.providers.guard).
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), connector=connector)

    async def _call(
        self, method: str, resource: str, query: str = "", body: str = ""
    ) -> tuple[int, dict[str, Any], Mapping[str, str]]:
        headers = request_headers(self.customer_id, self.api_key, method, resource, body)
        url = self.base_url + resource + (f"?{query}" if query else "")
        try:
            # A redirect could lead anywhere, with the signed request: never followed.
            async with self._http.request(
                method, url, data=body.encode() or None, headers=headers, allow_redirects=False
            ) as resp:
                return resp.status, _answer(await resp.text()), resp.headers
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if guard.refused(exc):
                raise guard.forbidden_error() from exc
            if isinstance(exc, aiohttp.ClientConnectorError):
                # No connection, so nothing was sent: the retry need not ask first.
                raise ProviderError("provider unreachable", provider_code="unreachable", retryable=True) from exc
            raise ProviderError("provider unreachable", provider_code="timeout", retryable=True) from exc

    @staticmethod
    def _raise_busy(status: int, answer: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        if status == 429 or status >= 500:
            raise ProviderError(
                "provider busy", provider_code=_code(answer, status), retryable=True, retry_after=_retry_after(headers)
            )

    async def send(self, message: OutboundMessage) -> SendReceipt:
        if message.content_sid or message.media_urls:
            raise ProviderError("TeleSign SMS carries text only", provider_code="unsupported_content")
        fields = {"phone_number": digits(message.to), "message": message.body, "message_type": MESSAGE_TYPE}
        if digits(message.from_):
            fields["sender_id"] = digits(message.from_)
        if message.external_id:
            fields["external_id"] = message.external_id
        if message.status_callback:
            fields["callback_url"] = message.status_callback
        status, answer, headers = await self._call("POST", MESSAGING, body=urlencode(fields))
        self._raise_busy(status, answer, headers)
        reference_id = answer.get("reference_id")
        if status >= 400 or not reference_id:
            raise ProviderError("provider refused the message", provider_code=_code(answer, status), retryable=False)
        return SendReceipt(provider_id=str(reference_id), provider_status=_code(answer, status))

    async def find_sent(
        self, to: str, from_: str, since: datetime, body: str, external_id: str | None = None
    ) -> str | None:
        """TeleSign can only fetch a message by its reference id, which a
        crashed worker never saw. This asks for it by ``external_id`` (the
        activity id), which the sandbox answers; real TeleSign has no such
        lookup and answers 4xx, taken as "not sent" (see README: the crash
        window can then send twice)."""
        if not external_id:
            return None
        status, answer, headers = await self._call("GET", MESSAGING, query=urlencode({"external_id": external_id}))
        self._raise_busy(status, answer, headers)
        if status >= 400:  # 404 from the sandbox, or a lookup real TeleSign does not offer
            return None
        if digits(str(answer.get("phone_number", ""))) != digits(to):
            return None
        return str(answer.get("reference_id") or "") or None

    async def aclose(self) -> None:
        await self._http.close()


def parse_status(payload: Mapping[str, Any]) -> StatusEvent:
    status = payload.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    return StatusEvent(provider_id=str(payload.get("reference_id") or ""), status="" if code is None else str(code))


def is_inbound(payload: Mapping[str, Any]) -> bool:
    return payload.get("sub_resource") == MO_SMS


def _as_number(raw: str) -> str:
    number = digits(raw)
    # Long numbers come with their country code; short codes stay as they are.
    return "+" + number if len(number) > 6 else raw


def parse_inbound(payload: Mapping[str, Any]) -> InboundMessage:
    """TeleSign's MO SMS callback: ``user_response.phone_number`` (the customer),
    ``sender_id`` (our number) and ``mo_message`` (the text)."""
    user = payload.get("user_response")
    user = user if isinstance(user, dict) else {}
    extra = {k: str(user[k]) for k in ("iso_country_code", "action", "keyword") if user.get(k)}
    return InboundMessage(
        provider_id=str(payload.get("reference_id") or ""),
        from_=_as_number(str(user.get("phone_number") or "")),
        to=_as_number(str(user.get("sender_id") or "")),
        body=str(user.get("mo_message") or ""),
        extra=extra,
    )
