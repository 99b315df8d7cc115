"""Every operation takes the credentials its declaration names, and only
those: the security /openapi.json publishes is the security the hub applies.

One request per operation and kind of credential: none, the org's API key,
the admin token, an agent's token and a supervisor's. Path parameters are
placeholders and bodies empty, so a call that gets past authentication may
well be refused for its input or answer 404; what is asserted is only
whether it got past authentication. A credential the declaration does not
name must be refused before the body is looked at: 401, or 403 where an
agent's token is known but not enough (a supervisor's read)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from hub.api.openapi import OPERATIONS
from tests.agents import create_agent, login
from tests.support import ADMIN_TOKEN, Api, HubProcess

PLACEHOLDERS = {"phone": "+14155550100", "name": "default"}
DEFAULT_SECURITY = [{"orgApiKey": []}]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS.get(m.group(1), "x_0a1b2c3d4e5f6071"), path)


def accepted_schemes(security: list[dict[str, Any]] | None) -> set[str]:
    return {name for requirement in (security if security is not None else DEFAULT_SECURITY) for name in requirement}


def test_each_operation_takes_the_credentials_it_declares_and_no_other(api: Api, hub: HubProcess) -> None:
    api_key = api.headers["authorization"].split(" ", 1)[1]
    create_agent(api, "ada@example.com")
    supervisor = api.ok(
        "POST",
        "/v1/agents",
        201,
        json={
            "name": "Sam",
            "email": "sam@example.com",
            "password": "correct horse",
            "role": "supervisor",
        },
    )
    assert supervisor["role"] == "supervisor"
    tokens = {
        "none": None,
        "orgApiKey": api_key,
        "adminToken": ADMIN_TOKEN,
        "agentToken": login(hub.url, "ada@example.com"),
        "supervisorToken": login(hub.url, "sam@example.com"),
    }
    checked = 0
    wrong: list[str] = []
    with httpx.Client(base_url=hub.url, timeout=30) as http:
        for op in OPERATIONS:
            if op.handler is None or not op.path.startswith("/v1") or op.path == "/v1/agents/logout":
                continue  # webhooks authenticate by signature; a logout would end the token the others use
            schemes = accepted_schemes(op.security)
            for credential, token in tokens.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                kwargs: dict[str, Any] = {"json": {}} if op.method in ("POST", "PUT", "PATCH") else {}
                response = http.request(op.method, concrete(op.path), headers=headers, **kwargs)
                scheme = "agentToken" if credential == "supervisorToken" else credential
                passes = not schemes or scheme in schemes
                refused = response.status_code in (401, 403)
                if passes and response.status_code == 401:
                    wrong.append(f"{op.method} {op.path}: {credential} refused with 401 ({response.text[:120]})")
                elif not passes and not refused:
                    wrong.append(f"{op.method} {op.path}: {credential} answered {response.status_code}")
                elif not passes and response.status_code == 403:
                    # Known but not enough: only an agent's token, for an operation its role may not call.
                    if credential not in ("agentToken", "supervisorToken"):
                        wrong.append(f"{op.method} {op.path}: {credential} refused with 403, not 401")
                checked += 1
    assert checked > 200
    assert not wrong, "\n".join(wrong)
