"""HTTP face of the sandbox: the Twilio Messages API subset plus a control API.

The create route is the benchmark's hot path: it reads the raw body with
`parse_qsl` (no multipart machinery), caches decoded basic-auth headers and
writes JSON straight into a plain Response.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.sandbox.access import Access, ControlRefused, Gate, refused_response
from hub.sandbox.callbacks import CallbackSender, inbound_params
from hub.sandbox.state import API_VERSION, RuleOutcome, SandboxState, error_body, new_sid
from hub.sandbox.telesign import TelesignSandbox

JSON = "application/json"
MAX_PAGE_SIZE = 1000


def twilio_error(code: int, status: int, message: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(error_body(code, status, message)), status, headers, JSON)


def _authorized(state: SandboxState, request: Request, account_sid: str) -> bool:
    header = request.headers.get("authorization")
    if not header:
        return False
    cached = state.auth_cache.get(header)
    if cached is None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, token = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not state.authenticate(user, token):
            return False
        if len(state.auth_cache) < 1024:  # bounded: junk headers must not grow it
            state.auth_cache[header] = user
        cached = user
    # Twilio refuses credentials of one account used on another account's path.
    return cached == account_sid


def _parse_date(value: str, *, end: bool) -> float:
    """Twilio accepts dates or datetimes; `end` makes the bound inclusive."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end:
        parsed += timedelta(days=1) if len(value) <= 10 else timedelta(seconds=1)
    return parsed.timestamp()


async def _sleep_then(seconds: float, response: Response) -> Response:
    await asyncio.sleep(seconds)
    return response


