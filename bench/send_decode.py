"""How long the hub takes to read a send request of 100 contacts, in process:
the body parsed (``parse_json``: json.loads and its checks, or ``decode_json``:
msgspec first, as ``/v1/outbound/send`` reads it) and its envelope checked
against ``SendRequest``. The contacts' own checks come after and are not timed.

    python bench/send_decode.py [--contacts 100] [--rounds 2000]
"""

from __future__ import annotations

import argparse
import json
import timeit

from hub.domain.contacts import parse_send_request
from hub.domain.json_input import decode_json, parse_json


def body(contacts: int) -> bytes:
    return json.dumps(
        {
            "configuration_id": "cfg_0a1b2c3d4e5f60718293",
            "contacts": [
                {
                    "tocontactid": f"+1415555{2000 + i:04d}",
                    "channelid": "sms",
                    "optin": True,
                    "locale": "en-US",
                    "CustomerName": "Ada Lovelace",
                    "CaseName": f"CAS-{i:05d}",
                    "entityrelationshipname": "incident_msdyn_ocoutboundmessages",
                    "msdyn_ocoutboundconfigurationid": "cfg_0a1b2c3d4e5f60718293",
                    "contextitems": {"state": "resolved", "ship_date": "12 May"},
                }
                for i in range(contacts)
            ],
        }
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    raw = body(args.contacts)
    for name, parse in (("parse_json", parse_json), ("decode_json", decode_json)):
        assert parse_send_request(parse(raw)) == parse_send_request(parse_json(raw))
        best = min(timeit.repeat(lambda parse=parse: parse_send_request(parse(raw)), number=args.rounds, repeat=5))
        print(f"{name:12s} {best / args.rounds * 1e6:8.1f} µs per body of {len(raw)} bytes")


if __name__ == "__main__":
    main()
