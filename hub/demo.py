"""`hub serve --sandbox`: the sandbox provider in process and a demo org, so a
newcomer sees the whole loop with no provider account."""

from __future__ import annotations

import contextlib
import secrets
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request

from hub.domain.records import Channel, Configuration, Org, Template
from hub.sandbox import SandboxState
from hub.sandbox.access import OPERATOR, Caller, bearer_token, same_secret
from hub.services.context import Hub
from hub.settings import Settings

DEMO_ORG = "org_demo"
DEMO_CHANNEL = "ch_demo_sms"
DEMO_TEMPLATE = "tpl_demo_case"
DEMO_CONFIG = "cfg_demo_case"
DEMO_NUMBER = "+14155550100"
DEMO_ACCOUNT = "AC" + "d" * 32


async def ensure_demo_org(hub: Hub, auth_token: str) -> str:
    """Create (or refresh) the demo org and its records; returns a new API key."""
    now = time.time()
    org = await hub.orgs.load(DEMO_ORG) or Org(
        id=DEMO_ORG,
        name="Demo",
        created_at=now,
        default_region="US",
        limits={"contacts_per_request": 100, "requests_per_hour": 30000},
    )
    api_key = "hk_" + secrets.token_urlsafe(32)
    await hub.orgs.create(org, api_key)
    hub.board.announce(DEMO_ORG, "org")
    channel = Channel(
        id=DEMO_CHANNEL,
        org_id=DEMO_ORG,
        created_at=now,
        name="Demo SMS",
        type="sms",
        provider="sandbox",
        address=DEMO_NUMBER,
        credentials={"account_sid": DEMO_ACCOUNT, "auth_token": auth_token},
    )
    template = Template(
        id=DEMO_TEMPLATE,
        org_id=DEMO_ORG,
        created_at=now,
        name="Case update",
        channel_types=("sms", "whatsapp"),
        default_locale="en-US",
        content_sids={},
        bodies={
            "en-US": "Hi {{CustomerName}}, your case {{CaseName}} was updated. Reply here to talk to us.",
            "fr-FR": "Bonjour {{CustomerName}}, votre dossier {{CaseName}} a été mis à jour.",
        },
    )
    config = Configuration(
        id=DEMO_CONFIG,
        org_id=DEMO_ORG,
        created_at=now,
        name="Case updates",
        show_in_timeline=True,
        channel_type="sms",
        channel_id=DEMO_CHANNEL,
        template_id=DEMO_TEMPLATE,
        queue="default",
    )
    existing = await hub.channels.load(DEMO_ORG, DEMO_CHANNEL)
    await hub.channels.save(DEMO_ORG, channel, new=existing is None)
    if await hub.templates.load(DEMO_ORG, DEMO_TEMPLATE) is None:
        await hub.templates.save(DEMO_ORG, template, new=True)
    if await hub.configurations.load(DEMO_ORG, DEMO_CONFIG) is None:
        await hub.configurations.save(DEMO_ORG, config, new=True)
    return api_key


DEMO_AGENTS = (("Ana Agent", "ana@demo.test"), ("Ben Agent", "ben@demo.test"))
DEMO_SUPERVISOR = ("Sam Supervisor", "sam@demo.test")


async def ensure_demo_agents(hub: Hub) -> str:
    """Two demo agents sharing one password, new each start; returns it."""
    from argon2 import PasswordHasher

    password = secrets.token_urlsafe(9)
    hashed = PasswordHasher().hash(password)
    for index, (name, email) in enumerate(DEMO_AGENTS):
        agent_id = f"agt_demo_{index + 1}"
        if await hub.agents.load(DEMO_ORG, agent_id) is None:
            await hub.agents.create(
                DEMO_ORG,
                {
                    "id": agent_id,
                    "name": name,
                    "email": email,
                    "queues": ["default"],
                    "capacity": 3,
                    "created_at": time.time(),
                },
                hashed,
            )
        await hub.agents.save_password(DEMO_ORG, agent_id, hashed)
    name, email = DEMO_SUPERVISOR
    if await hub.agents.load(DEMO_ORG, "agt_demo_supervisor") is None:
        await hub.agents.create(
            DEMO_ORG,
            {
                "id": "agt_demo_supervisor",
                "name": name,
                "email": email,
                "queues": [],
                "capacity": 3,
                "role": "supervisor",
                "created_at": time.time(),
            },
            hashed,
        )
    await hub.agents.save_password(DEMO_ORG, "agt_demo_supervisor", hashed)
    return password


