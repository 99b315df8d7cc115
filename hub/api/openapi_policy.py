"""The OpenAPI description of queues and their routing policy, agents'
skills and a conversation's priority, added to the document by
``with_policy``. Shapes follow ``hub.domain.routing_policy`` and
``hub.routing.queues_api``."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_spec import (
    ID,
    NO_CONTENT,
    Schema,
    errors,
    json_content,
    nullable,
    obj,
    ok,
    operation,
    page_of,
    ref,
    string,
    with_shared_errors,
)
from hub.domain.agents import QUEUE_RE
from hub.domain.routing_policy import (
    DAYS,
    DEFAULT_INACTIVE_CLOSE_S,
    MAX_INACTIVE_CLOSE_S,
    MAX_OVERFLOW_AFTER_S,
    MAX_REPLY,
    MAX_WAITING_OVER,
    MIN_INACTIVE_CLOSE_S,
    SKILL_RE,
)

TAG = "Queues"
_LEVEL = {"type": "integer", "minimum": 1, "maximum": 5}
_SKILL = string("Skill name.", pattern=SKILL_RE.pattern, examples=["spanish"])
_CLOCK = string("`HH:MM`, local time in `timezone`; an end may be `24:00`.", pattern=r"^\d\d:\d\d$")
_SPAN = {"type": "array", "items": _CLOCK, "minItems": 2, "maxItems": 2}
_HOURS = obj(
    {
        "timezone": string("IANA name; default UTC.", examples=["Europe/Paris"]),
        "weekly": obj(
            {d: {"type": "array", "items": _SPAN, "maxItems": 10} for d in DAYS},
            closed=True,
            description="Open spans per weekday; a day not named is closed.",
        ),
        "holidays": {
            "type": "array",
            "items": string(format="date"),
            "maxItems": 400,
            "description": "Dates (local) the queue stays closed.",
        },
    },
    ["weekly"],
    closed=True,
    description="Operating hours: outside them the queue assigns nothing; "
    "conversations wait and are assigned when it opens.",
)
_OVERFLOW = obj(
    {
        "queue": string("The queue to move to.", pattern=QUEUE_RE.pattern),
        "after_seconds": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_OVERFLOW_AFTER_S,
            "description": "A conversation waiting this long moves.",
        },
        "waiting_over": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_WAITING_OVER,
            "description": "With more than this many waiting, the last ones move.",
        },
    },
    ["queue"],
    closed=True,
    description="Exactly one of `after_seconds` and `waiting_over`. Moved "
    "conversations keep their priority and arrival order.",
)
_FIELDS: Schema = {
    "required_skills": {
        "type": "array",
        "items": ref("RequiredSkill"),
        "maxItems": 50,
        "description": "Only agents with these skills take the queue's conversations.",
    },
    "inactive_close_seconds": {
        "type": "integer",
        "minimum": MIN_INACTIVE_CLOSE_S,
        "maximum": MAX_INACTIVE_CLOSE_S,
        "default": DEFAULT_INACTIVE_CLOSE_S,
        "description": "An open conversation with no customer message for this long closes with "
        "`close_reason: inactive`.",
    },
    "overflow": nullable(ref("Overflow")),
    "hours": nullable(ref("OperatingHours")),
    "closed_reply": obj(
        {},
        additionalProperties=string(minLength=1, maxLength=MAX_REPLY),
        description="Locale → text sent once to a customer who opens a conversation while the queue is closed.",
    ),
}
_INPUT = obj({"name": string("If given, the name in the path."), **_FIELDS}, closed=True)
_QUEUE = obj(
    {
        "name": string(pattern=QUEUE_RE.pattern),
        **_FIELDS,
        "configured": {"type": "boolean", "description": "Whether a policy was set (else the defaults)."},
        "waiting": {"type": "integer", "minimum": 0, "description": "Conversations waiting now."},
        "open": {"type": "boolean", "description": "Within its operating hours now (always without hours)."},
    },
    [
        "name",
        "required_skills",
        "inactive_close_seconds",
        "overflow",
        "hours",
        "closed_reply",
        "configured",
        "waiting",
        "open",
    ],
)

SCHEMAS: dict[str, Schema] = {
    "RequiredSkill": obj({"name": _SKILL, "min_level": {**_LEVEL, "default": 1}}, ["name"], closed=True),
    "OperatingHours": _HOURS,
    "Overflow": _OVERFLOW,
    "QueueInput": _INPUT,
    "Queue": _QUEUE,
    "AgentSkills": obj(
        {},
        additionalProperties=_LEVEL,
        maxProperties=50,
        description="Skill → level, 1 to 5; replaces the agent's skills.",
    ),
    "ConversationPatch": obj(
        {"priority": {"type": "integer", "minimum": 0, "maximum": 100}}, ["priority"], closed=True
    ),
}

_EXAMPLE: dict[str, Any] = {
    "required_skills": [{"name": "spanish", "min_level": 2}],
    "inactive_close_seconds": 86400,
    "overflow": {"queue": "general", "after_seconds": 300},
    "hours": {
        "timezone": "Europe/Madrid",
        "weekly": {d: [["08:00", "18:00"]] for d in DAYS[:5]},
        "holidays": ["2026-12-25"],
    },
    "closed_reply": {
        "es": "Estamos cerrados; le responderemos a partir de las 8:00.",
        "en": "We are closed; we will answer from 8:00.",
    },
}
_NAME = [
    {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": string(pattern=QUEUE_RE.pattern, minLength=1, maxLength=100),
    }
]

PATHS: dict[str, Schema] = {
    "/v1/queues": {
        "get": operation(
            "listQueues",
            "List queues and their routing policy",
            TAG,
            {
                "200": ok(
                    "Every queue with a policy, served by an agent or routed to by a "
                    "configuration, by name (`next_cursor` is always null).",
                    page_of("Queue"),
                ),
                **errors("unauthorized"),
            },
        ),
    },
    "/v1/queues/{name}": {
        "parameters": _NAME,
        "get": operation(
            "getQueue",
            "A queue's routing policy",
            TAG,
            {
                "200": ok("The queue (the defaults when no policy was set).", ref("Queue")),
                **errors("unauthorized", "queue_not_found"),
            },
        ),
        "put": operation(
            "putQueue",
            "Set a queue's routing policy",
            TAG,
            {
                "200": ok("The queue, replaced.", ref("Queue")),
                "201": ok("The queue, created.", ref("Queue")),
                **errors("invalid_request", "unauthorized"),
            },
            description="Replaces the whole policy (absent fields take their defaults); "
            "what waits in the queue is offered again under it at once.",
            body={"required": True, "content": json_content(ref("QueueInput"), _EXAMPLE)},
        ),
        "delete": operation(
            "deleteQueue",
            "Remove a queue's routing policy",
            TAG,
            {"204": NO_CONTENT, **errors("unauthorized", "queue_not_found")},
            description="The queue keeps routing, with the defaults.",
        ),
    },
    "/v1/agents/{id}/skills": {
        "parameters": ID,
        "put": operation(
            "putAgentSkills",
            "Set an agent's skills",
            "Agents",
            {"200": ok("The agent.", ref("Agent")), **errors("invalid_request", "unauthorized", "not_found")},
            description="Work the agent now qualifies for is offered to it at once.",
            body={"required": True, "content": json_content(ref("AgentSkills"), {"spanish": 3, "billing": 1})},
        ),
    },
}

_PATCH_CONVERSATION = operation(
    "updateConversation",
    "Set a conversation's priority",
    "Conversations",
    {
        "200": ok("The conversation.", ref("Conversation")),
        **errors("invalid_request", "unauthorized", "not_found", "conversation_closed"),
    },
    description="A waiting conversation takes its new place in its queue at once.",
    body={"required": True, "content": json_content(ref("ConversationPatch"), {"priority": 90})},
)

TAGS = [{"name": TAG, "description": "Routing policy per queue: skills, inactivity close, overflow, operating hours."}]


def with_policy(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the queue paths, schemas and tags added (it is not changed)."""
    components = dict(document["components"])
    components["schemas"] = {**components["schemas"], **SCHEMAS}
    ours = with_shared_errors({**PATHS, "/v1/conversations/{id}": {"patch": _PATCH_CONVERSATION}})
    paths = {**document["paths"], **ours}
    paths["/v1/conversations/{id}"] = {**document["paths"]["/v1/conversations/{id}"], **ours["/v1/conversations/{id}"]}
    return {**document, "tags": [*document["tags"], *TAGS], "paths": paths, "components": components}
