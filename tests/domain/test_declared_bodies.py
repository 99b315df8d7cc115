"""The bodies of flows, events, queue policies, agent skills, a conversation's
priority and agent admin changes, declared once: what their checks take,
/openapi.json's schemas allow; what they refuse is either refused by the
schemas too or breaks a rule a JSON Schema cannot say (documented on the
Structs); and every refusal names its field."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hub.api.openapi import DOCUMENT_JSON
from hub.domain.agents import validate_agent_patch, validate_new_password
from hub.domain.flows import validate_event, validate_flow, validate_flow_patch
from hub.domain.routing_policy import validate_agent_skills, validate_conversation_patch, validate_queue
from hub.domain.schedules import parse_zone
from hub.errors import InvalidRequest

DOC = json.loads(DOCUMENT_JSON)
SCHEMAS = DOC["components"]["schemas"]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CONTACT = {"tocontactid": "+15551234567", "channelid": "sms", "optin": True, "CustomerName": "Ana", "CaseName": "C-1"}


def allows(schema_name: str, body: Any) -> bool:
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": DOC["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return validator.is_valid(body)


def declared(schema_name: str) -> set[str]:
    """The fields a schema names (those of each Struct of a union)."""
    schema = SCHEMAS[schema_name]
    members = [SCHEMAS[r["$ref"].rsplit("/", 1)[1]] for r in schema.get("anyOf", [])] or [schema]
    return {f for m in members for f in m.get("properties", {})}


def _zone_ok(name: Any) -> bool:
    try:
        parse_zone(name or "UTC")
    except InvalidRequest:
        return False
    return True


def _flow_beyond(body: dict[str, Any]) -> bool:
    if body.get("kind") != "scheduled":
        return False
    when = [f for f in ("at", "cron", "delay_seconds") if body.get(f) is not None]
    return (
        len(when) != 1
        or (body.get("timezone") is not None and body.get("delay_seconds") is not None)
        or not _zone_ok(body.get("timezone"))
        or "at" in when  # parsed and not in the past
        or "cron" in when  # parsed
    )


def _queue_beyond(body: dict[str, Any]) -> bool:
    overflow = body.get("overflow") or {}
    hours = body.get("hours") or {}
    spans = [s for day in (hours.get("weekly") or {}).values() for s in day or []]
    return (
        body.get("name", "sales") != "sales"
        or overflow.get("queue") == "sales"
        or (bool(overflow) and ("after_seconds" in overflow) == ("waiting_over" in overflow))
        or not _zone_ok(hours.get("timezone"))
        or any(s[0] >= s[1] for s in spans if isinstance(s, list) and len(s) == 2)
    )


# name: (check, schema, values each field may take, rule beyond the schema)
CASES: dict[str, tuple[Callable[[Any], Any], str, dict[str, list[Any]], Callable[[dict[str, Any]], bool]]] = {
    "automated flow": (
        lambda b: validate_flow(b, NOW),
        "FlowInput",
        {
            "kind": ["automated", "scheduled", "manual", 1],
            "name": ["Welcome", " ", "x" * 201, None, 3],
            "configuration_id": ["cfg_1", "", None],
            "event_type": ["case.created", "x" * 101, ""],
            "delay_seconds": [60, 0, -1, True, 366 * 86400 + 1, None],
            "cron": [None, "0 9 * * *"],
        },
        _flow_beyond,
    ),
    "scheduled flow": (
        lambda b: validate_flow(b, NOW),
        "FlowInput",
        {
            "kind": ["scheduled", "automated"],
            "name": ["Reminder", " ", None],
            "configuration_id": ["cfg_1", "", None],
            "contacts": [[CONTACT], [], ["x"], {}, None],
            "at": [None, "2026-07-01T09:00:00", "yesterday", "2026-05-01T00:00:00Z"],
            "cron": [None, "0 9 * * 1-5", "0 25 * * *", 5],
            "timezone": [None, "Europe/Paris", "Nowhere/Town"],
            "delay_seconds": [60, 0, -1, True, None],
        },
        _flow_beyond,
    ),
    "flow patch": (validate_flow_patch, "FlowPatch", {"enabled": [True, False, "no", None], "cron": ["x"]}, bool),
    "event": (
        validate_event,
        "Event",
        {
            "id": ["evt-1", " ", "x" * 201, 1],
            "type": ["case.created", "", "x" * 101],
            "data": [{"contacts": [CONTACT]}, {"contacts": {}}, {"other": 1}, [], None],
        },
        lambda b: False,
    ),
    "queue": (
        lambda b: validate_queue("sales", b),
        "QueueInput",
        {
            "name": ["sales", "other", None],
            "required_skills": [
                [{"name": "es", "min_level": 2}],
                [{"name": ""}],
                [{"name": "es", "min_level": 9}],
                None,
            ],
            "inactive_close_seconds": [600, 59, 31 * 86400, "600", None],
            "overflow": [
                {"queue": "general", "after_seconds": 300},
                {"queue": "general", "waiting_over": 3},
                {"queue": "sales", "waiting_over": 3},
                {"queue": "general"},
                {"queue": "general", "after_seconds": 0},
                {"queue": "bad name", "after_seconds": 5},
                None,
            ],
            "hours": [
                {"timezone": "Europe/Madrid", "weekly": {"mon": [["08:00", "24:00"]]}, "holidays": ["2026-12-25"]},
                {"weekly": {"tue": [["18:00", "08:00"]]}},
                {"weekly": {"mon": [["8:00", "18:00"]]}},
                {"weekly": {"monday": []}},
                {"timezone": "Mars/Olympus", "weekly": {}},
                {"weekly": {}, "holidays": ["25/12/2026"]},
                None,
            ],
            "closed_reply": [{"en": "We are closed"}, {"en": " "}, {"not a locale": "x"}, None],
        },
        _queue_beyond,
    ),
    "agent skills": (
        validate_agent_skills,
        "AgentSkills",
        {"spanish": [1, 5, 0, 6, True, "3"], "bad name": [1], "billing": [2]},
        lambda b: False,
    ),
    "conversation": (
        validate_conversation_patch,
        "ConversationPatch",
        {"priority": [0, 100, 101, 5.5, True, None], "x": [1]},
        lambda b: False,
    ),
    "agent patch": (
        lambda b: validate_agent_patch(b, "agent"),
        "AgentPatch",
        {"capacity": [1, 100, 0, 101, True], "queues": [["billing"], [], ["bad name"], "billing"], "x": [1]},
        lambda b: not b or b.get("queues") == [],
    ),
    "password": (
        lambda b: validate_new_password(b, "dana@example.com"),
        "AgentPassword",
        {"password": ["a new long passphrase", "short", "1234567890", " " * 12, "dana@example.com", 7], "x": [1]},
        lambda b: b.get("password") in ("1234567890", " " * 12, "dana@example.com"),
    ),
}


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A body of some kind, each field present (mostly with a good value), wrong or absent."""
    case = draw(st.sampled_from(sorted(CASES)))
    fields = CASES[case][2]
    body = {}
    for field, values in fields.items():
        if draw(st.integers(0, 4)):
            body[field] = values[0] if draw(st.integers(0, 3)) else draw(st.sampled_from(values))
    return case, body


