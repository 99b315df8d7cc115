"""Twilio (and the sandbox, which speaks Twilio's Messages API) adapter.

The only module that imports ``twilio``. Provider exceptions become
``ProviderError`` here, with the decision whether to retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hub.errors import ProviderError
from hub.providers import guard
from hub.providers.base import InboundMessage, OutboundMessage, SendReceipt, StatusEvent

# Twilio error codes that mean "try again later" although the HTTP status is 4xx.
RETRYABLE_CODES = {"20429", "21611", "30001"}

# The twilio library drops response headers when it raises; the client below
# keeps Retry-After for the task that made the request.
_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)


class _HeaderKeepingClient(AsyncTwilioHttpClient):
    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        data = kwargs.get("data")
        if isinstance(data, dict):
            # The library hands aiohttp a dict, which aiohttp wraps in a
            # FormData object per request; encoding it here is the same body
            # for a fraction of the cost (the headers already say form-encoded).
            kwargs["data"] = urlencode(data, doseq=True)
        # The library passes its per-request timeout (None) on to aiohttp, where
        # None means no timeout at all: the client's own timeout must be given.
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = await super().request(method, url, *args, **kwargs)
        value = response.headers.get("Retry-After") if response.headers else None
        try:
            _retry_after.set(float(value) if value is not None else None)
        except ValueError:
            _retry_after.set(None)
        return response


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
        self._http = _HeaderKeepingClient(timeout=timeout, pool_connections=False)
        self._http.session = aiohttp.ClientSession(connector=connector)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if base_url:
            self._client.api.base_url = base_url

    async def send(self, message: OutboundMessage) -> SendReceipt:
        params: dict[str, Any] = {"to": message.to, "from_": message.from_}
        if message.content_sid:
            params["content_sid"] = message.content_sid
            if message.content_variables:
                params["content_variables"] = message.content_variables
        elif message.body or not message.media_urls:  # media alone needs no body
            params["body"] = message.body
        if message.status_callback:
            params["status_callback"] = message.status_callback
        if message.media_urls:
            params["media_url"] = list(message.media_urls)
        try:
            created = await self._client.messages.create_async(**params)
        except TwilioRestException as exc:
            raise _provider_error(exc, _retry_after.get()) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _unreachable(exc) from exc
        return SendReceipt(provider_id=created.sid or "", provider_status=created.status or "")

    async def find_sent(
        self, to: str, from_: str, since: datetime, body: str, external_id: str | None = None
    ) -> str | None:
        try:
            found = await self._client.messages.list_async(to=to, from_=from_, date_sent_after=since, limit=200)
        except TwilioRestException as exc:
            raise _provider_error(exc, _retry_after.get()) from exc
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


def _provider_error(exc: TwilioRestException, retry_after: float | None) -> ProviderError:
    code = str(exc.code) if exc.code is not None else str(exc.status)
    retryable = exc.status == 429 or exc.status >= 500 or code in RETRYABLE_CODES
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
