"""Every `hub` command's happy path, on an install made the README's way
without the test extra (so a module only the tests install fails here).

Run with the plain install's Python: `python .ci/cli_smoke.py BIN_DIR`.
Uses only the standard library, so it cannot lend the hub a module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ADMIN = "ci-admin-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(method: str, url: str, token: str, body: object | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer 200 within {timeout}s")


def run(hub: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([hub, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise SystemExit(f"hub {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main(bin_dir: str) -> int:
    hub = str(Path(bin_dir) / "hub")
    work = Path(tempfile.mkdtemp(prefix="hub-cli-smoke-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(work / "var"),
        "HUB_ADMIN_TOKEN": ADMIN,
        "HUB_PORT": str(port),
        "HUB_LOG_LEVEL": "warning",
    }
    for args in (
        ["--help"],
        ["serve", "--help"],
        ["sandbox", "--help"],
        ["org", "create", "--help"],
        ["agent", "create", "--help"],
        ["send", "--help"],
    ):
        run(hub, *args)

    server = subprocess.Popen(
        [hub, "serve", "--sandbox"], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "serve.log", "w")
    )
    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [hub, "sandbox", "--port", str(sandbox_port)], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(base + "/readyz")
        wait_ready(f"http://127.0.0.1:{sandbox_port}/_sandbox/messages")

        org = json.loads(run(hub, "org", "create", "--name", "CI", "--url", base, "--admin-token", ADMIN))
        key = org["api_key"]
        agent = json.loads(
            run(
                hub,
                "agent",
                "create",
                "--name",
                "Ada",
                "--email",
                "ada@ci.test",
                "--url",
                base,
                "--api-key",
                key,
                env={"HUB_AGENT_PASSWORD": "a long ci pass phrase"},
            )
        )
        assert agent["email"] == "ada@ci.test", agent

        status, channel = call(
            "POST",
            base + "/v1/channels",
            key,
            {
                "type": "sms",
                "provider": "sandbox",
                "address": "+14155550100",
                "credentials": {"account_sid": "AC" + "c" * 32, "auth_token": "ci-token"},
            },
        )
        assert status == 201, channel
        status, template = call(
            "POST",
            base + "/v1/templates",
            key,
            {
                "name": "Hello",
                "channel_types": ["sms"],
                "default_locale": "en-US",
                "bodies": {"en-US": "Hi {{CustomerName}}"},
            },
        )
        assert status == 201, template
        status, config = call(
            "POST",
            base + "/v1/outbound-configurations",
            key,
            {
                "name": "Hello",
                "channel_type": "sms",
                "channel_id": channel["id"],  # type: ignore[index]
                "template_id": template["id"],
            },
        )  # type: ignore[index]
        assert status == 201, config

        contacts = work / "contacts.csv"
        contacts.write_text(
            "tocontactid,channelid,optin,CustomerName,CaseName,entityrelationshipname\n"
            + "".join(f"+1415555{2000 + i:04d},sms,true,Ada,CAS-{i},incident\n" for i in range(25))
        )
        results = work / "results.csv"
        run(
            hub,
            "send",
            str(contacts),
            "--config",
            config["id"],
            "--url",
            base,  # type: ignore[index]
            "--api-key",
            key,
            "--results",
            str(results),
        )
        rows = results.read_text().splitlines()
        assert len(rows) == 26 and all(",queued," in row for row in rows[1:]), rows
    finally:
        for proc in (sandbox, server):
            proc.send_signal(signal.SIGTERM)
        for proc in (sandbox, server):
            proc.wait(timeout=30)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it.
    if server.returncode not in (0, -signal.SIGTERM):
        print((work / "serve.log").read_text(), file=sys.stderr)
        raise SystemExit(f"hub serve exited {server.returncode}")
    sockets = list((work / "var").glob("*.sock"))
    for path in sockets:
        with socket.socket(socket.AF_UNIX) as probe:
            if probe.connect_ex(str(path)) == 0:
                raise SystemExit(f"the embedded redis-server outlived hub serve ({path})")
    shutil.rmtree(work, ignore_errors=True)
    print("cli smoke: every command's happy path passed on a plain install")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
