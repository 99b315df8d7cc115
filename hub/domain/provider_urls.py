"""Where a tenant's provider URL may point (pure: no DNS, no sockets).

A channel's ``api_base_url`` receives the channel's credentials and every
message body, and the provider's error code comes back to the tenant as the
activity's ``error_code``. Pointed at the hub's own network it would make the
hub forge requests for the tenant and answer like an oracle. So a tenant's URL
is https to a public host, unless the operator lists its host in
``HUB_ALLOWED_PROVIDER_HOSTS``; base URLs the operator set stay trusted.

The URL is rebuilt from the parts checked here, so what is stored is what was
checked (no second parser can read it differently). Names are checked again,
address by address, at every connection (``hub.providers.guard``): a name's
DNS answer can change between save and send.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from urllib.parse import urlsplit

from hub.errors import InvalidRequest

FIELD = "api_base_url"
MAX_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Printable ASCII a URL may hold unescaped (RFC 3986), less "\", "^", "`", "{", "|", "}".
URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
HOST_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
# A label inet_aton would read as a number: decimal, octal or hex.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_PATH = re.compile(r"(/([A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)*")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class ProviderUrlRefused(InvalidRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(f"api_base_url {reason}", details={"field": FIELD})


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_address(ip: IPAddress) -> bool:
    """Loopback, private, link-local, multicast, unspecified or any other
    address that is not global unicast, also when carried inside IPv6."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return True
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return forbidden_address(embedded)
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
    )


def _host_key(host: str) -> str:
    host = host.lower().rstrip(".")
    try:
        return ipaddress.ip_address(host.strip("[]")).compressed
    except ValueError:
        return host


def host_allowed(host: str, port: int, allowed_hosts: Collection[str]) -> bool:
    """Whether ``host:port`` is in the operator's list (``host`` or ``host:port`` entries)."""
    key = _host_key(host)
    for entry in allowed_hosts:
        # Forgive an entry written as a URL ("http://host:port/").
        entry = entry.strip().split("://", 1)[-1].split("/", 1)[0]
        try:
            parsed = urlsplit("//" + entry)
            entry_port = parsed.port
        except ValueError:
            continue
        if parsed.hostname and _host_key(parsed.hostname) == key and entry_port in (None, port):
            return True
    return False


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally. Numeric forms other than four
    decimal numbers (2130706433, 0x7f.1, 0177.0.0.1, 127.1) are refused: a
    resolver reads them as addresses, and no provider needs them."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise ProviderUrlRefused("has an invalid IPv6 address") from None
    last = host.rstrip(".").rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.fullmatch(last):
        return None
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        raise ProviderUrlRefused("must write an IPv4 address as four decimal numbers") from None


def url_text_problem(value: str, max_length: int) -> str | None:
    """What is wrong with a URL's characters before it is parsed ("must ..."),
    or None: its length, control characters, and anything but plain ASCII
    URL characters (the rules provider and media URLs share)."""
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "must not contain control characters (CR, LF, tab, ...)"
    if not value.isascii() or not URL_CHARS.fullmatch(value):
        return "must be plain ASCII without spaces or backslashes (write international names in punycode)"
    return None


def check_provider_url(value: object, *, allowed_hosts: Collection[str] = (), trusted: Collection[str] = ()) -> str:
    """The URL as stored (no trailing slash), or ``ProviderUrlRefused`` saying why.

    ``trusted``: base URLs the operator set (a tenant may name them as they are);
    ``allowed_hosts``: the operator's ``host[:port]`` list, where http and
    private addresses are allowed."""
    if not isinstance(value, str) or not value:
        raise ProviderUrlRefused("must be an https URL")
    problem = url_text_problem(value, MAX_LENGTH)
    if problem:
        raise ProviderUrlRefused(problem)
    stripped = value.rstrip("/")
    if stripped in {t.rstrip("/") for t in trusted}:
        return stripped
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ProviderUrlRefused("is not a valid URL (invalid IPv6 address?)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise ProviderUrlRefused("must be an https URL")
    if "@" in parts.netloc:
        raise ProviderUrlRefused("must not contain a user name or password")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ProviderUrlRefused("must not have a query or a fragment")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ProviderUrlRefused("has an invalid port")
    host = (parts.hostname or "").rstrip(".")
    if not host or "%" in host:
        raise ProviderUrlRefused("must name a host")
    path = parts.path.rstrip("/")
    if not _PATH.fullmatch(path):
        raise ProviderUrlRefused("has an invalid path")
    effective_port = port or (443 if scheme == "https" else 80)
    ip = ip_literal(host)
    if ip is None and not all(HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise ProviderUrlRefused("has an invalid host name")
    rebuilt_host = f"[{ip.compressed}]" if isinstance(ip, ipaddress.IPv6Address) else host
    rebuilt = f"{scheme}://{rebuilt_host}{f':{port}' if port else ''}{path}"
    if host_allowed(host, effective_port, allowed_hosts):
        return rebuilt
    if scheme != "https":
        raise ProviderUrlRefused("must be https (http only for hosts in HUB_ALLOWED_PROVIDER_HOSTS)")
    if ip is not None and forbidden_address(ip):
        raise ProviderUrlRefused("must not point at a loopback, private, link-local, multicast or unspecified address")
    if host == "localhost" or host.endswith(".localhost"):
        raise ProviderUrlRefused("must not point at a loopback address")
    return rebuilt


def operator_vouches(url: str, *, allowed_hosts: Collection[str] = (), trusted: Collection[str] = ()) -> bool:
    """Whether the operator vouches for a URL (one it set, or a listed host), so
    its connections need no address check. ``url`` passed ``check_provider_url``."""
    if url.rstrip("/") in {t.rstrip("/") for t in trusted}:
        return True
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host_allowed(parts.hostname or "", port, allowed_hosts)
