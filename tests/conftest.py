from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from hub.embedded_redis import EmbeddedRedis
from hub.sandbox import SandboxState, build_sandbox_app
from tests.postgres import EmbeddedPostgres
from tests.redis_cluster import RedisCluster
from tests.support import Api, HubProcess, ServerThread, create_org, redis_client

# A test that asks for one of these talks to real servers: marked
# `integration`, so `pytest -m "not integration"` is the loop of seconds.
SERVER_FIXTURES = {
    "redis_server",
    "redis_cluster",
    "redis_url",
    "postgres_server",
    "database_url",
    "sandbox",
    "hub_factory",
    "hub",
    "api",
    "r",
}
# Modules that start their servers themselves.
SERVER_MODULES = {
    "test_archiver",
    "test_bulk_jobs",
    "test_cli",
    "test_console",
    "test_dispatch",
    "test_embedded_redis",
    "test_job_history",
    "test_outages",
    "test_processes",
    "test_provider_urls",
    "test_redis_cluster",
    "test_redis_outage_api",
    "test_reply_delivery",
    "test_sandbox_mounted",
    "test_webhook_journal",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES or item.module.__name__.rsplit(".", 1)[-1] in SERVER_MODULES:
            item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("heavy") and os.environ.get("HUB_SKIP_HEAVY") == "1":
            item.add_marker(pytest.mark.skip(reason="HUB_SKIP_HEAVY=1"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A 3-master Redis Cluster (see tests/redis_cluster.py), once per session."""
    cluster = RedisCluster().start()
    yield cluster
    cluster.stop()


def on_cluster(request: pytest.FixtureRequest) -> bool:
    """HUB_TEST_REDIS=cluster runs every test on the Redis Cluster; a test
    marked ``cluster`` always does."""
    return os.environ.get("HUB_TEST_REDIS") == "cluster" or request.node.get_closest_marker("cluster") is not None


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """An empty Redis: standalone, or the cluster (see ``on_cluster``)."""
    if on_cluster(request):
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return cluster.url
    redis_server: EmbeddedRedis = request.getfixturevalue("redis_server")
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty SQL database on each engine (PostgreSQL: a new database in the
    session's cluster)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    server: EmbeddedPostgres = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def sandbox() -> Iterator[ServerThread]:
    state = SandboxState()
    server = ServerThread(build_sandbox_app(state)).start()
    server.state = state  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
def hub_factory(redis_url: str, sandbox: ServerThread, tmp_path: Path) -> Iterator[object]:
    started: list[HubProcess] = []

    def start(**env: str) -> HubProcess:
        proc = HubProcess(
            redis_url, sandbox_url=sandbox.url, env=env, log_path=tmp_path / f"hub-{len(started)}.log"
        ).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def hub(hub_factory) -> HubProcess:  # type: ignore[no-untyped-def]
    return hub_factory()  # type: ignore[no-any-return]


@pytest.fixture
def api(hub: HubProcess) -> Iterator[Api]:
    org = create_org(hub.url)
    client = Api(hub.url, org["api_key"])
    client.org = org  # type: ignore[attr-defined]
    yield client
    client.http.close()


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    """A synchronous client for the test's Redis (standalone or cluster), to
    look at what the hub left there."""
    client = redis_client(redis_url)
    yield client
    client.close()
