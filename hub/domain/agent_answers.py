"""What the agent calls answer, declared once (pure): an agent, a sign-in,
a websocket ticket, what the console loads (``/v1/agents/me``) and the agent
metrics. /openapi.json publishes these Structs' JSON Schema
(``shapes.components``); the handlers build the same keys."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.domain.agents import Queue, Role

Presence = Literal["offline", "available", "away"]
Timestamp = Annotated[float, Meta(description="Unix time in seconds.")]
Day = Annotated[str, Meta(extra_json_schema={"format": "date"})]
Seconds = float | None


class Agent(msgspec.Struct):
    """An agent (or a supervisor) of the org."""

    id: str
    name: str
    email: Annotated[str, Meta(extra_json_schema={"format": "email"})]
    queues: list[Queue]
    capacity: int
    presence: Presence
    open: Annotated[int, Meta(description="Open conversations now.")]
    role: Role
    created_at: Timestamp
    active: Annotated[bool, Meta(description="False once deactivated.")] | UnsetType = UNSET
    skills: (
        Annotated[
            dict[str, Annotated[int, Meta(ge=1, le=5)]],
            Meta(description="Skill → level (1-5), set by `PUT /v1/agents/{id}/skills`."),
        ]
        | UnsetType
    ) = UNSET


class LoginAnswer(msgspec.Struct):
    """A signed-in agent's token."""

    token: Annotated[
        str, Meta(description="Agent token: bearer for `/v1/agents/me`, `/v1/agents/logout` and `/v1/agent/ws-ticket`.")
    ]
    expires_in: Annotated[int, Meta(description="Seconds.")]
    agent: Agent
    org_id: str


class WsTicket(msgspec.Struct):
    """A one-time ticket for the agent websocket."""

    ticket: Annotated[str, Meta(description="Opens one websocket: `/v1/agent/ws?ticket=`.")]
    expires_at: Annotated[float, Meta(description="Unix time in seconds after which the ticket opens nothing.")]
    expires_in: Annotated[float, Meta(description="Seconds.")]


class Colleague(msgspec.Struct):
    """Another agent of the org, to transfer to."""

    id: str
    name: str
    presence: Presence
    queues: list[Queue]


class CannedAnswer(msgspec.Struct):
    """A canned response, as the console offers it."""

    id: str
    title: str
    body: str


class WhatsAppTemplate(msgspec.Struct):
    """A template approved for WhatsApp (a content sid for at least one locale)."""

    id: str
    name: str
    default_locale: str
    bodies: dict[str, str]
    approved_locales: list[str]


class Me(msgspec.Struct):
    """The signed-in agent and what the console needs besides the websocket."""

    agent: Agent
    org_id: str
    waiting: Annotated[int, Meta(description="Conversations waiting in the agent's queues.")]
    colleagues: list[Colleague]
    queues: Annotated[list[Queue], Meta(description="Every queue of the org's agents.")]
    canned_responses: list[CannedAnswer]
    whatsapp_templates: Annotated[
        list[WhatsAppTemplate],
        Meta(
            description="The org's templates approved for WhatsApp (a content sid for at least one "
            "locale): what the console offers once a conversation's 24-hour window has closed."
        ),
    ]


class AgentDay(msgspec.Struct):
    """One agent's day (UTC)."""

    day: Day
    agent_id: str
    agent_name: str | None
    handled: int
    replies: int
    first_responses: Annotated[int, Meta(description="Conversations first answered by the agent that day.")]
    first_response_p50_s: Seconds
    first_response_p90_s: Seconds
    handle_time_avg_s: Seconds
    handle_time_p50_s: Seconds


class AgentMetrics(msgspec.Struct):
    """Agent metrics per day and per agent."""

    from_: Day = msgspec.field(name="from")
    to: Day
    items: list[AgentDay]
