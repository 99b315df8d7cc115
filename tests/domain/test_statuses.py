import itertools

import pytest

from hub.domain.retries import retry_delay
from hub.domain.statuses import (
    RANK,
    SUCCESSFUL,
    TERMINAL,
    ActivityStatus,
    delivery_rate,
    from_provider_status,
    next_status,
)

S = ActivityStatus


def test_status_values_are_the_stored_strings():
    assert [s.value for s in S] == [
        "deferred",
        "queued",
        "sending",
        "sent",
        "delivered",
        "read",
        "undelivered",
        "failed",
        "rejected",
        "skipped_no_optin",
        "skipped_opted_out",
        "canceled",
    ]
    assert S("delivered") is S.DELIVERED is S.delivered
    assert S.SKIPPED_OPTED_OUT == "skipped_opted_out"


def test_every_status_has_a_rank():
    assert set(RANK) == set(S)


@pytest.mark.parametrize(
    ("status", "rank"),
    [
        (S.DEFERRED, -1),  # released by quiet hours: moves on to queued
        (S.QUEUED, 0),
        (S.SENDING, 1),
        (S.SENT, 2),
        (S.DELIVERED, 3),
        (S.UNDELIVERED, 3),
        (S.FAILED, 3),
        (S.READ, 4),
        (S.REJECTED, 5),
        (S.CANCELED, 5),
        (S.SKIPPED_NO_OPTIN, 5),
        (S.SKIPPED_OPTED_OUT, 5),
    ],
)
def test_rank(status, rank):
    assert RANK[status] == rank


def test_terminal_set():
    assert TERMINAL == {S.READ, S.FAILED, S.REJECTED, S.CANCELED, S.SKIPPED_NO_OPTIN, S.SKIPPED_OPTED_OUT}
    assert S.DELIVERED not in TERMINAL
    assert S.UNDELIVERED not in TERMINAL


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        # the normal path
        (S.QUEUED, S.SENDING, S.SENDING),
        (S.SENDING, S.SENT, S.SENT),
        (S.SENT, S.DELIVERED, S.DELIVERED),
        (S.DELIVERED, S.READ, S.READ),
        (S.SENT, S.UNDELIVERED, S.UNDELIVERED),
        (S.SENT, S.FAILED, S.FAILED),
        # callbacks out of order: skip ahead, never back
        (S.QUEUED, S.DELIVERED, S.DELIVERED),
        (S.QUEUED, S.READ, S.READ),
        (S.DELIVERED, S.SENT, S.DELIVERED),
        (S.SENT, S.SENDING, S.SENT),
        (S.SENT, S.QUEUED, S.SENT),
        # duplicates are no-ops
        (S.SENT, S.SENT, S.SENT),
        (S.DELIVERED, S.DELIVERED, S.DELIVERED),
        # equal rank: first final outcome wins
        (S.UNDELIVERED, S.DELIVERED, S.UNDELIVERED),
        (S.DELIVERED, S.UNDELIVERED, S.DELIVERED),
        (S.DELIVERED, S.FAILED, S.DELIVERED),
        (S.UNDELIVERED, S.FAILED, S.UNDELIVERED),
        # read may follow undelivered (rank 4 > 3, not terminal)
        (S.UNDELIVERED, S.READ, S.READ),
        # hub-side outcomes beat anything in flight
        (S.QUEUED, S.CANCELED, S.CANCELED),
        (S.QUEUED, S.REJECTED, S.REJECTED),
        (S.QUEUED, S.SKIPPED_OPTED_OUT, S.SKIPPED_OPTED_OUT),
        # terminal never changes
        (S.READ, S.REJECTED, S.READ),
        (S.READ, S.DELIVERED, S.READ),
        (S.FAILED, S.READ, S.FAILED),
        (S.FAILED, S.CANCELED, S.FAILED),
        (S.CANCELED, S.SENT, S.CANCELED),
        (S.REJECTED, S.SKIPPED_NO_OPTIN, S.REJECTED),
        (S.SKIPPED_NO_OPTIN, S.READ, S.SKIPPED_NO_OPTIN),
        (S.SKIPPED_OPTED_OUT, S.SKIPPED_NO_OPTIN, S.SKIPPED_OPTED_OUT),
    ],
)
def test_next_status(current, incoming, expected):
    assert next_status(current, incoming) is expected


@pytest.mark.parametrize(("current", "incoming"), list(itertools.product(S, S)))
def test_next_status_properties(current, incoming):
    result = next_status(current, incoming)
    assert result in (current, incoming)
    assert RANK[result] >= RANK[current]
    if current in TERMINAL:
        assert result is current
    # applying the same event again changes nothing (idempotent callbacks)
    assert next_status(result, incoming) is result


