"""A channel's messages-per-second pace holds across hub processes."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from hub.domain.pacing import horizon_ms, interval_ms, retry_in_s, valid_rate
from hub.storage.pacing import PaceStore
from hub.storage.redis import Scripts, connect
from tests.support import SANDBOX_SID, Api, contact, outbound_setup, phone, wait_for


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (5, True),
        (0.5, True),
        (10_000, True),
        (0, False),
        (-1, False),
        (10_001, False),
        (True, False),
        ("5", False),
        (None, False),
        (float("inf"), False),
        (float("nan"), False),
    ],
)
def test_a_pace_is_a_positive_number(value: Any, ok: bool) -> None:
    assert valid_rate(value) is ok


def test_pace_numbers() -> None:
    assert interval_ms(5) == 200 and interval_ms(0.5) == 2000
    assert horizon_ms(200) == 1000 and horizon_ms(2000) == 2000
    assert retry_in_s(300, 200, 0.0) == 0.3 and retry_in_s(300, 200, 0.5) == 0.4


async def test_the_pace_script_books_slots_and_bounds_bulk_bookings(redis_url: str) -> None:
    client = await connect(redis_url)
    try:
        store = PaceStore(Scripts(client))
        # One message a second, a bulk horizon of 2.5 s. Each wait is the slot
        # (0, 1000, 2000 ms after the first) less the time gone since the
        # first booking, which a busy machine may stretch: bounded by the
        # clock read around each call (times in ms from before the first).
        start = time.monotonic()

        async def reserve(max_ahead: float | None) -> tuple[bool, int, float, float]:
            before = (time.monotonic() - start) * 1000
            booked, wait = await store.reserve("org", "ch", 1000, max_ahead)
            return booked, wait, before, (time.monotonic() - start) * 1000

        first = await reserve(2500)
        assert first[:2] == (True, 0)
        for slot in (1000, 2000):
            booked, wait, before, after = await reserve(2500)
            assert booked and slot - after - 1 <= wait <= slot - before + first[3] + 1, (slot, wait)
        # The next slot is ~3 s away: past a bulk send's 2.5 s horizon, so
        # nothing is booked and it is told to ask again when it would be in reach ...
        booked, wait, before, after = await reserve(2500)
        if after < 400:  # (a machine this slow has the slot in reach already)
            assert not booked and 500 - after - 1 <= wait <= 500 - before + first[3] + 1, wait
            # ... while an agent's reply books it however far ahead.
            booked, wait, before, after = await reserve(None)
            assert booked and 3000 - after - 1 <= wait <= 3000 - before + first[3] + 1, wait
        assert await store.reserve("org", "other", 200, 500) == (True, 0)
        ttl = await client.pttl("hub:{org}:pace:ch")
        assert 0 < ttl <= 5000
    finally:
        await client.aclose()


def test_messages_per_second_is_validated_and_can_be_cleared(api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    channel = outbound_setup(api, sandbox.url)["channel"]
    path = f"/v1/channels/{channel['id']}"
    for bad in (0, -2, "5", True, 1e9):
        answer = api.patch(path, json={"messages_per_second": bad})
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["details"] == {"field": "messages_per_second"}
    assert api.ok("PATCH", path, json={"messages_per_second": 2.5})["messages_per_second"] == 2.5
    assert "messages_per_second" not in api.ok("PATCH", path, json={"messages_per_second": None})


def sends_accepted(hub_url: str) -> float:
    metrics = httpx.get(hub_url + "/metrics").text
    found = re.findall(r'hub_sends_total\{outcome="accepted",provider="sandbox"\} ([0-9.e+]+)', metrics)
    return float(found[0]) if found else 0.0


def test_five_per_second_holds_across_two_hub_processes(api: Api, hub, hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    other = hub_factory()
    ids = outbound_setup(api, sandbox.url)
    api.ok("PATCH", f"/v1/channels/{ids['channel']['id']}", json={"messages_per_second": 5})
    numbers = [phone(300 + i) for i in range(20)]
    with Api(other.url, api.org["api_key"]) as api_b:  # type: ignore[attr-defined]
        # One contact per request, alternating: both processes' workers take jobs.
        for i, number in enumerate(numbers):
            client = api if i % 2 == 0 else api_b
            client.ok(
                "POST",
                "/v1/outbound/send",
                202,
                json={"configuration_id": ids["config"]["id"], "contacts": [contact(number)]},
            )
        wait_for(lambda: len(sandbox.state.list_messages(SANDBOX_SID)) == 20, timeout=30)
    times = sorted(m.sent_at for m in sandbox.state.list_messages(SANDBOX_SID))
    span = times[-1] - times[0]
    # 20 messages at 5 per second: 19 intervals of 200 ms at least.
    assert span >= 3.7, span
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 6, (busiest, [round(t - times[0], 3) for t in times])
    assert {m.resource["to"] for m in sandbox.state.list_messages(SANDBOX_SID)} == set(numbers)
    # The pace was shared, not merely kept by one process: both sent.
    assert sends_accepted(hub.url) > 0 and sends_accepted(other.url) > 0
    assert sends_accepted(hub.url) + sends_accepted(other.url) == 20
