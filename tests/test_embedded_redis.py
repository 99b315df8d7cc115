"""`hub serve` without REDIS_URL runs its own redis-server: durable (AOF),
stopped with the hub, and never left behind when the hub is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import ADMIN_TOKEN, ROOT, free_port, wait_for


def start_hub(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        HUB_DATA_DIR=str(data_dir),
        HUB_PORT=str(port),
        HUB_ADMIN_TOKEN=ADMIN_TOKEN,
        HUB_LOG_LEVEL="warning",
        HUB_PROCESSES="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def ready() -> bool:
        assert proc.poll() is None, "hub exited at start"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout=20, interval=0.05)
    return proc


def redis_pids(data_dir: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"{data_dir}/redis.sock"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_data_survives_a_restart_and_redis_stops_with_the_hub(tmp_path: Path) -> None:
    port = free_port()
    hub = start_hub(tmp_path, port)
    org = httpx.post(
        f"http://127.0.0.1:{port}/v1/orgs", json={"name": "Durable"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).json()
    assert (tmp_path / "appendonly.aof").exists() or (tmp_path / "appendonlydir").exists()
    assert len(redis_pids(tmp_path)) == 1
    hub.send_signal(signal.SIGINT)
    assert hub.wait(timeout=15) == 0
    wait_for(lambda: not redis_pids(tmp_path), timeout=10)

    hub = start_hub(tmp_path, port)
    try:
        response = httpx.get(
            f"http://127.0.0.1:{port}/v1/channels", headers={"Authorization": f"Bearer {org['api_key']}"}
        )
        assert response.status_code == 200  # the org and its key came back from the AOF
        hub.kill()  # no clean exit: Redis must not be left running
        hub.wait()
        wait_for(lambda: not redis_pids(tmp_path), timeout=10)
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait()
