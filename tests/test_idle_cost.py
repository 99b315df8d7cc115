"""What an idle hub costs Redis, and that idle orgs still get their work on time.

Background loops look at an org when work is announced or falls due, and
every HUB_IDLE_CHECK_SECONDS otherwise (hub/services/workboard.py); these
tests count the Redis commands an idle hub sends (INFO commandstats, the
commands scripts run included), and time an idle org's first send and a
schedule made on a process that dies, both taken up by another process."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import redis

from tests.support import Api, contact, create_org, outbound_setup, phone, wait_for

# The goal: at most this many Redis commands a second per org per process, idle.
BUDGET = 0.5
DEFAULT_IDLE_S = 30.0


def commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for name, v in stats.items() if name.removeprefix("cmdstat_") not in ("info", "config"))


def test_an_idle_hub_costs_redis_well_under_a_command_per_org_per_second(hub_factory, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    # A short idle interval so that a few seconds hold several rounds of
    # looks; the cost per round, spread over the default 30 s, is the figure.
    idle_s = 2.0
    hubs = [hub_factory(HUB_IDLE_CHECK_SECONDS=str(idle_s)) for _ in range(2)]
    orgs = 40
    for i in range(orgs):
        create_org(hubs[i % 2].url, name=f"Idle {i}")
    time.sleep(1.5)  # the first looks at the new orgs
    client = redis.Redis.from_url(redis_url, socket_timeout=None)
    try:
        window = 4 * idle_s
        before = commands(client)
        time.sleep(window)
        used = commands(client) - before
    finally:
        client.close()
    per_round = used / orgs / len(hubs) / (window / idle_s)
    # Every org is looked at about once per idle interval by each process.
    assert per_round > 0, "no org was looked at"
    assert per_round / DEFAULT_IDLE_S <= BUDGET, (
        f"{per_round:.1f} commands per org per process per idle round: "
        f"{per_round / DEFAULT_IDLE_S:.2f}/s at the default interval"
    )


def test_an_idle_orgs_first_send_goes_at_once_from_another_process(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    # The process taking the request has no outbound workers: the other one
    # must learn of the send, although the org has been idle all along.
    taker = hub_factory(HUB_WORKERS="0")
    sender = hub_factory()
    org = create_org(taker.url)
    with Api(taker.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        time.sleep(2.0)  # the sender's first look at the new org is over: the org is idle
        for i in range(2):  # the first send, and one after the org went quiet again
            started = time.monotonic()
            answer = api.ok(
                "POST",
                "/v1/outbound/send",
                202,
                json={"configuration_id": ids["config"]["id"], "contacts": [contact(phone(i))]},
            )
            activity = answer["results"][0]["activity_id"]

            def sent(activity: str = activity) -> bool:
                status = api.ok("GET", f"/v1/outbound/activities/{activity}")["status"]
                return status not in ("queued", "sending")

            wait_for(sent, timeout=20, interval=0.05)
            # The idle interval is 30 s; announced work goes within a second
            # (a few allowed for a loaded test machine).
            assert time.monotonic() - started < 5.0
            time.sleep(3.0)
    assert httpx.get(sender.url + "/readyz").status_code == 200


def test_a_schedule_made_on_a_process_that_dies_fires_on_time_from_another(hub_factory, sandbox) -> None:  # type: ignore[no-untyped-def]
    from tests.flow_support import sent_to
    from tests.test_flows import iso_in, runs_of, scheduled

    maker, other = hub_factory(), hub_factory()
    org = create_org(maker.url)
    with Api(maker.url, org["api_key"]) as api:
        ids = outbound_setup(api, sandbox.url)
        time.sleep(2.0)  # the other process's first look at the new org is over
        flow = scheduled(api, ids["config"]["id"], [phone(9)], at=iso_in(3))
        # Killed before its own scheduler could fire it, once its announcement
        # (sent just after the answer) is out: a process killed before that is
        # the idle look's case.
        time.sleep(0.5)
        maker.kill()
    due = datetime.fromisoformat(flow["next_run_at"].replace("Z", "+00:00")).timestamp()
    # The other process learnt the occurrence from the announcement, not from
    # its next idle look (30 s away): it fires on time, not late.
    wait_for(lambda: sent_to(sandbox, phone(9)) == 1, timeout=20)
    assert time.time() - due < 5.0
    with Api(other.url, org["api_key"]) as api:
        runs = wait_for(lambda: runs_of(api, flow["id"]))
    assert runs[0]["late"] is False
