"""One provider client per channel, built on first use and rebuilt when the
channel's credentials or base URL change."""

from __future__ import annotations

import hashlib
from typing import Any

from hub.errors import InvalidRequest
from hub.providers import telesign
from hub.providers.base import Provider
from hub.providers.twilio import TwilioProvider
from hub.settings import Settings

_CREDENTIAL_KEYS = ("account_sid", "auth_token", "customer_id", "api_key")


def _fingerprint(channel: dict[str, Any], base_url: str | None) -> str:
    creds = channel.get("credentials") or {}
    raw = "|".join([channel["provider"], *(str(creds.get(k)) for k in _CREDENTIAL_KEYS), str(base_url)])
    return hashlib.sha256(raw.encode()).hexdigest()


class ProviderPool:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[str, tuple[str, Provider]] = {}

    def base_url(self, channel: dict[str, Any]) -> str | None:
        if channel.get("api_base_url"):
            return str(channel["api_base_url"])
        if channel["provider"] == "sandbox":
            return self.settings.sandbox_url
        if channel["provider"] == "telesign":
            return self.settings.telesign_api_base_url or telesign.DEFAULT_BASE_URL
        return self.settings.twilio_api_base_url

    def status_callback_url(self, channel: dict[str, Any]) -> str:
        """Where the channel's provider reports delivery: its own webhook path
        (the sandbox speaks Twilio)."""
        kind = "telesign" if channel["provider"] == "telesign" else "twilio"
        return f"{self.settings.public_url}/webhooks/{kind}/{channel['id']}/status"

    async def for_channel(self, channel: dict[str, Any]) -> Provider:
        base = self.base_url(channel)
        fp = _fingerprint(channel, base)
        cached = self._clients.get(channel["id"])
        if cached and cached[0] == fp:
            return cached[1]
        if cached:
            del self._clients[channel["id"]]
            await cached[1].aclose()
        creds = channel.get("credentials") or {}
        provider: Provider
        if channel["provider"] == "telesign":
            provider = telesign.TelesignProvider(
                creds.get("customer_id", ""), creds.get("api_key", ""),
                base_url=base or telesign.DEFAULT_BASE_URL, timeout=self.settings.send_timeout_s)
        elif channel["provider"] in ("twilio", "sandbox"):
            provider = TwilioProvider(
                creds.get("account_sid", ""), creds.get("auth_token", ""),
                base_url=base, timeout=self.settings.send_timeout_s)
        else:
            raise InvalidRequest(f"provider {channel['provider']!r} cannot send yet")
        self._clients[channel["id"]] = (fp, provider)
        return provider

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for _, provider in clients.values():
            await provider.aclose()
