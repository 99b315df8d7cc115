"""A tenant's api_base_url cannot reach the hub's own network: refused when the
channel is saved, before each send, and at every connection (a name whose DNS
answer is a loopback address), with a fixed error code instead of the remote's."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.domain.provider_urls import forbidden_address
from hub.errors import ProviderError
from hub.providers import guard
from hub.providers.base import OutboundMessage
from hub.providers.telesign import TelesignProvider
from hub.settings import Settings
from tests.support import Api, HubProcess, Listener, ServerThread, contact, create_org, wait_for

NO_LIST = {"HUB_ALLOWED_PROVIDER_HOSTS": ""}
CREDS = {"account_sid": "AC" + "c" * 32, "auth_token": "tenant-secret-token"}


@pytest.fixture
def loopback() -> Iterator[Listener]:
    listener = Listener("127.0.0.1")
    yield listener
    listener.close()


def loopback_name() -> tuple[str, str]:
    """A host name (not "localhost") that this machine resolves to a loopback or
    private address, as /etc/hosts maps the machine's own name; and that address."""
    name = socket.gethostname()
    try:
        address = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if not forbidden_address(ipaddress.ip_address(address)):
        pytest.skip(f"{name} resolves to a public address here")
    return name, str(address)


def test_the_operators_list_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "HUB_ALLOWED_PROVIDER_HOSTS": " 127.0.0.1:8100, Sandbox.Internal ,,",
            "HUB_SANDBOX_URL": "http://127.0.0.1:8000/sandbox",
        }
    )
    assert settings.allowed_provider_hosts == ("127.0.0.1:8100", "sandbox.internal")
    assert settings.trusted_provider_urls == ("http://127.0.0.1:8000/sandbox",)
    assert Settings.from_env({}).allowed_provider_hosts == ()


# -- the guard, with real aiohttp connections -------------------------------------


async def test_guarded_sessions_refuse_internal_addresses_at_connect(loopback: Listener) -> None:
    name, address = loopback_name()
    on_name = Listener(address)
    try:
        urls = [
            f"http://127.0.0.1:{loopback.port}/",
            f"http://{name}:{on_name.port}/",
            f"http://0x7f.1:{loopback.port}/",  # through getaddrinfo, which reads it as 127.0.0.1
            f"http://[::ffff:127.0.0.1]:{loopback.port}/",
        ]
        async with aiohttp.ClientSession(connector=guard.guarded_connector()) as session:
            for url in urls:
                with pytest.raises(aiohttp.ClientError) as caught:
                    async with session.get(url):
                        pass
                assert guard.refused(caught.value), (url, caught.value)
        assert (loopback.accepted, on_name.accepted) == (0, 0)
        # The same URLs are reachable without the guard: the refusal is the guard's.
        async with aiohttp.ClientSession() as session:
            async with session.get(urls[1]) as answer:
                assert answer.status == 200
        assert on_name.accepted == 1
    finally:
        on_name.close()


async def test_telesign_adapter_does_not_follow_redirects(loopback: Listener) -> None:
    async def redirect(request: Request) -> Response:
        return RedirectResponse(f"http://127.0.0.1:{loopback.port}/v1/messaging", 307)

    server = ServerThread(Starlette(routes=[Route("/v1/messaging", redirect, methods=["POST"])])).start()
    provider = TelesignProvider("cust", "a2V5", base_url=server.url, timeout=5)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.send(OutboundMessage(to="+14155552671", from_="+14155550100", body="hi"))
        assert not caught.value.retryable
    finally:
        await provider.aclose()
        server.stop()
    assert loopback.accepted == 0


# -- through the hub --------------------------------------------------------------


def channel_body(url: Any) -> dict[str, Any]:
    return {"type": "sms", "provider": "twilio", "address": "+14155550100", "credentials": CREDS, "api_base_url": url}


def route_through(api: Api, url: str) -> str:
    channel = api.ok("POST", "/v1/channels", 201, json=channel_body(url))
    template = api.ok(
        "POST",
        "/v1/templates",
        201,
        json={
            "name": "T",
            "channel_types": ["sms"],
            "default_locale": "en-US",
            "bodies": {"en-US": "Hi {{CustomerName}}"},
        },
    )
    config = api.ok(
        "POST",
        "/v1/outbound-configurations",
        201,
        json={"name": "C", "channel_type": "sms", "channel_id": channel["id"], "template_id": template["id"]},
    )
    return str(config["id"])


