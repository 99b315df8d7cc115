"""Validation of agent bodies (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.domain import shapes
from hub.domain.sign_in import MAX_PASSWORD, MIN_PASSWORD, check_password, is_text
from hub.errors import InvalidRequest

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
QUEUE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# A supervisor signs in like an agent, watches the org's board, monitors,
# whispers, takes over and reassigns; it is routed work only from queues it
# is given (none by default).
Role = Literal["agent", "supervisor"]
ROLES: tuple[str, ...] = get_args(Role)


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


Queue = Annotated[str, Meta(pattern=QUEUE_RE.pattern, description="Queue name.", examples=["default"])]
_QUEUES_REFUSED = "queues must be a non-empty list of queue names (letters, digits, _ . -)"


class AgentInput(msgspec.Struct):
    """POST /v1/agents."""

    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S", description="1 to 200 characters.")]
    email: Annotated[
        str,
        Meta(
            max_length=254,
            pattern=EMAIL_RE.pattern,
            description="The login; unique within the org.",
            extra_json_schema={"format": "email"},
        ),
    ]
    password: Annotated[
        str,
        Meta(
            min_length=MIN_PASSWORD,
            max_length=MAX_PASSWORD,
            description="At least 10 characters, not only spaces, not one of the most common passwords.",
            extra_json_schema={"writeOnly": True},
        ),
    ]
    queues: (
        Annotated[
            list[Queue],
            Meta(
                description="At least one for an agent; a supervisor serves none by default.",
                extra_json_schema={"default": ["default"]},
            ),
        ]
        | UnsetType
    ) = UNSET
    capacity: Annotated[int, Meta(ge=1, le=100, description="Open conversations at once.")] = 3
    role: Annotated[
        Role,
        Meta(
            description="`supervisor`: signs in like an agent; on the websocket also watches the org's "
            "board, monitors, whispers, takes over and reassigns; reads agent metrics."
        ),
    ] = "agent"
    refusals: ClassVar[dict[str, str]] = {
        "name": "name must be a non-empty string",
        "email": "email must be an email address",
        "password": f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters",
        "queues": _QUEUES_REFUSED,
        "capacity": "capacity must be an integer from 1 to 100",
        "role": "role must be agent or supervisor",
    }


class Login(msgspec.Struct):
    """POST /v1/agents/login."""

    email: Annotated[str, Meta(max_length=1024, extra_json_schema={"format": "email"})]
    password: Annotated[str, Meta(max_length=1024, extra_json_schema={"writeOnly": True})]
    org_id: Annotated[
        Annotated[str, Meta(max_length=100)] | None,
        Meta(
            description="Only when the hub answers `409 org_required` (one email signing in to agents "
            "of several orgs with one password).",
        ),
    ] = None
    refusals: ClassVar[dict[str, str]] = {
        "email": "email and password are required",
        "password": "email and password are required",
        "org_id": "org_id must be an org id",
    }


def validate_agent(body: Any) -> dict[str, Any]:
    new = shapes.convert(body, AgentInput)
    if not is_text(new.name):
        raise _bad("name", "name must be a non-empty string")
    if not is_text(new.email):
        raise _bad("email", "email must be an email address")
    password = check_password(new.password, new.email.strip())
    queues = new.queues if new.queues is not UNSET else ["default"] if new.role == "agent" else []
    if not queues and new.role == "agent":
        raise _bad("queues", _QUEUES_REFUSED)
    return {
        "name": new.name.strip(),
        "email": new.email.strip().lower(),
        "password": password,
        "queues": sorted(set(queues)),
        "capacity": new.capacity,
        "role": new.role,
    }


def validate_login(body: Any) -> tuple[str, str, str | None]:
    """(email, password, org id or None). ``org_id`` is only needed when one
    email signs in to agents of several orgs with the same password."""
    login = shapes.convert(body, Login)
    for field in ("email", "password"):
        if not is_text(getattr(login, field)):
            raise _bad(field, f"{field} must be text (a lone surrogate such as \\udfff is not)")
    if login.org_id is not None and not is_text(login.org_id):
        raise _bad("org_id", "org_id must be an org id")
    return login.email.strip().lower(), login.password, login.org_id or None


# What an admin changes on an agent, declared once: ``validate_agent_patch``
# and ``validate_new_password`` check bodies against these Structs and
# /openapi.json publishes them.


class AgentPatch(msgspec.Struct, forbid_unknown_fields=True):
    """At least one of the two; an agent keeps at least one queue (a supervisor may have none)."""

    capacity: Annotated[int, Meta(ge=1, le=100)] | UnsetType = UNSET
    queues: (
        Annotated[
            list[Queue], Meta(max_length=100, description="The agent's whole list (an agent keeps at least one).")
        ]
        | UnsetType
    ) = UNSET
    refusals: ClassVar[dict[str, str]] = {
        "capacity": "capacity must be an integer from 1 to 100",
        "queues": _QUEUES_REFUSED,
    }


class AgentPassword(msgspec.Struct, forbid_unknown_fields=True):
    """Same rules as at creation: not only spaces, not a common password, not the email."""

    password: Annotated[
        str, Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD, extra_json_schema={"writeOnly": True})
    ]
    refusals: ClassVar[dict[str, str]] = {"password": f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"}


def validate_agent_patch(body: Any, role: str) -> dict[str, Any]:
    """What an admin changes on an agent: ``capacity`` and/or ``queues`` (an
    agent keeps at least one queue; a supervisor may have none)."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    given = shapes.convert(body, AgentPatch)
    if given.capacity is UNSET and given.queues is UNSET:
        raise _bad("capacity", "give capacity, queues or both")
    out: dict[str, Any] = {}
    if given.capacity is not UNSET:
        out["capacity"] = given.capacity
    if given.queues is not UNSET:
        if not given.queues and role == "agent":
            raise _bad("queues", _QUEUES_REFUSED)
        out["queues"] = sorted(set(given.queues))
    return out


def validate_new_password(body: Any, email: str) -> str:
    """The new password an admin sets for an agent (same rules as at creation)."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    return check_password(shapes.convert(body, AgentPassword).password, email)