class HubGate:
    """Callers of the mounted sandbox's control API, named by the hub's own
    credentials: the admin token (the operator) or an org's API key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hub: Hub | None = None  # set once Redis is open

    async def caller(self, request: Request) -> Caller | None:
        token = bearer_token(request)
        if token is None or self.hub is None:
            return None
        if same_secret(token, self.settings.admin_token):
            return OPERATOR
        org_id = await self.hub.orgs.org_for_key(token)
        return Caller(org_id) if org_id else None


def banner(settings: Settings, api_key: str, password: str) -> str:
    base = settings.public_url
    return f"""
  Messaging hub, sandbox mode
  ---------------------------
  API:            {base}/v1   (docs: {base}/openapi.json)
  Console:        {base}/console
  Admin token:    {settings.admin_token}
  Demo API key:   {api_key}
  Configuration:  {DEMO_CONFIG} (SMS from {DEMO_NUMBER} through the sandbox)
  Agents:         {", ".join(email for _, email in DEMO_AGENTS)} (password: {password})
  Supervisor:     {DEMO_SUPERVISOR[1]} (same password)

  Send a message:
    curl -s -X POST {base}/v1/outbound/send -H 'Authorization: Bearer {api_key}' \\
      -H 'Content-Type: application/json' -d '{{"configuration_id": "{DEMO_CONFIG}",
      "contacts": [{{"tocontactid": "+14155552671", "channelid": "sms", "optin": true,
      "CustomerName": "Ada", "CaseName": "CAS-1", "entityrelationshipname": "incident"}}]}}'

  Make the customer answer (it reaches an available agent in the console):
    curl -s -X POST {base}/sandbox/_sandbox/replies -H 'Authorization: Bearer {api_key}' \\
      -H 'Content-Type: application/json' -d '{{"account_sid": "{DEMO_ACCOUNT}",
      "from": "+14155552671", "to": "{DEMO_NUMBER}", "body": "Thanks! Is it fixed?",
      "url": "{base}/webhooks/twilio/{DEMO_CHANNEL}/inbound"}}'
"""


async def set_up(settings: Settings, hub: Hub) -> str:
    """The demo org, its agents and a new sandbox account token (returned);
    prints the banner with the new key and password."""
    token = secrets.token_hex(16)
    api_key = await ensure_demo_org(hub, token)
    password = await ensure_demo_agents(hub)
    hub.directory.forget(DEMO_CHANNEL)
    print(banner(settings, api_key, password), file=sys.stderr, flush=True)
    return token


def own_demo_account(state: SandboxState, token: str) -> None:
    state.add_account(DEMO_ACCOUNT, token)
    state.owners[DEMO_ACCOUNT] = DEMO_ORG


def attach(
    settings: Settings, state: SandboxState, sandbox_app: Starlette, gate: HubGate
) -> Callable[[Hub], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifecycle(hub: Hub) -> AsyncIterator[None]:
        gate.hub = hub
        own_demo_account(state, await set_up(settings, hub))
        try:
            yield
        finally:
            sender: Any = sandbox_app.state.callback_sender
            await sender.aclose()

    return lifecycle


# Several hub processes (hub.supervisor): the parent sets up the demo once,
# and one process of its own holds the sandbox's state for all of them.
TOKEN_ENV = "HUB_DEMO_SANDBOX_TOKEN"


async def _store_only_hub(settings: Settings) -> Hub:
    from hub.metrics import Metrics
    from hub.providers.pool import ProviderPool
    from hub.storage.redis import connect

    assert settings.redis_url is not None
    return Hub(
        settings=settings, redis=await connect(settings.redis_url), metrics=Metrics(), providers=ProviderPool(settings)
    )


def prepare(settings: Settings) -> str:
    """In the parent, before any hub process starts: the demo, once."""
    import asyncio

    async def run() -> str:
        hub = await _store_only_hub(settings)
        try:
            return await set_up(settings, hub)
        finally:
            await hub.redis.aclose()

    return asyncio.run(run())


def serve_shared_sandbox(fd: int) -> None:
    """The sandbox process: the sandbox app under /sandbox on the listening
    socket ``fd`` (loopback) that the parent made; hub processes forward to it."""
    import os

    import uvicorn
    from starlette.routing import Mount

    from hub.logs import configure_logging
    from hub.sandbox import build_sandbox_app

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    state = SandboxState()
    own_demo_account(state, os.environ.pop(TOKEN_ENV))
    gate = HubGate(settings)
    sandbox_app = build_sandbox_app(state, gate=gate, webhook_prefix=f"{settings.public_url}/webhooks/")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gate.hub = await _store_only_hub(settings)
        try:
            yield
        finally:
            await sandbox_app.state.callback_sender.aclose()
            await gate.hub.redis.aclose()

    app = Starlette(routes=[Mount("/sandbox", app=sandbox_app)], lifespan=lifespan)
    uvicorn.run(app, fd=fd, log_level=settings.log_level, access_log=False, log_config=None)


if __name__ == "__main__":
    serve_shared_sandbox(int(sys.argv[1]))
