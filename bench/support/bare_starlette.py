"""The baselines' server: a bare Starlette app on uvicorn with the hub's
server settings, reading webhooks the way a plain endpoint would.

  python -m bench.support.bare_starlette PORT

Routes: POST /form/{channel_id}/inbound (`await request.form()`, empty
TwiML), POST /qsl/{channel_id}/inbound (`parse_qsl` of the body), POST
/form/{channel_id}/status (`await request.form()`, 204: what a status
callback costs a server doing nothing with it) and GET /ping."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def form(request: Request) -> Response:
        data = await request.form()
        if not data.get("MessageSid"):
            return Response(status_code=400)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def qsl(request: Request) -> Response:
        data = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if not data.get("MessageSid"):
            return Response(status_code=400)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def status(request: Request) -> Response:
        data = await request.form()
        if not data.get("MessageSid") or not data.get("MessageStatus"):
            return Response(status_code=400)
        return Response(status_code=204)

    async def ping(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/form/{channel_id}/inbound", form, methods=["POST"]),
            Route("/qsl/{channel_id}/inbound", qsl, methods=["POST"]),
            Route("/form/{channel_id}/status", status, methods=["POST"]),
            Route("/ping", ping),
        ]
    )


def serve(port: int) -> int:
    import uvicorn

    from .processes import HOST

    # The same settings as `hub serve` (hub/cli.py): one worker, auto loop/http.
    uvicorn.run(
        bare_app(),
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,
        ws_per_message_deflate=False,
    )
    return 0


if __name__ == "__main__":
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    raise SystemExit(serve(int(sys.argv[1])))
