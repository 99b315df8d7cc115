"""One org over several Redis Cluster slots: the org setting ``partitions``
(hub.domain.partitions). With P > 1 a contact's messages, their records and
the stream that carries them live under the hash tag of the contact's
partition; the idempotency key and the hourly limit stay in the org's slot."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from hub.domain import partitions
from hub.domain.catalog import validate_org
from hub.domain.records import Org
from hub.storage import keys
from hub.storage.activities import ActivityStore, Admission
from hub.storage.redis import Scripts, connect
from hub.webhooks.intake import partition_hint
from tests.agents import customer_replies
from tests.redis_cluster import RedisCluster
from tests.support import ADMIN_TOKEN, SANDBOX_SID, SENDER, Api, contact, create_org, outbound_setup, phone, wait_for

pytestmark = pytest.mark.cluster

P = 4


def org_over_masters(hub_url: str, redis_cluster: RedisCluster, **body: Any) -> dict[str, Any]:
    """An org with P partitions whose hash tags are not all on one master
    (random org ids put them all on one of 3 masters 1 time in 27)."""
    while True:
        org = create_org(hub_url, partitions=P, **body)
        nodes = {redis_cluster.node_of(keys.org(u)) for u in partitions.units(org["id"], P)}
        if len(nodes) > 1:
            return org


def activity_keys_by_master(redis_cluster: RedisCluster, org_id: str) -> list[int]:
    counts = []
    for node in redis_cluster.nodes:
        with node.client() as c:
            counts.append(
                sum(1 for k in c.scan_iter(match=f"hub:{{{org_id}*}}:act:act_*", count=1000) if not k.endswith(":h"))
            )
    return counts


def test_one_org_with_four_partitions_spreads_over_the_masters_and_keeps_every_promise(
    hub, sandbox, redis_cluster: RedisCluster
) -> None:  # type: ignore[no-untyped-def]
    requests, per_request, contacts_n = 10, 30, 100
    limit = requests + 2
    org = org_over_masters(hub.url, redis_cluster, limits={"requests_per_hour": limit})
    assert org["partitions"] == P
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        config = ids["config"]["id"]

        def body(r: int) -> dict[str, Any]:
            # Request r sends case CAS-r to 30 of the 100 contacts (each gets 3).
            return {
                "configuration_id": config,
                "contacts": [
                    contact(phone((r * per_request + i) % contacts_n), CaseName=f"CAS-{r}") for i in range(per_request)
                ],
            }

        answers = [
            api.ok("POST", "/v1/outbound/send", 202, json=body(r), headers={"Idempotency-Key": f"k{r}"})
            for r in range(requests)
        ]
        activity_ids = [x["activity_id"] for a in answers for x in a["results"]]
        assert len(set(activity_ids)) == requests * per_request
        # A contact's messages all go through one partition (one stream: their order is kept).
        by_contact: dict[str, set[str]] = defaultdict(set)
        for r, a in enumerate(answers):
            for i, x in enumerate(a["results"]):
                by_contact[phone((r * per_request + i) % contacts_n)].add(x["activity_id"][4])
        assert all(len(digits) == 1 for digits in by_contact.values())
        assert len({d for digits in by_contact.values() for d in digits}) == P

        # Replays answer the same; another body under a used key is refused.
        assert api.ok("POST", "/v1/outbound/send", 202, json=body(0), headers={"Idempotency-Key": "k0"}) == answers[0]
        conflict = api.post("/v1/outbound/send", json=body(1), headers={"Idempotency-Key": "k0"})
        assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_key_reused"

        # Every message sent exactly once, each contact's in the order accepted.
        def all_delivered() -> Any:
            done = [m for m in sandbox.state.list_messages(SANDBOX_SID) if m.resource["status"] == "delivered"]
            return done if len(done) >= requests * per_request else None

        wait_for(all_delivered, timeout=120, interval=0.5)
        sent = sandbox.state.list_messages(SANDBOX_SID)
        assert len(sent) == requests * per_request
        assert set(Counter((m.resource["to"], m.resource["body"]) for m in sent).values()) == {1}
        assert len({m.resource["to"] for m in sent}) == contacts_n

        # The records are on more than one master.
        spread = activity_keys_by_master(redis_cluster, org["id"])
        assert sum(spread) == requests * per_request and sum(1 for n in spread if n) > 1, spread

        # Status callbacks (to URLs naming the partition) reached every partition's records.
        def delivered(activity_id: str) -> Any:
            a = api.ok("GET", f"/v1/outbound/activities/{activity_id}")
            return a if a["status"] == "delivered" else None

        for digit in sorted({i[4] for i in activity_ids}):
            one = next(i for i in activity_ids if i[4] == digit)
            found = wait_for(lambda one=one: delivered(one), timeout=30)
            assert any(e["source"] == "callback" and e["status"] == "delivered" for e in found["history"])

        # The list merges the partitions: every activity once, newest first.
        listed: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 70, **({"cursor": cursor} if cursor else {})}
            page = api.ok("GET", "/v1/outbound/activities", params=params)
            listed += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(a["id"] for a in listed) == sorted(activity_ids)
        created = [a["created_at"] for a in listed]
        assert created == sorted(created, reverse=True)

        # The report counts every partition's messages (archived to SQL, or still in Redis).
        def report_delivered() -> Any:
            report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": config})
            return report if report["counts"].get("delivered") == requests * per_request else None

        assert wait_for(report_delivered, timeout=30, interval=0.5)["total"] == requests * per_request

        def archived() -> bool:
            # Every partition's archive stream read and emptied by the archivers.
            units = partitions.units(org["id"], P)
            streams = [keys.archive_stream(u) for u in units] + [keys.outbound_stream(u) for u in units]
            lengths = []
            for stream in streams:
                with redis_cluster.node_of(stream).client() as c:
                    lengths.append(c.xlen(stream))
            return sum(lengths) == 0

        wait_for(archived, timeout=30, interval=0.5)
        metrics = httpx.get(hub.url + "/metrics", timeout=10)
        assert metrics.status_code == 200 and "hub_outbound_stream_depth" in metrics.text

        # A contact's timeline holds its three messages.
        timeline = api.ok("GET", f"/v1/contacts/{phone(7)}/timeline")["items"]
        assert [i["activity"]["case_name"] for i in timeline if i["kind"] == "activity"] == ["CAS-6", "CAS-3", "CAS-0"]

        # The hourly limit, in the org's slot, refuses exactly at the limit,
        # requests arriving at once.
        with ThreadPoolExecutor(6) as pool:
            codes = sorted(pool.map(lambda r: api.post("/v1/outbound/send", json=body(r % 3)).status_code, range(6)))
        assert codes == [202, 202, 429, 429, 429, 429]


async def test_a_reply_finds_the_activity_in_its_partition(hub, sandbox, redis_cluster: RedisCluster) -> None:  # type: ignore[no-untyped-def]
    org = org_over_masters(hub.url, redis_cluster)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        customers = [phone(300 + i) for i in range(8)]
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": ids["config"]["id"], "contacts": [contact(c) for c in customers]},
        )
        sent = {c: r["activity_id"] for c, r in zip(customers, answer["results"])}
        assert len({a[4] for a in sent.values()}) > 1  # several partitions take part
        for activity_id in sent.values():
            wait_for(lambda a=activity_id: api.ok("GET", f"/v1/outbound/activities/{a}")["status"] == "delivered")
        for customer in customers[:4]:
            await customer_replies(sandbox.url, hub.url, ids["channel"]["id"], customer, "Thanks", SENDER)
        convs = wait_for(lambda: (c := api.ok("GET", "/v1/conversations")["items"]) and len(c) >= 4 and c, timeout=20)
        for conv in convs:
            assert conv["correlation"]["activity_id"] == sent[conv["customer"]]
            assert conv["activity"]["id"] == sent[conv["customer"]]


def test_partitions_are_set_at_creation_only_and_refuse_event_endpoints(hub) -> None:  # type: ignore[no-untyped-def]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    plain = create_org(hub.url)
    assert "partitions" not in plain
    for bad in (0, 17, "4", True, 2.5):
        response = httpx.post(hub.url + "/v1/orgs", json={"name": "x", "partitions": bad}, headers=admin)
        assert response.status_code == 400, bad
        assert response.json()["error"]["details"] == {"field": "partitions"}
    org = create_org(hub.url, partitions=2)
    patch = httpx.patch(f"{hub.url}/v1/orgs/{org['id']}", json={"partitions": 1}, headers=admin)
    assert patch.status_code == 400 and patch.json()["error"]["details"] == {"field": "partitions"}
    assert httpx.get(f"{hub.url}/v1/orgs/{org['id']}", headers=admin).json()["partitions"] == 2
    with Api(hub.url, org["api_key"]) as api:
        endpoint = api.post("/v1/event-endpoints", json={"url": "https://example.com/hook", "types": ["*"]})
        assert endpoint.status_code == 409 and endpoint.json()["error"]["code"] == "partitions_unsupported"


async def test_a_request_cut_short_after_its_first_step_is_completed_once(redis_cluster: RedisCluster) -> None:
    """A crash between reserving a request (limit, key) and writing its
    partitions: the replay of its key, or the recovery for one without a
    key, writes them once and answers what the first call would have."""
    redis_cluster.flush()
    client = await connect(redis_cluster.url)
    try:
        store = ActivityStore(client, Scripts(client))
        org_id = "org_cut"
        acts = [
            {
                "id": partitions.activity_id(P, p),
                "score": 1000 * 1000 + i,
                "fields": {
                    "id": "",
                    "cfg": "cfg_1",
                    "status": "queued",
                    "channel": "ch_1",
                    "to": f"+1{i}",
                    "created": 1000,
                    "timeline": "0",
                },
            }
            for i, p in enumerate([0, 1, 2, 3, 1])
        ]
        for a in acts:
            a["fields"]["id"] = a["id"]

        def admission(request_id: str, key: str | None, response_json: str) -> Admission:
            return Admission(
                now_ms=1000,
                window_ms=3_600_000,
                limit=10,
                request_id=request_id,
                idem_key=key,
                idem_hash="h",
                idem_ttl_s=600,
                response_json=response_json,
                retention_s=600,
            )

        async def cut_short(request_id: str, key: str | None) -> None:
            async def crash(*_: Any) -> None:
                raise ConnectionError("the process died here")

            store._complete = crash  # type: ignore[method-assign]
            with pytest.raises(ConnectionError):
                await store.accept_partitioned(
                    org_id,
                    admission(request_id, key, json.dumps({"request_id": request_id})),
                    acts,
                    partitions=P,
                )
            del store._complete

        async def streams() -> int:
            return sum([await client.xlen(keys.outbound_stream(u)) for u in partitions.units(org_id, P)])

        await cut_short("req_a", "key-a")
        assert await streams() == 0
        replay = await store.accept_partitioned(org_id, admission("req_b", "key-a", "{}"), acts, partitions=P)
        assert (replay.outcome, json.loads(replay.response or "")) == ("replay", {"request_id": "req_a"})
        again = await store.accept_partitioned(org_id, admission("req_c", "key-a", "{}"), acts, partitions=P)
        assert (again.outcome, again.response) == ("replay", replay.response)
        assert await streams() == 5  # once, though completed and replayed twice

        for a in acts:
            a["id"] = a["fields"]["id"] = partitions.activity_id(P, int(a["id"][4]))
        await cut_short("req_d", None)
        assert await store.recover_accepting(org_id, 2000) != []
        assert await store.recover_accepting(org_id, 2000) == []
        assert await streams() == 10
        assert await client.zcard(keys.request_rate(org_id)) == 2  # each request counted once
    finally:
        await client.aclose()


def test_partition_helpers() -> None:
    assert partitions.unit("org_a", 0) == "org_a" and partitions.unit("org_a", 3) == "org_a~3"
    assert partitions.org_of("org_a~3") == "org_a" and partitions.partition_of("org_a~3") == 3
    assert keys.activity("org_a~3", "act_1") == "hub:{org_a~3}:act:act_1"
    assert {partitions.contact_partition(1, "ch", phone(i)) for i in range(50)} == {0}
    spread = Counter(partitions.contact_partition(4, "ch", phone(i)) for i in range(400))
    assert set(spread) == {0, 1, 2, 3} and min(spread.values()) > 60
    one = partitions.activity_id(4, 3)
    assert len(one) == 24 and partitions.activity_partition(4, one) == 3
    assert partitions.activity_partition(4, "act_f" + "0" * 19) is None
    base = "https://hub.example/webhooks/twilio/ch_1/status"
    assert [partition_hint(base + q) for q in ("?p=3", "?p=15", "", "?p=0", "?p=16", "?p=x", "?q=2")] == [
        3,
        15,
        0,
        0,
        0,
        0,
        0,
    ]
    org = validate_org({"name": "Big", "partitions": 4}, id="org_1", created_at=1.0)
    assert org.public()["partitions"] == 4 and Org.from_json(org.to_json()).partitions == 4
    assert "partitions" not in validate_org({"name": "Small"}, id="org_2", created_at=1.0).public()


def test_telesign_callbacks_find_their_partition_by_provider_id(hub, sandbox, redis_cluster: RedisCluster) -> None:  # type: ignore[no-untyped-def]
    """TeleSign signs the callback's body, not its URL: the partition is found
    by the provider id's pointer, not taken from the URL."""
    from tests.test_telesign import telesign_setup

    org = org_over_masters(hub.url, redis_cluster)
    with Api(hub.url, org["api_key"]) as api:
        config = telesign_setup(api, sandbox.url)["config"]["id"]
        customers = [phone(400 + i) for i in range(8)]
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": config, "contacts": [contact(c) for c in customers]},
        )
        sent = [r["activity_id"] for r in answer["results"]]
        assert len({a[4] for a in sent}) > 1
        for activity_id in sent:
            found = wait_for(
                lambda a=activity_id: (
                    (x := api.ok("GET", f"/v1/outbound/activities/{a}"))["status"] == "delivered" and x
                ),
                timeout=20,
            )
            assert any(e["source"] == "callback" for e in found["history"])


