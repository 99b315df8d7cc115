"""Validation of agent bodies (pure)."""

from __future__ import annotations

import re
from typing import Any, Mapping

from hub.errors import InvalidRequest

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
QUEUE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def validate_agent(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise _bad("name", "name must be a non-empty string")
    email = body.get("email")
    if not isinstance(email, str) or not EMAIL_RE.match(email) or len(email) > 254:
        raise _bad("email", "email must be an email address")
    password = body.get("password")
    if not isinstance(password, str) or not 8 <= len(password) <= 256:
        raise _bad("password", "password must be 8 to 256 characters")
    queues = body.get("queues", ["default"])
    if (not isinstance(queues, list) or not queues
            or not all(isinstance(q, str) and QUEUE_RE.match(q) for q in queues)):
        raise _bad("queues", "queues must be a non-empty list of queue names (letters, digits, _ . -)")
    capacity = body.get("capacity", 3)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= 100:
        raise _bad("capacity", "capacity must be an integer from 1 to 100")
    return {"name": name.strip(), "email": email.strip().lower(), "password": password,
            "queues": sorted(set(queues)), "capacity": capacity}


def validate_login(body: Any) -> tuple[str, str]:
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise InvalidRequest("email and password are required", details={"field": "email"})
    return email.strip().lower(), password
