"""Twilio (and the sandbox, which speaks Twilio's Messages API) adapter.

The only module that imports ``twilio``. Provider exceptions become
``ProviderError`` here, with the decision whether to retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hub.errors import ProviderError
from hub.providers import guard
from hub.providers.base import InboundMessage, OutboundMessage, SendReceipt, StatusEvent

# Twilio error codes that mean "try again later" although the HTTP status is 4xx.
RETRYABLE_CODES = {"20429", "21611", "30001"}


class _HubHttpClient(AsyncHttpClient):
    """The twilio library's ``Client`` over the hub's own aiohttp session (the
    library's documented extension point for the transport). Against the
    library's own async client it encodes the form body once instead of
    handing aiohttp a dict to wrap, builds the Basic auth header once per
    account, always applies the client's timeout (the library passes None,
    which aiohttp takes as no timeout at all) and skips the per-request
    logging objects; together with sending through ``Client.request_async``
    rather than the resource classes, a send costs about a quarter less CPU.
    A ``Response`` keeps its headers (the library drops them when it raises),
    so a refusal can be read with its Retry-After."""

    def __init__(self, session: aiohttp.ClientSession, timeout: float) -> None:
        super().__init__(None, True, timeout)
        self.session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._authorization: dict[tuple[str, str], str] = {}

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        sent = dict(headers or {})
        if auth is not None:
            value = self._authorization.get(auth)
            if value is None:
                value = self._authorization[auth] = aiohttp.encode_basic_auth(auth[0], auth[1])
            sent["Authorization"] = value
        async with self.session.request(
            method,
            url,
            params=_pairs(params) if params else None,
            data=urlencode(data, doseq=True) if data else None,
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=timeout) if timeout else self._timeout,
            allow_redirects=allow_redirects,
        ) as answer:
            text = await answer.text()
            return Response(answer.status, text, answer.headers)

    async def close(self) -> None:
        await self.session.close()


class TwilioProvider:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str | None,
        timeout: float,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        # Must be built inside the running event loop: the HTTP client opens
        # its aiohttp session here. ``connector``: a tenant's URL gets a
        # guarded one (hub.providers.guard); the library never follows redirects.
        self._http = _HubHttpClient(aiohttp.ClientSession(connector=connector), timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if base_url:
            self._client.api.base_url = base_url
        self._messages_url = f"{self._client.api.base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"

    async def send(self, message: OutboundMessage) -> SendReceipt:
        # Twilio's Messages API fields, as the library's MessageList would send them.
        data: dict[str, object] = {"To": message.to, "From": message.from_}
        if message.content_sid:
            data["ContentSid"] = message.content_sid
            if message.content_variables:
                data["ContentVariables"] = message.content_variables
        elif message.body or not message.media_urls:  # media alone needs no body
            data["Body"] = message.body
        if message.status_callback:
            data["StatusCallback"] = message.status_callback
        if message.media_urls:
            data["MediaUrl"] = list(message.media_urls)
        try:
            answer = await self._client.request_async("POST", self._messages_url, data=data)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _unreachable(exc) from exc
        created = _json_object(answer.text)
        if not 200 <= answer.status_code < 300:
            raise _refusal(answer.status_code, created, _retry_after(answer.headers))
        return SendReceipt(provider_id=str(created.get("sid") or ""), provider_status=str(created.get("status") or ""))

    async def find_sent(
        self, to: str, from_: str, since: datetime, body: str, external_id: str | None = None
    ) -> str | None:
        try:
            found = await self._client.messages.list_async(to=to, from_=from_, date_sent_after=since, limit=200)
        except TwilioRestException as exc:
            raise _refusal(exc.status, {"code": exc.code}) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _unreachable(exc) from exc
        for m in found:
            if (m.body or "") == body or not body:
                return str(m.sid)
        return None

    async def aclose(self) -> None:
        await self._http.close()


def _unreachable(exc: BaseException) -> ProviderError:
    if guard.refused(exc):
        return guard.forbidden_error()
    if isinstance(exc, aiohttp.ClientConnectorError):
        # No connection, so nothing was sent: the retry need not ask first.
        return ProviderError("provider unreachable", provider_code="unreachable", retryable=True)
    return ProviderError("provider unreachable", provider_code="timeout", retryable=True)


def _pairs(params: Mapping[str, object]) -> list[tuple[str, str]]:
    """Query parameters as aiohttp takes them (a string would be encoded twice)."""
    return [
        (key, str(item))
        for key, value in params.items()
        for item in (value if isinstance(value, list | tuple) else (value,))
    ]


def _json_object(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds of a Retry-After header, or None (absent, or a date)."""
    value = headers.get("Retry-After") if headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _refusal(status: int, answer: Mapping[str, Any], retry_after: float | None = None) -> ProviderError:
    code = str(answer["code"]) if answer.get("code") is not None else str(status)
    retryable = status == 429 or status >= 500 or code in RETRYABLE_CODES
    return ProviderError(
        "provider refused the message" if not retryable else "provider busy",
        provider_code=code,
        retryable=retryable,
        retry_after=retry_after,
    )


def verify_signature(auth_token: str, url: str, params: Mapping[str, Any], signature: str) -> bool:
    if not signature:
        return False
    # Twilio's scheme, on the exact URL: one HMAC over the URL and the fields
    # sorted by name. The library's own check (which also tries the URL with
    # and without the default port) only runs when this misses.
    payload = url + "".join(f"{k}{v}" for k, v in sorted(params.items()))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    if hmac.compare_digest(base64.b64encode(digest).decode(), signature):
        return True
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def parse_status(form: Mapping[str, str]) -> StatusEvent:
    return StatusEvent(
        provider_id=form.get("MessageSid") or form.get("SmsSid") or "",
        status=(form.get("MessageStatus") or form.get("SmsStatus") or "").lower(),
        error_code=form.get("ErrorCode") or "",
    )


def parse_inbound(form: Mapping[str, str]) -> InboundMessage:
    try:
        num_media = int(form.get("NumMedia") or 0)
    except ValueError:
        num_media = 0
    media = tuple(
        (form.get(f"MediaUrl{i}", ""), form.get(f"MediaContentType{i}", ""))
        for i in range(min(num_media, 10))
        if form.get(f"MediaUrl{i}")
    )
    extra = {k: form[k] for k in ("ProfileName", "WaId", "OriginalRepliedMessageSid") if form.get(k)}
    return InboundMessage(
        provider_id=form.get("MessageSid") or form.get("SmsMessageSid") or "",
        from_=form.get("From", ""),
        to=form.get("To", ""),
        body=form.get("Body", ""),
        media=media,
        extra=extra,
    )
