"""The admin API over HTTP against a real hub process: orgs, channels,
templates, outbound configurations, error envelopes and the operations
endpoints."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from tests.support import (
    ADMIN_TOKEN,
    SANDBOX_SID,
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    phone,
    wait_for,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the spec's error envelope and return its inner object."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def channel_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "sms",
        "provider": "twilio",
        "address": "+14155550111",
        "credentials": {"account_sid": "AC" + "7" * 32, "auth_token": "super-secret-token-1"},
    }
    body.update(overrides)
    return body


def template_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Shipment late",
        "channel_types": ["sms"],
        "default_locale": "en-US",
        "bodies": {
            "en-US": "Hi {{CustomerName}}, {{CaseName}} is late.",
            "de-DE": "Hallo {{CustomerName}}, {{CaseName}} ist spät.",
        },
    }
    body.update(overrides)
    return body


@contextlib.contextmanager
def other_api(hub: HubProcess, **org: Any) -> Iterator[Api]:
    created = create_org(hub.url, **org)
    client = Api(hub.url, created["api_key"])
    client.org = created  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        client.http.close()


# -- orgs ----------------------------------------------------------------------


def test_creating_an_org_needs_the_admin_token(hub: HubProcess) -> None:
    body = {"name": "Acme"}
    error_of(httpx.post(hub.url + "/v1/orgs", json=body), 401, "unauthorized")
    error_of(
        httpx.post(hub.url + "/v1/orgs", json=body, headers={"Authorization": "Bearer not-the-admin-token"}),
        401,
        "unauthorized",
    )
    # An org's own API key is not the admin token either.
    org = create_org(hub.url, name="Acme")
    error_of(
        httpx.post(hub.url + "/v1/orgs", json=body, headers={"Authorization": f"Bearer {org['api_key']}"}),
        401,
        "unauthorized",
    )
    error_of(
        httpx.patch(
            hub.url + f"/v1/orgs/{org['id']}",
            json={"limits": {"requests_per_hour": 1}},
            headers={"Authorization": f"Bearer {org['api_key']}"},
        ),
        401,
        "unauthorized",
    )

    assert org["name"] == "Acme"
    assert org["limits"] == {"contacts_per_request": 100, "requests_per_hour": 30000}
    assert org["default_region"] == "US"
    assert org["id"] and org["api_key"]
    # The key is shown once, on creation.
    shown = httpx.get(hub.url + f"/v1/orgs/{org['id']}", headers=ADMIN)
    assert shown.status_code == 200 and "api_key" not in shown.json()
    assert org["api_key"] not in shown.text


def test_org_limits_and_region_are_validated(hub: HubProcess) -> None:
    def post(body: Any) -> httpx.Response:
        return httpx.post(hub.url + "/v1/orgs", json=body, headers=ADMIN)

    cases = [
        ({"name": "A", "limits": {"contacts_per_request": 0}}, "limits.contacts_per_request"),
        ({"name": "A", "limits": {"requests_per_hour": -5}}, "limits.requests_per_hour"),
        ({"name": "A", "limits": {"requests_per_hour": "lots"}}, "limits.requests_per_hour"),
        ({"name": "A", "limits": {"contacts_per_request": True}}, "limits.contacts_per_request"),
        ({"name": "A", "limits": {"messages_per_day": 5}}, "limits.messages_per_day"),
        ({"name": "A", "limits": [1, 2]}, "limits"),
        ({"name": "A", "default_region": "XX"}, "default_region"),
        ({"name": "A", "default_region": 44}, "default_region"),
        ({"name": ""}, "name"),
    ]
    for body, field in cases:
        error = error_of(post(body), 400)
        assert error["details"]["field"] == field, (body, error)
    error_of(httpx.post(hub.url + "/v1/orgs", content=b"{nope", headers=ADMIN), 400)

    created = post(
        {"name": "Small", "limits": {"contacts_per_request": 5, "requests_per_hour": 7}, "default_region": "gb"}
    )
    assert created.status_code == 201, created.text
    org = created.json()
    assert org["limits"] == {"contacts_per_request": 5, "requests_per_hour": 7}
    assert org["default_region"] == "GB"

    patched = httpx.patch(hub.url + f"/v1/orgs/{org['id']}", json={"limits": {"requests_per_hour": 9}}, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    # Only the limit given changes.
    assert patched.json()["limits"] == {"contacts_per_request": 5, "requests_per_hour": 9}
    error = error_of(httpx.patch(hub.url + f"/v1/orgs/{org['id']}", json={"default_region": "ZZ"}, headers=ADMIN), 400)
    assert error["details"]["field"] == "default_region"
    error_of(httpx.patch(hub.url + "/v1/orgs/org_missing", json={"name": "x"}, headers=ADMIN), 404, "not_found")


def test_patched_contact_limit_applies_to_the_next_send(api: Api, hub: HubProcess, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url, show_in_timeline=False)
    cfg = ids["config"]["id"]
    three = [contact(phone(i), optin=False) for i in range(3)]
    api.ok("POST", "/v1/outbound/send", 202, json={"configuration_id": cfg, "contacts": three})

    org_id = api.org["id"]  # type: ignore[attr-defined]
    patched = httpx.patch(hub.url + f"/v1/orgs/{org_id}", json={"limits": {"contacts_per_request": 2}}, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    error = error_of(
        api.post("/v1/outbound/send", json={"configuration_id": cfg, "contacts": three}), 413, "too_many_contacts"
    )
    assert error["details"]["limit"] == 2
    api.ok("POST", "/v1/outbound/send", 202, json={"configuration_id": cfg, "contacts": three[:2]})


def test_unknown_or_missing_api_key_is_refused(api: Api, hub: HubProcess) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer hk_unknown"},
        {"Authorization": "Basic abc"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ):
        for method, path in (
            ("GET", "/v1/channels"),
            ("POST", "/v1/outbound/send"),
            ("GET", "/v1/outbound/activities"),
        ):
            response = httpx.request(method, hub.url + path, headers=headers, json={})
            error_of(response, 401, "unauthorized")
    # The real key works.
    api.ok("GET", "/v1/channels")


# -- channels ------------------------------------------------------------------


def test_channel_crud_never_reads_credentials_back(api: Api) -> None:
    secrets = ("AC" + "7" * 32, "super-secret-token-1", "AC" + "8" * 32, "rotated-secret-token-2")

    def assert_no_secret(text: str) -> None:
        for secret in secrets:
            assert secret not in text, text

    created = api.post("/v1/channels", json=channel_body(name="Main line", api_base_url="https://api.example.com/v1/"))
    assert created.status_code == 201, created.text
    assert_no_secret(created.text)
    channel = created.json()
    assert channel["id"] and channel["type"] == "sms" and channel["provider"] == "twilio"
    assert channel["address"] == "+14155550111"
    assert channel["api_base_url"] == "https://api.example.com/v1"

    second = api.ok("POST", "/v1/channels", 201, json=channel_body(type="whatsapp", address="4155550112"))
    assert second["address"] == "+14155550112"  # stored E.164

    got = api.get(f"/v1/channels/{channel['id']}")
    assert got.status_code == 200
    assert_no_secret(got.text)
    assert got.json()["address"] == "+14155550111" and got.json()["name"] == "Main line"

    listed = api.get("/v1/channels")
    assert listed.status_code == 200
    assert_no_secret(listed.text)
    assert [c["id"] for c in listed.json()["items"]] == [channel["id"], second["id"]]
    assert listed.json()["next_cursor"] is None

    patched = api.patch(
        f"/v1/channels/{channel['id']}",
        json={
            "address": "+14155550113",
            "credentials": {"account_sid": "AC" + "8" * 32, "auth_token": "rotated-secret-token-2"},
        },
    )
    assert patched.status_code == 200, patched.text
    assert_no_secret(patched.text)
    assert patched.json()["address"] == "+14155550113"
    assert patched.json()["type"] == "sms"  # untouched fields stay
    again = api.get(f"/v1/channels/{channel['id']}")
    assert_no_secret(again.text)
    assert again.json()["address"] == "+14155550113"

    assert api.delete(f"/v1/channels/{channel['id']}").status_code == 204
    error_of(api.get(f"/v1/channels/{channel['id']}"), 404, "not_found")
    error_of(api.delete(f"/v1/channels/{channel['id']}"), 404, "not_found")
    assert [c["id"] for c in api.ok("GET", "/v1/channels")["items"]] == [second["id"]]


def test_channel_address_in_the_spec_example_form_is_accepted(api: Api) -> None:
    # The spec's own example sender; a provisioned sender is the provider's business,
    # the hub only needs it in E.164 form.
    created = api.ok("POST", "/v1/channels", 201, json=channel_body(address="+15550001111"))
    assert created["address"] == "+15550001111"


def test_invalid_channel_bodies_name_the_field(api: Api) -> None:
    cases = [
        (channel_body(type="fax"), "type"),
        (channel_body(type=None), "type"),
        (channel_body(provider="nexmo"), "provider"),
        (channel_body(address="not a number"), "address"),
        (channel_body(address="12"), "address"),
        (channel_body(credentials={"account_sid": "AC" + "1" * 32}), "credentials.auth_token"),
        (channel_body(credentials="secret"), "credentials"),
        (channel_body(api_base_url="ftp://example.com"), "api_base_url"),
        # Credentials travel in HTTP headers: no CR/LF, spaces or other control characters.
        (
            channel_body(credentials={"account_sid": "AC" + "1" * 32, "auth_token": "tok\r\nX-Evil: 1"}),
            "credentials.auth_token",
        ),
        (
            channel_body(provider="telesign", credentials={"customer_id": "cust\n", "api_key": "a2V5"}),
            "credentials.customer_id",
        ),
    ]
    for body, field in cases:
        error = error_of(api.post("/v1/channels", json=body), 400)
        assert error["details"]["field"] == field, (body, error)
    error_of(api.post("/v1/channels", content=b"not json"), 400)
    assert api.ok("GET", "/v1/channels")["items"] == []


# -- templates -----------------------------------------------------------------


def test_template_bodies_are_validated_and_put_replaces(api: Api) -> None:
    created = api.ok("POST", "/v1/templates", 201, json=template_body())
    assert created["bodies"]["de-DE"].startswith("Hallo")
    assert created["default_locale"] == "en-US" and created["channel_types"] == ["sms"]

    bad = [
        # No body for the default locale.
        (template_body(bodies={"de-DE": "Hallo {{CustomerName}}"}), "default_locale"),
        (template_body(bodies={"en-US": "Hi {{ Customer Name }}"}), "bodies"),
        (template_body(bodies={"en-US": "Hi {{CustomerName}"}), "bodies"),
        (template_body(bodies={"en-US": ""}), "bodies"),
        (template_body(bodies={}), "bodies"),
        (template_body(bodies={"en-US": "x", "not a locale!": "y"}), "bodies"),
        (template_body(channel_types=["fax"]), "channel_types"),
        (template_body(channel_types=[]), "channel_types"),
        (template_body(default_locale="??"), "default_locale"),
        (template_body(name=" "), "name"),
    ]
    for body, field in bad:
        error = error_of(api.post("/v1/templates", json=body), 400)
        assert error["details"]["field"] == field, (body, error)
        error = error_of(api.put(f"/v1/templates/{created['id']}", json=body), 400)
        assert error["details"]["field"] == field, (body, error)
    # Refused writes changed nothing.
    assert api.ok("GET", f"/v1/templates/{created['id']}")["bodies"] == created["bodies"]

    replacement = {
        "name": "Shipment on time",
        "channel_types": ["whatsapp", "sms"],
        "default_locale": "fr-FR",
        "bodies": {"fr-FR": "Bonjour {{CustomerName}}"},
    }
    put = api.ok("PUT", f"/v1/templates/{created['id']}", 200, json=replacement)
    got = api.ok("GET", f"/v1/templates/{created['id']}")
    for answer in (put, got):
        assert answer["id"] == created["id"]
        assert answer["name"] == "Shipment on time"
        assert answer["bodies"] == {"fr-FR": "Bonjour {{CustomerName}}"}  # de-DE and en-US are gone
        assert answer["default_locale"] == "fr-FR"
        assert answer["channel_types"] == ["whatsapp", "sms"]
    assert [t["id"] for t in api.ok("GET", "/v1/templates")["items"]] == [created["id"]]
    error_of(api.put("/v1/templates/tpl_missing", json=replacement), 404, "not_found")


# -- configurations ------------------------------------------------------------


def test_configuration_ids_types_and_references(api: Api, sandbox) -> None:
    sms = api.ok("POST", "/v1/channels", 201, json=channel_body())
    whatsapp = api.ok("POST", "/v1/channels", 201, json=channel_body(type="whatsapp", address="+14155550120"))
    sms_only = api.ok("POST", "/v1/templates", 201, json=template_body())
    both = api.ok("POST", "/v1/templates", 201, json=template_body(channel_types=["sms", "whatsapp"]))

    body = {
        "name": "Late shipments",
        "show_in_timeline": True,
        "channel_type": "sms",
        "channel_id": sms["id"],
        "template_id": sms_only["id"],
    }
    first = api.ok("POST", "/v1/outbound-configurations", 201, json=body)
    second = api.ok("POST", "/v1/outbound-configurations", 201, json=body)
    assert first["id"] and second["id"] and first["id"] != second["id"]
    assert first["queue"] == "default" and first["show_in_timeline"] is True
    with_queue = api.ok("POST", "/v1/outbound-configurations", 201, json={**body, "queue": "billing"})
    assert with_queue["queue"] == "billing"
    assert api.ok("GET", f"/v1/outbound-configurations/{first['id']}") == first

    mismatches = [
        ({**body, "channel_id": whatsapp["id"]}, "channel_id"),  # channel is whatsapp, config sms
        ({**body, "channel_type": "whatsapp", "channel_id": whatsapp["id"]}, "template_id"),  # sms-only
        ({**body, "channel_type": "fax"}, "channel_type"),
        ({**body, "channel_id": "ch_missing"}, "channel_id"),
        ({**body, "template_id": "tpl_missing"}, "template_id"),
        ({**body, "show_in_timeline": "yes"}, "show_in_timeline"),
        ({k: v for k, v in body.items() if k != "template_id"}, "template_id"),
    ]
    for bad, field in mismatches:
        error = error_of(api.post("/v1/outbound-configurations", json=bad), 400)
        assert error["details"]["field"] == field, (bad, error)
        if "template_id" in bad:  # a patch keeps what it does not name
            error = error_of(api.patch(f"/v1/outbound-configurations/{first['id']}", json=bad), 400)
            assert error["details"]["field"] == field, (bad, error)
    assert api.ok("GET", f"/v1/outbound-configurations/{first['id']}") == first

    wa = api.ok(
        "POST",
        "/v1/outbound-configurations",
        201,
        json={**body, "channel_type": "whatsapp", "channel_id": whatsapp["id"], "template_id": both["id"]},
    )
    assert wa["channel_type"] == "whatsapp"
    patched = api.ok(
        "PATCH", f"/v1/outbound-configurations/{first['id']}", 200, json={"name": "Renamed", "show_in_timeline": False}
    )
    assert patched["id"] == first["id"] and patched["name"] == "Renamed"
    assert patched["channel_id"] == sms["id"] and patched["show_in_timeline"] is False

    # In use: a change that would break a configuration is refused.
    error = error_of(api.patch(f"/v1/channels/{sms['id']}", json={"type": "whatsapp"}), 409)
    assert error["details"]["configuration_id"] in {first["id"], second["id"], with_queue["id"]}
    error = error_of(api.put(f"/v1/templates/{both['id']}", json=template_body(channel_types=["sms"])), 409)
    assert error["details"]["configuration_id"] == wa["id"]
    assert api.ok("GET", f"/v1/channels/{sms['id']}")["type"] == "sms"
    assert api.ok("GET", f"/v1/templates/{both['id']}")["channel_types"] == ["sms", "whatsapp"]
    # Changes that keep every configuration whole are fine.
    api.ok("PUT", f"/v1/templates/{both['id']}", 200, json=template_body(channel_types=["whatsapp"]))
    assert api.ok("PATCH", f"/v1/channels/{sms['id']}", 200, json={"address": "+14155550130"})["type"] == "sms"

    # In use: the channel and template cannot go.
    error_of(api.delete(f"/v1/channels/{sms['id']}"), 409)
    error_of(api.delete(f"/v1/templates/{both['id']}"), 409)
    assert api.ok("GET", f"/v1/channels/{sms['id']}")["id"] == sms["id"]
    assert api.delete(f"/v1/outbound-configurations/{wa['id']}").status_code == 204
    error_of(api.get(f"/v1/outbound-configurations/{wa['id']}"), 404, "not_found")
    assert api.delete(f"/v1/templates/{both['id']}").status_code == 204
    assert api.delete(f"/v1/channels/{whatsapp['id']}").status_code == 204
    error_of(api.delete(f"/v1/channels/{sms['id']}"), 409)


def test_configuration_list_pages_with_a_cursor(api: Api) -> None:
    channel = api.ok("POST", "/v1/channels", 201, json=channel_body())
    template = api.ok("POST", "/v1/templates", 201, json=template_body())
    made = [
        api.ok(
            "POST",
            "/v1/outbound-configurations",
            201,
            json={
                "name": f"Config {i}",
                "show_in_timeline": False,
                "channel_type": "sms",
                "channel_id": channel["id"],
                "template_id": template["id"],
            },
        )["id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.ok("GET", "/v1/outbound-configurations", params=params)
        assert len(page["items"]) <= 3
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == made  # oldest first, each once
    assert pages == 3
    error_of(api.get("/v1/outbound-configurations", params={"limit": 0}), 400)
    for cursor in ("junk", "nan", "inf"):
        error = error_of(api.get("/v1/outbound-configurations", params={"cursor": cursor}), 400)
        assert error["details"]["field"] == "cursor"


def test_another_org_cannot_touch_or_use_this_orgs_records(api: Api, hub: HubProcess, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    channel, template, config = ids["channel"]["id"], ids["template"]["id"], ids["config"]["id"]
    with other_api(hub, name="Intruder") as intruder:
        check_isolation(api, intruder, sandbox, channel, template, config)


def check_isolation(api: Api, intruder: Api, sandbox, channel: str, template: str, config: str) -> None:
    for kind, record_id in (("channels", channel), ("templates", template), ("outbound-configurations", config)):
        path = f"/v1/{kind}/{record_id}"
        error_of(intruder.get(path), 404, "not_found")
        error_of(intruder.patch(path, json={"name": "Mine now"}), 404, "not_found")
        error_of(intruder.put(path, json={"name": "Mine now"}), 404, "not_found")
        error_of(intruder.delete(path), 404, "not_found")
        assert intruder.ok("GET", f"/v1/{kind}")["items"] == []
        # Still there, unchanged, for its owner.
        assert api.ok("GET", path)["id"] == record_id
        assert api.ok("GET", path).get("name") != "Mine now"

    # Nor can it build a configuration on them or send with this org's configuration.
    own_template = intruder.ok("POST", "/v1/templates", 201, json=template_body())
    error = error_of(
        intruder.post(
            "/v1/outbound-configurations",
            json={
                "name": "Borrowed",
                "show_in_timeline": False,
                "channel_type": "sms",
                "channel_id": channel,
                "template_id": own_template["id"],
            },
        ),
        400,
    )
    assert error["details"]["field"] == "channel_id"
    error_of(
        intruder.post("/v1/outbound/send", json={"configuration_id": config, "contacts": [contact(phone(1))]}),
        404,
        "not_found",
    )
    error_of(intruder.get("/v1/outbound/report", params={"configuration_id": config}), 404)
    assert intruder.ok("GET", "/v1/outbound/activities")["items"] == []
    assert api.ok("GET", "/v1/outbound/activities")["items"] == []
    assert sandbox.state.list_messages(SANDBOX_SID, to=phone(1)) == []


# -- errors and operations -----------------------------------------------------


def test_unknown_routes_and_wrong_methods_get_the_error_envelope(api: Api, hub: HubProcess) -> None:
    error_of(httpx.get(hub.url + "/v1/nothing-here"), 404, "not_found")
    error_of(httpx.get(hub.url + "/definitely/not/a/route"), 404, "not_found")
    error_of(api.get("/v1/outbound/send"), 405, "method_not_allowed")
    error_of(api.delete("/v1/outbound/activities"), 405, "method_not_allowed")
    error_of(httpx.delete(hub.url + "/v1/orgs", headers=ADMIN), 405, "method_not_allowed")
    error_of(api.get("/v1/outbound/activities/act_missing"), 404, "not_found")


def test_operations_endpoints(api: Api, hub: HubProcess, sandbox) -> None:
    health = httpx.get(hub.url + "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = httpx.get(hub.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"

    ids = outbound_setup(api, sandbox.url)
    result = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(3))]},
    )["results"][0]
    wait_for(
        lambda: api.ok("GET", f"/v1/outbound/activities/{result['activity_id']}")["status"] == "delivered", timeout=15
    )

    metrics = httpx.get(hub.url + "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    samples = [line for line in metrics.text.splitlines() if line.startswith("hub_sends_total{")]
    assert any('provider="sandbox"' in s and 'outcome="accepted"' in s and s.endswith(" 1.0") for s in samples), (
        metrics.text
    )
    assert "hub_outbound_stream_depth" in metrics.text

    spec = httpx.get(hub.url + "/openapi.json")
    assert spec.status_code == 200
    assert spec.headers["content-type"].startswith("application/json")
    doc = spec.json()
    assert doc["openapi"].startswith("3.")
    assert "/v1/outbound/send" in doc["paths"] and "post" in doc["paths"]["/v1/outbound/send"]
    assert "/v1/channels/{id}" in doc["paths"]
