"""`hub serve --processes N`: N hub processes on one port and one embedded
Redis act as one hub (the sandbox included); a killed process comes back;
stopping or killing the parent leaves nothing running."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hub.embedded_redis import pid_alive
from hub.supervisor import Child, Supervisor
from tests.agents import AgentClient, login
from tests.support import ADMIN_TOKEN, ROOT, free_port, wait_for
from tests.test_embedded_redis import redis_pids

CUSTOMER = "+14155552671"


def start(
    data_dir: Path, port: int, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    log = data_dir / "serve.log"
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "HUB_PUBLIC_URL")}
    base.update(HUB_DATA_DIR=str(data_dir), HUB_PORT=str(port), HUB_LOG_LEVEL="warning", **(env or {}))
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "serve", *args], cwd=ROOT, env=base, stdout=out, stderr=out
        )
    return proc, log


def children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry))
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def hub_processes(parent: int) -> set[int]:
    return {pid for pid in children(parent) if b"--reuse-port" in cmdline(pid)}


def server_pid(port: int, candidates: set[int]) -> int | None:
    """Which process accepted a new connection to the port."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
        assert conn.recv(1024).startswith(b"HTTP/1.1 200")
        client_port = conn.getsockname()[1]
        inode = None
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
                inode = fields[9]
        for pid in candidates:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
    return None


def every_process_serves(port: int, expected: set[int]) -> bool:
    served: set[int] = set()
    for _ in range(200):
        pid = server_pid(port, expected)
        if pid is not None:
            served.add(pid)
        if served == expected:
            return True
    return False


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def banner_value(log: Path, label: str) -> str:
    return log.read_text().split(label, 1)[1].split()[0]


