"""/openapi.json (filled in below from the route table)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


async def openapi(request: Request) -> JSONResponse:
    paths: dict = {}
    for route in request.app.routes:
        path = getattr(route, "path", None)
        methods = sorted(getattr(route, "methods", None) or [])
        if path and path.startswith("/v1"):
            for m in methods:
                if m != "HEAD":
                    paths.setdefault(path, {})[m.lower()] = {"responses": {"200": {"description": "OK"}}}
    return JSONResponse({"openapi": "3.1.0", "info": {"title": "Messaging hub", "version": "0.1.0"},
                         "paths": paths})
