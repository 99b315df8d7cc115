"""Property-based fuzzing of every operation the hub's own ``/openapi.json``
lists, against a real hub process. For each operation schemathesis generates
requests that follow the description (positive) and requests that break it on
purpose (negative: wrong types, missing fields, bad parameters), and every
operation with a JSON body also gets valid bodies with one node mutated into
JSON the json module takes and the hub must refuse (lone surrogates, NaN,
deep nesting, ...). No answer may be a 5xx, every JSON refusal must be in
the error shape, and afterwards every list still answers (bad input once
left records behind that broke them for good).

Deterministic (Hypothesis derandomized, no example database), so CI sends the
same requests every run. ``HUB_FUZZ_EXAMPLES`` sets the examples per
operation and mode (default 16: about 2,100 requests, a minute on 2 cores).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tests.agents import create_agent, login
from tests.support import ADMIN_TOKEN, Api, HubProcess, contact, outbound_setup

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "16"))
MIN_REQUESTS = 2000
SEED_PHONE = "+14155552671"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    if isinstance(value, (bytes, str)):
        return value.encode() if isinstance(value, str) else value
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode()
    return json.dumps(value).encode()


# -- mutations schemathesis does not make: JSON the json module takes and the
# hub must not (each was a 500, some of them after storing the record).

_MARK = "\x00mutation\x00"


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _nodes(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _nodes(child, (*path, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@st.composite
def mutated_body(draw: Any, body: Any) -> bytes:
    """``body`` (a valid one) as JSON text with one node replaced by a lone
    surrogate, NaN or Infinity, a number no float holds, deep nesting, an
    over-long name, or a key made of a lone surrogate."""
    path = draw(st.sampled_from(_nodes(body)))
    token = draw(
        st.sampled_from(
            [
                '"\\udfff"',
                '"a\\ud800b"',
                "NaN",
                "Infinity",
                "-Infinity",
                "1e999",
                "[" * 40 + "]" * 40,
                "[" * 20000 + "]" * 20000,
                '{"a":' * 3000 + "1" + "}" * 3000,
                json.dumps("Europe/" + "x" * 300),
                '{"\\udc00": 1}',
            ]
        )
    )
    text = json.dumps(_replace(body, path, _MARK))
    return text.replace(json.dumps(_MARK), token, 1).encode()


def seed(api: Api, sandbox_url: str) -> dict[str, str]:
    """One record of each kind, for the operations on one record to find."""
    ids = outbound_setup(api, sandbox_url)
    config = ids["config"]["id"]
    create_agent(api, "fuzz@example.com")
    canned = api.ok("POST", "/v1/canned-responses", 201, json={"title": "Hi", "body": "Hello"})
    flow = api.ok(
        "POST",
        "/v1/flows",
        201,
        json={
            "kind": "scheduled",
            "configuration_id": config,
            "delay_seconds": 86400,
            "contacts": [contact(SEED_PHONE)],
        },
    )
    job = api.ok(
        "POST",
        "/v1/bulk-jobs",
        201,
        params={"configuration_id": config},
        content=json.dumps(contact(SEED_PHONE)).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    endpoint = api.ok(
        "POST",
        "/v1/event-endpoints",
        201,
        json={
            "url": "https://crm.example.com/hub-events",
            "secret": "fuzz-secret-0123456789",
            "event_types": ["activity.status"],
        },
    )
    return {
        "/v1/event-endpoints/": endpoint["id"],
        "/v1/channels/": ids["channel"]["id"],
        "/v1/templates/": ids["template"]["id"],
        "/v1/outbound-configurations/": config,
        "/v1/canned-responses/": canned["id"],
        "/v1/flows/": flow["id"],
        "/v1/bulk-jobs/": job["id"],
        "/v1/orgs/": api.org["id"],  # type: ignore[attr-defined]
        "/webhooks/": ids["channel"]["id"],
        "/v1/contacts/": SEED_PHONE,
    }


def real_ids(path: str, records: dict[str, str]) -> dict[str, str] | None:
    names = re.findall(r"{(\w+)}", path)
    for prefix, record_id in records.items():
        if path.startswith(prefix) and len(names) == 1:
            return {names[0]: record_id}
    return None


def credentials(operation: dict[str, Any], org_key: str, agent_token: str) -> str:
    """The token the operation's ``security`` asks for (the org's key by default)."""
    schemes = {name for need in operation.get("security", [{"orgApiKey": []}]) for name in need}
    if "adminToken" in schemes:
        return ADMIN_TOKEN
    if "agentToken" in schemes:
        return agent_token
    return org_key


def list_paths(document: dict[str, Any]) -> list[str]:
    """Every GET without path parameters that answers with a page or a list."""
    return [
        path
        for path, ops in document["paths"].items()
        if "get" in ops and "{" not in path and path.startswith("/v1/") and path != "/v1/agents/me"
    ]


# About 2,000 requests: a minute on a quiet 2-core machine, several on a busy one.
@pytest.mark.timeout(900)
def test_fuzzing_the_openapi_description_finds_no_server_error(api: Api, hub: HubProcess, sandbox) -> None:
    org_key = api.org["api_key"]  # type: ignore[attr-defined]
    records = seed(api, sandbox.url)
    agent_token = login(hub.url, "fuzz@example.com")

    document = httpx.get(hub.url + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    sent: Counter[str] = Counter()
    answers: defaultdict[str, Counter[int]] = defaultdict(Counter)
    failures: list[str] = []

    def check(case: Any, mutated: bytes | None = None) -> None:
        token = credentials(case.operation.definition.raw, org_key, agent_token)
        if case.path == "/v1/agents/logout":
            token = "at_not-the-fuzzers-own"  # keep the agent's token for the other calls
        headers = {"Authorization": f"Bearer {token}"}
        if mutated is None:
            response = case.call(base_url=hub.url, session=session, headers=headers, timeout=30)
        else:
            raw = session.request(
                case.method,
                hub.url + case.formatted_path,
                params=case.query,
                data=mutated,
                timeout=30,
                headers={**headers, "Content-Type": "application/json"},
            )
            response = schemathesis.Response.from_requests(raw, verify=False)
        sent[f"{case.method} {case.path}"] += 1
        status = response.status_code
        answers[f"{case.method} {case.path}"][status] += 1
        text = response.text[:300]
        if status >= 500:
            failures.append(f"{status} {case.method} {case.formatted_path}: {text}\n  {case.as_curl_command()[:600]}")
        elif status >= 400 and "json" in (response.headers.get("content-type") or [""])[0]:
            body = response.json()
            error = body.get("error") if isinstance(body, dict) else None
            if not (
                isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
            ):
                failures.append(f"{status} {case.method} {case.formatted_path} not in the error shape: {text}")

    fuzz = settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # /openapi.json itself is wrong
        operation = result.ok()
        # Valid requests and mutated bodies go to records that exist; the
        # negative mode breaks the path parameters too.
        real = real_ids(operation.path, records)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            ids = real if mode == GenerationMode.POSITIVE else None
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=ids)
            run = given(case=strategy)(lambda case: check(case))
            try:
                fuzz(run)()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing in it to break (GET /healthz)
        if "application/json" in operation.get_request_payload_content_types():

            @given(case=operation.as_strategy(path_parameters=real), data=st.data())
            def run_mutated(case: Any, data: Any) -> None:
                body = case.body if isinstance(case.body, (dict, list)) else {}
                check(case, data.draw(mutated_body(body)))

            fuzz(run_mutated)()

    total = sum(sent.values())
    print(f"{total} requests over {len(sent)} operations")
    for key, count in sorted(sent.items()):
        print(f"  {count:4d} {key}  {dict(sorted(answers[key].items()))}")
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:30])
    assert total >= MIN_REQUESTS

    # Nothing the fuzzer sent broke a list.
    for path in list_paths(document):
        params = {"configuration_id": "cfg_x"} if path.startswith("/v1/outbound/report") else None
        response = api.get(path, params=params)
        assert response.status_code in (200, 404), (path, response.status_code, response.text)
    me = httpx.get(hub.url + "/v1/agents/me", headers={"Authorization": f"Bearer {agent_token}"})
    assert me.status_code == 200, me.text
