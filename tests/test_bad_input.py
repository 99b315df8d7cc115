"""Bad input is refused with a 4xx naming the field, before anything is stored,
and oversized bodies are refused with 413 before they are read whole.

Each case here was a 500 once (most of them left a record behind that broke
the org's lists for good), so every test also checks that the lists still
answer afterwards.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.agents import create_agent, login
from tests.support import Api, HubProcess, contact, outbound_setup
from tests.test_telesign import NUMBER as TELESIGN_NUMBER
from tests.test_telesign import signed, telesign_setup

LISTS = [
    "/v1/channels",
    "/v1/templates",
    "/v1/outbound-configurations",
    "/v1/canned-responses",
    "/v1/flows",
    "/v1/bulk-jobs",
    "/v1/agents",
    "/v1/conversations",
    "/v1/outbound/activities",
]


def refused(response: httpx.Response, status: int = 400, code: str = "invalid_request") -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == code, error
    return error  # type: ignore[no-any-return]


def lists_answer(api: Api) -> None:
    for path in LISTS:
        response = api.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text)


def raw_post(api: Api, path: str, text: str, content_type: str = "application/json") -> httpx.Response:
    return api.post(path, content=text.encode(), headers={"Content-Type": content_type})


def test_deeply_nested_json_is_refused_everywhere(api: Api, hub: HubProcess) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    refused(httpx.post(hub.url + "/v1/agents/login", content=deep))  # unauthenticated
    for path in ["/v1/templates", "/v1/flows", "/v1/events", "/v1/outbound/send"]:
        error = refused(raw_post(api, path, deep))
        assert error["details"]["field"] == "body", error
    # Deep but not enough to break the parser: still past any honest body's depth.
    moderate = '{"title": "t", "body": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}"
    refused(raw_post(api, "/v1/canned-responses", moderate))
    lists_answer(api)


def test_lone_surrogates_are_refused_and_nothing_is_stored(api: Api, hub: HubProcess, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    create_agent(api, "ann@example.com")
    token = login(hub.url, "ann@example.com")

    error = refused(raw_post(api, "/v1/canned-responses", '{"title": "Hi \\udfff", "body": "x"}'))
    assert error["details"]["field"] == "title"
    error = refused(
        raw_post(
            api,
            "/v1/templates",
            json.dumps(
                {"name": "T", "channel_types": ["sms"], "default_locale": "en-US", "bodies": {"en-US": "ok"}}
            ).replace('"ok"', '"\\ud800 ok"'),
        )
    )
    assert error["details"]["field"] == "bodies.en-US"
    error = refused(
        raw_post(
            api,
            "/v1/outbound-configurations",
            json.dumps(
                {
                    "name": "N",
                    "show_in_timeline": True,
                    "channel_type": "sms",
                    "channel_id": ids["channel"]["id"],
                    "template_id": ids["template"]["id"],
                }
            ).replace('"name"', '"na\\udc00me"'),
        )
    )
    assert error["details"]["field"] == "na\\udc00me"  # the key itself, escaped
    send = json.dumps(
        {"configuration_id": ids["config"]["id"], "contacts": [contact("+14155552671", CustomerName="Ada")]}
    )
    error = refused(raw_post(api, "/v1/outbound/send", send.replace("Ada", "A\\udfffda")))
    assert error["details"]["field"] == "contacts[0].CustomerName"

    assert api.ok("GET", "/v1/canned-responses")["items"] == []
    assert len(api.ok("GET", "/v1/templates")["items"]) == 1
    assert len(api.ok("GET", "/v1/outbound-configurations")["items"]) == 1
    me = httpx.get(hub.url + "/v1/agents/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    lists_answer(api)


def test_nan_and_infinity_are_refused_and_no_flow_is_stored(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    for constant in ["NaN", "Infinity", "-Infinity", "1e999"]:
        body = json.dumps(
            {
                "kind": "scheduled",
                "configuration_id": ids["config"]["id"],
                "delay_seconds": 3600,
                "contacts": [contact("+14155552671", optin=0)],
            }
        )
        error = refused(raw_post(api, "/v1/flows", body.replace('"optin": 0', f'"optin": {constant}')))
        assert error["details"]["field"] == "contacts[0].optin", error
    assert api.ok("GET", "/v1/flows")["items"] == []
    lists_answer(api)


@pytest.mark.parametrize("zone", ["A" * 300, "America", "Europe/" + "x" * 250, "../etc/passwd", "Europe/Paris\x00"])
def test_bad_flow_time_zones_name_the_field(api: Api, sandbox, zone: str) -> None:
    ids = outbound_setup(api, sandbox.url)
    error = refused(
        api.post(
            "/v1/flows",
            json={
                "kind": "scheduled",
                "configuration_id": ids["config"]["id"],
                "cron": "0 9 * * *",
                "timezone": zone,
                "contacts": [contact("+14155552671")],
            },
        )
    )
    assert error["details"]["field"] == "timezone"
    assert api.ok("GET", "/v1/flows")["items"] == []


def test_bad_conversation_cursors_are_refused(api: Api) -> None:
    for cursor in ["x", "nan", "inf", "1e5x|c", "(1|c", "1_0|c", " 1|c"]:
        error = refused(api.get("/v1/conversations", params={"cursor": cursor}))
        assert error["details"]["field"] == "cursor"
        # the connection the failed call used is fine for the next one
        assert api.ok("GET", "/v1/conversations")["items"] == []
    assert api.ok("GET", "/v1/conversations", params={"cursor": "1733229188123|conv_x"})["items"] == []


def test_cursors_beyond_any_stored_time_page_like_the_edges(api: Api, sandbox) -> None:
    """A score past what SQL's 64-bit integers hold was a 500 once: above every
    item reads as the first page, below every item as an empty one."""
    ids = outbound_setup(api, sandbox.url)
    api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": ids["config"]["id"], "contacts": [contact("+14155552671")]},
    )
    first = api.ok("GET", "/v1/outbound/activities")["items"]
    assert len(first) == 1
    for path in ["/v1/outbound/activities", "/v1/conversations"]:
        everything = [item["id"] for item in api.ok("GET", path)["items"]]
        for cursor in ["1e100", "9223372036854775808|x", "1e999|x"]:
            page = api.ok("GET", path, params={"cursor": cursor})["items"]
            assert [item["id"] for item in page] == everything, (path, cursor)
        for cursor in ["-1e100", "-9223372036854775809|x", "-1e999"]:
            assert api.ok("GET", path, params={"cursor": cursor})["items"] == [], (path, cursor)


def test_bulk_json_lines_with_deep_nesting_or_surrogates_are_refused(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    good = json.dumps(contact("+14155552671"))
    for bad in [
        '{"tocontactid": "+14155552672", "x": ' + "[" * 50_000 + "]" * 50_000 + "}",
        json.dumps(contact("+14155552672", CustomerName="B")).replace('"B"', '"\\udfffB"'),
        json.dumps(contact("+14155552672", optin=0)).replace('"optin": 0', '"optin": NaN'),
    ]:
        response = api.post(
            "/v1/bulk-jobs",
            params={"configuration_id": ids["config"]["id"]},
            content=(good + "\n" + bad + "\n").encode(),
            headers={"Content-Type": "application/x-ndjson"},
        )
        error = refused(response)
        assert error["details"]["row"] == 2, error
    assert api.ok("GET", "/v1/bulk-jobs")["items"] == []
    lists_answer(api)


# -- body size -------------------------------------------------------------------------


def http_exchange(url: str, head: str, chunks: tuple[bytes, ...] = (), timeout: float = 20) -> tuple[int, bytes]:
    """Send a request head and some chunks of a body that never ends (no final
    chunk) over a plain socket; the answer's status and body."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout) as sock:
        sock.sendall(head.encode())
        for chunk in chunks:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        data = b""
        while True:
            piece = sock.recv(65536)  # a timeout here means the hub waited for the rest
            if not piece:
                break
            data += piece
            head_end = data.find(b"\r\n\r\n")
            if head_end > 0:
                length = re.search(rb"(?i)content-length: *(\d+)", data[:head_end])
                if length and len(data) >= head_end + 4 + int(length[1]):
                    break
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def test_oversized_bodies_are_refused_before_they_are_read(api: Api, hub: HubProcess) -> None:
    port = urlparse(hub.url).port
    # Eight 50 MB logins announced: each answered at once, without waiting for a byte.
    for _ in range(8):
        status, body = http_exchange(
            hub.url,
            (
                f"POST /v1/agents/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n"
            ),
        )
        assert status == 413, body
        assert json.loads(body)["error"] == {
            "code": "payload_too_large",
            "message": "the request body must be at most 1048576 bytes",
            "details": {"limit": 1_048_576},
        }

    # Chunked, no length: counted as it comes and refused once past the limit,
    # although the body has not ended.
    status, body = http_exchange(
        hub.url,
        (
            f"POST /v1/templates HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {api.org['api_key']}\r\n"  # type: ignore[attr-defined]
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        chunks=(b" " * 65536,) * 17,
    )  # 1.06 MiB
    assert status == 413, body
    assert json.loads(body)["error"]["code"] == "payload_too_large"

    # The webhooks' limit is smaller; an honest webhook is far below it.
    response = httpx.post(
        hub.url + "/webhooks/twilio/ch_x/inbound",
        content=b"a=" + b"b" * 70_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused(response, 413, "payload_too_large")

    # Just under the limit is read and judged on its content.
    padded = json.dumps({"title": "t", "body": "b"}) + " " * (1_048_576 - 40)
    assert api.post("/v1/canned-responses", content=padded.encode()).status_code == 201
    lists_answer(api)


def test_the_webhook_routes_refuse_as_every_route_does(hub: HubProcess) -> None:
    """The webhooks are served before the framework's router: a wrong method,
    an unknown path or too long a body still gets the API's error shape."""
    port = urlparse(hub.url).port
    response = httpx.get(hub.url + "/webhooks/twilio/ch_x/inbound")
    refused(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    for path in ("/webhooks/twilio/ch_x/other", "/webhooks/nope/ch_x/inbound", "/webhooks/twilio/ch_x/inbound/more"):
        refused(httpx.post(hub.url + path, content=b"a=b"), 404, "not_found")
    refused(httpx.post(hub.url + "/webhooks/twilio/ch_x/inbound", content=b"a=b"), 404, "not_found")  # no such channel

    # Chunked, no length: refused once past the webhook limit, before the body ends.
    status, body = http_exchange(
        hub.url,
        (
            f"POST /webhooks/twilio/ch_x/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        chunks=(b"a" * 16384,) * 5,
    )
    assert status == 413, body
    assert json.loads(body)["error"] == {
        "code": "payload_too_large",
        "message": "the request body must be at most 65536 bytes",
        "details": {"limit": 65536},
    }


def test_bulk_uploads_are_not_held_to_the_json_limit(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    line = json.dumps(contact("+14155552671", note="n" * 1000))
    body = ((line + "\n") * 1500).encode()  # about 1.8 MB, streamed in
    assert len(body) > 1_048_576

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    job = api.ok(
        "POST",
        "/v1/bulk-jobs",
        201,
        params={"configuration_id": ids["config"]["id"]},
        content=chunks(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert job["total"] == 1500
    assert api.post(f"/v1/bulk-jobs/{job['id']}/cancel").status_code in (200, 409)


def test_signed_telesign_webhooks_with_surrogates_or_deep_nesting_are_refused(
    api: Api, hub: HubProcess, sandbox
) -> None:  # type: ignore[no-untyped-def]
    channel_id = telesign_setup(api, sandbox.url)["channel"]["id"]
    url = f"{hub.url}/webhooks/telesign/{channel_id}/inbound"
    mo = json.dumps(
        {
            "reference_id": "AB" * 16,
            "sub_resource": "mo_sms",
            "user_response": {"phone_number": "14155552671", "sender_id": TELESIGN_NUMBER[1:], "mo_message": "hi"},
        }
    )
    for body in [mo.replace('"hi"', '"hi \\udfff"'), mo.replace('"hi"', "[" * 30_000 + "]" * 30_000)]:
        response = httpx.post(url, content=body.encode(), headers=signed(body.encode()))
        error = refused(response)
        assert error["details"]["field"] in ("user_response.mo_message", "body"), error
    assert api.ok("GET", "/v1/conversations")["items"] == []
    lists_answer(api)
