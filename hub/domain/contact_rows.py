"""Contact lists for bulk jobs: CSV or JSON lines, read incrementally (pure).

Bytes go in as they arrive (``feed``), contacts come out in the send
request's shape; nothing but the current partial record is held, so a file of
any size streams through in constant memory.

CSV: a header row names the columns. The ContactList fields are recognised
whatever their case (``customername`` → ``CustomerName``); every other column
becomes a context item (a template placeholder). Empty cells are left out.
JSON lines: one contact object per line; keys other than the ContactList
fields and ``contextitems`` are folded into ``contextitems`` too.
"""

from __future__ import annotations

import codecs
import csv
from typing import Any

from hub.domain.json_input import parse_json
from hub.errors import InvalidRequest, UnsupportedMediaType

CONTACT_FIELDS = (
    "tocontactid",
    "channelid",
    "optin",
    "locale",
    "CustomerName",
    "CaseName",
    "entityrelationshipname",
    "msdyn_ocoutboundconfigurationid",
)
_CANONICAL = {f.lower(): f for f in CONTACT_FIELDS}

FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/comma-separated-values": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/x-jsonlines": "jsonl",
}


def format_for(content_type: str | None) -> str:
    """``csv`` or ``jsonl`` from a Content-Type header."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in FORMATS:
        raise UnsupportedMediaType(
            "send the contacts as text/csv or application/x-ndjson",
            details={"content_type": media or None, "supported": sorted(FORMATS)},
        )
    return FORMATS[media]


def _row_error(row: int, message: str) -> InvalidRequest:
    return InvalidRequest(f"row {row}: {message}", details={"row": row})


class RowReader:
    """Bytes in, contacts out. ``rows`` counts the contacts returned so far."""

    def __init__(self, fmt: str) -> None:
        if fmt not in ("csv", "jsonl"):
            raise ValueError(fmt)
        self.fmt = fmt
        self.rows = 0
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._text = ""
        self._scanned = 0  # how far ``_text`` has been searched for record ends
        self._quotes = 0  # quote characters seen in the current record so far
        self._header: list[str] | None = None

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        try:
            self._text += self._decoder.decode(data)
        except UnicodeDecodeError:
            raise InvalidRequest("the file is not UTF-8 text", details={"row": self.rows + 1}) from None
        return self._records(final=False)

    def close(self) -> list[dict[str, Any]]:
        try:
            self._text += self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InvalidRequest("the file is not UTF-8 text", details={"row": self.rows + 1}) from None
        return self._records(final=True)

    def _records(self, *, final: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        text, start, pos, quotes = self._text, 0, self._scanned, self._quotes
        while True:
            end = text.find("\n", pos)
            if end < 0:
                quotes += text.count('"', pos)
                pos = len(text)
                break
            quotes += text.count('"', pos, end)
            pos = end + 1
            # In CSV a line break inside quotes belongs to the field: a record
            # ends only where the quotes seen so far are balanced.
            if self.fmt == "csv" and quotes % 2:
                continue
            self._take(text[start:end], out)
            start, quotes = pos, 0
        if final and start < len(text):
            if self.fmt == "csv" and quotes % 2:
                raise _row_error(self.rows + 1, "a quoted field is not closed")
            self._take(text[start:], out)
            start = len(text)
        self._text, self._scanned, self._quotes = text[start:], pos - start, quotes
        return out

    def _take(self, record: str, out: list[dict[str, Any]]) -> None:
        if not record.strip():
            return
        contact = self._csv(record) if self.fmt == "csv" else self._json(record)
        if contact is not None:
            self.rows += 1
            out.append(contact)

    def _csv(self, record: str) -> dict[str, Any] | None:
        try:
            cells = next(csv.reader([record]))
        except csv.Error as exc:
            raise _row_error(self.rows + 1, f"not valid CSV ({exc})") from None
        if self._header is None:
            self._header = _header(cells)
            return None
        row = self.rows + 1
        if len(cells) > len(self._header):
            raise _row_error(row, f"{len(cells)} cells but the header names {len(self._header)} columns")
        contact: dict[str, Any] = {}
        context: dict[str, Any] = {}
        for name, value in zip(self._header, cells):
            value = value.strip()
            if not value:
                continue
            if name in CONTACT_FIELDS:
                contact[name] = value
            else:
                context[name] = value
        contact["contextitems"] = context
        return contact

    def _json(self, record: str) -> dict[str, Any]:
        row = self.rows + 1
        try:
            value = parse_json(record)
        except InvalidRequest as exc:
            raise InvalidRequest(f"row {row}: {exc.message}", details={"row": row, **exc.details}) from None
        if not isinstance(value, dict):
            raise _row_error(row, "each line must be a JSON object")
        contact: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, item in value.items():
            canonical = _CANONICAL.get(key.lower())
            if canonical is not None:
                contact[canonical] = item
            elif key != "contextitems":
                extra[key] = item
        given = value.get("contextitems")
        if extra and (given is None or isinstance(given, dict)):
            contact["contextitems"] = {**extra, **(given or {})}
        elif given is not None:
            contact["contextitems"] = given  # the send request reports a wrong type
        return contact


def _header(cells: list[str]) -> list[str]:
    names: list[str] = []
    for number, cell in enumerate(cells, start=1):
        name = cell.strip()
        if not name:
            raise InvalidRequest(f"header column {number} has no name", details={"row": 0})
        name = _CANONICAL.get(name.lower(), name)
        if name in names:
            raise InvalidRequest(f"header names column {name!r} twice", details={"row": 0})
        names.append(name)
    if "tocontactid" not in names:
        raise InvalidRequest("the header must name a tocontactid column", details={"row": 0})
    return names


# -- outcomes ------------------------------------------------------------------------

RESULT_COLUMNS = ("row", "tocontactid", "status", "activity_id", "error_code", "error_message")


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def outcome_rows(
    first_row: int, contacts: list[dict[str, Any]], answer: dict[str, Any]
) -> tuple[list[list[Any]], dict[str, int]]:
    """One result row per contact of a send request's answer, and counts by status."""
    rows: list[list[Any]] = []
    counts: dict[str, int] = {}
    for result in answer["results"]:
        index, status = result["index"], result["status"]
        error = result.get("error") or {}
        rows.append(
            [
                first_row + index,
                _as_text(contacts[index].get("tocontactid")),
                status,
                result.get("activity_id") or "",
                error.get("code", ""),
                error.get("message", ""),
            ]
        )
        counts[status] = counts.get(status, 0) + 1
    return rows, counts


def unsent_rows(
    first_row: int, contacts: list[dict[str, Any]], status: str, error: dict[str, Any] | None
) -> list[list[Any]]:
    """Rows of contacts a job never sent (it was canceled, failed, or is not there yet)."""
    code = (error or {}).get("code", "")
    message = (error or {}).get("message", "")
    return [[first_row + i, _as_text(c.get("tocontactid")), status, "", code, message] for i, c in enumerate(contacts)]
