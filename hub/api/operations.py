"""An HTTP operation of the API, declared once: its method, path and handler
with what /openapi.json says about it. The router (``hub.app.routes``) and
the document's ``paths`` (``hub.api.openapi``) are both derived from the
declarations, so a documented operation is the one that is served."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Schema = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    # None: served before the router, by the lean webhook route
    # (hub/webhooks/front.py); documented all the same.
    handler: Handler | None
    operation_id: str
    summary: str
    tag: str
    responses: dict[str, Schema]
    description: str | None = None
    body: Schema | None = None
    parameters: Sequence[Schema] = ()
    # Shared by every operation of the path: the document lists them once, on the path.
    path_parameters: Sequence[Schema] = ()
    security: list[Schema] | None = None

    def document(self) -> Schema:
        op: Schema = {"operationId": self.operation_id, "summary": self.summary, "tags": [self.tag]}
        if self.description:
            op["description"] = self.description
        if self.parameters:
            op["parameters"] = list(self.parameters)
        if self.body is not None:
            op["requestBody"] = self.body
        op["responses"] = self.responses
        if self.security is not None:
            op["security"] = self.security
        return op


def path_items(operations: Iterable[Operation]) -> dict[str, Schema]:
    """The document's ``paths``: the operations grouped by path."""
    items: dict[str, Schema] = {}
    for op in operations:
        shared = list(op.path_parameters)
        item = items.get(op.path)
        if item is None:
            item = items[op.path] = {"parameters": shared} if shared else {}
        elif item.get("parameters", []) != shared:
            raise ValueError(f"the operations of {op.path} declare different path parameters")
        method = op.method.lower()
        if method in item:
            raise ValueError(f"{op.method} {op.path} is declared twice")
        item[method] = op.document()
    return items


def routes(operations: Iterable[Operation]) -> list[Route]:
    """One route per path and handler, taking that handler's methods.

    Starlette answers with the first route that matches, so where two paths
    differ, the one with a literal segment goes first (/v1/agents/metrics
    before /v1/agents/{id}); otherwise the operations keep their order."""
    methods: dict[tuple[str, Handler], list[str]] = {}
    for op in operations:
        if op.handler is not None:
            methods.setdefault((op.path, op.handler), []).append(op.method.upper())
    out = [Route(path, handler, methods=names) for (path, handler), names in methods.items()]
    out.sort(key=lambda route: [part.startswith("{") for part in route.path.split("/")])
    return out
