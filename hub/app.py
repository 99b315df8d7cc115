"""The composition root: builds the app from settings; opens Redis, provider
clients and workers in the lifespan. Nothing is created at import time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any, cast

from redis.exceptions import RedisError, SlotNotCoveredError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send

from agent_ui.routes import console_routes
from hub.api import operations
from hub.api.limits import BodyLimit
from hub.api.openapi import OPERATIONS
from hub.embedded_redis import EmbeddedRedis
from hub.errors import HubError, Unavailable
from hub.logs import get_logger
from hub.metrics import Metrics
from hub.providers.pool import ProviderPool
from hub.routing.conversations import Conversations
from hub.routing.fanout import Fanout
from hub.routing.policy import policy_loop
from hub.routing.presence import sweeper
from hub.routing.supervision import BoardFeeds
from hub.routing.ws import agent_ws
from hub.services.archiver import Archiver
from hub.services.bulk_runner import BulkRunner
from hub.services.context import Hub
from hub.services.deferred import release_loop
from hub.services.dispatch import REPLY_WORKERS, Dispatcher, retry_mover
from hub.services.event_feed import EventDeliverer
from hub.services.hot_window import hot_sweeper
from hub.services.journal import WebhookJournal
from hub.services.maintenance import maintainer
from hub.services.scheduler import scheduler
from hub.settings import Settings
from hub.storage.outage import redis_answers, redis_unavailable
from hub.storage.pubsub import PubSubNodes
from hub.storage.redis import NotStandalone, confirm_standalone, connect
from hub.storage.sql import migrate, open_database
from hub.webhooks import front as webhook_front
from hub.webhooks.intake import Family
from hub.webhooks.intake import replay as replay_webhook

log = get_logger("hub.app")


# What a client is told to wait while Redis is unreachable (a restart or failover).
REDIS_RETRY_AFTER_S = 5


async def hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return JSONResponse(exc.envelope(), status_code=exc.status, headers=exc.headers())


async def redis_error(request: Request, exc: Exception) -> Response:
    """Redis down, restarting, still loading its data, read-only or out of
    memory: the request did not happen as far as the client can tell, so say
    when to try again. Any other Redis error (a script's) is a bug: 500."""
    if not redis_unavailable(exc):
        return await server_error(request, exc)
    log.warning("redis unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
    return await hub_error(
        request, Unavailable("the hub's store is unreachable; retry shortly", retry_after=REDIS_RETRY_AFTER_S)
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def server_error(request: Request, exc: Exception) -> Response:
    request_id = uuid.uuid4().hex
    log.error("unhandled error", exc_info=exc, extra={"request_id": request_id, "path": request.url.path})
    return JSONResponse(
        {"error": {"code": "internal_error", "message": "internal error", "details": {"request_id": request_id}}},
        status_code=500,
    )


def routes(extra: list[Any]) -> list[Any]:
    api = operations.routes(OPERATIONS)
    # The hot path first: Starlette tries routes in order. (The webhooks are
    # served before the router: HubApp.)
    api.sort(key=lambda route: route.path != "/v1/outbound/send")
    return [*api, WebSocketRoute("/v1/agent/ws", agent_ws), *console_routes(), *extra]


async def _check_redis_mode(client: Any, url: str) -> None:
    """A hub started before its Redis answered took it for a standalone
    server; should it be a cluster node, this process stops, to be started
    again (by ``hub serve``'s parent) with the cluster client."""
    try:
        await confirm_standalone(client, url)
    except NotStandalone as exc:
        log.error("Redis turned out to be a cluster node; stopping to start again", extra={"error": str(exc)})
        os.kill(os.getpid(), signal.SIGTERM)


class HubApp(Starlette):
    """The app: provider webhooks go straight to their lean route
    (hub/webhooks/front.py), everything else through the framework. A
    webhook's refusal or failure is answered by the same error handlers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(webhook_front.PREFIX):
            matched = webhook_front.match(scope["path"])
            if matched is not None:
                scope["app"] = self
                try:
                    await webhook_front.serve(self.state, matched, scope, receive, send)
                except Exception as exc:
                    response = await self.error_response(Request(scope), exc)
                    await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def error_response(self, request: Request, exc: Exception) -> Response:
        for kind in type(exc).__mro__:
            handler = self.exception_handlers.get(kind)
            if handler is not None:
                return cast(Response, await handler(request, exc))
        raise exc


def build_app(
    settings: Settings,
    *,
    extra_routes: list[Any] | None = None,
    attach: Callable[[Hub], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """``attach(hub)`` is entered once Redis is open and left before it closes
    (the sandbox demo uses it to set up its org and close its client)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        embedded = None
        url = settings.redis_url
        if url is None:
            embedded = EmbeddedRedis(settings.data_dir, appendfsync=settings.appendfsync).start()
            url = embedded.url
        client = await connect(url)
        database = await open_database(settings.sql_url)
        await migrate(database)
        providers = ProviderPool(settings)
        hub = Hub(settings=settings, redis=client, metrics=Metrics(), providers=providers, history=database)
        app.state.hub = hub
        app.state.fanout = Fanout(PubSubNodes(client))
        app.state.board_feeds = BoardFeeds(hub, app.state.fanout)
        app.state.conversations = Conversations(hub)
        families: dict[str, Family] = dict(webhook_front.FAMILIES)
        app.state.journal = WebhookJournal(
            settings.data_dir / "journal",
            partial(redis_answers, client),
            partial(replay_webhook, app.state, families),
            max_bytes=settings.journal_max_bytes,
            metrics=hub.metrics,
        )
        stop = asyncio.Event()
        app.state.event_deliverer = EventDeliverer(hub)
        app.state.workers = (
            [asyncio.create_task(hub.board.run(stop), name="work-board")]
            + [asyncio.create_task(Dispatcher(hub, i).run(stop), name=f"dispatch-{i}") for i in range(settings.workers)]
            + [
                # Agents' replies have their own workers: never behind a bulk backlog.
                asyncio.create_task(Dispatcher(hub, i, replies=True).run(stop), name=f"replies-{i}")
                for i in range(REPLY_WORKERS)
            ]
            + [
                asyncio.create_task(retry_mover(hub, stop), name="retry-mover"),
                asyncio.create_task(release_loop(hub, stop), name="quiet-hours-release"),
                asyncio.create_task(sweeper(hub, stop), name="presence-sweeper"),
                asyncio.create_task(policy_loop(hub, stop), name="routing-policy"),
                asyncio.create_task(maintainer(hub, stop), name="retention"),
                asyncio.create_task(scheduler(hub, stop), name="scheduler"),
                asyncio.create_task(app.state.journal.run(stop), name="webhook-journal"),
            ]
            + [
                asyncio.create_task(BulkRunner(hub, i).run(stop), name=f"bulk-{i}")
                for i in range(settings.bulk_runners)
            ]
            + [
                asyncio.create_task(Archiver(hub).run(stop), name="archiver"),
                asyncio.create_task(hot_sweeper(hub, stop), name="hot-window"),
                asyncio.create_task(app.state.event_deliverer.run(stop), name="event-feed"),
            ]
        )
        mode_check = asyncio.create_task(_check_redis_mode(client, url), name="redis-mode")
        try:
            async with contextlib.AsyncExitStack() as stack:
                if attach is not None:
                    await stack.enter_async_context(attach(hub))
                log.info(
                    "hub started", extra={"public_url": settings.public_url, "embedded_redis": embedded is not None}
                )
                yield
        finally:
            stop.set()
            for task in [*app.state.workers, mode_check]:
                task.cancel()
            await asyncio.gather(*app.state.workers, mode_check, return_exceptions=True)
            await app.state.journal.aclose()
            await app.state.conversations.aclose()
            await app.state.fanout.aclose()
            await providers.aclose()
            await client.aclose()
            await database.close()
            if embedded is not None:
                embedded.stop()

    return HubApp(
        routes=routes(extra_routes or []),
        lifespan=lifespan,
        middleware=[Middleware(BodyLimit)],
        # The lean webhook route (hub/webhooks/front.py) answers its errors
        # through this table too (HubApp.error_response): a handler added
        # here serves the webhooks as well.
        exception_handlers={
            HubError: hub_error,
            HTTPException: http_error,
            RedisError: redis_error,
            # A cluster slot no master serves, a connection closed under a
            # command: redis-py raises them outside RedisError (see
            # redis_unavailable; any other AttributeError or RuntimeError is
            # a bug, 500).
            SlotNotCoveredError: redis_error,
            AttributeError: redis_error,
            RuntimeError: redis_error,
            Exception: server_error,
        },
    )
