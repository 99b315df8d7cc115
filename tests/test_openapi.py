"""/openapi.json: a valid OpenAPI 3.1 document that
describes every route the app registers, with the methods it registers, and
whose schemas match what the hub actually answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from starlette.routing import Route, WebSocketRoute

from hub.api.openapi import DOCUMENT_JSON
from hub.app import routes
from hub.domain.statuses import ActivityStatus
from hub.storage.activities import PUBLIC_FIELDS
from hub.webhooks import front as webhook_front
from tests.support import (
    ADMIN_TOKEN,
    SANDBOX_SID,
    SENDER,
    Api,
    HubProcess,
    contact,
    outbound_setup,
    phone,
    wait_for,
)

CONTACT_LIST_FIELDS = (
    "tocontactid",
    "channelid",
    "optin",
    "locale",
    "contextitems",
    "entityrelationshipname",
    "msdyn_ocoutboundconfigurationid",
    "CustomerName",
    "CaseName",
)
REQUIRED_CONTACT_FIELDS = {"tocontactid", "channelid", "optin", "CustomerName", "CaseName"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def doc() -> dict[str, Any]:
    """The document as the app serves it, built in this process (no server:
    the live test below checks that a running hub serves the same)."""
    return dict(json.loads(DOCUMENT_JSON))


def resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def parameters(doc: dict[str, Any], path: str, method: str) -> dict[tuple[str, str], dict[str, Any]]:
    item = doc["paths"][path]
    found = [resolve(doc, p) for p in [*item.get("parameters", []), *item[method].get("parameters", [])]]
    return {(p["in"], p["name"]): p for p in found}


def registered_routes() -> tuple[dict[str, set[str]], list[str]]:
    http: dict[str, set[str]] = {}
    sockets: list[str] = []
    for route in routes([]):
        if isinstance(route, WebSocketRoute):
            sockets.append(route.path)
        elif isinstance(route, Route):
            http.setdefault(route.path, set()).update(m.lower() for m in route.methods or () if m != "HEAD")
    for path in webhook_front.PATHS:  # served before the router (hub.app.HubApp)
        http.setdefault(path, set()).add("post")
    return http, sockets


def schema_validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # Local "#/components/..." references resolve against the document's components.
    return Draft202012Validator({**schema, "components": doc["components"]})


def check_response(doc: dict[str, Any], path: str, method: str, response: httpx.Response) -> Any:
    """Assert the status is documented for the operation and the body matches its schema."""
    responses = doc["paths"][path][method]["responses"]
    documented = resolve(doc, responses.get(str(response.status_code)))
    assert documented is not None, (path, method, response.status_code, response.text)
    content = documented.get("content")
    if not content:
        assert not response.content, (path, method, response.text)
        return None
    body = response.json()
    errors = sorted(schema_validator(doc, content["application/json"]["schema"]).iter_errors(body), key=str)
    assert not errors, (path, method, response.status_code, [e.message for e in errors[:5]], body)
    return body


# -- the document -------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1.")
    validate_openapi(doc)
    schemes = doc["components"]["securitySchemes"]
    for name in ("orgApiKey", "adminToken", "agentToken"):
        assert schemes[name]["type"] == "http" and schemes[name]["scheme"] == "bearer"
    assert doc["security"] == [{"orgApiKey": []}]
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))


def test_every_registered_route_is_described_with_its_methods(doc: dict[str, Any]) -> None:
    http, sockets = registered_routes()
    described = {path: {m for m in item if m in HTTP_METHODS} for path, item in doc["paths"].items()}
    v1 = {path: methods for path, methods in http.items() if path.startswith("/v1")}
    assert {p: m for p, m in described.items() if p.startswith("/v1")} == v1
    # Whatever else is described is a registered route too, with its methods.
    for path, methods in described.items():
        assert http.get(path) == methods, path
    for path in ("/webhooks/twilio/{channel_id}/inbound", "/webhooks/twilio/{channel_id}/status"):
        assert described[path] == {"post"}
    # The websocket is not an HTTP operation; the description explains it.
    assert sockets == ["/v1/agent/ws"]
    assert "/v1/agent/ws" not in doc["paths"]
    assert "/v1/agent/ws?token=" in doc["info"]["description"]
    assert "/v1/agent/ws?ticket=" in doc["info"]["description"]


def test_no_route_is_hidden_behind_an_earlier_one() -> None:
    """Starlette answers with the first route that takes the path and the
    method: /v1/agents/metrics must not be read as an agent id, nor a path
    be served by two routes."""
    earlier: list[Route] = []
    for route in routes([]):
        if not isinstance(route, Route):
            continue
        for before in earlier:
            shared = (before.methods or set()) & (route.methods or set())
            assert not (shared and before.path_regex.match(route.path)), (before.path, route.path, shared)
        earlier.append(route)


def test_webhooks_are_form_encoded_and_signed(doc: dict[str, Any]) -> None:
    for kind in ("inbound", "status"):
        path = f"/webhooks/twilio/{{channel_id}}/{kind}"
        op = doc["paths"][path]["post"]
        assert op["security"] == []
        assert "application/x-www-form-urlencoded" in op["requestBody"]["content"]
        signature = parameters(doc, path, "post")[("header", "X-Twilio-Signature")]
        assert signature["required"] is True
        assert "403" in op["responses"]


def test_send_request_names_every_contactlist_field(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/v1/outbound/send"]["post"]
    body = resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == {"configuration_id", "contacts"}
    contact_schema = resolve(doc, body["properties"]["contacts"]["items"])
    assert set(CONTACT_LIST_FIELDS) <= set(contact_schema["properties"])
    assert set(contact_schema["required"]) == REQUIRED_CONTACT_FIELDS
    example = op["requestBody"]["content"]["application/json"]["example"]
    assert set(example["contacts"][0]) == set(CONTACT_LIST_FIELDS)

    idem = parameters(doc, "/v1/outbound/send", "post")[("header", "Idempotency-Key")]
    assert idem["schema"]["maxLength"] == 255

    answer = resolve(doc, op["responses"]["202"]["content"]["application/json"]["schema"])
    result = resolve(doc, answer["properties"]["results"]["items"])
    assert set(result["properties"]["status"]["enum"]) == {
        "queued",
        "deferred",
        "skipped_no_optin",
        "skipped_opted_out",
        "rejected",
    }
    assert "send_at" in result["properties"]
    assert {
        "invalid_phone",
        "channel_mismatch",
        "missing_relationship",
        "missing_placeholder",
        "configuration_mismatch",
    } <= set(resolve(doc, result["properties"]["error"])["properties"]["code"]["enum"])


def error_codes(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for status, response in op["responses"].items():
        if status.startswith("4"):
            schema = resolve(doc, response)["content"]["application/json"]["schema"]
            inner = schema["properties"]["error"]["allOf"]
            assert resolve(doc, inner[0])["required"] == ["code", "message"]
            out[status] = set(inner[1]["properties"]["code"]["enum"])
    return out


def test_errors_security_and_parameters(doc: dict[str, Any]) -> None:
    send = doc["paths"]["/v1/outbound/send"]["post"]
    assert error_codes(doc, send) == {
        "400": {"invalid_request"},
        "401": {"unauthorized"},
        "404": {"not_found"},
        "409": {"idempotency_key_reused"},
        "413": {"too_many_contacts", "payload_too_large"},
        "429": {"rate_limited"},
    }
    assert "Retry-After" in send["responses"]["429"]["headers"]
    assert error_codes(doc, doc["paths"]["/v1/agents"]["post"])["409"] == {"email_taken"}
    login = doc["paths"]["/v1/agents/login"]["post"]
    assert error_codes(doc, login)["429"] == {"rate_limited"} and "Retry-After" in login["responses"]["429"]["headers"]
    assert error_codes(doc, login)["409"] == {"org_required"}
    assert error_codes(doc, doc["paths"]["/v1/channels/{id}"]["delete"])["409"] == {"conflict"}

    for path, method, op in operations(doc):
        if not path.startswith("/v1"):
            continue
        statuses = set(op["responses"])
        assert statuses & {"200", "201", "202", "204"}, (path, method)
        if method == "post" and path.count("/") == 2 and path not in ("/v1/outbound/send", "/v1/events"):
            assert "201" in statuses, path
        if op.get("security", doc["security"]):
            assert error_codes(doc, op)["401"] == {"unauthorized"}, (path, method)
        # Redis unreachable: 503 with Retry-After on every call; a JSON body may be too large.
        unavailable = resolve(doc, op["responses"]["503"])
        assert "unavailable" in str(unavailable["content"]) and "Retry-After" in unavailable["headers"]
        # Each code once: the description lists them, and a lone code gets its own example.
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                codes = response["content"]["application/json"]["schema"]["properties"]["error"]["allOf"][1]
                listed = codes["properties"]["code"]["enum"]
                assert len(listed) == len(set(listed)), (path, method, status, listed)
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            assert "payload_too_large" in error_codes(doc, op)["413"], (path, method)
        if "{id}" in path or "{org_id}" in path:
            assert "not_found" in error_codes(doc, op).get("404", set()), (path, method)
        if method == "get" and "{" not in path and "items" in str(op["responses"]["200"]):
            page = resolve(doc, op["responses"]["200"]["content"]["application/json"]["schema"])
            assert set(page["required"]) == {"items", "next_cursor"}, path

    security = {(p, m): op.get("security", doc["security"]) for p, m, op in operations(doc)}
    assert security[("/v1/orgs", "post")] == [{"adminToken": []}]
    assert security[("/v1/orgs/{org_id}", "patch")] == [{"adminToken": []}]
    assert security[("/v1/agents/me", "get")] == [{"agentToken": []}]
    assert security[("/v1/agents/logout", "post")] == [{"agentToken": []}]
    assert security[("/v1/agents/login", "post")] == []
    assert security[("/v1/channels", "post")] == [{"orgApiKey": []}]

    activities = parameters(doc, "/v1/outbound/activities", "get")
    assert {("query", n) for n in ("cursor", "limit", "configuration_id", "status")} <= set(activities)
    status_filter = resolve(doc, activities[("query", "status")]["schema"])
    assert set(status_filter["enum"]) == {s.value for s in ActivityStatus}
    conversations = parameters(doc, "/v1/conversations", "get")
    assert set(conversations[("query", "status")]["schema"]["enum"]) == {"waiting", "assigned", "closed"}
    report = parameters(doc, "/v1/outbound/report", "get")
    assert report[("query", "configuration_id")]["required"] is True


def test_activity_schema_names_every_public_field(doc: dict[str, Any]) -> None:
    activity = doc["components"]["schemas"]["Activity"]
    assert set(activity["properties"]) == {
        *PUBLIC_FIELDS.values(),
        "history",
        "retrying",
        "encoding",
        "segments",
        "erased",
    }
    assert set(activity["required"]) <= set(PUBLIC_FIELDS.values())


def test_examples_match_their_schemas(doc: dict[str, Any]) -> None:
    checked = 0

    def walk(node: Any) -> None:
        nonlocal checked
        if isinstance(node, dict):
            if "schema" in node and ("example" in node or "examples" in node):
                validator = schema_validator(doc, node["schema"])
                examples = (
                    [node["example"]]
                    if "example" in node
                    else [resolve(doc, e)["value"] for e in node["examples"].values()]
                )
                for example in examples:
                    errors = [e.message for e in validator.iter_errors(example)]
                    assert not errors, (example, errors)
                    checked += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc["paths"])
    assert checked > 20


# -- the document against the live hub --------------------------------------------


def test_live_answers_match_the_document(doc: dict[str, Any], api: Api, hub: HubProcess, sandbox: Any) -> None:
    served = httpx.get(hub.url + "/openapi.json")
    assert served.status_code == 200, served.text
    assert served.headers["content-type"].startswith("application/json")
    assert served.json() == doc
    websocket = httpx.get(hub.url + "/asyncapi.json")
    assert websocket.status_code == 200 and websocket.json()["asyncapi"] == "3.0.0"
    assert "reply" in websocket.json()["components"]["messages"]

    def call(method: str, path: str, template: str | None = None, *, client: Any = None, **kw: Any) -> Any:
        response = (client or api.http).request(method, path, **kw)
        return response.status_code, check_response(doc, template or path, method.lower(), response)

    org_id = api.org["id"]  # type: ignore[attr-defined]
    admin = httpx.Client(base_url=hub.url, headers=ADMIN)
    anonymous = httpx.Client(base_url=hub.url)
    try:
        assert call("GET", f"/v1/orgs/{org_id}", "/v1/orgs/{org_id}", client=admin)[0] == 200
        assert call("POST", "/v1/orgs", client=admin, json={"name": ""})[0] == 400

        setup = outbound_setup(api, sandbox.url)
        for base, key in (
            ("/v1/channels", "channel"),
            ("/v1/templates", "template"),
            ("/v1/outbound-configurations", "config"),
        ):
            assert call("GET", base)[0] == 200
            assert call("GET", f"{base}/{setup[key]['id']}", base + "/{id}")[0] == 200
            assert call("GET", f"{base}/nope", base + "/{id}")[0] == 404
        assert (
            call("PATCH", f"/v1/channels/{setup['channel']['id']}", "/v1/channels/{id}", json={"name": "Support"})[0]
            == 200
        )
        assert call("DELETE", f"/v1/templates/{setup['template']['id']}", "/v1/templates/{id}")[0] == 409
        assert call("POST", "/v1/outbound-configurations", json={"name": "x"})[0] == 400
        status, canned = call("POST", "/v1/canned-responses", json={"title": "Hi", "body": "Hello!"})
        assert status == 201
        assert (
            call(
                "PUT",
                f"/v1/canned-responses/{canned['id']}",
                "/v1/canned-responses/{id}",
                json={"title": "Hi", "body": "Hello there!"},
            )[0]
            == 200
        )
        assert call("GET", "/v1/canned-responses", params={"limit": 1})[0] == 200

        config_id = setup["config"]["id"]
        contacts = [
            contact(phone(1), locale="fr-FR", msdyn_ocoutboundconfigurationid=config_id),
            contact(phone(2), optin=False),
            contact("not a phone"),
        ]
        body = {"configuration_id": config_id, "contacts": contacts}
        status, answer = call("POST", "/v1/outbound/send", json=body, headers={"Idempotency-Key": "k1"})
        assert status == 202
        assert [r["status"] for r in answer["results"]] == ["queued", "skipped_no_optin", "rejected"]
        assert (
            call(
                "POST", "/v1/outbound/send", json={**body, "contacts": contacts[:1]}, headers={"Idempotency-Key": "k1"}
            )[0]
            == 409
        )
        assert (
            call(
                "POST", "/v1/outbound/send", json={"configuration_id": config_id, "contacts": [contact(phone(3))] * 101}
            )[0]
            == 413
        )
        assert call("POST", "/v1/outbound/send", json={"configuration_id": "nope", "contacts": contacts})[0] == 404

        activity_id = answer["results"][0]["activity_id"]
        wait_for(lambda: api.ok("GET", f"/v1/outbound/activities/{activity_id}")["status"] == "delivered")
        assert call("GET", "/v1/outbound/activities", params={"configuration_id": config_id})[0] == 200
        assert call("GET", "/v1/outbound/activities", params={"status": "bogus"})[0] == 400
        assert call("GET", f"/v1/outbound/activities/{activity_id}", "/v1/outbound/activities/{id}")[0] == 200
        assert call("GET", "/v1/outbound/report", params={"configuration_id": config_id})[0] == 200
        assert call("GET", "/v1/outbound/report")[0] == 400

        status, agent = call(
            "POST", "/v1/agents", json={"name": "Dana", "email": "dana@example.com", "password": "correct horse"}
        )
        assert status == 201
        assert (
            call("POST", "/v1/agents", json={"name": "Dana", "email": "dana@example.com", "password": "correct horse"})[
                0
            ]
            == 409
        )
        assert call("GET", "/v1/agents")[0] == 200
        status, login = call(
            "POST",
            "/v1/agents/login",
            client=anonymous,
            json={"email": "dana@example.com", "password": "correct horse"},
        )
        assert status == 200
        token = {"Authorization": f"Bearer {login['token']}"}
        assert call("GET", "/v1/agents/me", client=anonymous, headers=token)[0] == 200
        assert call("POST", "/v1/agent/ws-ticket", client=anonymous, headers=token)[0] == 201

        reply = httpx.post(
            sandbox.url + "/_sandbox/replies",
            json={
                "account_sid": SANDBOX_SID,
                "from": phone(1),
                "to": SENDER,
                "body": "Merci",
                "url": f"{hub.url}/webhooks/twilio/{setup['channel']['id']}/inbound",
            },
        )
        assert reply.status_code == 200 and reply.json()["status"] == 200, reply.text
        conversations = wait_for(lambda: api.ok("GET", "/v1/conversations")["items"])
        assert call("GET", "/v1/conversations", params={"status": "waiting"})[0] == 200
        assert call("GET", f"/v1/conversations/{conversations[0]['id']}", "/v1/conversations/{id}")[0] == 200
        assert call("GET", "/v1/conversations", params={"status": "open"})[0] == 400
        status, timeline = call("GET", f"/v1/contacts/{phone(1)}/timeline", "/v1/contacts/{phone}/timeline")
        assert status == 200 and {i["kind"] for i in timeline["items"]} == {"activity", "message"}

        assert call("POST", "/v1/agents/logout", client=anonymous, headers=token)[0] == 204
        assert call("GET", "/v1/agents/me", client=anonymous, headers=token)[0] == 401
        assert call("GET", "/v1/channels", client=anonymous)[0] == 401

        assert (
            call(
                "PATCH",
                f"/v1/orgs/{org_id}",
                "/v1/orgs/{org_id}",
                client=admin,
                json={"limits": {"requests_per_hour": 1}},
            )[0]
            == 200
        )
        status, _ = call(
            "POST", "/v1/outbound/send", json={"configuration_id": config_id, "contacts": [contact(phone(4))]}
        )
        assert status == 429
    finally:
        admin.close()
        anonymous.close()
