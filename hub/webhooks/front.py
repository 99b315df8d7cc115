"""The webhook routes, served straight from ASGI.

Every status callback and every customer's message comes this way, so the
route is kept lean: the path is split once, the body read under the
webhook limit, the signature checked over the raw body and the answer sent
as two ASGI messages, without the framework's router, middleware layers and
per-request objects (measured in the README, "Lean webhook route"). What the
provider sees is what it saw through the framework: the same answers, and
refusals in the API's error shape, made by the app's own error handlers
(hub/app.py). Any other path under /webhooks/ goes to the framework, which
answers 404.
"""

from __future__ import annotations

from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from hub.api.limits import WEBHOOK_LIMIT, read_body
from hub.webhooks.intake import Answer, Family, handle
from hub.webhooks.telesign import TELESIGN
from hub.webhooks.twilio import TWILIO

PREFIX = "/webhooks/"
FAMILIES: dict[str, Family] = {"twilio": TWILIO, "telesign": TELESIGN}
ROUTES = ("status", "inbound")
# The paths below, as the OpenAPI description names them.
PATHS = tuple(f"{PREFIX}{family}/{{channel_id}}/{route}" for family in FAMILIES for route in ROUTES)


def match(path: str) -> tuple[Family, str, str] | None:
    """``/webhooks/{family}/{channel_id}/{route}``: the family, the channel id
    and the route; None for any other path."""
    parts = path.split("/")
    if len(parts) != 5 or parts[1] != "webhooks" or parts[4] not in ROUTES or not parts[3]:
        return None
    family = FAMILIES.get(parts[2])
    return None if family is None else (family, parts[3], parts[4])


def public_url(base: str, scope: Scope) -> str:
    """The URL the provider called, as Twilio signed it: the hub's public base
    with the path (escaped as the framework's URL escapes it) and query received."""
    url = base + scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"")
    return f"{url}?{query.decode('latin-1')}" if query else url


async def serve(state: State, matched: tuple[Family, str, str], scope: Scope, receive: Receive, send: Send) -> None:
    """One webhook, answered; a refusal is raised for the app's error handlers."""
    family, channel_id, route = matched
    if scope["method"] != "POST":
        raise HTTPException(405, headers={"Allow": "POST"})
    body = await read_body(scope, receive, WEBHOOK_LIMIT)
    url = public_url(state.hub.settings.public_url, scope)
    answer = await handle(state, family, route, channel_id, url, scope["headers"], body)
    await send_answer(send, answer)


async def send_answer(send: Send, answer: Answer) -> None:
    headers = []
    if answer.status != 204:
        headers.append((b"content-length", str(len(answer.body)).encode()))
    if answer.content_type:
        headers.append((b"content-type", answer.content_type))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
