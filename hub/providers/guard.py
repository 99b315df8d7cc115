"""HTTP sessions for tenants' provider URLs: every connection is checked.

The URL rule (``hub.domain.provider_urls``) runs when a channel is saved and
again before each send, but a name's DNS answer can change in between (DNS
rebinding: public at save time, 127.0.0.1 at send time). So a tenant's session
checks addresses where they are used: the resolver refuses a name with any
forbidden address in its answer, and the socket factory refuses to open a
socket to a forbidden address (IP literals never reach a resolver). Redirects
are never followed. A refusal ends the send with the fixed code
``provider_url_forbidden``, never with whatever the remote would have said.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hub.domain.provider_urls import forbidden_address
from hub.errors import ProviderError

FORBIDDEN_CODE = "provider_url_forbidden"


class ForbiddenAddress(OSError):
    """A connection to an address a tenant's URL may not reach."""

    def __init__(self, host: str) -> None:
        super().__init__(errno.EACCES, f"provider URL may not reach {host}")


def _forbidden(host: str) -> bool:
    try:
        return forbidden_address(ipaddress.ip_address(host))
    except ValueError:
        return True  # not an address: nothing we can vouch for


class GuardedResolver(AbstractResolver):
    """The default resolver, refusing names that resolve to a forbidden address."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if any(_forbidden(r["host"]) for r in results):
            raise ForbiddenAddress(host)
        return results

    async def close(self) -> None:
        await self._inner.close()


def _guarded_socket(addr_info: Any) -> socket.socket:
    family, type_, proto, _, address = addr_info
    if _forbidden(str(address[0])):
        raise ForbiddenAddress(str(address[0]))
    return socket.socket(family=family, type=type_, proto=proto)


def guarded_connector() -> aiohttp.TCPConnector:
    """A connector for a tenant's URL; build it inside the running loop."""
    return aiohttp.TCPConnector(resolver=GuardedResolver(), socket_factory=_guarded_socket)


def refused(exc: BaseException) -> bool:
    """Whether a client error is (caused by) the guard's refusal."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ForbiddenAddress):
            return True
        if isinstance(seen, aiohttp.ClientConnectorError) and isinstance(seen.os_error, ForbiddenAddress):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def forbidden_error() -> ProviderError:
    return ProviderError(
        "the channel's api_base_url may not be reached from the hub", provider_code=FORBIDDEN_CODE, retryable=False
    )