async def test_processes_act_as_one_hub_with_one_sandbox(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    parent, log = start(tmp_path, port, "--processes", "2", "--sandbox")
    try:
        wait_for(lambda: ready(url) and len(hub_processes(parent.pid)) == 2, timeout=60)
        first = hub_processes(parent.pid)
        assert len(redis_pids(tmp_path)) == 1  # one Redis for them all
        assert every_process_serves(port, first)

        # The demo is set up once: one banner, one key and password that every process takes.
        assert log.read_text().count("Demo API key:") == 1
        key = banner_value(log, "Demo API key:")
        password = banner_value(log, "(password:").rstrip(")")
        headers = {"Authorization": f"Bearer {key}"}

        sent = httpx.post(
            url + "/v1/outbound/send",
            headers=headers,
            json={
                "configuration_id": "cfg_demo_case",
                "contacts": [
                    {
                        "tocontactid": CUSTOMER,
                        "channelid": "sms",
                        "optin": True,
                        "CustomerName": "Ada",
                        "CaseName": "CAS-1",
                        "entityrelationshipname": "incident",
                    }
                ],
            },
        ).json()
        activity = sent["results"][0]["activity_id"]
        wait_for(
            lambda: (
                httpx.get(f"{url}/v1/outbound/activities/{activity}", headers=headers).json()["status"] == "delivered"
            ),
            timeout=30,
        )
        # The sandbox's state is one, whichever process a request reaches.
        for _ in range(10):
            with httpx.Client(headers=headers) as fresh:
                listed = fresh.get(url + "/sandbox/_sandbox/messages").json()["items"]
                assert [m["to"] for m in listed] == [CUSTOMER]

        # The customer's reply reaches the agent, whichever process holds its socket.
        agent = await AgentClient(url, login(url, "ana@demo.test", password)).connect()
        try:
            reply = httpx.post(
                url + "/sandbox/_sandbox/replies",
                headers=headers,
                json={
                    "account_sid": "AC" + "d" * 32,
                    "from": CUSTOMER,
                    "to": "+14155550100",
                    "body": "Is it fixed?",
                    "url": f"{url}/webhooks/twilio/ch_demo_sms/inbound",
                },
            )
            assert reply.status_code == 200, reply.text
            await agent.wait(lambda f: f["type"] == "conversation.assigned", timeout=30)
        finally:
            await agent.close()

        # A process killed outright is started again; the hub answers meanwhile.
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: ready(url), timeout=10)
        wait_for(
            lambda: len(hub_processes(parent.pid) - first) == 1 and len(hub_processes(parent.pid)) == 2, timeout=30
        )
        second = hub_processes(parent.pid)
        wait_for(lambda: ready(url) and every_process_serves(port, second), timeout=60)
        assert "a hub process exited; starting it again" in log.read_text()
        assert httpx.get(f"{url}/v1/outbound/activities/{activity}", headers=headers).json()["status"] == "delivered"

        # The sandbox's process too, and it knows the demo account again.
        sandbox = [pid for pid in children(parent.pid) if b"hub.demo" in cmdline(pid)]
        assert len(sandbox) == 1
        os.kill(sandbox[0], signal.SIGKILL)
        wait_for(
            lambda: (
                httpx.post(
                    url + "/sandbox/_sandbox/replies",
                    headers=headers,
                    json={
                        "account_sid": "AC" + "d" * 32,
                        "from": CUSTOMER,
                        "to": "+14155550100",
                        "body": "Still there?",
                        "url": f"{url}/webhooks/twilio/ch_demo_sms/inbound",
                    },
                ).status_code
                == 200
            ),
            timeout=30,
            interval=0.2,
        )

        # SIGTERM to the parent: every process, the sandbox's and Redis stop.
        everything = children(parent.pid)
        assert len(everything) == 4  # two hub processes, the sandbox, redis-server
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0
        wait_for(lambda: not any(pid_alive(pid) for pid in everything), timeout=20)
        assert not redis_pids(tmp_path)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_killing_the_parent_takes_every_process_and_redis_with_it(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    parent, _ = start(tmp_path, port, env={"HUB_PROCESSES": "2", "HUB_ADMIN_TOKEN": ADMIN_TOKEN})
    try:
        wait_for(lambda: ready(url) and len(hub_processes(parent.pid)) == 2, timeout=60)
        everything = children(parent.pid)
        assert len(everything) == 3
    finally:
        parent.kill()
        parent.wait()
    wait_for(lambda: not any(pid_alive(pid) for pid in everything), timeout=20)
    assert not redis_pids(tmp_path)


def test_a_shared_redis_without_a_public_url_is_called_out(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    parent, log = start(
        tmp_path, port, "--processes", "1", env={"REDIS_URL": redis_url, "HUB_ADMIN_TOKEN": ADMIN_TOKEN}
    )
    try:
        wait_for(lambda: ready(url), timeout=30)
        text = log.read_text()
        assert "!!! REDIS_URL is set but HUB_PUBLIC_URL is not" in text
        assert url in text  # where its callbacks would go
    finally:
        parent.send_signal(signal.SIGINT)
        parent.wait(timeout=20)

    quiet, log = start(
        tmp_path,
        port,
        "--processes",
        "1",
        env={"REDIS_URL": redis_url, "HUB_ADMIN_TOKEN": ADMIN_TOKEN, "HUB_PUBLIC_URL": url},
    )
    try:
        wait_for(lambda: ready(url), timeout=30)
    finally:
        quiet.send_signal(signal.SIGINT)
        quiet.wait(timeout=20)
    assert log.read_text().count("!!! REDIS_URL is set") == 1  # only the first start's


def test_a_port_another_hub_holds_is_refused_not_shared(tmp_path: Path) -> None:
    """Another hub's processes listen with SO_REUSEPORT too: a second hub
    binding beside them would silently take half their connections."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        parent, log = start(tmp_path, port, "--processes", "2")
        try:
            assert parent.wait(timeout=30) == 2
        finally:
            if parent.poll() is None:
                parent.terminate()
                parent.wait()
    assert f"cannot listen on 127.0.0.1:{port}" in log.read_text()
    assert not redis_pids(tmp_path)


def test_a_process_that_keeps_dying_is_restarted_ever_more_slowly() -> None:
    child = Child("hub-1", [sys.executable, "-c", "pass"], dict(os.environ))
    supervisor = Supervisor([child])
    child.start()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert supervisor._tend(time.monotonic()) is None
        time.sleep(0.02)
    # Back-offs of 0.5, 1 and 2 s: at most four starts in 4 s, not one per poll.
    assert 2 <= child.starts <= 4, child.starts
    if child.proc is not None:
        child.proc.wait()


def test_a_first_start_that_fails_stops_the_parent_with_its_code() -> None:
    broken = Child("hub-1", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))
    steady = Child("hub-2", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        assert Supervisor([broken, steady]).run() == 3
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    assert steady.proc is not None and steady.proc.poll() is not None  # stopped with it
