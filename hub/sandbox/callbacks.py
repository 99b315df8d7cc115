"""Outgoing HTTP of the sandbox: status callbacks and simulated inbound webhooks.

Everything goes through one shared aiohttp session created inside the running
loop (lazily, because a mounted sub-app never sees its own lifespan), with a
semaphore bounding concurrent posts so a burst of creates cannot open
thousands of sockets at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import mimetypes
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import aiohttp

from hub.sandbox.state import API_VERSION, SandboxState, StoredMessage

WHATSAPP_EVENTS = {"delivered": "DELIVERED", "read": "READ"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Same result as RequestValidator(token).compute_signature(url, params) for
    single-valued params, without its per-parameter exception handling (hot path)."""
    payload = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class CallbackSender:
    """Posts callbacks in background tasks; the host must `await aclose()` on shutdown."""

    def __init__(self, state: SandboxState, concurrency: int = 64, attempts: int = 3, timeout: float = 10.0) -> None:
        self.state = state
        self.concurrency = concurrency
        self.attempts = attempts
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Where posts may go (hub.sandbox.access: mounted, only the hub's webhooks).
        self.may_post_to: Callable[[str], bool] = lambda url: True

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.concurrency)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._session

    async def start(self) -> None:
        self._get_session()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    # -- status callbacks ---------------------------------------------
    def schedule(self, stored: StoredMessage) -> None:
        """Plan the message's status changes; post them unless nobody listens."""
        state = self.state
        plan = state.callback_plan(stored)
        post = bool(plan) and state.settings.callbacks_enabled and bool(stored.status_callback)
        if not plan:  # mode "none": the message is still delivered, only unannounced
            plan = [("sent", None), ("delivered", None)]
        delay_ms = stored.delay_ms
        if delay_ms is None:
            delay_ms = state.settings.default_delay_ms
        if not post and not delay_ms:
            # The message still progresses; only the notification is missing.
            for status, code in plan:
                state.apply_status(stored, status, code)
            return
        task = asyncio.get_running_loop().create_task(self._run(stored, plan, delay_ms, post))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, stored: StoredMessage, plan: list[tuple[str, str | None]], delay_ms: int, post: bool) -> None:
        for status, code in plan:
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            self.state.apply_status(stored, status, code)
            if post:
                await self._post_status(stored, status, code)

    def status_params(self, stored: StoredMessage, status: str, code: str | None) -> dict[str, str]:
        r = stored.resource
        params = {
            "MessageSid": r["sid"],
            "SmsSid": r["sid"],
            "AccountSid": stored.account_sid,
            "From": r["from"] or "",
            "To": r["to"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": API_VERSION,
        }
        if code is not None and status in ("failed", "undelivered"):
            params["ErrorCode"] = code
        if r["to"].startswith("whatsapp:"):
            params["ChannelPrefix"] = "whatsapp"
            event = WHATSAPP_EVENTS.get(status)
            if event is not None:
                params["EventType"] = event
        return params

    async def _post_status(self, stored: StoredMessage, status: str, code: str | None) -> None:
        url = stored.status_callback
        token = self.state.accounts.get(stored.account_sid)
        if url is None or token is None:
            return
        if not self.may_post_to(url):
            self.state.callbacks_failed += 1
            return
        params = self.status_params(stored, status, code)
        # Encoding the form ourselves skips aiohttp's FormData machinery.
        body = urlencode(params).encode()
        headers = {**FORM, "X-Twilio-Signature": sign(token, url, params)}
        session = self._get_session()
        assert self._semaphore is not None
        for attempt in range(self.attempts):
            try:
                async with self._semaphore:
                    async with session.post(url, data=body, headers=headers) as resp:
                        await resp.read()
                        ok = resp.status < 400
            except (TimeoutError, aiohttp.ClientError):
                if attempt + 1 < self.attempts:
                    await asyncio.sleep(0.05 * 4**attempt)
                continue
            # Like Twilio, an HTTP error answer is final: only unreachable hosts are retried.
            if ok:
                self.state.callbacks_sent += 1
            else:
                self.state.callbacks_failed += 1
            return
        self.state.callbacks_failed += 1

    # -- other providers' callbacks (TeleSign posts signed JSON) ----------
    def spawn(self, job: Coroutine[Any, Any, None]) -> None:
        """Run a callback job in the background, drained and closed with the rest."""
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post_bytes(
        self, url: str, body: bytes, headers: dict[str, str], *, retry: bool = True
    ) -> tuple[int, str]:
        """One callback; like the status callbacks, only an unreachable host is
        retried. Returns the answer's status (0 when never reached) and text."""
        if not self.may_post_to(url):
            return 0, ""
        session = self._get_session()
        assert self._semaphore is not None
        for attempt in range(self.attempts if retry else 1):
            try:
                async with self._semaphore:
                    async with session.post(url, data=body, headers=headers) as resp:
                        return resp.status, await resp.text()
            except (TimeoutError, aiohttp.ClientError):
                if not retry or attempt + 1 == self.attempts:
                    raise
                await asyncio.sleep(0.05 * 4**attempt)
        raise AssertionError("unreachable")

    # -- inbound webhooks ---------------------------------------------
    async def post_inbound(self, url: str, params: dict[str, str], auth_token: str) -> tuple[int, str]:
        """Post inline so the caller sees the hub's answer."""
        if not self.may_post_to(url):
            raise aiohttp.InvalidURL(url)
        headers = {"X-Twilio-Signature": sign(auth_token, url, params)}
        session = self._get_session()
        async with session.post(url, data=params, headers=headers) as resp:
            text = await resp.text()
            self.state.inbound_sent += 1
            return resp.status, text

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every scheduled callback has gone out (handy in tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        self._semaphore = None


def inbound_params(
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    media_urls: list[str],
    content_types: list[str],
    sid: str,
    profile_name: str,
) -> dict[str, str]:
    params: dict[str, Any] = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": str(len(media_urls)),
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    for i, media in enumerate(media_urls):
        params[f"MediaUrl{i}"] = media
        params[f"MediaContentType{i}"] = content_types[i] if i < len(content_types) else guess_content_type(media)
    if from_.startswith("whatsapp:"):
        params["ProfileName"] = profile_name
        params["WaId"] = "".join(ch for ch in from_[9:] if ch.isdigit())
    return params


def guess_content_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return guessed or "image/jpeg"
