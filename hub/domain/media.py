"""Attachments on an agent's reply (pure: no DNS, no sockets).

A reply may carry up to ten media URLs, which the provider fetches and sends
as MMS (SMS channels through Twilio) or WhatsApp media. The URLs are shown
to agents too (their browsers load images), so they follow the public-URL
rules of provider URLs: https to a public host, no user name or password,
no loopback, private, link-local or other non-global address (IPv4 inside
IPv6 included), no control characters, spaces or backslashes. Unlike a
provider base URL a media URL may have a query (signed storage URLs do).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hub.domain.provider_urls import (
    HOST_LABEL,
    ProviderUrlRefused,
    forbidden_address,
    ip_literal,
    url_text_problem,
)
from hub.errors import InvalidRequest

FIELD = "media"
MAX_ITEMS = 10  # Twilio takes up to 10 MediaUrl on MMS
MAX_WHATSAPP_ITEMS = 1  # WhatsApp: one attachment per message
MAX_LENGTH = 2048
# Providers whose adapter sends text only (TeleSign's messaging API takes no
# media); the Twilio one (also the sandbox's) sends MediaUrl.
TEXT_ONLY_PROVIDERS = {"telesign": "TeleSign"}

# What a URL's file extension says it holds; the console shows image/* inline.
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "vcf": "text/vcard",
    "txt": "text/plain",
}


class InvalidMediaUrl(InvalidRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(f"media {reason}", code="invalid_media_url", details={"field": FIELD})


class MediaUnsupported(InvalidRequest):
    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="media_unsupported", details={"field": FIELD})


def check_media_url(value: object) -> str:
    """The URL as given, or ``InvalidMediaUrl`` saying why not."""
    if not isinstance(value, str) or not value:
        raise InvalidMediaUrl("must be a list of https URLs")
    problem = url_text_problem(value, MAX_LENGTH)
    if problem:
        raise InvalidMediaUrl(f"URLs {problem}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidMediaUrl("URL is not valid (invalid port or IPv6 address?)") from None
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise InvalidMediaUrl("URLs must be https")
    if "@" in parts.netloc:
        raise InvalidMediaUrl("URLs must not contain a user name or password")
    if parts.fragment or "#" in value:
        raise InvalidMediaUrl("URLs must not have a fragment")
    if port == 0:
        raise InvalidMediaUrl("URL has an invalid port")
    host = (parts.hostname or "").rstrip(".")
    if not host or "%" in host:
        raise InvalidMediaUrl("URLs must name a host")
    try:
        ip = ip_literal(host)
    except ProviderUrlRefused:
        raise InvalidMediaUrl("URLs must write an IPv4 address as four decimal numbers") from None
    if ip is None and not all(HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise InvalidMediaUrl("URL has an invalid host name")
    if (ip is not None and forbidden_address(ip)) or host == "localhost" or host.endswith(".localhost"):
        raise InvalidMediaUrl(
            "URLs must not point at a loopback, private, link-local, multicast or unspecified address"
        )
    return value


def check_media(value: object) -> tuple[str, ...]:
    """A reply's ``media``: absent or null is none; else a list of 1 to 10 URLs."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise InvalidMediaUrl(f"must be a list of 1 to {MAX_ITEMS} https URLs")
    if len(value) > MAX_ITEMS:
        raise InvalidMediaUrl(f"takes at most {MAX_ITEMS} URLs")
    return tuple(check_media_url(v) for v in value)


def media_refusal(provider: str, channel_type: str, count: int) -> str | None:
    """Why this channel cannot send ``count`` attachments, or None if it can."""
    if count == 0:
        return None
    if not provider:  # the channel is gone: nothing will be sent at all
        return "this channel no longer exists: no attachments"
    if provider in TEXT_ONLY_PROVIDERS:
        return f"{TEXT_ONLY_PROVIDERS[provider]} channels send text only: no attachments"
    if channel_type == "whatsapp" and count > MAX_WHATSAPP_ITEMS:
        return "WhatsApp takes one attachment per message"
    return None


def check_channel_media(provider: str, channel_type: str, count: int) -> None:
    reason = media_refusal(provider, channel_type, count)
    if reason is not None:
        raise MediaUnsupported(reason)


def content_type_of(url: str) -> str:
    """The content type a URL's extension names ('' when it names none we know)."""
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return ""
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "")


def media_items(urls: tuple[str, ...]) -> list[dict[str, str]]:
    """The message's ``media`` as stored and shown: url and content type."""
    return [{"url": u, "content_type": content_type_of(u)} for u in urls]
