"""The agent websocket's commands, declared once: the frames ``parse_command``
takes are exactly those /asyncapi.json's schemas allow, but for the rules a
JSON Schema cannot say (documented on the commands): a transfer names one
target, a reply without media has text, media URLs point at public hosts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hub.api.asyncapi import build_document
from hub.errors import InvalidRequest
from hub.routing import protocol

DOC = build_document()
SCHEMAS = DOC["components"]["schemas"]
TAGS = [str(c.__struct_config__.tag) for c in protocol.COMMAND_TYPES]
VALIDATORS = {
    str(c.__struct_config__.tag): Draft202012Validator({**SCHEMAS[c.__name__], "$defs": SCHEMAS}, format_checker=None)
    for c in protocol.COMMAND_TYPES
}
DECLARED = {str(c.__struct_config__.tag): c.__name__ for c in protocol.COMMAND_TYPES}
FIELDS = sorted({f for c in protocol.COMMAND_TYPES for f in c.__struct_fields__} | {"media_urls"})

PHOTO = "https://media.example.com/p/1.png"
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from(["", " ", "x", "conv_1", "available", "away", "a" * 201, "b" * 1601, PHOTO]),
    st.lists(st.sampled_from([PHOTO, "http://x.example/a.png", "", 1]), max_size=11),
    st.dictionaries(st.sampled_from(["name", "k" * 101]), st.sampled_from(["Ann", 1]), max_size=2),
)
GOOD = {"status": "available", "body": "hi", "media": [PHOTO], "after": 3, "values": {"name": "Ann"}}


@st.composite
def frames(draw: st.DrawFn) -> dict[str, Any]:
    """A command's frame whose fields are mostly right, some wrong or missing,
    with now and then a field of another command or an unknown type."""
    command = draw(st.sampled_from(protocol.COMMAND_TYPES))
    frame: dict[str, Any] = {"type": draw(st.sampled_from([str(command.__struct_config__.tag)] * 9 + ["nope"]))}
    for field in (*command.__struct_fields__, draw(st.sampled_from(FIELDS))):
        choice = draw(st.sampled_from(["good", "good", "good", "bad", "none", "omit"]))
        if choice == "good":
            frame[field] = GOOD.get(field, "conv_1")
        elif choice == "bad":
            frame[field] = draw(values)
        elif choice == "none":
            frame[field] = None
    return frame


def schema_allows(frame: dict[str, Any]) -> bool:
    validator = VALIDATORS.get(frame["type"])
    return validator is not None and validator.is_valid(frame)


def beyond_the_schema(frame: dict[str, Any]) -> bool:
    """A rule the schema cannot say, which this frame breaks."""
    kind = frame["type"]
    if kind == "transfer":
        return (frame.get("agent_id") is None) == (frame.get("queue") is None)
    if kind == "reply":
        media = frame.get("media")
        no_text = not str(frame.get("body") or "").strip()
        return "media_urls" in frame or (not media and no_text) or any(u != PHOTO for u in media or [])
    return False


@settings(max_examples=600, deadline=None)
@given(frames())
def test_the_parser_takes_what_the_declared_schema_allows(frame: dict[str, Any]) -> None:
    try:
        command = protocol.parse_command(json.dumps(frame))
    except InvalidRequest as refused:
        field = (refused.details or {}).get("field")
        declared = SCHEMAS.get(DECLARED.get(frame["type"], ""), {}).get("properties", {})
        assert field == "type" or field in frame or field in declared, (frame, field)
        assert not schema_allows(frame) or beyond_the_schema(frame), (frame, refused.message)
    else:
        assert schema_allows(frame), frame
        assert command.__struct_config__.tag == frame["type"]


def test_every_command_and_event_is_in_the_document_with_a_valid_schema() -> None:
    messages = DOC["components"]["messages"]
    tags = {m["name"] for m in messages.values()}
    assert tags == {str(c.__struct_config__.tag) for c in (*protocol.COMMAND_TYPES, *protocol.EVENT_TYPES)}
    assert {"reply", "transfer", "hello", "message.created", "error", "board"} <= tags
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)
    sent = {m["$ref"].rsplit("/", 1)[1] for m in DOC["operations"]["sendCommand"]["messages"]}
    received = {m["$ref"].rsplit("/", 1)[1] for m in DOC["operations"]["receiveEvent"]["messages"]}
    assert not sent & received and sent | received == set(messages)


def test_an_event_unlike_its_declaration_is_caught() -> None:
    good = {"type": "message.status", "id": 4, "conversation_id": "conv_1", "message_id": "m1", "status": "sent"}
    assert protocol.undeclared(good) is None
    assert protocol.undeclared({**good, "id": "4"}) is not None
    assert protocol.undeclared({**good, "surprise": 1}) is not None
    assert protocol.undeclared({"type": "conversation.assigned", "id": 1}) is not None
    assert protocol.undeclared({"type": "no.such.event"}) is not None


def test_refusals_name_the_field_in_plain_words() -> None:
    cases = [
        ({"type": "close"}, "conversation_id", "conversation_id is required"),
        ({"type": "close", "conversation_id": "  "}, "conversation_id", "conversation_id must not be blank"),
        ({"type": "resume", "after": True}, "after", "Expected `int`, got `bool`"),
        ({"type": "presence", "status": "busy"}, "status", "status"),
        ({"type": "wave"}, "type", "unknown command type 'wave'"),
        ({"type": "reply", "conversation_id": "c", "client_id": "r", "body": "x\udfff"}, "body", "lone surrogate"),
    ]
    for frame, field, words in cases:
        try:
            protocol.parse_command(json.dumps(frame))
        except InvalidRequest as refused:
            assert refused.details == {"field": field} and words in refused.message, refused.message
        else:
            raise AssertionError(f"{frame} was taken")


def test_an_events_id_is_read_from_its_lead_or_by_parsing_it() -> None:
    # As the routing scripts write events: the id first.
    assert protocol.event_id('{"id":12,"type":"conversation.assigned","conversation":{"id":"conv_1"}}') == 12
    assert protocol.event_id('{"id":7}') == 7
    # Anything else is parsed, whatever the order or spacing.
    assert protocol.event_id('{"type":"message.created","id":9}') == 9
    assert protocol.event_id('{"id": 30, "type": "x"}') == 30
    assert protocol.event_id('{"type":"hello"}') == 0
    assert protocol.event_id('{"id":"12","type":"x"}') == 0
