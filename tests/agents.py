"""Test support for agents: create, log in, and talk over the real websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import websockets

from hub.routing.protocol import undeclared
from tests.support import SANDBOX_SID, Api

PASSWORD = "correct horse"


def create_agent(
    api: Api,
    email: str,
    *,
    queues: list[str] | None = None,
    capacity: int = 3,
    name: str | None = None,
    password: str = PASSWORD,
) -> dict[str, Any]:
    return api.ok(
        "POST",
        "/v1/agents",
        201,
        json={  # type: ignore[no-any-return]
            "name": name or email.split("@")[0],
            "email": email,
            "password": password,
            "queues": queues or ["default"],
            "capacity": capacity,
        },
    )


def login(base_url: str, email: str, password: str = PASSWORD) -> str:
    response = httpx.post(base_url + "/v1/agents/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def ws_ticket(base_url: str, token: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(base_url + "/v1/agent/ws-ticket", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    return str(response.json()["ticket"])


class AgentClient:
    """One agent's websocket (opened with a one-time ticket, as the console
    does): keeps every frame, waits for the ones a test needs. Every frame
    must be one of the events /asyncapi.json declares: a test whose agent
    receives another fails at its next wait."""

    def __init__(self, base_url: str, token: str, after: int | None = None) -> None:
        self.base_url, self.token, self.after = base_url, token, after
        self.frames: list[dict[str, Any]] = []
        self.undeclared: list[str] = []
        self.ws: Any = None
        self._new = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> AgentClient:
        ticket = await ws_ticket(self.base_url, self.token)
        url = self.base_url.replace("http://", "ws://") + f"/v1/agent/ws?ticket={ticket}"
        if self.after is not None:
            url += f"&after={self.after}"
        self.ws = await websockets.connect(url, compression=None)
        self._reader = asyncio.create_task(self._read())
        await self.wait(lambda f: f["type"] == "hello")
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                why = undeclared(frame)
                if why is not None:
                    self.undeclared.append(f"{why}: {raw}")
                self.frames.append(frame)
                self._new.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._new.set()

    async def wait(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            seen = start
            while True:
                assert not self.undeclared, f"frames unlike the declared events: {self.undeclared}"
                for frame in self.frames[seen:]:
                    if predicate(frame):
                        return frame
                seen = len(self.frames)
                self._new.clear()
                if self._reader is not None and self._reader.done():
                    raise AssertionError(f"socket closed; frames: {self.frames}")
                await self._new.wait()

        return await asyncio.wait_for(find(), timeout)

    async def command(self, frame: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a command and return its ack or error."""
        client_id = frame.setdefault("client_id", f"c{len(self.frames)}-{id(frame)}")
        mark = len(self.frames)
        await self.ws.send(json.dumps(frame))
        return await self.wait(
            lambda f: f["type"] in ("ack", "error") and f.get("client_id") == client_id, timeout, start=mark
        )

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    @property
    def last_id(self) -> int:
        ids = [f["id"] for f in self.frames if isinstance(f.get("id"), int)]
        return max(ids) if ids else 0

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader


async def customer_replies(
    sandbox_url: str, hub_url: str, channel_id: str, customer: str, body: str, to: str, message_sid: str | None = None
) -> dict[str, Any]:
    """The sandbox customer answers: a signed inbound webhook to the hub."""
    payload = {
        "account_sid": SANDBOX_SID,
        "from": customer,
        "to": to,
        "body": body,
        "url": f"{hub_url}/webhooks/twilio/{channel_id}/inbound",
    }
    if message_sid:
        payload["message_sid"] = message_sid
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(sandbox_url + "/_sandbox/replies", json=payload)
    assert response.status_code == 200, response.text
    return dict(response.json())
