"""Supervisors: a role created like agents, signing in like them; agents may
not use what only supervisors may (the board and the rest are in
test_supervisor_board.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.agents import PASSWORD, create_agent
from tests.support import Api, HubProcess

Start = Callable[..., HubProcess]


def create_supervisor(api: Api, email: str, **extra: Any) -> dict[str, Any]:
    return api.ok(
        "POST",
        "/v1/agents",
        201,
        json={  # type: ignore[no-any-return]
            "name": email.split("@")[0],
            "email": email,
            "password": PASSWORD,
            "role": "supervisor",
            **extra,
        },
    )


def test_a_supervisor_is_created_and_signs_in_like_an_agent(api: Api, hub: HubProcess) -> None:
    sup = create_supervisor(api, "sue@example.com")
    assert (sup["role"], sup["queues"]) == ("supervisor", [])
    agent = create_agent(api, "al@example.com")
    assert agent["role"] == "agent"
    listed = {a["email"]: a["role"] for a in api.ok("GET", "/v1/agents")["items"]}
    assert listed == {"sue@example.com": "supervisor", "al@example.com": "agent"}
    signed_in = httpx.post(hub.url + "/v1/agents/login", json={"email": "sue@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200 and signed_in.json()["agent"]["role"] == "supervisor"

    refused = api.post(
        "/v1/agents", json={"name": "x", "email": "x@example.com", "password": PASSWORD, "role": "admin"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"field": "role"}
    # An agent still needs a queue; a supervisor may be given some.
    refused = api.post("/v1/agents", json={"name": "y", "email": "y@example.com", "password": PASSWORD, "queues": []})
    assert refused.status_code == 400 and refused.json()["error"]["details"] == {"field": "queues"}
    assert create_supervisor(api, "sid@example.com", queues=["vip"])["queues"] == ["vip"]
