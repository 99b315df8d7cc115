"""HTTP face of the sandbox's TeleSign: the Messaging API subset, signed
delivery reports, simulated customer messages (MO SMS) and its control API.

- ``POST /v1/messaging``: send (TSA-signed, form-encoded); answers 200 with a
  ``reference_id`` and status 290, then posts signed delivery reports to the
  message's ``callback_url``.
- ``GET /v1/messaging/{reference_id}``: a message's status, as TeleSign has it.
- ``GET /v1/messaging?external_id=``: a sandbox extension (real TeleSign has no
  such lookup) that lets the hub recover a send a crashed worker made.
- ``POST /_sandbox/telesign/accounts`` ``{"customer_id", "api_key"}``.
- ``POST /_sandbox/telesign/replies`` ``{"customer_id", "from", "to", "body",
  "url", "reference_id"?}``: the customer answers; posted inline, signed.

Rules and settings (``/_sandbox/rules``, ``/_sandbox/settings``) are shared with
the Twilio API: errors, delays and callback modes apply to TeleSign sends too.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.sandbox.access import Access
from hub.sandbox.callbacks import CallbackSender
from hub.sandbox.state import Rule, SandboxState, StoredMessage
from hub.sandbox.telesign_state import (
    IN_PROGRESS,
    INVALID_REQUEST,
    TelesignAccounts,
    dlr_payload,
    error_body,
    mo_payload,
    new_reference_id,
    plan_code,
    send_fault,
    sign,
    status_body,
)

JSON_HEADERS = {"Content-Type": "application/json"}


def _error(status: int, code: int, description: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(error_body(code, description, time.time()), status, headers)


def _signed_path(request: Request) -> str:
    """The path as the client signed it: relative to the base URL it was given,
    which includes the mount prefix when the sandbox is mounted in a hub
    (TeleSign's SDK, and the hub, sign the resource, e.g. ``/v1/messaging``)."""
    path, root = request.url.path, request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


class TelesignSandbox:
    def __init__(self, state: SandboxState, sender: CallbackSender, access: Access) -> None:
        self.state = state
        self.sender = sender
        self.access = access
        self.accounts = TelesignAccounts()
        self._by_external: dict[tuple[str, str], StoredMessage] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/v1/messaging", self.messaging, methods=["GET", "POST"]),
            Route("/v1/messaging/{reference_id}", self.fetch, methods=["GET"]),
            Route("/_sandbox/telesign/accounts", self.add_account, methods=["POST"]),
            Route("/_sandbox/telesign/replies", self.reply, methods=["POST"]),
        ]

    async def _customer(self, request: Request) -> tuple[str | None, str, Response | None]:
        """Who signed the request, its body, or TeleSign's 401."""
        raw = (await request.body()).decode(errors="replace")
        customer_id, code = self.accounts.authenticate(
            request.method, _signed_path(request), request.headers, raw, time.time()
        )
        if customer_id is None:
            return None, raw, _error(401, code, "Unauthorized: invalid signature or customer id")
        return customer_id, raw, None

    # -- the Messaging API -----------------------------------------------
    async def messaging(self, request: Request) -> Response:
        customer_id, raw, refused = await self._customer(request)
        if refused is not None or customer_id is None:
            return refused or Response(status_code=401)
        if request.method == "GET":
            return self._lookup(customer_id, request.query_params.get("external_id", ""))
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        fault = send_fault(fields)
        if fault:
            return _error(400, INVALID_REQUEST, fault)
        to = "+" + fields["phone_number"]
        rule = self.state.match_rule(to) if self.state.rules else None
        if rule is not None and rule.action != "store_then_timeout":
            return await self._ruled(rule)
        stored = self._store(customer_id, to, fields)
        answer = JSONResponse(self._view(stored))
        self._schedule(stored)
        if rule is not None:  # it went out, but the answer comes too late
            await asyncio.sleep(float(rule.params.get("seconds", 30)))
        return answer

    async def _ruled(self, rule: Rule) -> Response:
        p = rule.params
        if rule.action == "http_error":
            status = int(p.get("status", 500))
            ra = p.get("retry_after")
            return _error(
                status,
                int(p.get("code", -status)),
                str(p.get("message", "Service error")),
                None if ra is None else {"Retry-After": str(ra)},
            )
        if rule.action == "refuse":
            return _error(
                int(p.get("status", 400)),
                int(p.get("code", INVALID_REQUEST)),
                str(p.get("message", "Invalid Request: PhoneNumber Parameter")),
            )
        await asyncio.sleep(float(p.get("seconds", 30)))  # timeout
        return _error(504, -504, "Gateway Timeout")

    def _store(self, customer_id: str, to: str, fields: dict[str, str]) -> StoredMessage:
        sender = fields.get("sender_id", "")
        stored = self.state.record_outbound(
            customer_id,
            to,
            ("+" + sender if sender.isdigit() else sender) or None,
            fields["message"],
            fields.get("callback_url") or None,
            new_reference_id(),
        )
        external_id = fields.get("external_id") or None
        stored.resource.update(
            provider="telesign",
            external_id=external_id,
            message_type=fields["message_type"],
            telesign_status=IN_PROGRESS,
        )
        if external_id:
            self._by_external[(customer_id, external_id)] = stored
        rule = self.state.match_rule(to, callbacks=True) if self.state.rules else None
        if rule is not None:
            stored.mode = rule.params.get("mode", "normal")
            stored.error_code = str(rule.params.get("error_code", stored.error_code))
            stored.delay_ms = rule.params.get("delay_ms")
        return stored

    def _view(self, stored: StoredMessage) -> dict[str, Any]:
        r = stored.resource
        return {
            "reference_id": r["sid"],
            "external_id": r.get("external_id"),
            "phone_number": _digits(r["to"]),
            "submit_timestamp": r["date_created"],
            "status": status_body(int(r.get("telesign_status", IN_PROGRESS)), time.time()),
        }

    def _lookup(self, customer_id: str, external_id: str) -> Response:
        stored = self._by_external.get((customer_id, external_id))
        if stored is None or self.state.messages.get(stored.resource["sid"]) is not stored:
            return _error(404, INVALID_REQUEST, "No message with that external_id")
        return JSONResponse(self._view(stored))

    async def fetch(self, request: Request) -> Response:
        customer_id, _, refused = await self._customer(request)
        if refused is not None or customer_id is None:
            return refused or Response(status_code=401)
        stored = self.state.get_message(customer_id, request.path_params["reference_id"])
        if stored is None:
            return _error(404, INVALID_REQUEST, "Invalid reference_id")
        return JSONResponse(self._view(stored))

    # -- delivery reports --------------------------------------------------
    def _schedule(self, stored: StoredMessage) -> None:
        settings = self.state.settings
        plan = self.state.callback_plan(stored)
        post = bool(plan) and settings.callbacks_enabled and bool(stored.status_callback)
        if not plan:  # mode "none": delivered all the same, only unannounced
            plan = [("sent", None), ("delivered", None)]
        delay_ms = stored.delay_ms if stored.delay_ms is not None else settings.default_delay_ms
        if not post and not delay_ms:
            for status, code in plan:
                self._apply(stored, status, code)
            return
        self.sender.spawn(self._report(stored, plan, delay_ms, post))

    def _apply(self, stored: StoredMessage, status: str, error_code: str | None) -> int | None:
        code = plan_code(status, error_code)
        if code is not None:  # a WhatsApp-only step (read) has no SMS code
            self.state.apply_status(stored, status, str(code) if status in ("failed", "undelivered") else None)
            stored.resource["telesign_status"] = code
        return code

    async def _report(
        self, stored: StoredMessage, plan: list[tuple[str, str | None]], delay_ms: int, post: bool
    ) -> None:
        for status, error_code in plan:
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            code = self._apply(stored, status, error_code)
            if post and code is not None:
                await self._post_report(stored, code)

    async def _post_report(self, stored: StoredMessage, code: int) -> None:
        key = self.accounts.keys.get(stored.account_sid)
        url = stored.status_callback
        if key is None or url is None:
            return
        r = stored.resource
        body = json.dumps(
            dlr_payload(r["sid"], r.get("external_id"), code, stored.sent_at, time.time(), int(r["num_segments"]))
        ).encode()
        headers = {**JSON_HEADERS, "Authorization": f"TSA {stored.account_sid}:{sign(key, body)}"}
        try:
            status, _ = await self.sender.post_bytes(url, body, headers)
        except (TimeoutError, aiohttp.ClientError):
            status = 0
        if status == 200:  # TeleSign wants exactly 200
            self.state.callbacks_sent += 1
        else:
            self.state.callbacks_failed += 1

    # -- control API -------------------------------------------------------
    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        data = json.loads(await request.body() or b"{}")
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    async def add_account(self, request: Request) -> Response:
        caller = await self.access.caller(request)
        try:
            data = await self._json(request)
            customer_id, api_key = str(data["customer_id"]), str(data["api_key"])
            self.access.check_claim(caller, customer_id, customer_id in self.accounts.keys)
            self.accounts.add(customer_id, api_key)
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, 400)
        self.access.record_owner(caller, customer_id)
        return JSONResponse({"customer_id": customer_id}, 201)

    async def reply(self, request: Request) -> Response:
        """The customer writes back: an MO SMS webhook, signed like TeleSign signs it."""
        caller = await self.access.caller(request)
        try:
            data = await self._json(request)
            customer_id, from_, to, url = (str(data[k]) for k in ("customer_id", "from", "to", "url"))
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, 400)
        key = self.accounts.keys.get(customer_id)
        if key is None or not self.access.owns(caller, customer_id):
            return JSONResponse({"error": "unknown customer_id"}, 404)
        self.access.check_target(url)
        reference_id = str(data.get("reference_id") or new_reference_id())
        text = str(data.get("body", ""))
        body = json.dumps(mo_payload(reference_id, from_, to, text, time.time())).encode()
        self.state.record_inbound(customer_id, from_, to, text, [], reference_id)
        headers = {**JSON_HEADERS, "Authorization": f"TSA {customer_id}:{sign(key, body)}"}
        try:
            status, answer = await self.sender.post_bytes(url, body, headers, retry=False)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return JSONResponse({"error": f"webhook unreachable: {exc!r}", "reference_id": reference_id}, 502)
        self.state.inbound_sent += 1
        return JSONResponse({"status": status, "body": answer, "reference_id": reference_id})