class TwilioSandbox:
    """The Twilio Messages API subset and the shared control API, as routes.

    ``TelesignSandbox`` beside it serves TeleSign's API on the same state,
    callback sender and access rules."""

    def __init__(self, state: SandboxState, sender: CallbackSender, access: Access) -> None:
        self.state = state
        self.sender = sender
        self.access = access
        self.base = f"/{API_VERSION}/Accounts"

    def routes(self) -> list[Route]:
        base = self.base
        return [
            Route(base + "/{account_sid}/Messages.json", self.messages, methods=["GET", "POST"]),
            Route(base + "/{account_sid}/Messages/{sid}.json", self.fetch, methods=["GET"]),
            Route("/_sandbox/accounts", self.accounts, methods=["POST"]),
            Route("/_sandbox/rules", self.rules, methods=["GET", "POST", "DELETE"]),
            Route("/_sandbox/settings", self.settings, methods=["GET", "PUT"]),
            Route("/_sandbox/messages", self.control_messages, methods=["GET", "DELETE"]),
            Route("/_sandbox/stats", self.stats, methods=["GET"]),
            Route("/_sandbox/drain", self.drain, methods=["POST"]),
            Route("/_sandbox/replies", self.replies, methods=["POST"]),
        ]

    # -- the Messages API --------------------------------------------------
    async def messages(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        if not _authorized(self.state, request, account_sid):
            return twilio_error(20003, 401)
        if request.method == "POST":
            return await self._create(request, account_sid)
        return self._list_page(request, account_sid)

    async def _create(self, request: Request, account_sid: str) -> Response:
        raw = await request.body()
        fields: dict[str, str] = {}
        media: list[str] = []
        for key, value in parse_qsl(raw.decode(errors="replace"), keep_blank_values=True):
            if key == "MediaUrl":
                media.append(value)
            else:
                fields[key] = value
        result = self.state.create_message(account_sid, fields, media)
        if not isinstance(result, RuleOutcome):
            response = Response(json.dumps(result.resource), 201, media_type=JSON)
            self.sender.schedule(result)
            return response
        if result.action in ("http_error", "refuse"):
            assert result.body is not None
            headers = {"Retry-After": str(result.retry_after)} if result.retry_after is not None else None
            return Response(json.dumps(result.body), result.status, headers, JSON)
        if result.stored is not None:  # store_then_timeout: it went out, the answer is late
            response = Response(json.dumps(result.stored.resource), 201, media_type=JSON)
            self.sender.schedule(result.stored)
            return await _sleep_then(result.seconds, response)
        return await _sleep_then(result.seconds, twilio_error(20504, 504, "Gateway Timeout"))

    def _list_page(self, request: Request, account_sid: str) -> Response:
        q = request.query_params
        to, from_ = q.get("To"), q.get("From")
        try:
            after = before = None
            if q.get("DateSent"):
                after = _parse_date(q["DateSent"], end=False)
                before = _parse_date(q["DateSent"], end=True)
            if q.get("DateSent>"):
                after = _parse_date(q["DateSent>"], end=False)
            if q.get("DateSent<"):
                before = _parse_date(q["DateSent<"], end=True)
            page_size = min(max(int(q.get("PageSize", 50)), 1), MAX_PAGE_SIZE)
            page = max(int(q.get("Page", 0)), 0)
            token = q.get("PageToken")
            before_seq = int(token[2:]) if token and token.startswith("PA") else None
        except ValueError:
            return twilio_error(20001, 400, "Invalid query parameter")
        found = self.state.list_messages(account_sid, to, from_, after, before, before_seq, page_size + 1)
        items = found[:page_size]
        path = f"{self.base}/{account_sid}/Messages.json"
        filters = [(k, q[k]) for k in ("To", "From", "DateSent", "DateSent>", "DateSent<") if q.get(k)]

        def uri(page_no: int, extra: list[tuple[str, str]]) -> str:
            query = filters + [("PageSize", str(page_size)), ("Page", str(page_no))] + extra
            return f"{path}?{urlencode(query)}"

        next_uri = None
        if len(found) > page_size:
            next_uri = uri(page + 1, [("PageToken", f"PA{items[-1].seq}")])
        start = page * page_size
        body = {
            "messages": [m.resource for m in items],
            "first_page_uri": uri(0, []),
            "next_page_uri": next_uri,
            "previous_page_uri": None,
            "page": page,
            "page_size": page_size,
            "uri": uri(page, [("PageToken", token)] if token else []),
            "start": start,
            "end": start + max(len(items) - 1, 0),
        }
        return Response(json.dumps(body), 200, media_type=JSON)

    async def fetch(self, request: Request) -> Response:
        account_sid, sid = request.path_params["account_sid"], request.path_params["sid"]
        if not _authorized(self.state, request, account_sid):
            return twilio_error(20003, 401)
        stored = self.state.get_message(account_sid, sid)
        if stored is None:
            return twilio_error(
                20404, 404, f"The requested resource {self.base}/{account_sid}/Messages/{sid}.json was not found"
            )
        return Response(json.dumps(stored.resource), 200, media_type=JSON)

    # -- control API ------------------------------------------------------
    @staticmethod
    async def _read_json(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise ValueError("body must be JSON") from exc
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    async def accounts(self, request: Request) -> Response:
        caller = await self.access.caller(request)
        try:
            data = await self._read_json(request)
            account_sid, auth_token = str(data["account_sid"]), str(data["auth_token"])
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, 400)
        self.access.check_claim(caller, account_sid, account_sid in self.state.accounts)
        self.state.add_account(account_sid, auth_token)
        self.access.record_owner(caller, account_sid)
        return JSONResponse({"account_sid": account_sid}, 201)

    async def rules(self, request: Request) -> Response:
        await self.access.operator(request)
        state = self.state
        if request.method == "GET":
            return JSONResponse({"items": [r.as_dict() for r in state.rules]})
        if request.method == "DELETE":
            count = len(state.rules)
            state.clear_rules()
            return JSONResponse({"cleared": count})
        try:
            rule = state.add_rule(await self._read_json(request))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"id": rule.id}, 201)

    async def settings(self, request: Request) -> Response:
        await self.access.operator(request)
        s = self.state.settings
        if request.method == "PUT":
            try:
                data = await self._read_json(request)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, 400)
            if "callbacks_enabled" in data:
                s.callbacks_enabled = bool(data["callbacks_enabled"])
            if "default_delay_ms" in data:
                s.default_delay_ms = max(int(data["default_delay_ms"]), 0)
        return JSONResponse({"callbacks_enabled": s.callbacks_enabled, "default_delay_ms": s.default_delay_ms})

    async def control_messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            await self.access.operator(request)
            self.state.reset_messages()
            return JSONResponse({"cleared": True})
        caller = await self.access.caller(request)
        to = request.query_params.get("to")
        items = [
            m.control_view()
            for m in self.state.messages.values()
            if (to is None or m.resource["to"] == to) and self.access.owns(caller, m.account_sid)
        ]
        return JSONResponse({"items": items, "count": len(items)})

    async def stats(self, request: Request) -> Response:
        await self.access.operator(request)
        return JSONResponse({**self.state.stats(), "pending_callbacks": self.sender.pending})

    async def drain(self, request: Request) -> Response:
        await self.access.operator(request)
        await self.sender.wait_idle(float(request.query_params.get("timeout", 5)))
        return JSONResponse({"pending_callbacks": self.sender.pending})

    async def replies(self, request: Request) -> Response:
        caller = await self.access.caller(request)
        try:
            data = await self._read_json(request)
            keys = ("account_sid", "from", "to", "url")
            account_sid, from_, to, url = (str(data[k]) for k in keys)
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, 400)
        token = self.state.accounts.get(account_sid)
        if token is None or not self.access.owns(caller, account_sid):
            return JSONResponse({"error": "unknown account"}, 404)
        self.access.check_target(url)
        media = [str(u) for u in data.get("media_urls") or []]
        sid = str(data.get("message_sid") or new_sid())
        body = str(data.get("body", ""))
        params = inbound_params(
            account_sid,
            from_,
            to,
            body,
            media,
            list(data.get("media_content_types") or []),
            sid,
            str(data.get("profile_name", "Sandbox Customer")),
        )
        if data.get("replied_to"):
            # A WhatsApp quoted reply: the message it answers, as Twilio names it.
            params["OriginalRepliedMessageSid"] = str(data["replied_to"])
        self.state.record_inbound(account_sid, from_, to, body, media, sid)
        try:
            status, text = await self.sender.post_inbound(url, params, token)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return JSONResponse({"error": f"webhook unreachable: {exc!r}", "message_sid": sid}, 502)
        return JSONResponse({"status": status, "body": text, "message_sid": sid})


def build_sandbox_app(
    state: SandboxState,
    sender: CallbackSender | None = None,
    *,
    gate: Gate | None = None,
    webhook_prefix: str | None = None,
) -> Starlette:
    """The sandbox as an ASGI app; `app.state.callback_sender` needs `aclose()` when mounted.

    Mounted in a hub, ``gate`` names who calls the control API and
    ``webhook_prefix`` is the only place the sandbox posts to (hub.sandbox.access);
    without them (standalone, on loopback) the control API is open."""
    access = Access(state, gate, webhook_prefix)
    callbacks = sender or CallbackSender(state)
    callbacks.may_post_to = access.may_post_to
    twilio = TwilioSandbox(state, callbacks, access)
    telesign = TelesignSandbox(state, callbacks, access)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await callbacks.start()
        try:
            yield
        finally:
            await callbacks.aclose()

    app = Starlette(
        routes=[*twilio.routes(), *telesign.routes()],
        lifespan=lifespan,
        exception_handlers={ControlRefused: refused_response},
    )
    app.state.sandbox = state
    app.state.callback_sender = callbacks
    app.state.twilio = twilio
    app.state.telesign = telesign
    return app
