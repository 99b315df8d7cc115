"""One provider client per channel, built on first use and rebuilt when the
channel's credentials or base URL change.

A channel's own ``api_base_url`` is the tenant's: it is checked against the
provider URL rule again here (the operator's list may have changed since it
was saved, or it was saved before the rule), and its connections go through
the guard unless the operator vouches for it."""

from __future__ import annotations

import hashlib
from datetime import datetime

import aiohttp

from hub.domain.provider_urls import check_provider_url, operator_vouches
from hub.domain.records import Channel
from hub.errors import InvalidRequest
from hub.providers import guard, telesign
from hub.providers.base import OutboundMessage, Provider, SendReceipt
from hub.providers.twilio import TwilioProvider
from hub.settings import Settings

_CREDENTIAL_KEYS = ("account_sid", "auth_token", "customer_id", "api_key")


def _fingerprint(channel: Channel, base_url: str | None) -> str:
    creds = channel.credentials
    raw = "|".join([channel.provider, *(str(creds.get(k)) for k in _CREDENTIAL_KEYS), str(base_url)])
    return hashlib.sha256(raw.encode()).hexdigest()


class RefusedUrl:
    """The provider of a channel whose api_base_url the rule refuses: every call
    fails with ``provider_url_forbidden`` and nothing is sent."""

    async def send(self, message: OutboundMessage) -> SendReceipt:
        raise guard.forbidden_error()

    async def find_sent(
        self, to: str, from_: str, since: datetime, body: str, external_id: str | None = None
    ) -> str | None:
        raise guard.forbidden_error()

    async def aclose(self) -> None:
        return None


class ProviderPool:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[str, tuple[str, Provider]] = {}

    def base_url(self, channel: Channel) -> str | None:
        if channel.api_base_url:
            return channel.api_base_url
        if channel.provider == "sandbox":
            return self.settings.sandbox_url
        if channel.provider == "telesign":
            return self.settings.telesign_api_base_url or telesign.DEFAULT_BASE_URL
        return self.settings.twilio_api_base_url

    def status_callback_url(self, channel: Channel, partition: int = 0) -> str:
        """Where the channel's provider reports delivery: its own webhook path
        (the sandbox speaks Twilio); for a message of an org's partition 1 and
        up, with ``?p=<partition>`` (hub.webhooks.intake.partition_hint)."""
        kind = "telesign" if channel.provider == "telesign" else "twilio"
        url = f"{self.settings.public_url}/webhooks/{kind}/{channel.id}/status"
        return f"{url}?p={partition}" if partition else url

    async def for_channel(self, channel: Channel) -> Provider:
        base = self.base_url(channel)
        fp = _fingerprint(channel, base)
        cached = self._clients.get(channel.id)
        if cached and cached[0] == fp:
            return cached[1]
        if cached:
            del self._clients[channel.id]
            await cached[1].aclose()
        self._clients[channel.id] = (fp, self._build(channel, base))
        return self._clients[channel.id][1]

    def _build(self, channel: Channel, base: str | None) -> Provider:
        creds = channel.credentials
        if channel.provider not in ("telesign", "twilio", "sandbox"):
            raise InvalidRequest(f"provider {channel.provider!r} cannot send yet")
        connector: aiohttp.BaseConnector | None = None
        tenant_url = channel.api_base_url
        if tenant_url:
            rule = {
                "allowed_hosts": self.settings.allowed_provider_hosts,
                "trusted": self.settings.trusted_provider_urls,
            }
            try:
                base = check_provider_url(tenant_url, **rule)
            except InvalidRequest:
                return RefusedUrl()
            if not operator_vouches(base, **rule):
                connector = guard.guarded_connector()
        if channel.provider == "telesign":
            return telesign.TelesignProvider(
                creds.get("customer_id", ""),
                creds.get("api_key", ""),
                base_url=base or telesign.DEFAULT_BASE_URL,
                timeout=self.settings.send_timeout_s,
                connector=connector,
            )
        return TwilioProvider(
            creds.get("account_sid", ""),
            creds.get("auth_token", ""),
            base_url=base,
            timeout=self.settings.send_timeout_s,
            connector=connector,
        )

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for _, provider in clients.values():
            await provider.aclose()