def send_one(api: Api, config_id: str) -> dict[str, Any]:
    answer = api.ok(
        "POST", "/v1/outbound/send", 202, json={"configuration_id": config_id, "contacts": [contact("+14155552671")]}
    )
    activity_id = answer["results"][0]["activity_id"]
    return wait_for(
        lambda: (
            (a := api.ok("GET", f"/v1/outbound/activities/{activity_id}"))["status"]  # type: ignore[no-any-return]
            in ("rejected", "failed", "sent", "delivered")
            and a
        ),
        timeout=30,
    )


ATTACKS = [
    "http://127.0.0.1:6379",
    "https://127.0.0.1:6379",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]:6379",
    "https://[::ffff:127.0.0.1]:6379",
    "https://2130706433:6379/",
    "https://0x7f.1:6379/",
    "https://localhost:6379",
    "https://10.0.0.1",
    "https://user:pass@api.example.com",
    "https://api.example.com@127.0.0.1:6379",
    "https://api.example.com/\r\nX-Injected: 1",
    "https://api.example.com/x\n",
]


def test_internal_urls_are_refused_when_a_channel_is_saved(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(**NO_LIST)
    org = create_org(hub.url)
    with Api(hub.url, org["api_key"]) as api:
        for url in [*ATTACKS, sandbox.url + "/elsewhere"]:
            answer = api.post("/v1/channels", json=channel_body(url))
            assert answer.status_code == 400, (url, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "invalid_request" and error["details"] == {"field": "api_base_url"}
        assert api.ok("GET", "/v1/channels")["items"] == []
        fine = api.ok("POST", "/v1/channels", 201, json=channel_body("https://api.example.com"))
        for url in ATTACKS[:3]:
            answer = api.patch(f"/v1/channels/{fine['id']}", json={"api_base_url": url})
            assert answer.status_code == 400 and "api_base_url" in answer.text, (url, answer.text)
        assert api.ok("GET", f"/v1/channels/{fine['id']}")["api_base_url"] == "https://api.example.com"


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(hub_factory) -> None:  # type: ignore[no-untyped-def]
    name, address = loopback_name()
    listener = Listener(address)
    try:
        hub = hub_factory(**NO_LIST)
        with Api(hub.url, create_org(hub.url)["api_key"]) as api:
            # https, a name, not "localhost": the rule cannot tell at save time.
            config_id = route_through(api, f"https://{name}:{listener.port}")
            activity = send_one(api, config_id)
        assert (activity["status"], activity["error_code"]) == ("rejected", "provider_url_forbidden")
        assert listener.accepted == 0  # credentials never left the hub
    finally:
        listener.close()


def test_a_url_saved_while_allowed_is_refused_once_the_operator_removes_it(
    redis_url: str, loopback: Listener, tmp_path: Path
) -> None:
    allowed = HubProcess(
        redis_url, env={"HUB_ALLOWED_PROVIDER_HOSTS": f"127.0.0.1:{loopback.port}"}, log_path=tmp_path / "hub-1.log"
    ).start()
    try:
        api_key = create_org(allowed.url)["api_key"]
        with Api(allowed.url, api_key) as api:
            config_id = route_through(api, f"http://127.0.0.1:{loopback.port}")
    finally:
        allowed.stop()
    hub = HubProcess(redis_url, port=allowed.port, env=NO_LIST, log_path=tmp_path / "hub-2.log").start()
    try:
        with Api(hub.url, api_key) as api:
            activity = send_one(api, config_id)
    finally:
        hub.stop()
    assert (activity["status"], activity["error_code"]) == ("rejected", "provider_url_forbidden")
    assert loopback.accepted == 0


def test_the_operators_list_lets_a_channel_reach_the_sandbox(api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    httpx.post(sandbox.url + "/_sandbox/accounts", json=CREDS)
    config_id = route_through(api, sandbox.url)
    assert send_one(api, config_id)["status"] in ("sent", "delivered")