def test_partition_records_leave_redis_after_the_hot_window_and_sql_answers(
    hub_factory, sandbox, redis_cluster: RedisCluster
) -> None:  # type: ignore[no-untyped-def]
    """The hot-window sweep drops each activity from its own partition; reads
    then come from SQL, and a late callback to a partition's URL still applies."""
    from twilio.request_validator import RequestValidator

    from tests.support import SANDBOX_TOKEN

    hub = hub_factory(HUB_HOT_SECONDS="1")
    org = org_over_masters(hub.url, redis_cluster)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        customers = [phone(500 + i) for i in range(8)]
        answer = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": ids["config"]["id"], "contacts": [contact(c) for c in customers]},
        )
        sent = [r["activity_id"] for r in answer["results"]]
        assert len({a[4] for a in sent}) > 1
        delivered = {
            a: wait_for(
                lambda a=a: (x := api.ok("GET", f"/v1/outbound/activities/{a}"))["status"] == "delivered" and x,
                timeout=20,
            )
            for a in sent
        }
        wait_for(lambda: sum(activity_keys_by_master(redis_cluster, org["id"])) == 0, timeout=30, interval=0.5)
        for a in sent:
            assert api.ok("GET", f"/v1/outbound/activities/{a}") == delivered[a]
        listed = api.ok("GET", "/v1/outbound/activities", params={"limit": 100})["items"]
        assert sorted(x["id"] for x in listed) == sorted(sent)

        # The customer reads one sent from a partition other than the org's own.
        late = next(a for a in sent if a[4] != "0")
        url = f"{hub.url}/webhooks/twilio/{ids['channel']['id']}/status?p={int(late[4], 16)}"
        form = {
            "MessageSid": delivered[late]["provider_message_id"],
            "MessageStatus": "read",
            "AccountSid": SANDBOX_SID,
        }
        signature = RequestValidator(SANDBOX_TOKEN).compute_signature(url, form)
        assert httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}).status_code == 204
        wait_for(lambda: api.ok("GET", f"/v1/outbound/activities/{late}")["status"] == "read", timeout=30)


