"""Request body limits, enforced before a handler reads a byte.

A body announced larger than its route's limit is refused at once; one sent
without a length (chunked) is counted as it arrives and refused as soon as it
passes the limit, so the hub never holds more than the limit and one chunk.
Bulk uploads are parsed as they stream in and have no byte limit (their row
limit is in ``hub.services.bulk_jobs``).
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import PayloadTooLarge

JSON_LIMIT = 1024 * 1024
WEBHOOK_LIMIT = 64 * 1024


def limit_for(method: str, path: str) -> int | None:
    """Bytes a request body may hold on this route; None for no limit."""
    if path.startswith("/webhooks/"):
        return WEBHOOK_LIMIT
    if method == "POST" and path.rstrip("/") == "/v1/bulk-jobs":
        return None
    return JSON_LIMIT


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body must be at most {limit} bytes", details={"limit": limit})


def announced_too_large(scope: Scope, limit: int) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.isdigit() and int(value) > limit
    return False


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body of a route served without the middleware (the
    webhooks, hub.webhooks.front), under the same limit."""
    if announced_too_large(scope, limit):
        raise _too_large(limit)
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class BodyLimit:
    """ASGI middleware: ``limit_for`` applied to every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = limit_for(scope["method"], scope["path"])
        if limit is None:
            return await self.app(scope, receive, send)
        if announced_too_large(scope, limit):
            error = _too_large(limit)
            response = JSONResponse(error.envelope(), status_code=error.status, headers=error.headers())
            return await response(scope, receive, send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the handler's read, so the app's error
                    # handler answers it like any other refusal.
                    raise _too_large(limit)
            return message

        await self.app(scope, counted, send)
