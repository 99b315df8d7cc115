"""The event feed's rules: endpoints, signatures a receiver can check, the backoff."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hub.domain.event_feed import (
    BACKOFF_MAX_S,
    EVENT_TYPES,
    backoff_s,
    delivered,
    id_before,
    next_event_id,
    parse_event_id,
    public_endpoint,
    retention_hours,
    signature_header,
    subscribed_types,
    validate_endpoint,
    verify,
)
from hub.errors import InvalidRequest

GOOD = {"url": "https://crm.example.com/hooks", "secret": "s" * 32, "event_types": ["activity.status"]}


def test_a_receiver_checks_the_signature_with_nothing_but_hmac_sha256() -> None:
    body = b'{"id":"1733328000000-0","type":"activity.status"}'
    header = signature_header("topsecret-0123456789", 1733328000, body)
    parts = dict(p.split("=", 1) for p in header.split(","))
    assert parts["t"] == "1733328000"
    expected = hmac.new(b"topsecret-0123456789", b"1733328000." + body, hashlib.sha256).hexdigest()
    assert parts["v1"] == expected
    assert verify("topsecret-0123456789", header, body, now=1733328100)


@pytest.mark.parametrize("case", ["other secret", "changed body", "too old", "no timestamp"])
def test_a_forged_stale_or_altered_delivery_fails_the_check(case: str) -> None:
    body = b'{"id":"1-0"}'
    header = signature_header("topsecret-0123456789", 1000, body)
    secret, now = "topsecret-0123456789", 1000
    if case == "other secret":
        secret = "another-secret-0123"
    elif case == "changed body":
        body = b'{"id":"2-0"}'
    elif case == "too old":
        now = 1000 + 301
    else:
        header = header.split(",", 1)[1]
    assert not verify(secret, header, body, now=now)


def test_backoff_doubles_from_one_second_to_ten_minutes_and_stays_there() -> None:
    assert [backoff_s(n) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert backoff_s(10) == 512 and backoff_s(11) == BACKOFF_MAX_S == 600
    assert backoff_s(10_000) == 600
    # Trying every ten minutes at most, a day's outage costs ~150 attempts, not millions.
    total, attempts = 0.0, 0
    while total < 24 * 3600:
        attempts += 1
        total += backoff_s(attempts)
    assert attempts < 160


def test_only_a_2xx_answer_acknowledges_an_event() -> None:
    assert delivered(200) and delivered(204) and delivered(299)
    assert not any(delivered(s) for s in (199, 301, 400, 404, 410, 429, 500, 503))


def test_an_endpoint_needs_a_public_https_url_a_secret_and_known_types() -> None:
    endpoint = validate_endpoint(GOOD)
    assert endpoint == {**GOOD, "enabled": True, "description": ""}
    for body, field in [
        ({**GOOD, "url": "http://crm.example.com/hooks"}, "url"),
        ({**GOOD, "url": "https://127.0.0.1/hooks"}, "url"),
        ({**GOOD, "url": "https://10.0.0.8/hooks"}, "url"),
        ({**GOOD, "url": "https://[::1]/hooks"}, "url"),
        ({**GOOD, "url": "https://localhost/hooks"}, "url"),
        ({**GOOD, "url": "https://crm.example.com/hooks?x=1"}, "url"),
        ({**GOOD, "secret": "short"}, "secret"),
        ({**GOOD, "secret": 12345678901234567}, "secret"),
        ({**GOOD, "event_types": []}, "event_types"),
        ({**GOOD, "event_types": ["activity.deleted"]}, "event_types"),
        ({**GOOD, "event_types": "activity.status"}, "event_types"),
        ({**GOOD, "enabled": "yes"}, "enabled"),
        ({**GOOD, "colour": "red"}, "colour"),
        ({"url": GOOD["url"], "secret": GOOD["secret"]}, "event_types"),
    ]:
        with pytest.raises(InvalidRequest) as refused:
            validate_endpoint(body)
        assert refused.value.details == {"field": field}, body


def test_a_loopback_receiver_is_allowed_only_for_a_host_the_operator_lists() -> None:
    local = {**GOOD, "url": "http://127.0.0.1:9000/hooks"}
    with pytest.raises(InvalidRequest):
        validate_endpoint(local)
    assert validate_endpoint(local, allowed_hosts=["127.0.0.1:9000"])["url"] == local["url"]


def test_a_patch_changes_only_what_it_names_and_the_secret_is_never_shown() -> None:
    endpoint = validate_endpoint(GOOD)
    patched = validate_endpoint({"enabled": False}, endpoint)
    assert patched == {**endpoint, "enabled": False}
    assert "secret" not in public_endpoint(patched)


def test_the_log_records_the_types_of_enabled_endpoints_only() -> None:
    endpoints = [
        {"enabled": True, "event_types": ["activity.status"]},
        {"enabled": False, "event_types": ["message.received"]},
        {"enabled": True, "event_types": ["activity.status", "contact.opted_out"]},
    ]
    assert subscribed_types(endpoints) == {"activity.status", "contact.opted_out"}
    assert subscribed_types([]) == set()
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))


def test_event_ids_order_numerically_and_a_bad_cursor_names_its_field() -> None:
    assert id_before("999-5", "1000-0") and id_before("1000-0", "1000-1")
    assert not id_before("1000-10", "1000-9")
    assert next_event_id("1000-9") == "1000-10"
    assert next_event_id(f"1000-{2**64 - 1}") == "1001-0"
    for bad in ("", "abc", "1000", "1000-", "-1-0", "01-0", "1000-0-0", "1" * 30 + "-0"):
        with pytest.raises(InvalidRequest) as refused:
            parse_event_id(bad)
        assert refused.value.details == {"field": "after"}


def test_retention_is_at_least_a_day() -> None:
    assert retention_hours(None) == 72
    assert retention_hours("24") == 24
    with pytest.raises(ValueError):
        retention_hours("23")
