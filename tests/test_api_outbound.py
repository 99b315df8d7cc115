"""Send requests, activities, the report and the timeline, over HTTP against
real hub processes, a real redis-server and the sandbox provider."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.support import (
    ADMIN_TOKEN,
    Api,
    HubProcess,
    contact,
    create_org,
    outbound_setup,
    phone,
    wait_for,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SEND = "/v1/outbound/send"


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


@contextlib.contextmanager
def org_api(hub: HubProcess, **org: Any) -> Iterator[Api]:
    created = create_org(hub.url, **org)
    client = Api(hub.url, created["api_key"])
    client.org = created  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        client.http.close()


def sent_counts(sandbox) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Outbound messages the provider received, by recipient."""
    items = httpx.get(sandbox.url + "/_sandbox/messages").json()["items"]
    return Counter(m["to"] for m in items if m["direction"] == "outbound-api")


def all_activities(api: Api, limit: int = 50, **filters: str) -> list[dict[str, Any]]:
    """Every page of the activity list, in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit, **filters}
        if cursor:
            params["cursor"] = cursor
        page = api.ok("GET", "/v1/outbound/activities", params=params)
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("activity paging did not end")


def statuses_settled(api: Api, config_id: str, expected: dict[str, int]) -> bool:
    counts = Counter(a["status"] for a in all_activities(api, limit=200, configuration_id=config_id))
    return dict(counts) == expected


# -- the send request ------------------------------------------------------------


def test_mixed_request_sends_only_the_valid_contacts(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url, show_in_timeline=True)
    cfg = ids["config"]["id"]

    def without(i: int, field: str) -> dict[str, Any]:
        c = contact(phone(i))
        del c[field]
        return c

    special: dict[int, tuple[dict[str, Any], str, str | None]] = {
        # index: (contact, expected status, expected error code)
        3: (contact("12345"), "rejected", "invalid_phone"),
        7: (contact(phone(7), channelid="whatsapp"), "rejected", "channel_mismatch"),
        11: (without(11, "entityrelationshipname"), "rejected", "missing_relationship"),
        15: (contact(phone(15), contextitems={}), "rejected", "missing_placeholder"),
        19: (
            contact(phone(19), msdyn_ocoutboundconfigurationid="cfg_someone_else"),
            "rejected",
            "configuration_mismatch",
        ),
        23: (without(23, "tocontactid"), "rejected", "missing_field"),
        29: (without(29, "channelid"), "rejected", "missing_field"),
        31: (without(31, "optin"), "rejected", "missing_field"),
        37: (without(37, "CustomerName"), "rejected", "missing_field"),
        41: (without(41, "CaseName"), "rejected", "missing_field"),
        43: (contact(phone(43), CaseName="  "), "rejected", "missing_field"),
        47: (contact(phone(47), optin=False), "skipped_no_optin", None),
        53: (contact(phone(53), optin="false"), "skipped_no_optin", None),
        # Valid, written loosely.
        59: (contact(phone(59), channelid="SMS", msdyn_ocoutboundconfigurationid=cfg), "queued", None),
        61: (contact(phone(61), locale="FR-fr", CustomerName="Zoé"), "queued", None),
        67: (contact(phone(67), locale="zh-HK", CustomerName="Mei"), "queued", None),
        71: (contact(phone(71), locale="de-DE"), "queued", None),
    }
    missing_fields = {
        23: "tocontactid",
        29: "channelid",
        31: "optin",
        37: "CustomerName",
        41: "CaseName",
        43: "CaseName",
    }
    contacts = [special[i][0] if i in special else contact(phone(i), CaseName=f"CAS-{i}") for i in range(100)]
    answer = api.ok("POST", SEND, 202, json={"configuration_id": cfg, "contacts": contacts})

    assert answer["request_id"]
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(100))
    queued: dict[int, str] = {}
    for i, result in enumerate(results):
        status, code = (special[i][1], special[i][2]) if i in special else ("queued", None)
        assert result["status"] == status, (i, result)
        if code is None:
            assert "error" not in result, (i, result)
            assert result["activity_id"], (i, result)
            if status == "queued":
                queued[i] = result["activity_id"]
        else:
            assert result["error"]["code"] == code, (i, result)
            assert result["error"]["message"]
            assert "activity_id" not in result, (i, result)
        if i in missing_fields:
            assert result["error"]["details"]["field"] == missing_fields[i], (i, result)
    assert len(queued) == 100 - 13
    assert len(set(queued.values())) == len(queued)

    wait_for(
        lambda: statuses_settled(api, cfg, {"delivered": len(queued), "skipped_no_optin": 2}), timeout=30, interval=0.2
    )
    # Exactly the valid contacts reached the provider, once each; nothing else did.
    assert sent_counts(sandbox) == Counter({phone(i): 1 for i in queued})

    skipped = api.ok("GET", f"/v1/outbound/activities/{results[47]['activity_id']}")
    assert skipped["status"] == "skipped_no_optin" and skipped["to"] == phone(47)
    assert skipped["provider_message_id"] is None
    assert [e["status"] for e in skipped["history"]] == ["skipped_no_optin"]

    def activity(i: int) -> dict[str, Any]:
        return dict(api.ok("GET", f"/v1/outbound/activities/{queued[i]}"))

    french = activity(61)
    assert french["locale"] == "fr-FR"
    assert french["body"] == "Bonjour Zoé, le dossier CAS-1 est resolved."
    chinese = activity(67)
    assert chinese["locale"] == "zh-TW"
    assert chinese["body"] == "Mei 您好，案件 CAS-1：resolved"
    for i in (71, 59, 0):  # unknown locale, no locale: the template's default
        assert activity(i)["locale"] == "en-US"
    assert activity(0)["body"] == "Hi Ada, case CAS-0 is resolved."
    bodies = {m["to"]: m["body"] for m in httpx.get(sandbox.url + "/_sandbox/messages").json()["items"]}
    assert bodies[phone(61)] == french["body"] and bodies[phone(67)] == chinese["body"]

    first = activity(0)
    assert first["configuration_id"] == cfg and first["request_id"] == answer["request_id"]
    assert first["channel_id"] == ids["channel"]["id"]
    assert first["from"] == ids["channel"]["address"] and first["to"] == phone(0)
    assert first["customer_name"] == "Ada" and first["case_name"] == "CAS-0"
    assert first["entityrelationshipname"] == "incident"
    assert first["provider_message_id"]
    history = [e["status"] for e in first["history"]]
    assert history[0] == "queued" and history[-1] == "delivered" and "sending" in history
    assert all(isinstance(e["at"], (int, float)) for e in first["history"])


def test_numbers_without_a_plus_are_read_in_the_orgs_region(hub: HubProcess, sandbox) -> None:
    with org_api(hub, name="UK desk", default_region="GB") as api:
        cfg = outbound_setup(api, sandbox.url)["config"]["id"]
        answer = api.ok(
            "POST",
            SEND,
            202,
            json={"configuration_id": cfg, "contacts": [contact("07400 123456"), contact("(415) 555-2042")]},
        )
        first, second = answer["results"]
        assert first["status"] == "queued"
        assert second["status"] == "rejected" and second["error"]["code"] == "invalid_phone"
        act = api.ok("GET", f"/v1/outbound/activities/{first['activity_id']}")
        assert act["to"] == "+447400123456"

        # The region is the org's, and changing it changes how the next send reads numbers.
        patched = httpx.patch(
            f"{hub.url}/v1/orgs/{api.org['id']}",  # type: ignore[attr-defined]
            json={"default_region": "US"},
            headers=ADMIN,
        )
        assert patched.status_code == 200, patched.text
        again = api.ok("POST", SEND, 202, json={"configuration_id": cfg, "contacts": [contact("(415) 555-2042")]})[
            "results"
        ][0]
        assert again["status"] == "queued"
        assert api.ok("GET", f"/v1/outbound/activities/{again['activity_id']}")["to"] == "+14155552042"

        wait_for(
            lambda: sent_counts(sandbox) == Counter({"+447400123456": 1, "+14155552042": 1}), timeout=15, interval=0.1
        )
        timeline = api.ok("GET", "/v1/contacts/+447400123456/timeline")
        assert [i["activity"]["id"] for i in timeline["items"]] == [first["activity_id"]]


def test_request_level_faults_reject_everything(api: Api, hub: HubProcess, sandbox) -> None:
    cfg = outbound_setup(api, sandbox.url)["config"]["id"]
    org_id = api.org["id"]  # type: ignore[attr-defined]
    httpx.patch(
        f"{hub.url}/v1/orgs/{org_id}", json={"limits": {"contacts_per_request": 5}}, headers=ADMIN
    ).raise_for_status()

    error = error_of(
        api.post(SEND, json={"configuration_id": cfg, "contacts": [contact(phone(i)) for i in range(6)]}),
        413,
        "too_many_contacts",
    )
    assert error["details"]["limit"] == 5
    error_of(
        api.post(
            SEND, content=b'{"configuration_id": "x", "contacts": [', headers={"content-type": "application/json"}
        ),
        400,
        "invalid_request",
    )
    error_of(api.post(SEND, content=b"\xff\xfe"), 400, "invalid_request")
    error_of(api.post(SEND, json=[contact(phone(1))]), 400, "invalid_request")
    error = error_of(api.post(SEND, json={"configuration_id": cfg, "contacts": []}), 400)
    assert error["details"]["field"] == "contacts"
    error = error_of(api.post(SEND, json={"contacts": [contact(phone(1))]}), 400)
    assert error["details"]["field"] == "configuration_id"
    error_of(
        api.post(SEND, json={"configuration_id": "cfg_unknown", "contacts": [contact(phone(1))]}), 404, "not_found"
    )

    # None of them queued anything.
    assert api.ok("GET", "/v1/outbound/activities")["items"] == []
    assert api.ok("GET", "/v1/outbound/report", params={"configuration_id": cfg})["total"] == 0

    ok = api.ok("POST", SEND, 202, json={"configuration_id": cfg, "contacts": [contact(phone(i)) for i in range(5)]})
    assert [r["status"] for r in ok["results"]] == ["queued"] * 5
    wait_for(lambda: sent_counts(sandbox) == Counter({phone(i): 1 for i in range(5)}), timeout=15, interval=0.1)


def test_idempotency_key_replays_the_first_answer(api: Api, sandbox) -> None:
    cfg = outbound_setup(api, sandbox.url)["config"]["id"]
    body = {"configuration_id": cfg, "contacts": [contact(phone(1)), contact(phone(2), optin=False)]}
    key = {"Idempotency-Key": "flow-run-42"}
    first = api.ok("POST", SEND, 202, json=body, headers=key)
    wait_for(lambda: sent_counts(sandbox) == Counter({phone(1): 1}), timeout=15, interval=0.1)

    again = api.ok("POST", SEND, 202, json=body, headers=key)
    assert again == first  # same request_id and activity ids
    error_of(api.post(SEND, json={**body, "contacts": [contact(phone(3))]}, headers=key), 409, "idempotency_key_reused")

    # Another key is another request: it is sent, and once it is out, the replay
    # has still not sent anything again.
    other = api.ok(
        "POST",
        SEND,
        202,
        json={"configuration_id": cfg, "contacts": [contact(phone(4))]},
        headers={"Idempotency-Key": "flow-run-43"},
    )
    assert other["request_id"] != first["request_id"]
    wait_for(lambda: sent_counts(sandbox).get(phone(4)) == 1, timeout=15, interval=0.1)
    assert sent_counts(sandbox) == Counter({phone(1): 1, phone(4): 1})
    ids = sorted(a["id"] for a in all_activities(api, configuration_id=cfg))
    expected = [r["activity_id"] for r in first["results"]] + [other["results"][0]["activity_id"]]
    assert ids == sorted(expected)
    assert {a["request_id"] for a in all_activities(api)} == {first["request_id"], other["request_id"]}


def test_hourly_limit_refuses_with_retry_after_and_refusals_do_not_count(api: Api, hub: HubProcess, sandbox) -> None:
    cfg = outbound_setup(api, sandbox.url)["config"]["id"]
    org_id = api.org["id"]  # type: ignore[attr-defined]
    httpx.patch(
        f"{hub.url}/v1/orgs/{org_id}",
        json={"limits": {"requests_per_hour": 3, "contacts_per_request": 2}},
        headers=ADMIN,
    ).raise_for_status()

    def body(i: int) -> dict[str, Any]:
        return {"configuration_id": cfg, "contacts": [contact(phone(i), optin=False)]}

    # Refused requests first: none of them may use up the hour.
    error_of(api.post(SEND, json={**body(0), "configuration_id": "cfg_nope"}), 404)
    error_of(api.post(SEND, content=b"nope"), 400)
    error_of(api.post(SEND, json={**body(0), "contacts": [contact(phone(i)) for i in range(3)]}), 413)

    accepted = [api.ok("POST", SEND, 202, json=body(i), headers={"Idempotency-Key": f"k{i}"}) for i in range(3)]
    for attempt in range(3):
        refused = api.post(SEND, json=body(10 + attempt))
        error = error_of(refused, 429, "rate_limited")
        assert error["details"]["limit"] == 3
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 3600
    # A retry of an accepted request still gets its answer.
    assert api.ok("POST", SEND, 202, json=body(0), headers={"Idempotency-Key": "k0"}) == accepted[0]

    httpx.patch(
        f"{hub.url}/v1/orgs/{org_id}", json={"limits": {"requests_per_hour": 4}}, headers=ADMIN
    ).raise_for_status()
    api.ok("POST", SEND, 202, json=body(20))  # the 429s did not count
    error_of(api.post(SEND, json=body(21)), 429, "rate_limited")
    assert len(all_activities(api)) == 4


def test_two_hub_processes_share_one_hourly_limit(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    first, second = hub_factory(), hub_factory()
    org = create_org(first.url, limits={"requests_per_hour": 25})
    headers = {"Authorization": f"Bearer {org['api_key']}"}
    api = Api(second.url, org["api_key"])
    try:
        cfg = outbound_setup(api, sandbox.url)["config"]["id"]

        def fire(i: int) -> int:
            target = (first if i % 2 else second).url
            response = httpx.post(
                target + SEND,
                headers=headers,
                timeout=30,
                json={"configuration_id": cfg, "contacts": [contact(phone(i), optin=False)]},
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            codes = Counter(pool.map(fire, range(40)))
        assert codes == Counter({202: 25, 429: 15})
        assert len(all_activities(api, limit=200)) == 25
        # Both processes see the hour as used up.
        for hub in (first, second):
            error_of(
                httpx.post(
                    hub.url + SEND,
                    headers=headers,
                    json={"configuration_id": cfg, "contacts": [contact(phone(99), optin=False)]},
                ),
                429,
            )
    finally:
        api.http.close()


# -- activities, report, timeline --------------------------------------------------


def test_activity_list_filters_and_pages_every_activity_once(api: Api, hub: HubProcess, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url, show_in_timeline=False)
    cfg_a = ids["config"]["id"]
    cfg_b = api.ok(
        "POST",
        "/v1/outbound-configurations",
        201,
        json={
            "name": "Other",
            "show_in_timeline": False,
            "channel_type": "sms",
            "channel_id": ids["channel"]["id"],
            "template_id": ids["template"]["id"],
        },
    )["id"]

    big = [contact(phone(i), optin=i % 5 < 2) for i in range(100)]  # 40 sent, 60 skipped
    r1 = api.ok("POST", SEND, 202, json={"configuration_id": cfg_a, "contacts": big})
    r2 = api.ok(
        "POST",
        SEND,
        202,
        json={"configuration_id": cfg_a, "contacts": [contact(phone(200 + i), optin=False) for i in range(20)]},
    )
    r3 = api.ok(
        "POST", SEND, 202, json={"configuration_id": cfg_b, "contacts": [contact(phone(300 + i)) for i in range(5)]}
    )
    a_ids = [r["activity_id"] for r in r1["results"] + r2["results"]]
    b_ids = [r["activity_id"] for r in r3["results"]]
    delivered_a = {r["activity_id"] for i, r in enumerate(r1["results"]) if i % 5 < 2}
    assert len(a_ids) == 120 and len(delivered_a) == 40

    wait_for(
        lambda: (
            statuses_settled(api, cfg_a, {"delivered": 40, "skipped_no_optin": 80})
            and statuses_settled(api, cfg_b, {"delivered": 5})
        ),
        timeout=30,
        interval=0.2,
    )

    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"configuration_id": cfg_a, "limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = api.ok("GET", "/v1/outbound/activities", params=params)
        pages.append([a["id"] for a in page["items"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert len(pages) < 6
    seen = [i for p in pages for i in p]
    assert [len(p) for p in pages][:3] == [50, 50, 20]
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == set(a_ids)
    # Newest first: the second request's activities come before the first's, in reverse order.
    assert seen == list(reversed(a_ids))

    everything = all_activities(api, limit=37)
    assert sorted(a["id"] for a in everything) == sorted(a_ids + b_ids)
    delivered = all_activities(api, limit=15, configuration_id=cfg_a, status="delivered")
    assert {a["id"] for a in delivered} == delivered_a and len(delivered) == 40
    assert all(a["status"] == "delivered" and a["configuration_id"] == cfg_a for a in delivered)
    skipped = all_activities(api, status="skipped_no_optin")
    assert len(skipped) == 80 and {a["configuration_id"] for a in skipped} == {cfg_a}
    only_b = all_activities(api, configuration_id=cfg_b)
    assert [a["id"] for a in only_b] == list(reversed(b_ids))
    assert all_activities(api, configuration_id=cfg_b, status="failed") == []
    assert all_activities(api, configuration_id="cfg_unknown") == []
    error = error_of(api.get("/v1/outbound/activities", params={"status": "lost"}), 400)
    assert error["details"]["field"] == "status"
    for cursor in ("junk", "nan|act_x", "1 |act_x", "1_0|act_x"):
        error = error_of(api.get("/v1/outbound/activities", params={"cursor": cursor}), 400)
        assert error["details"]["field"] == "cursor"

    one = api.ok("GET", f"/v1/outbound/activities/{b_ids[0]}")
    assert one["id"] == b_ids[0] and one["status"] == "delivered"
    assert [e["status"] for e in one["history"]][-1] == "delivered"
    error_of(api.get("/v1/outbound/activities/act_0000"), 404, "not_found")
    with org_api(hub, name="Neighbour") as neighbour:
        error_of(neighbour.get(f"/v1/outbound/activities/{b_ids[0]}"), 404, "not_found")
        assert neighbour.ok("GET", "/v1/outbound/activities")["items"] == []


def test_report_counts_what_happened(api: Api, sandbox) -> None:
    cfg = outbound_setup(api, sandbox.url)["config"]["id"]
    for i in (10, 11):
        httpx.post(
            sandbox.url + "/_sandbox/rules",
            json={"to": phone(i), "action": "callbacks", "mode": "fail", "error_code": "30003"},
        ).raise_for_status()
    httpx.post(
        sandbox.url + "/_sandbox/rules", json={"to": phone(12), "action": "refuse", "code": 21211}
    ).raise_for_status()
    contacts = [contact(phone(i)) for i in range(3)]  # delivered
    contacts += [contact(phone(10)), contact(phone(11))]  # failed by the carrier
    contacts += [contact(phone(12))]  # refused by the provider
    contacts += [contact(phone(13), optin=False)]  # skipped
    contacts += [contact("+1999")]  # rejected by the hub: no activity
    answer = api.ok("POST", SEND, 202, json={"configuration_id": cfg, "contacts": contacts})
    assert [r["status"] for r in answer["results"]][-1] == "rejected"

    expected = {"delivered": 3, "failed": 2, "rejected": 1, "skipped_no_optin": 1}
    wait_for(lambda: statuses_settled(api, cfg, expected), timeout=20, interval=0.1)

    report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": cfg})
    assert report["configuration_id"] == cfg
    assert report["total"] == 7
    nonzero = {k: v for k, v in report["counts"].items() if v}
    assert nonzero == expected
    assert report["delivery_rate"] == 3 / 5
    ttd = report["time_to_deliver"]
    assert ttd["count"] == 3
    assert 0 <= ttd["average_seconds"] < 30
    assert sum(sum(h["counts"].values()) for h in report["by_hour"]) == 7

    failed = api.ok("GET", f"/v1/outbound/activities/{answer['results'][3]['activity_id']}")
    assert failed["status"] == "failed" and failed["error_code"] == "30003"
    assert any(e.get("error_code") == "30003" for e in failed["history"])
    refused = api.ok("GET", f"/v1/outbound/activities/{answer['results'][5]['activity_id']}")
    assert refused["status"] == "rejected" and refused["error_code"] == "21211"
    assert sent_counts(sandbox).get(phone(12)) is None  # refused: never stored, never retried

    error_of(api.get("/v1/outbound/report"), 400)
    error_of(api.get("/v1/outbound/report", params={"configuration_id": "cfg_unknown"}), 404)


def test_timeline_shows_only_timeline_configurations_newest_first(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url, show_in_timeline=True)
    shown = ids["config"]["id"]
    hidden = api.ok(
        "POST",
        "/v1/outbound-configurations",
        201,
        json={
            "name": "Internal",
            "show_in_timeline": False,
            "channel_type": "sms",
            "channel_id": ids["channel"]["id"],
            "template_id": ids["template"]["id"],
        },
    )["id"]
    customer = phone(5)

    expected: list[str] = []
    for n in range(5):
        for cfg in (shown, hidden):
            result = api.ok(
                "POST", SEND, 202, json={"configuration_id": cfg, "contacts": [contact(customer, CaseName=f"CAS-{n}")]}
            )["results"][0]
            if cfg == shown:
                expected.append(result["activity_id"])
    # Rejected contacts leave no trace; other customers are elsewhere.
    api.ok(
        "POST",
        SEND,
        202,
        json={
            "configuration_id": shown,
            "contacts": [contact(customer, entityrelationshipname=None), contact(phone(6))],
        },
    )
    expected.reverse()  # newest first

    def pages(path_phone: str, limit: int) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            page = api.ok("GET", f"/v1/contacts/{path_phone}/timeline", params=params)
            out.append(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return out
            assert len(out) < 10

    paged = pages(customer, 2)
    assert [len(p) for p in paged] == [2, 2, 1]
    items = [i for p in paged for i in p]
    assert [i["activity"]["id"] for i in items] == expected
    assert all(i["activity"]["configuration_id"] == shown for i in items)
    assert [i["activity"]["case_name"] for i in items] == [f"CAS-{n}" for n in (4, 3, 2, 1, 0)]
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    # The same customer however the number is written.
    assert [i["activity"]["id"] for p in pages(customer.lstrip("+1"), 10) for i in p] == expected
    assert [i["activity"]["id"] for p in pages("%2B" + customer[1:], 10) for i in p] == expected
    assert api.ok("GET", f"/v1/contacts/{phone(7)}/timeline")["items"] == []
    error_of(api.get("/v1/contacts/not-a-phone/timeline"), 400)
    for cursor in ("junk", "nan", "inf|act:x"):
        error = error_of(api.get(f"/v1/contacts/{customer}/timeline", params={"cursor": cursor}), 400)
        assert error["details"]["field"] == "cursor"


def test_timeline_pages_concurrent_sends_exactly_once(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    # Requests accepted in the same millisecond (two processes, many threads) must
    # still each show up once when the timeline is paged.
    first, second = hub_factory(), hub_factory()
    org = create_org(first.url)
    api = Api(first.url, org["api_key"])
    try:
        cfg = outbound_setup(api, sandbox.url, show_in_timeline=True)["config"]["id"]
        headers = {"Authorization": f"Bearer {org['api_key']}"}
        customer = phone(9)

        def fire(i: int) -> str:
            target = (first if i % 2 else second).url
            response = httpx.post(
                target + SEND,
                headers=headers,
                timeout=30,
                json={"configuration_id": cfg, "contacts": [contact(customer, optin=False, CaseName=f"C{i}")]},
            )
            assert response.status_code == 202, response.text
            return str(response.json()["results"][0]["activity_id"])

        with ThreadPoolExecutor(max_workers=20) as pool:
            made = set(pool.map(fire, range(40)))
        seen: list[str] = []
        cursor = None
        for _ in range(100):
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = api.ok("GET", f"/v1/contacts/{customer}/timeline", params=params)
            seen += [i["activity"]["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 40
        assert set(seen) == made
        assert {a["id"] for a in all_activities(api, limit=7)} == made
    finally:
        api.http.close()


# -- SMS segments ------------------------------------------------------------------


def test_send_results_and_activities_say_what_each_body_costs(api: Api, sandbox) -> None:
    ids = outbound_setup(
        api,
        sandbox.url,
        bodies={
            "en-US": "Hi {{CustomerName}}, case {{CaseName}} is ready.",
            "fr-FR": "Bonjour {{CustomerName}}, le dossier {{CaseName}} est prêt ✓ " + "x" * 60,
        },
    )
    cfg = ids["config"]["id"]
    contacts = [
        contact(phone(1)),
        contact(phone(2), locale="fr-FR"),
        contact(phone(3), CaseName="C" * 200),
        contact("12345"),
    ]
    results = api.ok("POST", SEND, 202, json={"configuration_id": cfg, "contacts": contacts})["results"]
    assert [(r.get("encoding"), r.get("segments")) for r in results] == [
        ("GSM-7", 1),
        ("UCS-2", 2),
        ("GSM-7", 2),
        (None, None),
    ]
    activity = api.ok("GET", f"/v1/outbound/activities/{results[1]['activity_id']}")
    assert (activity["encoding"], activity["segments"]) == ("UCS-2", 2)


def test_the_segments_of_any_body_are_told_to_the_console(api: Api, hub: HubProcess) -> None:
    told = api.ok("POST", "/v1/templates/segments", json={"body": "Don’t miss it — " + "€" * 80})
    assert told == {"encoding": "UCS-2", "segments": 2, "characters": 96, "ucs2_characters": ["’", "—"]}
    assert api.ok("POST", "/v1/templates/segments", json={"body": "a" * 161})["segments"] == 2
    for bad in ({}, {"body": ""}, {"body": 5}, {"body": "a" * 1601}, []):
        error_of(api.http.request("POST", "/v1/templates/segments", json=bad), 400, "invalid_request")
    anonymous = httpx.post(hub.url + "/v1/templates/segments", json={"body": "hi"})
    error_of(anonymous, 401)
