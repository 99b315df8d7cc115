"""The sandbox driven by the real twilio library over real sockets: the sandbox and a
webhook receiver each run under uvicorn in a thread, so signatures are checked for real."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hub.sandbox import SandboxState, build_sandbox_app

ACCOUNT, TOKEN = "AC" + "1" * 32, "token-one"
OTHER_ACCOUNT, OTHER_TOKEN = "AC" + "2" * 32, "token-two"
TOKENS = {ACCOUNT: TOKEN, OTHER_ACCOUNT: OTHER_TOKEN}
SENDER = "+15005550006"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
# twilio's async client still passes aiohttp.BasicAuth as `auth=`, deprecated in aiohttp 3.14.
pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run uvicorn in a background thread with its own event loop; yield its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Receiver:
    """Records form posts and checks their X-Twilio-Signature."""

    def __init__(self) -> None:
        self.url = ""
        self.posts: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{name}", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        fields = {k: str(v) for k, v in (await request.form()).items()}
        signature = request.headers.get("x-twilio-signature", "")
        token = TOKENS.get(fields.get("AccountSid", ""), "")
        valid = RequestValidator(token).validate(str(request.url), fields, signature)
        with self.lock:
            self.posts.append({"path": request.url.path, "fields": fields, "valid": valid})
        status = int(request.query_params.get("reply", 200))
        return Response("<Response/>", status, media_type="text/xml")

    def for_sid(self, sid: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.posts if p["fields"].get("MessageSid") == sid]


async def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with serve(build_sandbox_app(SandboxState())) as url:
        yield url


@pytest.fixture(scope="module")
def rec() -> Iterator[Receiver]:
    rec = Receiver()
    with serve(rec.app) as rec.url:
        yield rec


@pytest.fixture
async def control(sandbox: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox, timeout=10) as http:
        for sid, token in TOKENS.items():
            await http.post("/_sandbox/accounts", json={"account_sid": sid, "auth_token": token})
        await http.post("/_sandbox/drain")
        for path in ("/_sandbox/rules", "/_sandbox/messages"):
            await http.delete(path)
        await http.put("/_sandbox/settings", json=dict(callbacks_enabled=True, default_delay_ms=0))
        yield http


async def stats(control: httpx.AsyncClient) -> dict[str, Any]:
    return (await control.get("/_sandbox/stats")).json()


async def raw_create(
    control: httpx.AsyncClient, form: dict[str, str], auth: tuple[str, str] = (ACCOUNT, TOKEN), **kw: Any
) -> httpx.Response:
    return await control.post(MESSAGES, data=form, auth=auth, **kw)


def make_client(base_url: str, http: AsyncTwilioHttpClient, token: str = TOKEN) -> Client:
    client = Client(ACCOUNT, token, http_client=http)
    client.api.base_url = base_url
    return client


@pytest.fixture
async def client(sandbox: str, control: httpx.AsyncClient) -> AsyncIterator[Client]:
    client = make_client(sandbox, AsyncTwilioHttpClient())  # inside the running loop
    yield client
    await client.http_client.close()


async def test_create_fetch_and_list(client: Client, control: httpx.AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    first = await client.messages.create_async(to="+15550000001", from_=SENDER, body="one")
    second = await client.messages.create_async(to="+15550000001", from_=SENDER, body="two")
    await client.messages.create_async(to="+15550000002", from_=SENDER, body="other")
    assert first.sid.startswith("SM") and len(first.sid) == 34
    assert (first.status, first.direction, first.num_segments) == ("queued", "outbound-api", "1")
    fetched = await client.messages(first.sid).fetch_async()
    assert (fetched.body, fetched.to, fetched.from_) == ("one", "+15550000001", SENDER)
    listed = await client.messages.list_async(to="+15550000001", date_sent_after=before)
    assert [m.sid for m in listed] == [second.sid, first.sid]  # newest first
    paged = await client.messages.list_async(to="+15550000001", page_size=1)
    assert [m.sid for m in paged] == [second.sid, first.sid]
    future = datetime.now(UTC) + timedelta(days=1)
    assert await client.messages.list_async(date_sent_after=future) == []
    page = (await control.get(MESSAGES, params={"PageSize": 5}, auth=(ACCOUNT, TOKEN))).json()
    assert (len(page["messages"]), page["next_page_uri"], page["end"]) == (3, None, 2)
    with pytest.raises(TwilioRestException) as exc:
        await client.messages("SM" + "0" * 32).fetch_async()
    assert exc.value.status == 404 and exc.value.code == 20404
    counts = await stats(control)
    assert counts["created"] == 3 and counts["by_to"]["+15550000001"] == 2


async def test_authentication(sandbox: str, control: httpx.AsyncClient) -> None:
    async with AsyncTwilioHttpClient() as http:
        with pytest.raises(TwilioRestException) as exc:
            bad = make_client(sandbox, http, token="wrong")
            await bad.messages.create_async(to="+15550000003", from_=SENDER, body="x")
    assert exc.value.status == 401 and exc.value.code == 20003
    form = {"To": "+15550000003", "From": SENDER, "Body": "x"}
    r = await raw_create(control, form, auth=(OTHER_ACCOUNT, OTHER_TOKEN))  # wrong path
    assert r.status_code == 401 and r.json()["code"] == 20003
    r = await raw_create(control, {"From": SENDER, "Body": "x"})
    assert r.status_code == 400 and r.json()["code"] == 21604


async def test_scripted_errors(client: Client, control: httpx.AsyncClient) -> None:
    to = "+15550000004"
    for rule in (
        {"to": to, "action": "http_error", "status": 429, "retry_after": 7, "times": 2},
        {"to": to, "action": "http_error", "status": 500, "times": 1},
        {"to": to, "action": "refuse", "code": 21211, "times": 1},
    ):
        assert (await control.post("/_sandbox/rules", json=rule)).status_code == 201
    for status, code in [(429, 20429), (None, None), (500, 20500), (400, 21211)]:
        if status is None:  # the twilio library hides headers: check Retry-After raw
            r = await raw_create(control, {"To": to, "From": SENDER, "Body": "x"})
            assert r.status_code == 429 and r.headers["retry-after"] == "7"
            continue
        with pytest.raises(TwilioRestException) as exc:
            await client.messages.create_async(to=to, from_=SENDER, body="x")
        assert (exc.value.status, exc.value.code) == (status, code)
    await client.messages.create_async(to=to, from_=SENDER, body="x")  # rules used up
    assert (await stats(control))["created"] == 1


async def test_timeouts(control: httpx.AsyncClient) -> None:
    for to, action in (("+15550000005", "timeout"), ("+15550000006", "store_then_timeout")):
        rule = {"to": to, "action": action, "seconds": 0.4, "times": 1}
        await control.post("/_sandbox/rules", json=rule)
        with pytest.raises(httpx.ReadTimeout):
            await raw_create(control, {"To": to, "From": SENDER, "Body": "x"}, timeout=0.1)
    stored = (await control.get("/_sandbox/messages")).json()["items"]
    assert [m["to"] for m in stored] == [to]  # only the second went out


CALLBACK_CASES = {
    "normal": ["sent", "delivered"],
    "out_of_order": ["delivered", "sent"],
    "duplicate": ["sent", "sent", "delivered", "delivered"],
    "fail": ["failed"],
    "undelivered": ["sent", "undelivered"],
    "none": [],
    "disabled": [],
}


@pytest.mark.parametrize(("mode", "expected"), CALLBACK_CASES.items())
async def test_status_callbacks(
    client: Client, control: httpx.AsyncClient, rec: Receiver, mode: str, expected: list[str]
) -> None:
    to = "+15550000010"
    if mode == "disabled":
        await control.put("/_sandbox/settings", json={"callbacks_enabled": False})
        assert (await control.get("/_sandbox/settings")).json()["callbacks_enabled"] is False
    else:
        rule = {"action": "callbacks", "mode": mode, "error_code": "30005"}
        await control.post("/_sandbox/rules", json=rule)
    msg = await client.messages.create_async(
        to=to, from_=SENDER, body="hi", status_callback=f"{rec.url}/status?t=a%20b"
    )
    await wait_for(lambda: len(rec.for_sid(msg.sid)) >= len(expected))
    await control.post("/_sandbox/drain")  # so a surplus callback would show up below
    posts = rec.for_sid(msg.sid)
    assert [p["fields"]["MessageStatus"] for p in posts] == expected
    assert all(p["valid"] for p in posts)
    for f in (p["fields"] for p in posts):
        assert f["SmsStatus"] == f["MessageStatus"] and "ChannelPrefix" not in f
        assert (f["AccountSid"], f["To"], f["From"], f["MessageSid"]) == (ACCOUNT, to, SENDER, msg.sid)
        assert f.get("ErrorCode") == ("30005" if f["MessageStatus"] in ("failed", "undelivered") else None)
    # Statuses never go backwards, and lost notifications do not stop delivery.
    final = {"fail": "failed", "undelivered": "undelivered"}.get(mode, "delivered")
    assert (await client.messages(msg.sid).fetch_async()).status == final
    assert (await stats(control))["callbacks_sent"] == len(expected)


async def test_whatsapp_callbacks(client: Client, control: httpx.AsyncClient, rec: Receiver) -> None:
    rule = {"to": "+15550000012", "action": "callbacks", "mode": "read", "delay_ms": 5}
    await control.post("/_sandbox/rules", json=rule)
    wa_to, callback = "whatsapp:+15550000012", f"{rec.url}/wa"
    msg = await client.messages.create_async(to=wa_to, from_="whatsapp:" + SENDER, body="hi", status_callback=callback)
    assert msg.to == wa_to
    await wait_for(lambda: len(rec.for_sid(msg.sid)) >= 3)
    posts = rec.for_sid(msg.sid)
    assert [p["fields"]["MessageStatus"] for p in posts] == ["sent", "delivered", "read"]
    assert [p["fields"].get("EventType") for p in posts] == [None, "DELIVERED", "READ"]
    assert all(p["valid"] and p["fields"]["ChannelPrefix"] == "whatsapp" for p in posts)


async def test_replies(control: httpx.AsyncClient, rec: Receiver) -> None:
    reply = {
        "account_sid": ACCOUNT,
        "from": "+15550000020",
        "to": SENDER,
        "body": "Hello",
        "url": f"{rec.url}/inbound?reply=202",
        "media_urls": ["https://example.com/a.png"],
    }
    answer = (await control.post("/_sandbox/replies", json=reply)).json()
    assert (answer["status"], answer["body"]) == (202, "<Response/>")
    [post] = rec.for_sid(sid := answer["message_sid"])  # posted inline, already there
    assert post["valid"] and post["path"] == "/inbound" and "WaId" not in post["fields"]
    want = {
        "From": "+15550000020",
        "To": SENDER,
        "Body": "Hello",
        "AccountSid": ACCOUNT,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "NumMedia": "1",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "MediaUrl0": "https://example.com/a.png",
        "MediaContentType0": "image/png",
    }
    assert {k: post["fields"].get(k) for k in want} == want

    wa = {
        **reply,
        "from": "whatsapp:+15550000021",
        "to": "whatsapp:" + SENDER,
        "media_urls": [],
        "message_sid": "SM" + "a" * 32,
        "url": f"{rec.url}/inbound",
    }
    answer = (await control.post("/_sandbox/replies", json=wa)).json()
    assert answer == {"status": 200, "body": "<Response/>", "message_sid": "SM" + "a" * 32}
    [post] = rec.for_sid(answer["message_sid"])
    f = post["fields"]
    assert post["valid"] and f["ProfileName"]
    assert (f["WaId"], f["NumMedia"]) == ("15550000021", "0")
    items = (await control.get("/_sandbox/messages", params={"to": SENDER})).json()["items"]
    assert [i["direction"] for i in items] == ["inbound"]
    assert (await stats(control))["inbound_sent"] == 2


async def test_mounted_under_prefix(rec: Receiver) -> None:
    state = SandboxState()
    state.add_account(ACCOUNT, TOKEN)
    sandbox_app = build_sandbox_app(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # A mounted app's own lifespan never runs: the host closes its sender.
        await sandbox_app.state.callback_sender.aclose()

    host = Starlette(routes=[Mount("/sandbox", app=sandbox_app)], lifespan=lifespan)
    with serve(host) as url:
        async with AsyncTwilioHttpClient() as http:
            client = make_client(url + "/sandbox", http)
            msg = await client.messages.create_async(
                to="+15550000030", from_=SENDER, body="hi", status_callback=f"{rec.url}/s"
            )
            fetched = await client.messages(msg.sid).fetch_async()
            assert fetched.uri == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{msg.sid}.json"
            await wait_for(lambda: len(rec.for_sid(msg.sid)) >= 2)
