"""The provider URL rule: what a tenant's api_base_url may be."""

from __future__ import annotations

import ipaddress

import pytest

from hub.domain.provider_urls import (
    ProviderUrlRefused,
    check_provider_url,
    forbidden_address,
    operator_vouches,
)

ALLOWED = ("127.0.0.1:8100", "sandbox.internal", "[::1]:9000", "http://mistyped.internal:81/")
TRUSTED = ("http://127.0.0.1:8000/sandbox",)


@pytest.mark.parametrize(
    "url, stored",
    [
        ("https://api.twilio.com", "https://api.twilio.com"),
        ("https://api.twilio.com/", "https://api.twilio.com"),
        ("HTTPS://Rest-WW.TeleSign.com:8443/base/", "https://rest-ww.telesign.com:8443/base"),
        ("https://8.8.8.8", "https://8.8.8.8"),
        ("https://[2606:4700::1]:443/x", "https://[2606:4700::1]:443/x"),
        ("https://[64:ff9b::8.8.8.8]", "https://[64:ff9b::808:808]"),
        # The operator's list: http and private addresses for those hosts only.
        ("http://127.0.0.1:8100", "http://127.0.0.1:8100"),
        ("http://sandbox.internal:1234/p", "http://sandbox.internal:1234/p"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://mistyped.internal:81", "http://mistyped.internal:81"),
        # The operator's own base URLs, as they are.
        ("http://127.0.0.1:8000/sandbox/", "http://127.0.0.1:8000/sandbox"),
    ],
)
def test_accepted(url: str, stored: str) -> None:
    assert check_provider_url(url, allowed_hosts=ALLOWED, trusted=TRUSTED) == stored


@pytest.mark.parametrize(
    "url, reason",
    [
        (None, "https URL"),
        ("", "https URL"),
        ("ftp://example.com", "https URL"),
        ("http://example.com", "must be https"),
        ("https://", "https URL"),
        # Internal services, in every spelling.
        ("https://127.0.0.1:6379", "loopback"),
        ("https://127.0.0.1:8101", "loopback"),  # listed host, other port
        ("http://127.0.0.1:6379", "must be https"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.5", "private"),
        ("https://192.168.1.1", "private"),
        ("https://100.64.0.1", "private"),
        ("https://0.0.0.0", "unspecified"),
        ("https://224.0.0.1", "multicast"),
        ("https://255.255.255.255", "loopback"),
        ("https://[::1]", "loopback"),
        ("https://[::]", "loopback"),
        ("https://[fe80::1]", "loopback"),
        ("https://[fe80::1%25eth0]", "host"),
        ("https://[fd00::2]", "private"),
        ("https://[ff02::1]", "multicast"),
        ("https://[::ffff:127.0.0.1]", "loopback"),
        ("https://[::ffff:7f00:1]", "loopback"),
        ("https://[::ffff:169.254.169.254]", "loopback"),
        ("https://[::127.0.0.1]", "loopback"),
        ("https://[2002:7f00:1::]", "loopback"),
        ("https://[64:ff9b::127.0.0.1]", "loopback"),
        ("https://[::1", "invalid"),
        ("https://2130706433/", "four decimal numbers"),
        ("https://0x7f.1/", "four decimal numbers"),
        ("https://0x7f000001/", "four decimal numbers"),
        ("https://0177.0.0.1/", "four decimal numbers"),
        ("https://127.1/", "four decimal numbers"),
        ("https://127.0.0.1.5/", "four decimal numbers"),
        ("https://localhost", "loopback"),
        ("https://api.localhost.", "loopback"),
        # Userinfo and parser tricks.
        ("https://user:pass@api.twilio.com", "user name"),
        ("https://api.twilio.com@127.0.0.1", "user name"),
        ("https://api.twilio.com\\@127.0.0.1", "ASCII"),
        ("https://api.twilio.com%2F@127.0.0.1", "user name"),
        ("https://api.twilio.com?x=1", "query"),
        ("https://api.twilio.com/#frag", "query"),
        ("https://api.twilio.com:99999", "port"),
        ("https://api.twilio.com:0", "port"),
        ("https://api.twilio.com:abc", "port"),
        ("https://exa mple.com", "ASCII"),
        ("https://api.twilio.com/a%zz", "path"),
        ("https://ex_ample..com", "host name"),
        ("https://bücher.example", "punycode"),
        # Control characters: header injection into the request line.
        ("https://api.twilio.com/\r\nX-Evil: 1", "control"),
        ("https://api.twilio.com/\n", "control"),
        ("https://api.twilio.com/\t", "control"),
        ("https://api.twilio.com/\x00", "control"),
        ("https://api.twilio.com/\x7f", "control"),
        ("https://" + "a" * 2050 + ".com", "2048"),
    ],
)
def test_refused(url: object, reason: str) -> None:
    with pytest.raises(ProviderUrlRefused) as caught:
        check_provider_url(url, allowed_hosts=ALLOWED, trusted=TRUSTED)
    assert caught.value.details == {"field": "api_base_url"}
    assert caught.value.status == 400
    assert reason in caught.value.message


def test_without_a_list_even_the_sandbox_host_is_refused() -> None:
    with pytest.raises(ProviderUrlRefused):
        check_provider_url("http://127.0.0.1:8100")


@pytest.mark.parametrize(
    "address, forbidden",
    [
        ("8.8.8.8", False),
        ("2606:4700::1", False),
        ("64:ff9b::808:808", False),
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("239.1.1.1", True),
        ("::1", True),
        ("::", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:a00:1::", True),
        ("2001::1", True),
    ],
)
def test_forbidden_addresses(address: str, forbidden: bool) -> None:
    assert forbidden_address(ipaddress.ip_address(address)) is forbidden


@pytest.mark.parametrize(
    "url, vouched",
    [
        ("http://127.0.0.1:8100", True),
        ("http://127.0.0.1:8000/sandbox", True),
        ("https://sandbox.internal", True),
        ("https://api.twilio.com", False),
        ("https://127.0.0.1.nip.io", False),
    ],
)
def test_operator_vouches(url: str, vouched: bool) -> None:
    assert operator_vouches(url, allowed_hosts=ALLOWED, trusted=TRUSTED) is vouched
