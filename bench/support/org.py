"""The org a benchmark sends for (created through the hub's API) and its
contacts' numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .processes import ADMIN_TOKEN

SID = "AC" + "b" * 32
TOKEN = "bench-auth-token"
ACCOUNT = f"{SID}:{TOKEN}"  # the sandbox's one account
SENDER = "+14155550100"
CONTACTS_PER_REQUEST = 100
# An org that the hourly limit never holds back.
UNLIMITED = {"contacts_per_request": CONTACTS_PER_REQUEST, "requests_per_hour": 10_000_000}
AREA_CODES = ("415", "650", "212", "312", "617", "206", "303", "512", "305", "404")


@dataclass
class Org:
    id: str
    api_key: str
    channel_id: str = ""
    template_id: str = ""
    configs: dict[str, str] = field(default_factory=dict)  # name -> configuration id
    partitions: int = 1  # the org's outbound partitions (hub.domain.partitions)


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    expect: tuple[int, ...] = (200,),
    token: str | None = None,
    **kw: Any,
) -> Any:
    """One request; its JSON answer, or an error naming the unexpected status."""
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.request(method, url, headers=headers, **kw) as resp:
        text = await resp.text()
        if resp.status not in expect:
            raise RuntimeError(f"{method} {url} -> {resp.status}: {text[:500]}")
        return json.loads(text) if text else None


async def create_org(
    hub_url: str,
    *,
    api_base_url: str | None,
    body: str,
    configs: tuple[str, ...] = ("bench",),
    show_in_timeline: bool = False,
    limits: dict[str, int] | None = None,
    http: aiohttp.ClientSession | None = None,
    partitions: int = 1,
) -> Org:
    """An org with one SMS channel on the sandbox provider (its account SID
    and TOKEN), one template of `body` and a configuration per name."""
    if http is None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as own:
            return await create_org(
                hub_url,
                api_base_url=api_base_url,
                body=body,
                configs=configs,
                show_in_timeline=show_in_timeline,
                limits=limits,
                http=own,
                partitions=partitions,
            )
    spec: dict[str, Any] = {"name": "Bench org"}
    if limits:
        spec["limits"] = limits
    if partitions > 1:
        spec["partitions"] = partitions
    created = await call(http, "POST", hub_url + "/v1/orgs", (201,), ADMIN_TOKEN, json=spec)
    org = Org(created["id"], created["api_key"], partitions=partitions)

    async def post(path: str, payload: dict[str, Any]) -> str:
        return str((await call(http, "POST", hub_url + path, (201,), org.api_key, json=payload))["id"])

    channel: dict[str, Any] = {
        "type": "sms",
        "provider": "sandbox",
        "address": SENDER,
        "credentials": {"account_sid": SID, "auth_token": TOKEN},
    }
    if api_base_url:
        channel["api_base_url"] = api_base_url
    org.channel_id = await post("/v1/channels", channel)
    org.template_id = await post(
        "/v1/templates",
        {"name": "Case update", "channel_types": ["sms"], "default_locale": "en-US", "bodies": {"en-US": body}},
    )
    for name in configs:
        org.configs[name] = await post(
            "/v1/outbound-configurations",
            {
                "name": f"Bench {name}",
                "show_in_timeline": show_in_timeline,
                "channel_type": "sms",
                "channel_id": org.channel_id,
                "template_id": org.template_id,
            },
        )
    return org


class PhonePool:
    """Distinct numbers the hub accepts, in E.164 as it stores them; handed out once."""

    def __init__(self) -> None:
        self._numbers = self._generate()

    @staticmethod
    def _generate() -> Iterator[str]:
        from hub.domain.phones import normalize_phone
        from hub.errors import InvalidPhone

        for area in AREA_CODES:
            misses = 0
            for k in range(2_000_000, 10_000_000):
                try:
                    yield normalize_phone(f"+1{area}{k:07d}")
                    misses = 0
                except InvalidPhone:
                    misses += 1
                    if misses > 10_000:  # this area's ranges are exhausted or invalid
                        break

    def take(self, n: int) -> list[str]:
        out = [number for _, number in zip(range(n), self._numbers)]
        if len(out) < n:
            raise SystemExit(f"ran out of valid phone numbers ({len(out)} of {n})")
        return out


def make_phones(n: int) -> list[str]:
    """n distinct numbers that the hub accepts, already in E.164 as it stores them."""
    return PhonePool().take(n)
