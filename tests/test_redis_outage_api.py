"""The API while its Redis is down or restarting, against a redis-server of the
test's own (stopped and started under a running hub process)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from hub.embedded_redis import EmbeddedRedis, redis_server_binary
from tests.support import Api, HubProcess, create_org, free_port, wait_for


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def lone_hub(own_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(own_redis.url, log_path=tmp_path / "hub.log").start()
    yield hub
    hub.stop()


class TcpRedis:
    """redis-server on a loopback port: a socket a restart keeps, as in production."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        data_dir.mkdir(parents=True, exist_ok=True)

    def start(self) -> TcpRedis:
        self.proc = subprocess.Popen(
            [
                str(redis_server_binary()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, timeout=10)
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def status_of(api: Api, method: str, path: str, **kw: object) -> int:
    return api.request(method, path, **kw).status_code  # type: ignore[no-any-return]


def warm_pool(api: Api) -> None:
    """Leave many connections in the hub's Redis pool (concurrent requests)."""
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: status_of(api, "GET", "/v1/canned-responses"), range(200)))
    assert set(codes) == {200}


def test_the_api_answers_503_with_retry_after_while_redis_is_down(
    own_redis: EmbeddedRedis, lone_hub: HubProcess
) -> None:
    org = create_org(lone_hub.url)
    with Api(lone_hub.url, org["api_key"]) as api:
        api.ok("POST", "/v1/canned-responses", 201, json={"title": "Hi", "body": "Hello"})
        warm_pool(api)
        own_redis.stop()

        for method, path, body in [
            ("GET", "/v1/canned-responses", None),
            ("POST", "/v1/canned-responses", {"title": "t", "body": "b"}),
            ("GET", "/v1/conversations", None),
            ("GET", "/v1/outbound/activities", None),
        ]:
            response = api.request(method, path, json=body)
            assert response.status_code == 503, (path, response.status_code, response.text)
            assert response.headers["retry-after"] == "5"
            assert response.json()["error"]["code"] == "unavailable"
        login = httpx.post(lone_hub.url + "/v1/agents/login", json={"email": "a@b.c", "password": "x"})
        assert login.status_code == 503 and "retry-after" in login.headers
        assert httpx.get(lone_hub.url + "/readyz").status_code == 503

        own_redis.start()
        wait_for(lambda: status_of(api, "GET", "/v1/canned-responses") == 200, timeout=20)
        assert [c["title"] for c in api.ok("GET", "/v1/canned-responses")["items"]] == ["Hi"]


def test_readyz_and_the_api_recover_at_once_after_a_redis_restart(tmp_path: Path) -> None:
    """Connections pooled before the restart are dead; none may fail a call."""
    server = TcpRedis(tmp_path / "tcp-redis").start()
    hub = HubProcess(server.url, log_path=tmp_path / "hub.log").start()
    try:
        org = create_org(hub.url)
        with Api(hub.url, org["api_key"]) as api:
            for _ in range(3):
                warm_pool(api)
                server.kill()
                server.start()
                wait_for(lambda: httpx.get(hub.url + "/readyz").status_code == 200, timeout=20)
                # From the first ready answer on, nothing fails on a connection Redis closed.
                with ThreadPoolExecutor(16) as pool:
                    codes = list(pool.map(lambda _: status_of(api, "GET", "/v1/canned-responses"), range(400)))
                ready = [httpx.get(hub.url + "/readyz").status_code for _ in range(20)]
                assert set(codes) == {200}, codes
                assert set(ready) == {200}, ready
    finally:
        hub.stop()
        server.kill()
