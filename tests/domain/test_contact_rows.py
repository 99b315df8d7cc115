"""Contact lists read incrementally: bytes in (split anywhere), contacts out."""

import pytest

from hub.domain.contact_rows import RowReader, format_for, outcome_rows, unsent_rows
from hub.errors import InvalidRequest, UnsupportedMediaType

CSV = (
    "\ufefftocontactid,ChannelId,optin,customername,CaseName,entityrelationshipname,state,Extra\r\n"
    '+14155552000,sms,true,"Ada, L.",CAS-1,incident,"two\r\nlines ""quoted""",x\r\n'
    "\r\n"
    "+14155552001,SMS,false,Bob,CAS-2,,,\r\n"
    "4155552002,sms,true,Cy,CAS-3,incident,open"  # no final newline, fewer cells
).encode()

EXPECTED = [
    {
        "tocontactid": "+14155552000",
        "channelid": "sms",
        "optin": "true",
        "CustomerName": "Ada, L.",
        "CaseName": "CAS-1",
        "entityrelationshipname": "incident",
        "contextitems": {"state": 'two\r\nlines "quoted"', "Extra": "x"},
    },
    {
        "tocontactid": "+14155552001",
        "channelid": "SMS",
        "optin": "false",
        "CustomerName": "Bob",
        "CaseName": "CAS-2",
        "contextitems": {},
    },
    {
        "tocontactid": "4155552002",
        "channelid": "sms",
        "optin": "true",
        "CustomerName": "Cy",
        "CaseName": "CAS-3",
        "entityrelationshipname": "incident",
        "contextitems": {"state": "open"},
    },
]


def read_all(fmt: str, data: bytes, step: int) -> list[dict]:
    reader = RowReader(fmt)
    out = []
    for i in range(0, len(data), step):
        out += reader.feed(data[i : i + step])
    out += reader.close()
    assert reader.rows == len(out)
    return out


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 10_000])
def test_csv_split_anywhere(step):
    assert read_all("csv", CSV, step) == EXPECTED


@pytest.mark.parametrize("step", [1, 5, 10_000])
def test_json_lines(step):
    data = (
        b'{"tocontactid": "+14155552000", "CUSTOMERNAME": "Ada", "state": "ok"}\n\n'
        b'{"tocontactid": "+14155552001", "contextitems": {"state": "x"}, "more": 1}\r\n'
        b'{"tocontactid": "+14155552002", "contextitems": "oops", "more": 1}'
    )
    assert read_all("jsonl", data, step) == [
        {"tocontactid": "+14155552000", "CustomerName": "Ada", "contextitems": {"state": "ok"}},
        {"tocontactid": "+14155552001", "contextitems": {"more": 1, "state": "x"}},
        {"tocontactid": "+14155552002", "contextitems": "oops"},  # left for the send request
    ]


@pytest.mark.parametrize(
    "fmt, data, row",
    [
        ("csv", b"tocontactid,a\n1,2,3\n", 1),  # more cells than columns
        ("csv", b'tocontactid,a\n1,2\n3,"open\n', 2),  # unclosed quote
        ("csv", b"name,a\n1,2\n", 0),  # no tocontactid column
        ("csv", b"tocontactid,,b\n", 0),  # unnamed column
        ("csv", b"tocontactid,TOCONTACTID\n", 0),  # twice
        ("csv", b"tocontactid\n\xff\xfe\n", 1),  # not UTF-8
        ("jsonl", b'{"tocontactid": "1"}\n{"tocontactid": \n', 2),
        ("jsonl", b"[1, 2]\n", 1),
    ],
)
def test_bad_files_name_the_row(fmt, data, row):
    with pytest.raises(InvalidRequest) as info:
        read_all(fmt, data, 3)
    assert info.value.details["row"] == row


@pytest.mark.parametrize(
    "content_type, fmt",
    [
        ("text/csv", "csv"),
        ("text/csv; charset=utf-8", "csv"),
        ("application/x-ndjson", "jsonl"),
        ("application/jsonl", "jsonl"),
    ],
)
def test_format_for(content_type, fmt):
    assert format_for(content_type) == fmt


@pytest.mark.parametrize("content_type", [None, "", "application/json", "text/plain"])
def test_other_media_types_are_refused(content_type):
    with pytest.raises(UnsupportedMediaType):
        format_for(content_type)


def test_outcome_rows_follow_the_answer():
    contacts = [{"tocontactid": "+1"}, {"tocontactid": 415}, {}]
    answer = {
        "request_id": "req",
        "results": [
            {"index": 0, "status": "queued", "activity_id": "act_1"},
            {"index": 1, "status": "skipped_no_optin", "activity_id": "act_2"},
            {"index": 2, "status": "rejected", "error": {"code": "missing_field", "message": "m"}},
        ],
    }
    rows, counts = outcome_rows(101, contacts, answer)
    assert rows == [
        [101, "+1", "queued", "act_1", "", ""],
        [102, "415", "skipped_no_optin", "act_2", "", ""],
        [103, "", "rejected", "", "missing_field", "m"],
    ]
    assert counts == {"queued": 1, "skipped_no_optin": 1, "rejected": 1}
    assert unsent_rows(5, contacts[:1], "canceled", None) == [[5, "+1", "canceled", "", "", ""]]
