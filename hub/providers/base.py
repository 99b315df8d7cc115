"""The one small interface every provider adapter implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutboundMessage:
    to: str  # E.164, or the provider's address form (``whatsapp:+1...``)
    from_: str
    body: str = ""
    content_sid: str | None = None
    content_variables: str | None = None  # JSON object as a string
    status_callback: str | None = None
    media_urls: tuple[str, ...] = ()
    # The hub's id for the message (activity or conversation message), for
    # providers that carry one (TeleSign ``external_id``).
    external_id: str | None = None


@dataclass(frozen=True)
class SendReceipt:
    provider_id: str
    provider_status: str


@dataclass(frozen=True)
class StatusEvent:
    provider_id: str
    status: str  # the provider's own status word
    error_code: str = ""


@dataclass(frozen=True)
class InboundMessage:
    provider_id: str
    from_: str
    to: str
    body: str
    media: tuple[tuple[str, str], ...] = ()  # (url, content type)
    extra: Mapping[str, str] = field(default_factory=dict)


class Provider(Protocol):
    """Send one message; find one already sent (crash recovery); close."""

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Raises ProviderError (``retryable`` set for 429, 5xx and timeouts)."""
        ...

    async def find_sent(
        self, to: str, from_: str, since: datetime, body: str, external_id: str | None = None
    ) -> str | None:
        """The provider id of a message already sent, if the provider has one.
        Twilio matches recipient, sender, time and body; TeleSign the external id."""
        ...

    async def aclose(self) -> None: ...
