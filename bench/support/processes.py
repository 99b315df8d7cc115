"""The processes a benchmark starts, all on 127.0.0.1, and how it waits for them."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
ADMIN_TOKEN = "bench-admin-token"


class Deadline:
    def __init__(self, seconds: float, what: str, cap: Deadline | None = None) -> None:
        self.at = time.monotonic() + seconds
        if cap is not None:
            self.at = min(self.at, cap.at)
        self.what = what

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self.left() <= 0:
            raise TimeoutError(f"{self.what}: deadline passed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def raise_nofile() -> int:
    """Soft open-files limit up to the hard one (10,000 sockets need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1_048_576
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _child_preexec() -> None:  # runs in the child between fork and exec
    raise_nofile()


def work_directory(path: str | None, prefix: str) -> Path:
    """--workdir, or a new temporary directory."""
    workdir = Path(path) if path else Path(tempfile.mkdtemp(prefix=prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def run_to_end(
    body: Callable[[], None], teardown: Callable[[], None], print_tails: Callable[[], None], workdir: Path, keep: bool
) -> int:
    """A run's exit status: Ctrl+C tears down quietly, an error prints the
    children's last log lines first; workdir is kept when asked or after a
    failure."""
    ok = False
    try:
        body()
        ok = True
    except KeyboardInterrupt:
        print("\ninterrupted; tearing down", flush=True)
    except Exception:
        print_tails()
        raise
    finally:
        teardown()
        if keep or not ok:
            print(f"logs/profiles kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def stop_on_sigterm() -> None:
    """SIGTERM and SIGINT end the run through its `finally` (children stopped),
    also when started with SIGINT ignored (a background job of a script)."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)


class Child:
    """A child process in its own session (a Ctrl+C reaches only the script,
    which then stops its children in order)."""

    def __init__(
        self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None, nofile: bool = False
    ) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_preexec if nofile else None,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        try:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Children:
    """Everything a run started, stopped in reverse order at its end."""

    def __init__(self) -> None:
        self.running: list[Child] = []

    def start(self, *args: Any, **kw: Any) -> Child:
        child = Child(*args, **kw)
        self.running.append(child)
        return child

    def stop(self, child: Child | None, timeout: float = 20.0) -> None:
        if child is not None:
            child.stop(timeout)
            if child in self.running:
                self.running.remove(child)

    def stop_all(self) -> None:
        while self.running:
            child = self.running.pop()
            try:
                child.stop()
            except Exception as exc:  # keep stopping the others
                print(f"stopping {child.name}: {exc!r}", file=sys.stderr)

    def print_tails(self) -> None:
        for child in self.running:
            print(f"--- {child.name} log tail ---\n{child.tail()}", file=sys.stderr)


def wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Until check() answers something true (its errors count as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (httpx.HTTPError, OSError):
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def wait_http(url: str, deadline: Deadline, child: Child) -> None:
    """Until url answers 200; the child's log if it exits first."""
    while True:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited at start:\n{child.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        deadline.check()
        time.sleep(0.05)


def env_pairs(pairs: list[str]) -> dict[str, str]:
    """--hub-env NAME=VALUE options as a mapping."""
    return dict(pair.partition("=")[::2] for pair in pairs)


def hub_env(port: int, data_dir: Path, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of one `hub serve` process on HOST:port, one process
    (the figures are one process's). Without redis_url the hub starts its
    embedded Redis in data_dir."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        {
            "HUB_HOST": HOST,
            "HUB_PORT": str(port),
            "HUB_PUBLIC_URL": f"http://{HOST}:{port}",
            "HUB_ADMIN_TOKEN": ADMIN_TOKEN,
            "HUB_LOG_LEVEL": "warning",
            "HUB_DATA_DIR": str(data_dir),
            "HUB_PROCESSES": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def start_sandbox(workdir: Path, account: str, start: Callable[..., Child] = Child) -> tuple[Child, str]:
    """`hub sandbox` on a free port, taking the one account `SID:TOKEN`, once
    it answers; `start` makes the Child (Children.start to have it stopped)."""
    port = free_port()
    child = start(
        "sandbox",
        [sys.executable, "-m", "hub", "sandbox", "--host", HOST, "--port", str(port), "--account", account],
        workdir / "sandbox.log",
    )
    url = f"http://{HOST}:{port}"
    wait_http(url + "/_sandbox/stats", Deadline(30, "sandbox start"), child)
    return child, url


def start_hub(
    workdir: Path,
    name: str,
    redis_url: str | None,
    extra: dict[str, str],
    start: Callable[..., Child] = Child,
    argv: list[str] | None = None,
    nofile: bool = False,
) -> tuple[Child, str]:
    """One `hub serve` (or `argv`) with hub_env, its data in workdir/NAME-data,
    once it is ready."""
    port = free_port()
    env = hub_env(port, workdir / f"{name}-data", redis_url, **extra)
    child = start(name, argv or [sys.executable, "-m", "hub", "serve"], workdir / f"{name}.log", env=env, nofile=nofile)
    url = f"http://{HOST}:{port}"
    wait_http(url + "/readyz", Deadline(60, f"{name} start"), child)
    return child, url


@contextlib.contextmanager
def history_database(engine: str, url: str | None, work: Path) -> Iterator[str]:
    """The SQL history's URL: `url` (--database-url), else a throwaway
    PostgreSQL cluster (started the way the tests start theirs) or a SQLite
    file in work (--engine)."""
    pg = None
    try:
        if not url and engine == "postgresql":
            from tests.postgres import EmbeddedPostgres

            pg = EmbeddedPostgres().start()
            url = pg.create_database()
        yield url or f"sqlite:///{work / 'hub.sqlite3'}"
    finally:
        if pg is not None:
            pg.stop()
