"""The hub's error tree.

Every error a client can see is a ``HubError``: a stable snake_case ``code``
(part of the public API), an HTTP status, a message for people and optional
details. One handler in the app renders them as the spec's envelope
``{"error": {"code", "message", "details"}}``. Anything else is a bug and
becomes a 500 with a request id.

Domain code raises these too; the HTTP status is only an attribute, so the
domain layer stays free of any web framework.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str] | None:
        """HTTP headers that go with the answer."""
        return None

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


# -- request-level (4xx) ------------------------------------------------------


class InvalidRequest(HubError):
    code = "invalid_request"
    status = 400


class Unauthorized(HubError):
    code = "unauthorized"
    status = 401


class Forbidden(HubError):
    code = "forbidden"
    status = 403


class NotFound(HubError):
    code = "not_found"
    status = 404


class Conflict(HubError):
    code = "conflict"
    status = 409


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class TooManyContacts(HubError):
    code = "too_many_contacts"
    status = 413


class PayloadTooLarge(HubError):
    code = "payload_too_large"
    status = 413

    def headers(self) -> dict[str, str] | None:
        # The rest of the body is never read: close rather than drain it.
        return {"Connection": "close"}


class UnsupportedMediaType(HubError):
    code = "unsupported_media_type"
    status = 415


class RateLimited(HubError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(HubError):
    """The hub cannot serve right now (Redis unreachable); the client retries."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


# -- contact-level (reported inside a 202 answer, never as an HTTP error) -----


class ContactError(HubError):
    """A fault in one contact of a send request; only that contact is rejected."""

    status = 422


class InvalidPhone(ContactError):
    code = "invalid_phone"


class ChannelMismatch(ContactError):
    code = "channel_mismatch"


class MissingRelationship(ContactError):
    code = "missing_relationship"


class MissingPlaceholder(ContactError):
    code = "missing_placeholder"


class ConfigurationMismatch(ContactError):
    code = "configuration_mismatch"


class MissingField(ContactError):
    code = "missing_field"


class InvalidField(ContactError):
    code = "invalid_field"


# -- conversation commands ------------------------------------------------------


class WhatsAppWindowClosed(HubError):
    code = "whatsapp_window_closed"
    status = 409


class RecipientOptedOut(HubError):
    code = "recipient_opted_out"
    status = 409


# -- providers ------------------------------------------------------------------


class ProviderError(HubError):
    """A provider answered with an error. ``retryable`` decides the worker's next step."""

    code = "provider_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        provider_code: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, details={"provider_code": provider_code})
        self.provider_code = provider_code
        self.retryable = retryable
        self.retry_after = retry_after
