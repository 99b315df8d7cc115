"""The `hub` command."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from hub.logs import configure_logging, get_logger
from hub.settings import Settings

log = get_logger("hub.cli")


SHARED_REDIS_WARNING = """
  !!! REDIS_URL is set but HUB_PUBLIC_URL is not.
  !!! Status callbacks and the sandbox's replies are addressed to this process
  !!! ({url}). Hub processes sharing one Redis behind a load balancer must all
  !!! set HUB_PUBLIC_URL to the balancer's address, or a process that dies
  !!! takes its messages' status callbacks with it.
"""


def _serve(args: argparse.Namespace) -> int:
    from hub.supervisor import default_processes, serve_processes

    env = dict(os.environ)
    if args.host:
        env["HUB_HOST"] = args.host
    if args.port is not None:
        env["HUB_PORT"] = str(args.port)
    settings = Settings.from_env(env)
    try:
        processes = args.processes or int(env.get("HUB_PROCESSES") or 0) or default_processes()
    except ValueError:
        processes = 0
    if processes < 1:
        print("--processes (HUB_PROCESSES) must be at least 1", file=sys.stderr)
        return 2
    if args.sandbox and not settings.admin_token:
        settings = settings.with_(admin_token="adm_" + secrets.token_urlsafe(24))
    configure_logging(settings.log_level)
    if env.get("REDIS_URL") and not env.get("HUB_PUBLIC_URL"):
        print(SHARED_REDIS_WARNING.format(url=settings.public_url), file=sys.stderr, flush=True)
        log.warning(
            "REDIS_URL is set but HUB_PUBLIC_URL is not: status callbacks go to this process's own address",
            extra={"public_url": settings.public_url},
        )
    if processes > 1:
        return serve_processes(settings, processes, sandbox=args.sandbox, env=env)
    return _serve_one(settings, args)


def _serve_one(settings: Settings, args: argparse.Namespace) -> int:
    import socket

    import uvicorn
    from starlette.routing import Mount

    from hub.app import build_app

    extra: list[Any] = []
    attach = None
    if args.sandbox:
        from hub import demo
        from hub.sandbox import SandboxState, build_sandbox_app

        settings = settings.with_(sandbox_url=settings.sandbox_url or f"{settings.public_url}/sandbox")
        state = SandboxState()
        # Tenants reach this sandbox: its control API takes the hub's credentials
        # and it posts only to the hub's own webhooks (hub.sandbox.access).
        gate = demo.HubGate(settings)
        sandbox_app = build_sandbox_app(state, gate=gate, webhook_prefix=f"{settings.public_url}/webhooks/")
        extra.append(Mount("/sandbox", app=sandbox_app))
        attach = demo.attach(settings, state, sandbox_app, gate)
    elif args.sandbox_upstream:
        # One of several processes (hub.supervisor): the sandbox lives in a
        # process of its own; sends go to it directly, /sandbox is forwarded.
        from hub.sandbox.proxy import SandboxProxy

        settings = settings.with_(sandbox_url=settings.sandbox_url or f"{args.sandbox_upstream}/sandbox")
        proxy = SandboxProxy(args.sandbox_upstream)
        extra.append(Mount("/sandbox", app=proxy))

        @contextlib.asynccontextmanager
        async def closing(hub: Any) -> AsyncIterator[None]:
            try:
                yield
            finally:
                await proxy.aclose()

        attach = closing
    app = build_app(settings, extra_routes=extra, attach=attach)
    # The hub allocates many short-lived objects per message and few that
    # live long: collect young objects less often, and keep everything made
    # at start-up out of the collector's way.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        log_config=None,
        ws_per_message_deflate=False,
    )
    sockets: list[socket.socket] | None = None
    if args.reuse_port:
        from hub.supervisor import listening_socket

        # Its own socket on the shared port: the kernel spreads connections.
        sockets = [listening_socket(settings.host, settings.port, reuse_port=True, listen=False)]
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how it stops (as uvicorn.run)
        server.run(sockets=sockets)
    return 0 if server.started else 3  # as uvicorn.run: the app could not start


def _sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.sandbox import SandboxState, build_sandbox_app

    configure_logging("warning")
    state = SandboxState()
    for pair in args.account or []:
        sid, _, token = pair.partition(":")
        state.add_account(sid, token)
    uvicorn.run(
        build_sandbox_app(state), host=args.host, port=args.port, log_level="warning", access_log=False, log_config=None
    )
    return 0


def _org_create(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    body: dict[str, Any] = {"name": args.name, "default_region": args.region}
    limits = {
        k: v
        for k, v in (("contacts_per_request", args.contacts_per_request), ("requests_per_hour", args.requests_per_hour))
        if v
    }
    if limits:
        body["limits"] = limits
    if args.partitions:
        body["partitions"] = args.partitions
    token = args.admin_token or settings.admin_token
    if not token:
        print("set HUB_ADMIN_TOKEN or pass --admin-token", file=sys.stderr)
        return 2
    return _create(f"{args.url or settings.public_url}/v1/orgs", token, body)


def _create(url: str, token: str, body: dict[str, Any]) -> int:
    """POST a new record to a running hub and print its answer."""
    import httpx

    try:
        response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        print(f"cannot reach the hub at {url}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(response.json(), indent=2))
    return 0 if response.status_code == 201 else 1


def _api_key(args: argparse.Namespace) -> str | None:
    """The org's API key from --api-key or HUB_API_KEY; None (and why, on
    stderr) when neither is given."""
    api_key: str | None = args.api_key or os.environ.get("HUB_API_KEY")
    if not api_key:
        print("pass --api-key or set HUB_API_KEY (the org's API key)", file=sys.stderr)
    return api_key or None


def _agent_create(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    api_key = _api_key(args)
    if not api_key:
        return 2
    password = args.password or os.environ.get("HUB_AGENT_PASSWORD")
    if not password:
        import getpass

        password = getpass.getpass("Password for the new agent: ")
    body = {
        "name": args.name,
        "email": args.email,
        "password": password,
        "role": args.role,
        "queues": args.queue or (["default"] if args.role == "agent" else []),
        "capacity": args.capacity,
    }
    return _create(f"{args.url or settings.public_url}/v1/agents", api_key, body)


def _send(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hub.bulk_client import send_file

    settings = Settings.from_env()
    api_key = _api_key(args)
    if not api_key:
        return 2
    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    return send_file(
        path,
        args.config,
        url=args.url or settings.public_url,
        api_key=api_key,
        fmt=args.format,
        results=Path(args.results) if args.results else None,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hub", description="Two-way SMS and WhatsApp messaging hub.")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the API, webhooks, websockets, console and workers",
        description="Run the hub: N processes on one port (one per core by "
        "default). Without REDIS_URL it starts its own "
        "redis-server under HUB_DATA_DIR, shared by them. "
        "History goes to DATABASE_URL (default: SQLite "
        "under HUB_DATA_DIR).",
    )
    serve.add_argument("--host", help="listen address (HUB_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (HUB_PORT, default 8000)")
    serve.add_argument(
        "--sandbox", action="store_true", help="add the sandbox provider and a demo org, printing its API key"
    )
    serve.add_argument(
        "--processes", type=int, help="hub processes on the port (HUB_PROCESSES, default: the number of cores)"
    )
    # Set by the parent for the processes it starts (hub.supervisor).
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--sandbox-upstream", help=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    sandbox = sub.add_parser("sandbox", help="run the sandbox provider alone (tests, benchmarks)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8100)
    sandbox.add_argument(
        "--account", action="append", metavar="SID:TOKEN", help="an account the sandbox accepts (repeatable)"
    )
    sandbox.set_defaults(func=_sandbox)

    org = sub.add_parser("org", help="manage orgs").add_subparsers(dest="org_command", required=True)
    create = org.add_parser(
        "create",
        help="create an org and print its API key",
        description="Create an org through a running hub (admin token).",
    )
    create.add_argument("--name", required=True)
    create.add_argument("--region", default="US", help="default region for numbers without +")
    create.add_argument("--contacts-per-request", type=int)
    create.add_argument("--requests-per-hour", type=int)
    create.add_argument(
        "--partitions", type=int, help="outbound partitions, 1 to 16 (set at creation only; see the README)"
    )
    create.add_argument("--url", help="the hub's URL (default HUB_PUBLIC_URL)")
    create.add_argument("--admin-token", help="default HUB_ADMIN_TOKEN")
    create.set_defaults(func=_org_create)

    send = sub.add_parser(
        "send",
        help="push a contact list (CSV or JSON lines) as a bulk job",
        description="Upload a contact list to a running hub as a bulk job, show "
        "its progress and print the counts. Ctrl+C cancels the job.",
    )
    send.add_argument("file", help="CSV with a header row, or JSON lines (one contact per line)")
    send.add_argument("--config", required=True, help="the outbound configuration id")
    send.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file name or content")
    send.add_argument("--results", metavar="OUT.csv", help="write the per-contact outcomes here")
    send.add_argument("--url", help="the hub's URL (default HUB_PUBLIC_URL)")
    send.add_argument("--api-key", help="the org's API key (default HUB_API_KEY)")
    send.set_defaults(func=_send)

    agent = sub.add_parser("agent", help="manage agents").add_subparsers(dest="agent_command", required=True)
    acreate = agent.add_parser(
        "create",
        help="create an agent who logs in to the console",
        description="Create an agent through a running hub (org API key).",
    )
    acreate.add_argument("--name", required=True)
    acreate.add_argument("--email", required=True, help="the agent's login")
    acreate.add_argument("--password", help="default HUB_AGENT_PASSWORD, else asked for")
    acreate.add_argument("--queue", action="append", help="a queue the agent serves (repeatable; default: default)")
    acreate.add_argument("--capacity", type=int, default=3, help="open conversations at once (default 3)")
    acreate.add_argument(
        "--role",
        choices=("agent", "supervisor"),
        default="agent",
        help="supervisor: watches the org's board, monitors, whispers, takes over "
        "(serves no queue unless given --queue)",
    )
    acreate.add_argument("--url", help="the hub's URL (default HUB_PUBLIC_URL)")
    acreate.add_argument("--api-key", help="the org's API key (default HUB_API_KEY)")
    acreate.set_defaults(func=_agent_create)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
