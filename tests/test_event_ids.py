"""An agent event's id, read from the front of the event the routing
scripts wrote, or by parsing anything else (a socket resumes from it)."""

import json

import pytest

from hub.routing.protocol import event_id


def test_the_id_written_first_is_read_whole() -> None:
    event = {"id": 12345, "type": "conversation.assigned", "conversation": {"messages": [{"body": "a,b}"}]}}
    assert event_id(json.dumps(event, separators=(",", ":"))) == 12345
    assert event_id('{"id":7}') == 7


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type": "x", "id": 42}', 42),  # another writer's order
        ('{"id": 42, "type": "x"}', 42),  # spaces after the colon
        ('{"type": "x"}', 0),
        ('{"id": "42"}', 0),
    ],
)
def test_anything_else_is_parsed(raw: str, expected: int) -> None:
    assert event_id(raw) == expected


def test_a_cut_event_is_refused_not_read_short() -> None:
    with pytest.raises(json.JSONDecodeError):
        event_id('{"id":12')
