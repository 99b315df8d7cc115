"""``/sandbox`` in each of several hub processes: forwarded to the one sandbox
process that holds the sandbox's state (see hub.supervisor), so every
process sees the same accounts, messages and rules."""

from __future__ import annotations

import json

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

# Hop-by-hop headers, and those httpx has already acted on (it decodes the body).
DROPPED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "content-length",
        "content-encoding",
    }
)
# Longer than any delay a sandbox rule asks for ("timeout" holds an answer 30 s by default).
TIMEOUT_S = 120.0
UNAVAILABLE = {"error": {"code": "unavailable", "message": "the sandbox is restarting; retry shortly", "details": {}}}


class SandboxProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._client is None:  # made in the serving loop, closed by aclose()
            self._client = httpx.AsyncClient(timeout=TIMEOUT_S)
        headers = [(k, v) for k, v in request.headers.items() if k not in DROPPED]
        url = self.upstream + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        try:
            answer = await self._client.request(request.method, url, headers=headers, content=await request.body())
        except httpx.TransportError:
            response = Response(json.dumps(UNAVAILABLE), 503, {"Retry-After": "1"}, "application/json")
        else:
            response = Response(
                answer.content, answer.status_code, {k: v for k, v in answer.headers.items() if k not in DROPPED}
            )
        await response(scope, receive, send)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