def test_erasing_a_customer_reaches_their_partition(hub, sandbox, redis_cluster: RedisCluster) -> None:  # type: ignore[no-untyped-def]
    org = org_over_masters(hub.url, redis_cluster)
    with Api(hub.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        # A customer whose partition is not the org's own.
        customer = next(
            c for c in (phone(600 + i) for i in range(50)) if partitions.contact_partition(P, ids["channel"]["id"], c)
        )
        sent = [
            api.ok(
                "POST",
                "/v1/outbound/send",
                202,
                json={"configuration_id": ids["config"]["id"], "contacts": [contact(customer, CaseName=f"CAS-{i}")]},
            )["results"][0]["activity_id"]
            for i in range(2)
        ]
        for a in sent:
            wait_for(lambda a=a: api.ok("GET", f"/v1/outbound/activities/{a}")["status"] == "delivered", timeout=20)
        assert len(api.ok("GET", f"/v1/contacts/{customer}/timeline")["items"]) == 2
        erased = api.ok("DELETE", f"/v1/contacts/{customer}")["erased"]
        assert (erased["activities"], erased["activities_in_flight"]) == (2, 0)
        for a in sent:
            activity = api.ok("GET", f"/v1/outbound/activities/{a}")
            assert activity["erased"] is True and activity["body"] is None and activity["case_name"] is None
        assert api.ok("GET", f"/v1/contacts/{customer}/timeline")["items"] == []


def test_held_messages_are_released_from_every_partition_and_their_request_counted_once(
    hub, sandbox, redis_cluster: RedisCluster
) -> None:  # type: ignore[no-untyped-def]
    """Quiet hours with partitions: each partition releases its share of a
    held request; the request counts against the org's hourly limit (in the
    org's slot) once, from then on, as at P = 1."""
    from tests.test_quiet_hours import midday_zone, opening_in

    org = org_over_masters(hub.url, redis_cluster, limits={"requests_per_hour": 2})
    with Api(hub.url, org["api_key"]) as api:
        setup = outbound_setup(api, sandbox.url)
        cfg, channel = setup["config"]["id"], setup["channel"]["id"]
        zone, window, opens = opening_in(4)
        api.ok("PATCH", f"/v1/outbound-configurations/{cfg}", json={"quiet_hours": window})
        # Outside the org's own partition: the count goes through the partitions' outboxes.
        numbers = [n for n in (phone(700 + i) for i in range(40)) if partitions.contact_partition(P, channel, n)][:8]
        held = api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={
                "configuration_id": cfg,
                "contacts": [contact(n, contextitems={"state": "open", "timezone": zone}) for n in numbers],
            },
        )["results"]
        assert {r["status"] for r in held} == {"deferred"}
        assert len({r["activity_id"][4] for r in held}) > 1

        def send_one(number: str, timezone: str) -> dict[str, Any]:
            body = {
                "configuration_id": cfg,
                "contacts": [contact(number, contextitems={"state": "open", "timezone": timezone})],
            }
            return dict(api.ok("POST", "/v1/outbound/send", 202, json=body)["results"][0])

        # Held, it does not count (limit 2): one sent now and another held are taken.
        assert send_one(phone(720), midday_zone(1))["status"] == "queued"
        assert send_one(phone(721), midday_zone(-2))["status"] == "deferred"
        assert sandbox.state.list_messages(SANDBOX_SID, to=numbers[0]) == []

        def all_delivered() -> bool:
            return all(
                api.ok("GET", f"/v1/outbound/activities/{r['activity_id']}")["status"] == "delivered" for r in held
            )

        wait_for(all_delivered, timeout=30, interval=0.2)
        sent = [m for m in sandbox.state.list_messages(SANDBOX_SID) if m.resource["to"] in numbers]
        assert sorted(m.resource["to"] for m in sent) == sorted(numbers)
        assert min(m.sent_at for m in sent) >= opens.timestamp()
        # Released, it counts from now, once however many partitions released it.
        wait_for(lambda: outboxes_empty(redis_cluster, org["id"]))
        refused = api.post("/v1/outbound/send", json={"configuration_id": cfg, "contacts": [contact(phone(722))]})
        assert refused.status_code == 429, refused.text


def outboxes_empty(redis_cluster: RedisCluster, org_id: str) -> bool:
    for u in partitions.units(org_id, P)[1:]:
        with redis_cluster.node_of(keys.rate_outbox(u)).client() as c:
            if c.exists(keys.rate_outbox(u)):
                return False
    return True
