"""Who may use the sandbox's control API (``/_sandbox/...``), and where the
sandbox may post.

Standalone (``hub sandbox``: tests and benchmarks, on loopback) everything is
open. Mounted in a hub (``hub serve --sandbox``), which tenants reach, a
``Gate`` names the caller from its bearer token:

- the operator (the admin token) may do anything;
- an org (its API key) may only touch accounts it owns: create an account id
  nobody holds yet (it becomes the org's) or replace its own, read its
  accounts' messages, and post simulated customer messages from them;
- rules, settings, stats, drain and resetting the store are the operator's.

Owners are kept by the sandbox itself (the org that created the account), not
inferred from channels: an account id is no secret, and a tenant naming
another's account in its own channel must not make it theirs. Twilio account
sids and TeleSign customer ids share one namespace, as they share the message
store. Mounted, every post the sandbox makes (replies, status callbacks,
delivery reports) goes only to this hub's webhooks.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.sandbox.state import SandboxState


@dataclass(frozen=True)
class Caller:
    org_id: str | None  # None: the operator


OPERATOR = Caller(None)


class Gate(Protocol):
    async def caller(self, request: Request) -> Caller | None:
        """Whom the request's credentials name; None when they name nobody."""
        ...


class ControlRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def refused_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ControlRefused)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status, headers)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def same_secret(given: str, expected: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), (expected or "").encode())


class Access:
    """The control API's rules; ``gate=None`` is the standalone, open sandbox."""

    def __init__(self, state: SandboxState, gate: Gate | None = None, webhook_prefix: str | None = None) -> None:
        self.state = state
        self.gate = gate
        self.webhook_prefix = webhook_prefix

    async def caller(self, request: Request) -> Caller:
        if self.gate is None:
            return OPERATOR
        caller = await self.gate.caller(request)
        if caller is None:
            raise ControlRefused(401, "unauthorized", "send Authorization: Bearer <admin token or the org's API key>")
        return caller

    async def operator(self, request: Request) -> Caller:
        caller = await self.caller(request)
        if caller.org_id is not None:
            raise ControlRefused(403, "forbidden", "this sandbox control needs the admin token")
        return caller

    def owns(self, caller: Caller, account: str) -> bool:
        return caller.org_id is None or self.state.owners.get(account) == caller.org_id

    def check_claim(self, caller: Caller, account: str, existing: bool) -> None:
        """Before creating or replacing ``account``: an org may take a new id or its own."""
        if caller.org_id is None:
            return
        taken = existing or account in self.state.owners
        if taken and self.state.owners.get(account) != caller.org_id:
            raise ControlRefused(403, "forbidden", "that account belongs to someone else")

    def record_owner(self, caller: Caller, account: str) -> None:
        if caller.org_id is not None:
            self.state.owners[account] = caller.org_id

    def may_post_to(self, url: str) -> bool:
        """Mounted, the sandbox posts only to this hub's webhook URLs."""
        prefix = self.webhook_prefix
        if prefix is None:
            return True
        if not url.startswith(prefix) or not url.isascii() or any(c in url for c in "\\\x7f"):
            return False
        if any(ord(c) < 0x21 for c in url):
            return False
        path = urlsplit(url).path
        return not any(seg in (".", "..") or seg.lower().startswith("%2e") for seg in path.split("/"))

    def check_target(self, url: str) -> None:
        if not self.may_post_to(url):
            raise ControlRefused(
                400, "invalid_request", f"url must be one of this hub's webhook URLs ({self.webhook_prefix}...)"
            )