@pytest.mark.parametrize(
    "events",
    [
        [S.SENT, S.DELIVERED, S.READ],
        [S.READ, S.DELIVERED, S.SENT],
        [S.DELIVERED, S.READ, S.SENT],
        [S.SENDING, S.READ, S.SENT, S.DELIVERED],
    ],
)
def test_any_order_of_whatsapp_callbacks_ends_read(events):
    status = S.QUEUED
    for event in events:
        status = next_status(status, event)
    assert status is S.READ


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("queued", S.QUEUED),
        ("accepted", S.QUEUED),
        ("scheduled", S.QUEUED),
        ("sending", S.SENDING),
        ("sent", S.SENT),
        ("delivered", S.DELIVERED),
        ("partially_delivered", S.DELIVERED),
        ("read", S.READ),
        ("undelivered", S.UNDELIVERED),
        ("failed", S.FAILED),
        ("canceled", S.CANCELED),
        ("DELIVERED", S.DELIVERED),
        (" Sent ", S.SENT),
        ("receiving", None),
        ("received", None),
        ("unknown", None),
        ("rejected", None),  # hub-only status, never from the provider
        ("skipped_no_optin", None),
        ("cancelled", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_from_provider_status(value, expected):
    assert from_provider_status(value) is expected


def test_successful():
    assert SUCCESSFUL == {S.DELIVERED, S.READ}


@pytest.mark.parametrize(
    ("counts", "rate"),
    [
        ({}, None),
        ({"queued": 5, "rejected": 2, "skipped_no_optin": 1, "canceled": 1}, None),
        ({"delivered": 1}, 1.0),
        ({"sent": 1}, 0.0),
        ({"delivered": 3, "read": 1, "failed": 4}, 0.5),
        ({"sending": 1, "sent": 1, "delivered": 1, "read": 1, "undelivered": 1, "failed": 3}, 0.25),
        # statuses that never left the hub do not dilute the rate
        ({"delivered": 1, "undelivered": 1, "queued": 10, "rejected": 5, "skipped_opted_out": 2}, 0.5),
        ({S.DELIVERED: 2, S.FAILED: 2}, 0.5),
        ({"delivered": 0, "sent": 0}, None),
    ],
)
def test_delivery_rate(counts, rate):
    assert delivery_rate(counts) == rate


@pytest.mark.parametrize(
    ("attempt", "kwargs", "expected"),
    [
        (0, {"rand": 0.0}, 0.0),
        (0, {"rand": 0.5}, 0.25),
        (1, {"rand": 0.5}, 0.5),
        (3, {"rand": 0.5}, 2.0),
        (6, {"rand": 0.5}, 15.0),  # 0.5 * 64 = 32, capped at 30
        (100, {"rand": 0.5}, 15.0),
        (10_000, {"rand": 0.5}, 15.0),  # no overflow for absurd attempts
        (-1, {"rand": 0.5}, 0.25),  # treated as attempt 0
        (2, {"rand": 0.5, "base": 1.0}, 2.0),
        (10, {"rand": 0.5, "cap": 4.0}, 2.0),
        (0, {"rand": 0.5, "retry_after": 7.0}, 7.0),  # provider's Retry-After is a floor
        (10, {"rand": 0.9, "retry_after": 7.0}, 27.0),
        (0, {"rand": 0.5, "retry_after": None}, 0.25),
        (0, {"rand": 0.5, "retry_after": 0.0}, 0.25),
        (0, {"rand": 0.5, "retry_after": -3.0}, 0.25),
    ],
)
def test_retry_delay(attempt, kwargs, expected):
    assert retry_delay(attempt, **kwargs) == pytest.approx(expected)


@pytest.mark.parametrize("attempt", range(12))
@pytest.mark.parametrize("rand", [0.0, 0.3, 0.999999])
def test_retry_delay_bounds(attempt, rand):
    ceiling = min(30.0, 0.5 * 2**attempt)
    delay = retry_delay(attempt, rand=rand)
    assert delay == pytest.approx(rand * ceiling)
    assert 0.0 <= delay < ceiling


@pytest.mark.parametrize("rand", [-0.1, 1.0, 2.0])
def test_retry_delay_rejects_rand_outside_unit_interval(rand):
    with pytest.raises(ValueError):
        retry_delay(0, rand=rand)


def test_retry_delay_rand_is_keyword_only():
    with pytest.raises(TypeError):
        retry_delay(0, 0.5)  # type: ignore[misc]
