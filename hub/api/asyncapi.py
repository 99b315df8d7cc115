"""GET /asyncapi.json: the agent websocket described as AsyncAPI 3.0, derived
from the commands and events declared in ``hub.routing.protocol``."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from hub.domain.shapes import components
from hub.routing.protocol import CLOSE_AGENT_GONE, CLOSE_BAD_TOKEN, COMMAND_TYPES, EVENT_TYPES

REF = "#/components/schemas/"


def _name(struct: type[msgspec.Struct]) -> str:
    return str(struct.__struct_config__.tag).replace(".", "_")


def _message(struct: type[msgspec.Struct], ref: dict[str, Any]) -> dict[str, Any]:
    tag = struct.__struct_config__.tag
    return {
        "name": tag,
        "title": tag,
        "summary": " ".join((struct.__doc__ or str(tag)).split()).replace("``", "`"),
        "payload": ref,
    }


def build_document() -> dict[str, Any]:
    refs, schemas = components(COMMAND_TYPES + EVENT_TYPES, REF)
    commands = {_name(s): _message(s, r) for s, r in zip(COMMAND_TYPES, refs[: len(COMMAND_TYPES)], strict=True)}
    events = {_name(s): _message(s, r) for s, r in zip(EVENT_TYPES, refs[len(COMMAND_TYPES) :], strict=True)}
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in {**commands, **events}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Messaging hub: the agent websocket",
            "version": "1.0.0",
            "description": (
                "Agents (and supervisors) open `/v1/agent/ws?ticket=…` with a one-time ticket from "
                "`POST /v1/agent/ws-ticket` (see /openapi.json); `&after=<event id>` replays what was missed. "
                "Every frame is a JSON text object with a `type`. Each command may carry a `client_id`; "
                "its answer is an `ack` or an `error` with the same `client_id`. Close codes: "
                f"{CLOSE_BAD_TOKEN} missing, expired, used or revoked ticket or token; "
                f"{CLOSE_AGENT_GONE} the agent was deleted."
            ),
        },
        "channels": {
            "agent": {
                "address": "/v1/agent/ws",
                "messages": channel_messages,
            }
        },
        "operations": {
            "sendCommand": {
                "action": "receive",
                "channel": {"$ref": "#/channels/agent"},
                "summary": "Commands an agent sends to the hub.",
                "messages": [{"$ref": f"#/channels/agent/messages/{name}"} for name in commands],
            },
            "receiveEvent": {
                "action": "send",
                "channel": {"$ref": "#/channels/agent"},
                "summary": "Events the hub sends to an agent.",
                "messages": [{"$ref": f"#/channels/agent/messages/{name}"} for name in events],
            },
        },
        "components": {"schemas": schemas, "messages": {**commands, **events}},
    }


# The document is static: serialize it once.
DOCUMENT_JSON = json.dumps(build_document(), ensure_ascii=False, separators=(",", ":")).encode()


async def asyncapi(request: Request) -> Response:
    return Response(DOCUMENT_JSON, media_type="application/json")
