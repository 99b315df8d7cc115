"""`hub org create` and `hub agent create` against a running hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.agents import login
from tests.support import ADMIN_TOKEN, ROOT


def hub_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_org_and_agent_created_from_the_command_line(hub) -> None:  # type: ignore[no-untyped-def]
    org = hub_cli("org", "create", "--name", "Acme", "--region", "GB", "--url", hub.url, HUB_ADMIN_TOKEN=ADMIN_TOKEN)
    assert org.returncode == 0, org.stderr
    created = json.loads(org.stdout)
    assert created["default_region"] == "GB" and created["api_key"].startswith("hk_")

    agent = hub_cli(
        "agent",
        "create",
        "--name",
        "Zoe",
        "--email",
        "zoe@example.com",
        "--queue",
        "billing",
        "--url",
        hub.url,
        "--api-key",
        created["api_key"],
        HUB_AGENT_PASSWORD="correct horse",
    )
    assert agent.returncode == 0, agent.stderr
    assert json.loads(agent.stdout)["queues"] == ["billing"]
    assert json.loads(agent.stdout)["role"] == "agent"
    assert login(hub.url, "zoe@example.com")
    boss = hub_cli(
        "agent",
        "create",
        "--name",
        "Sue",
        "--email",
        "sue@example.com",
        "--role",
        "supervisor",
        "--url",
        hub.url,
        "--api-key",
        created["api_key"],
        HUB_AGENT_PASSWORD="correct horse",
    )
    assert boss.returncode == 0, boss.stderr
    assert (json.loads(boss.stdout)["role"], json.loads(boss.stdout)["queues"]) == ("supervisor", [])

    refused = hub_cli("org", "create", "--name", "Nope", "--url", hub.url, HUB_ADMIN_TOKEN="wrong")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "unauthorized"