@settings(max_examples=800, deadline=None, derandomize=True)
@given(bodies())
def test_the_checks_take_what_the_published_schemas_allow(drawn: tuple[str, dict[str, Any]]) -> None:
    case, body = drawn
    check, schema, fields, beyond = CASES[case]
    try:
        check(body)
    except InvalidRequest as refused:
        field = (refused.details or {}).get("field")
        assert field is not None and field.split(".")[0] in {*body, *declared(schema)}, (body, field)
        assert not allows(schema, body) or beyond(body), (case, body, refused.message)
    else:
        assert allows(schema, body), (case, body)


@pytest.mark.parametrize(
    ("check", "body", "field", "words"),
    [
        (lambda b: validate_flow(b, NOW), {"kind": "manual"}, "kind", "kind must be automated or scheduled"),
        (
            lambda b: validate_flow(b, NOW),
            {"kind": "automated", "event_type": "e", "configuration_id": "c", "cron": "* * * * *"},
            "cron",
            "unknown field 'cron'",
        ),
        (
            lambda b: validate_flow(b, NOW),
            {"kind": "scheduled", "configuration_id": "c", "contacts": [CONTACT] * 10_001, "delay_seconds": 5},
            "contacts",
            "use a bulk job",
        ),
        (validate_event, {"id": "e", "type": "t", "data": {"contacts": ["x"]}}, "data.contacts", "data.contacts"),
        (validate_flow_patch, {"enabled": "no"}, "enabled", "enabled must be true or false"),
        (
            lambda b: validate_queue("sales", b),
            {"overflow": {"queue": "b", "after_seconds": 0}},
            "overflow.after_seconds",
            ">= 1",
        ),
        (
            lambda b: validate_queue("sales", b),
            {"overflow": {"queue": "b", "after_seconds": 5, "x": 1}},
            "overflow.x",
            "unknown field 'x' in overflow",
        ),
        (lambda b: validate_queue("sales", b), {"hours": {}}, "hours.weekly", "hours.weekly maps"),
        (lambda b: validate_queue("sales", b), {"closed_reply": {"en": " "}}, "closed_reply", "closed_reply maps"),
        (validate_agent_skills, {"spanish": 9}, "spanish", "spanish must be an integer from 1 to 5"),
        (validate_conversation_patch, {"priority": 101}, "priority", "priority must be an integer from 0 to 100"),
        (lambda b: validate_agent_patch(b, "agent"), {"capacity": 0}, "capacity", "capacity must be an integer"),
        (lambda b: validate_new_password(b, "a@b.co"), {"password": "short"}, "password", "10 to 256 characters"),
    ],
)
def test_a_bad_body_is_refused_naming_its_field(
    check: Callable[[Any], Any], body: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check(body)
    assert refused.value.code == "invalid_request"
    assert (refused.value.details or {}).get("field") == field
    assert words in refused.value.message


def test_the_published_schemas_are_the_declared_ones() -> None:
    for name in ("FlowInput", "AutomatedFlowInput", "Flow", "FlowRun", "BulkJob", "Event", "EventAnswer", "Queue"):
        Draft202012Validator.check_schema(SCHEMAS[name])
    assert SCHEMAS["FlowInput"]["discriminator"]["propertyName"] == "kind"
    assert SCHEMAS["ScheduledFlowInput"]["required"] == ["kind", "configuration_id", "contacts"]
    assert "exactly one of `at`, `cron` or `delay_seconds`" in SCHEMAS["ScheduledFlowInput"]["description"].lower()
    for name in ("EventEndpoint", "FeedEvent", "FeedEventPage", "AgentPatch", "AgentPassword", "AgentSkills"):
        assert name in SCHEMAS
