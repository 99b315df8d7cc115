"""`hub serve --processes N`: a parent that keeps N hub processes on one port.

The parent serves nothing itself. It starts what the processes share, once:
the embedded Redis (when REDIS_URL is unset) and, with ``--sandbox``, the
demo org and one sandbox process (the sandbox's state lives there; each hub
process forwards ``/sandbox`` to it). Then it starts the hub processes, each
listening on the same port with SO_REUSEPORT, so the kernel spreads new
connections across them. The parent holds the port bound (not listening)
meanwhile, so nothing else takes it while a process restarts.

A process that dies is started again after a back-off. SIGTERM or SIGINT
stops the hub processes, then the sandbox, then Redis. Should the parent
itself be killed, every child is told to stop too (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.embedded_redis import EmbeddedRedis, detach
from hub.logs import get_logger
from hub.settings import Settings

log = get_logger("hub.supervisor")

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
# A process that ran this long has recovered: its next crash backs off from the start.
HEALTHY_AFTER_S = 30.0
# A first start that fails this fast is a configuration error, not a crash:
# the parent gives up rather than start it again forever.
BROKEN_START_S = 5.0
STOP_TIMEOUT_S = 20.0


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    starts: int = 0
    failures: int = 0
    due: float = 0.0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.command, env=self.env, stdin=subprocess.DEVNULL, pass_fds=self.pass_fds, preexec_fn=detach
        )
        self.started_at = time.monotonic()
        self.starts += 1


@dataclass
class Supervisor:
    children: list[Child]
    stopping: bool = field(default=False)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children:
            child.start()
        try:
            while not self.stopping:
                broken = self._tend(time.monotonic())
                if broken is not None:
                    return broken
                time.sleep(0.1)
            return 0
        finally:
            # Hub processes first (they may still use the sandbox), then the sandbox.
            self._stop([c for c in self.children if c.name != "sandbox"])
            self._stop([c for c in self.children if c.name == "sandbox"])

    def _tend(self, now: float) -> int | None:
        """Start again whatever died; the exit code when a first start failed."""
        for child in self.children:
            if child.proc is None:
                if now >= child.due:
                    child.start()
                continue
            code = child.proc.poll()
            if code is None:
                if now - child.started_at > HEALTHY_AFTER_S:
                    child.failures = 0
                continue
            ran = now - child.started_at
            if child.starts == 1 and code > 0 and ran < BROKEN_START_S:
                log.error("a hub process could not start; stopping", extra={"child": child.name, "exit_code": code})
                return code
            delay = min(BACKOFF_FIRST_S * 2**child.failures, BACKOFF_MAX_S)
            child.failures += 1
            log.warning(
                "a hub process exited; starting it again",
                extra={"child": child.name, "pid": child.proc.pid, "exit_code": code, "restart_in_s": delay},
            )
            child.proc, child.due = None, now + delay
        return None

    def _stop(self, children: list[Child]) -> None:
        running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in running:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def default_processes() -> int:
    """The cores this process may run on (a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def listening_socket(host: str, port: int, *, reuse_port: bool, listen: bool) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
        if listen:
            sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def serve_processes(settings: Settings, processes: int, *, sandbox: bool, env: Mapping[str, str]) -> int:
    # A plain bind first: another hub already on the port (even one using
    # SO_REUSEPORT) must be an error, not a silent share of its traffic.
    try:
        listening_socket(settings.host, settings.port, reuse_port=False, listen=False).close()
        reserve = listening_socket(settings.host, settings.port, reuse_port=True, listen=False)
    except OSError as exc:
        print(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    child_env = {
        **env,
        "HUB_PROCESSES": "1",
        "HUB_HOST": settings.host,
        "HUB_PORT": str(settings.port),
        "HUB_PUBLIC_URL": settings.public_url,
    }
    hub_args = ["--reuse-port"]
    children: list[Child] = []
    embedded = None
    upstream = None
    try:
        redis_url = settings.redis_url
        if redis_url is None:
            embedded = EmbeddedRedis(settings.data_dir, appendfsync=settings.appendfsync).start()
            redis_url = child_env["REDIS_URL"] = embedded.url
        if sandbox:
            from hub import demo

            assert settings.admin_token is not None
            child_env["HUB_ADMIN_TOKEN"] = settings.admin_token
            upstream = listening_socket("127.0.0.1", 0, reuse_port=False, listen=True)
            upstream_url = f"http://127.0.0.1:{upstream.getsockname()[1]}"
            token = demo.prepare(settings.with_(redis_url=redis_url))
            children.append(
                Child(
                    "sandbox",
                    [sys.executable, "-m", "hub.demo", str(upstream.fileno())],
                    {**child_env, demo.TOKEN_ENV: token},
                    pass_fds=(upstream.fileno(),),
                )
            )
            hub_args += ["--sandbox-upstream", upstream_url]
        children += [
            Child(f"hub-{i + 1}", [sys.executable, "-m", "hub", "serve", "--processes", "1", *hub_args], child_env)
            for i in range(processes)
        ]
        log.info("hub processes starting", extra={"processes": processes, "embedded_redis": embedded is not None})
        return Supervisor(children).run()
    finally:
        if embedded is not None:
            embedded.stop()
        if upstream is not None:
            upstream.close()
        reserve.close()
