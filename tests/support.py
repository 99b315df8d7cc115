"""Test support: real servers on loopback (redis-server, the sandbox, hub processes)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until ``check()`` returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def poll(check: Callable[[], Any], timeout: float) -> Any:
    """``wait_for`` off the event loop, so a test's websocket clients keep reading."""
    return await asyncio.to_thread(wait_for, check, timeout)


def redis_client(url: str) -> Any:
    """A synchronous client for the test's Redis: the cluster client when
    ``url`` names a node of a Redis Cluster."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    if not client.info("cluster").get("cluster_enabled"):
        return client
    client.close()
    return redis.RedisCluster.from_url(url, decode_responses=True)


class ServerThread:
    """An ASGI app under uvicorn in a thread with its own event loop."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> ServerThread:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=10)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class HubProcess:
    """`hub serve` as a real child process.

    With ``sandbox_url``, channels may point at that sandbox: its host:port is in
    HUB_ALLOWED_PROVIDER_HOSTS (pass ``HUB_ALLOWED_PROVIDER_HOSTS=""`` in ``env``
    for a hub without the list). ``args``: more ``hub serve`` arguments (``--sandbox``)."""

    def __init__(
        self,
        redis_url: str,
        *,
        sandbox_url: str | None = None,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "HUB_PORT": str(self.port),
            "HUB_PUBLIC_URL": self.url,
            "HUB_ADMIN_TOKEN": ADMIN_TOKEN,
            "HUB_LOG_LEVEL": "warning",
            # One process unless a test asks for more (`hub serve` defaults to one per core).
            "HUB_PROCESSES": "1",
            **(
                {"HUB_SANDBOX_URL": sandbox_url, "HUB_ALLOWED_PROVIDER_HOSTS": urlsplit(sandbox_url).netloc}
                if sandbox_url
                else {}
            ),
            **(env or {}),
        }
        self.command = [sys.executable, "-m", "hub", "serve", *args]
        # Its own data folder (the webhook journal and the SQLite history live
        # there), unless the test shares one.
        self.own_data_dir = None if "HUB_DATA_DIR" in (env or {}) else tempfile.mkdtemp(prefix="hub-data-")
        if self.own_data_dir:
            self.env["HUB_DATA_DIR"] = self.own_data_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> str:
        return self.env["HUB_DATA_DIR"]

    def start(self, timeout: float = 20.0) -> HubProcess:
        if self.log_path:
            with open(self.log_path, "ab") as out:
                self.proc = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=out, stderr=out)
        else:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "hub exited at start"
            try:
                return httpx.get(self.url + "/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=timeout, interval=0.05)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.own_data_dir:
            shutil.rmtree(self.own_data_dir, ignore_errors=True)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Api:
    """An org-scoped httpx client with shortcuts for setting up an outbound path."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None


def create_org(base_url: str, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Test org")
    response = httpx.post(base_url + "/v1/orgs", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 201, response.text
    return dict(response.json())


SANDBOX_SID = "AC" + "a" * 32
SANDBOX_TOKEN = "sandbox-auth-token"
SENDER = "+14155550100"


def outbound_setup(
    api: Api,
    sandbox_url: str,
    *,
    show_in_timeline: bool = True,
    channel_type: str = "sms",
    bodies: dict[str, str] | None = None,
    address: str = SENDER,
) -> dict[str, Any]:
    """Channel (sandbox provider), template and configuration; returns their ids."""
    httpx.post(sandbox_url + "/_sandbox/accounts", json={"account_sid": SANDBOX_SID, "auth_token": SANDBOX_TOKEN})
    channel = api.ok(
        "POST",
        "/v1/channels",
        201,
        json={
            "type": channel_type,
            "provider": "sandbox",
            "address": address,
            "credentials": {"account_sid": SANDBOX_SID, "auth_token": SANDBOX_TOKEN},
            "api_base_url": sandbox_url,
        },
    )
    template = api.ok(
        "POST",
        "/v1/templates",
        201,
        json={
            "name": "Case update",
            "channel_types": ["sms", "whatsapp"],
            "default_locale": "en-US",
            "bodies": bodies
            or {
                "en-US": "Hi {{CustomerName}}, case {{CaseName}} is {{state}}.",
                "fr-FR": "Bonjour {{CustomerName}}, le dossier {{CaseName}} est {{state}}.",
                "zh-TW": "{{CustomerName}} 您好，案件 {{CaseName}}：{{state}}",
            },
        },
    )
    config = api.ok(
        "POST",
        "/v1/outbound-configurations",
        201,
        json={
            "name": "Case updates",
            "show_in_timeline": show_in_timeline,
            "channel_type": channel_type,
            "channel_id": channel["id"],
            "template_id": template["id"],
        },
    )
    return {"channel": channel, "template": template, "config": config}


def contact(phone: str, **extra: Any) -> dict[str, Any]:
    base = {
        "tocontactid": phone,
        "channelid": "sms",
        "optin": True,
        "CustomerName": "Ada",
        "CaseName": "CAS-1",
        "entityrelationshipname": "incident",
        "contextitems": {"state": "resolved"},
    }
    base.update(extra)
    return base


def phone(i: int) -> str:
    """Distinct valid US numbers (phonenumbers accepts +1415555 01xx/2xxx...)."""
    return f"+1415555{2000 + i:04d}"


class Listener:
    """A bare TCP server that counts the connections it accepts (and answers 200)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def pages(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list, following the cursors."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        answer = api.ok("GET", path, params={**params, **({"cursor": cursor} if cursor else {})})
        items += answer["items"]
        cursor = answer["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("paging never ends")
