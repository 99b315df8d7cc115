"""Validation of agent bodies (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

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
ROLES = ("agent", "supervisor")


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def validate_agent(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or not is_text(name):
        raise _bad("name", "name must be a non-empty string")
    email = body.get("email")
    if not isinstance(email, str) or not EMAIL_RE.match(email) or len(email) > 254 or not is_text(email):
        raise _bad("email", "email must be an email address")
    password = check_password(body.get("password"), email.strip())
    role = body.get("role", "agent")
    if role not in ROLES:
        raise _bad("role", "role must be agent or supervisor")
    queues = body.get("queues", ["default"] if role == "agent" else [])
    if (
        not isinstance(queues, list)
        or (not queues and role == "agent")
        or not all(isinstance(q, str) and QUEUE_RE.match(q) for q in queues)
    ):
        raise _bad("queues", "queues must be a non-empty list of queue names (letters, digits, _ . -)")
    capacity = body.get("capacity", 3)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= 100:
        raise _bad("capacity", "capacity must be an integer from 1 to 100")
    return {
        "name": name.strip(),
        "email": email.strip().lower(),
        "password": password,
        "queues": sorted(set(queues)),
        "capacity": capacity,
        "role": role,
    }


def validate_login(body: Any) -> tuple[str, str, str | None]:
    """(email, password, org id or None). ``org_id`` is only needed when one
    email signs in to agents of several orgs with the same password."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    for field in ("email", "password"):
        value = body.get(field)
        if not isinstance(value, str) or len(value) > 1024:
            raise _bad(field, "email and password are required")
        if not is_text(value):
            raise _bad(field, f"{field} must be text (a lone surrogate such as \\udfff is not)")
    org_id = body.get("org_id")
    if org_id is not None and (not isinstance(org_id, str) or not is_text(org_id) or len(org_id) > 100):
        raise _bad("org_id", "org_id must be an org id")
    return body["email"].strip().lower(), body["password"], org_id or None


# What an admin changes on an agent, declared once: ``validate_agent_patch``
# and ``validate_new_password`` check bodies against these Structs and
# /openapi.json publishes them.
QueueName = Annotated[str, Meta(pattern=QUEUE_RE.pattern, description="Queue name.", examples=["billing"])]
_QUEUES_RULE = "queues must be a non-empty list of queue names (letters, digits, _ . -)"


class AgentPatch(msgspec.Struct, forbid_unknown_fields=True):
    """At least one of the two; an agent keeps at least one queue (a supervisor may have none)."""

    capacity: Annotated[int, Meta(ge=1, le=100)] | UnsetType = UNSET
    queues: (
        Annotated[
            list[QueueName], Meta(max_length=100, description="The agent's whole list (an agent keeps at least one).")
        ]
        | UnsetType
    ) = UNSET
    refusals: ClassVar[dict[str, str]] = {
        "capacity": "capacity must be an integer from 1 to 100",
        "queues": _QUEUES_RULE,
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
            raise _bad("queues", _QUEUES_RULE)
        out["queues"] = sorted(set(given.queues))
    return out


def validate_new_password(body: Any, email: str) -> str:
    """The new password an admin sets for an agent (same rules as at creation)."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    return check_password(shapes.convert(body, AgentPassword).password, email)
