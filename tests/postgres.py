"""A throwaway PostgreSQL cluster for the tests, from Debian's binaries
(``apt-get install postgresql``; ``.ci/run`` installs it when missing).

PostgreSQL refuses to run as root, and CI runs as root: there the cluster
belongs to the ``postgres`` system user the package creates, in a temp dir
under /tmp (pytest's own temp dirs are private to root).
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg

from tests.support import free_port, wait_for


def bin_dir() -> Path:
    """The newest installed version's binaries; fails loudly when there are none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql): the storage tests need it")
    return Path(found[-1]).parent


class EmbeddedPostgres:
    def __init__(self) -> None:
        self.bin = bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="hub-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--"]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> EmbeddedPostgres:
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        with open(self.dir / "postgres.log", "ab") as log:
            # Durability settings off: a test cluster need not survive power loss.
            self.proc = subprocess.Popen(
                [
                    *self.as_user,
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=log,
            )

        async def answers() -> bool:
            try:
                conn = await asyncpg.connect(self.admin_url, timeout=2)
            except (OSError, asyncpg.PostgresError):
                return False
            await conn.close()
            return True

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (
                "postgres exited at start: " + (self.dir / "postgres.log").read_text()[-2000:]
            )
            return asyncio.run(answers())

        wait_for(ready, timeout=60, interval=0.1)
        return self

    def create_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = "t_" + uuid.uuid4().hex[:12]

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
