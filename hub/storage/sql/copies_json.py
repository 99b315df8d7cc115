"""The JSON of what the archiver copies to SQL (activities, their events,
conversations, messages), through msgspec: several times faster than the
json module for the same data, and the archiver parses and writes every
record it copies. The text differs from json.dumps' only in spacing and in
writing non-ASCII characters as themselves; readers parse it either way."""

from __future__ import annotations

from typing import Any

import msgspec

decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def text(value: Any) -> str:
    return _encode(value).decode()


def sorted_text(value: Any) -> str:
    """Keys in sorted order, so that the same record always gives the same text."""
    return _encode_sorted(value).decode()
