"""Bulk jobs (instant flows) and `hub send`, against real hub processes, a
real redis-server and the sandbox provider.

``test_bulk_job_of_100000_contacts`` is the heavy one (see its docstring).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.storage import keys
from hub.storage.sql import open_database
from tests.flow_support import QUIET_S, clients, sent_to  # noqa: F401 (a fixture)
from tests.support import ADMIN_TOKEN, ROOT, Api, contact, outbound_setup, phone, wait_for

HEADER = "tocontactid,channelid,optin,CustomerName,CaseName,entityrelationshipname,state"
CSV = {"Content-Type": "text/csv"}


def number(i: int) -> str:
    """Many distinct valid US numbers."""
    return f"+1415{2000000 + i}"


def csv_file(count: int) -> bytes:
    rows = [HEADER] + [f"{number(i)},sms,true,Name {i},CAS-{i},incident,resolved" for i in range(count)]
    return ("\n".join(rows) + "\n").encode()


def upload(api: Api, config_id: str, data: bytes, headers: dict[str, str] = CSV) -> Any:
    return api.ok("POST", "/v1/bulk-jobs", 201, params={"configuration_id": config_id}, content=data, headers=headers)


def job_of(api: Api, job_id: str) -> Any:
    return api.ok("GET", f"/v1/bulk-jobs/{job_id}")


def finished(api: Api, job_id: str) -> Any:
    job = job_of(api, job_id)
    assert job["status"] != "failed", job
    return job if job["status"] in ("done", "canceled") else None


def results_of(api: Api, job_id: str) -> list[dict[str, str]]:
    response = api.get(f"/v1/bulk-jobs/{job_id}/results")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def set_limits(url: str, org_id: str, **limits: int) -> None:
    response = httpx.patch(
        f"{url}/v1/orgs/{org_id}", json={"limits": limits}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200, response.text


def test_bulk_job_records_each_contacts_outcome_in_file_order(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url, show_in_timeline=False)
    config_id = ids["config"]["id"]
    data = (
        "TOCONTACTID,ChannelID,OptIn,customername,casename,state,locale\n"
        f'{phone(1)},sms,true,"Ada, L.",CAS-1,resolved,fr-FR\n'
        f"{phone(2)},sms,false,Bob,CAS-2,open,\n"
        "not-a-number,sms,true,Cy,CAS-3,open,\n"
        f"{phone(4)},sms,true,Di,CAS-4,,\n"  # no value for {{state}}
        f"{phone(5)},whatsapp,true,Ed,CAS-5,open,\n"
    ).encode()
    job = upload(api, config_id, data)
    assert job["id"].startswith("blk_") and job["total"] == 5
    assert job["status"] in ("pending", "running", "done")
    done = wait_for(lambda: finished(api, job["id"]))
    assert (done["status"], done["processed"]) == ("done", 5)
    assert done["counts"] == {"queued": 1, "skipped_no_optin": 1, "rejected": 3}

    rows = results_of(api, job["id"])
    assert list(rows[0]) == ["row", "tocontactid", "status", "activity_id", "error_code", "error_message"]
    assert [(r["row"], r["tocontactid"], r["status"], r["error_code"]) for r in rows] == [
        ("1", phone(1), "queued", ""),
        ("2", phone(2), "skipped_no_optin", ""),
        ("3", "not-a-number", "rejected", "invalid_phone"),
        ("4", phone(4), "rejected", "missing_placeholder"),
        ("5", phone(5), "rejected", "channel_mismatch"),
    ]
    activity = api.ok("GET", f"/v1/outbound/activities/{rows[0]['activity_id']}")
    assert activity["body"].startswith("Bonjour Ada, L.") and activity["locale"] == "fr-FR"
    wait_for(lambda: sent_to(sandbox, phone(1)) == 1)
    assert api.ok("GET", "/v1/bulk-jobs")["items"][0]["id"] == job["id"]


def test_bulk_job_from_json_lines_and_refused_uploads(api: Api, sandbox) -> None:
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]
    lines = "\n".join(json.dumps(contact(phone(i), state="ok")) for i in range(3)).encode()
    job = upload(api, config_id, lines, {"Content-Type": "application/x-ndjson"})
    done = wait_for(lambda: finished(api, job["id"]))
    assert done["counts"] == {"queued": 3} and done["format"] == "jsonl"

    def refused(status: int, code: str, **kw: Any) -> dict[str, Any]:
        kw.setdefault("params", {"configuration_id": config_id})
        kw.setdefault("headers", CSV)
        response = api.post("/v1/bulk-jobs", **kw)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
        return dict(response.json()["error"])

    refused(415, "unsupported_media_type", content=b"{}", headers={"Content-Type": "application/json"})
    refused(404, "not_found", content=csv_file(1), params={"configuration_id": "cfg_nope"})
    refused(400, "invalid_request", content=csv_file(1), params={})
    refused(400, "invalid_request", content=HEADER.encode())  # no contacts
    bad = refused(400, "invalid_request", content=csv_file(3) + b"+14155550000,sms,true,a,b,c,d,e\n")
    assert bad["details"] == {"row": 4}
    assert api.get("/v1/bulk-jobs/blk_nope").status_code == 404
    assert len(api.ok("GET", "/v1/bulk-jobs")["items"]) == 1  # refused uploads leave nothing


def test_bulk_job_waits_for_the_hourly_limit_and_resumes(hub, api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    org_id = api.org["id"]  # type: ignore[attr-defined]
    set_limits(hub.url, org_id, contacts_per_request=2, requests_per_hour=2)
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]
    job = upload(api, config_id, csv_file(6))

    def waiting() -> Any:
        current = job_of(api, job["id"])
        return current if current["waiting"] else None

    held = wait_for(waiting)
    # Two requests went out; the third waits out the rolling hour instead of failing.
    assert (held["status"], held["processed"], held["error"]) == ("running", 4, None)
    assert 3000 < held["retry_after"] <= 3600
    time.sleep(QUIET_S)
    assert job_of(api, job["id"])["processed"] == 4

    # An admin raises the limit: the runner notices and carries on.
    set_limits(hub.url, org_id, requests_per_hour=10)
    done = wait_for(lambda: finished(api, job["id"]), timeout=15)
    assert (done["status"], done["processed"], done["counts"]) == ("done", 6, {"queued": 6})
    wait_for(lambda: all(sent_to(sandbox, number(i)) == 1 for i in range(6)))


def test_cancel_stops_a_job_and_its_unsent_rows_say_so(hub, api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    set_limits(hub.url, api.org["id"], contacts_per_request=2, requests_per_hour=1)  # type: ignore[attr-defined]
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]
    job = upload(api, config_id, csv_file(5))
    wait_for(lambda: job_of(api, job["id"])["waiting"])
    canceled = api.ok("POST", f"/v1/bulk-jobs/{job['id']}/cancel")
    assert canceled["status"] == "canceled" and canceled["processed"] == 2
    assert api.ok("POST", f"/v1/bulk-jobs/{job['id']}/cancel")["status"] == "canceled"
    rows = results_of(api, job["id"])
    assert [r["status"] for r in rows] == ["queued", "queued", "canceled", "canceled", "canceled"]
    assert [r["row"] for r in rows] == ["1", "2", "3", "4", "5"]

    set_limits(hub.url, api.org["id"], requests_per_hour=100)  # type: ignore[attr-defined]
    other = upload(api, config_id, csv_file(1))
    wait_for(lambda: finished(api, other["id"]))
    response = api.post(f"/v1/bulk-jobs/{other['id']}/cancel")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")


def _killed_mid_job(hub_factory, sandbox, clients, env, *, per_request, total, seen):  # type: ignore[no-untyped-def]
    """A job of ``total`` contacts whose process is killed (no goodbye) once
    ``seen`` are processed; a second process with a short lease is started.
    Returns the second process's client, the configuration id and the job."""
    env = {"HUB_BULK_LEASE_MS": "1000", **env}
    first = hub_factory(**env)
    api = clients(first.url, limits={"contacts_per_request": per_request, "requests_per_hour": 1_000_000})
    config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
    job = upload(api, config_id, csv_file(total))
    wait_for(lambda: job_of(api, job["id"])["processed"] >= seen, timeout=20)
    first.kill()
    second = hub_factory(**env)
    return clients(second.url, api.org["api_key"]), config_id, job


def test_bulk_job_is_taken_over_after_its_runner_dies(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    total = 1000
    api2, config_id, job = _killed_mid_job(hub_factory, sandbox, clients, {}, per_request=5, total=total, seen=25)
    assert job_of(api2, job["id"])["processed"] < total  # the second process has work left
    done = wait_for(lambda: finished(api2, job["id"]), timeout=60)
    assert (done["processed"], done["counts"]) == (total, {"queued": total})
    rows = results_of(api2, job["id"])
    assert [int(r["row"]) for r in rows] == list(range(1, total + 1))
    assert len({r["activity_id"] for r in rows}) == total
    # Exactly one activity per contact: the chunk in flight at the crash was replayed.
    report = api2.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})
    assert report["total"] == total


def test_a_wide_window_keeps_file_order_and_a_takeover_sends_nobody_twice(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    # Sixteen chunks in flight when the first process dies: the second resends
    # the unrecorded ones with the same keys, so every contact gets one activity.
    total = 900
    window = {"HUB_BULK_WINDOW": "16"}
    api2, config_id, job = _killed_mid_job(hub_factory, sandbox, clients, window, per_request=3, total=total, seen=30)
    done = wait_for(lambda: finished(api2, job["id"]), timeout=60)
    assert (done["processed"], done["counts"]) == (total, {"queued": total})
    rows = results_of(api2, job["id"])
    assert [int(r["row"]) for r in rows] == list(range(1, total + 1))
    assert [r["tocontactid"] for r in rows] == [number(i) for i in range(total)]
    assert len({r["activity_id"] for r in rows}) == total
    report = api2.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})
    assert report["total"] == total


def test_chunks_in_flight_take_the_hourly_limit_in_file_order(hub_factory, sandbox, clients, r) -> None:  # type: ignore[no-untyped-def]
    # Ten chunks of two, eight in flight at once, against 10 requests an hour
    # of which 7 went out almost an hour ago: whatever order the eight sends
    # run in, chunks 0-2 take what is left, chunk 3 is refused, and no later
    # chunk goes out before it. When the old requests leave the hour, the job
    # goes on from chunk 3 and sends everybody once.
    hub = hub_factory(HUB_BULK_WINDOW="8")
    api = clients(hub.url, limits={"contacts_per_request": 2, "requests_per_hour": 10})
    config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
    for i in range(7):
        api.ok(
            "POST",
            "/v1/outbound/send",
            202,
            json={"configuration_id": config_id, "contacts": [contact(number(100 + i))]},
        )
    rate = keys.request_rate(api.org["id"])
    old = r.zrange(rate, 0, -1)
    assert len(old) == 7
    r.zadd(
        rate, dict.fromkeys(old, int(time.time() * 1000) - 3_600_000 + 15_000), xx=True
    )  # they leave the hour in 15 s
    total = 20
    job = upload(api, config_id, csv_file(total))

    def waiting() -> Any:
        current = job_of(api, job["id"])
        return current if current["waiting"] else None

    held = wait_for(waiting, timeout=10)
    assert (held["status"], held["processed"], held["retry_after"] <= 15) == ("running", 6, True)
    assert [row["status"] for row in results_of(api, job["id"])] == ["queued"] * 6 + ["pending"] * 14
    # Exactly the first three chunks took the hour's budget and reach the provider.
    assert len(r.zrange(rate, 0, -1)) == 10
    wait_for(lambda: all(sent_to(sandbox, number(i)) == 1 for i in range(6)))
    assert [sent_to(sandbox, number(i)) for i in range(6, total)] == [0] * (total - 6)

    done = wait_for(lambda: finished(api, job["id"]), timeout=40)
    assert (done["status"], done["processed"], done["counts"]) == ("done", total, {"queued": total})
    rows = results_of(api, job["id"])
    assert [(int(row["row"]), row["tocontactid"]) for row in rows] == [(i + 1, number(i)) for i in range(total)]
    assert len({row["activity_id"] for row in rows}) == total
    wait_for(lambda: all(sent_to(sandbox, number(i)) == 1 for i in range(total)))
    time.sleep(QUIET_S)
    assert [sent_to(sandbox, number(i)) for i in range(total)] == [1] * total
    report = api.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})
    assert report["total"] == 7 + total


def test_a_job_canceled_with_chunks_in_flight_says_who_was_sent(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    # Eight chunks in flight when the cancel lands: those already accepted go
    # out and their rows say so; none after the first one kept out is sent.
    hub = hub_factory(HUB_BULK_WINDOW="8")
    api = clients(hub.url, limits={"contacts_per_request": 2, "requests_per_hour": 1_000_000})
    config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
    total = 2000
    job = upload(api, config_id, csv_file(total))
    wait_for(lambda: job_of(api, job["id"])["processed"] >= 40, timeout=20)
    assert api.ok("POST", f"/v1/bulk-jobs/{job['id']}/cancel")["status"] == "canceled"

    def activities() -> int:
        return int(api.ok("GET", "/v1/outbound/report", params={"configuration_id": config_id})["total"])

    # Every contact the hub accepted gets its row: one activity per processed contact, no more.
    wait_for(lambda: activities() == job_of(api, job["id"])["processed"], timeout=10)
    time.sleep(QUIET_S)
    rows = results_of(api, job["id"])
    queued = sum(row["status"] == "queued" for row in rows)
    assert 40 <= queued < total
    assert [row["status"] for row in rows] == ["queued"] * queued + ["canceled"] * (total - queued)
    assert activities() == job_of(api, job["id"])["processed"] == queued


def test_hub_send_uploads_shows_progress_and_writes_results(hub, api: Api, sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]
    source = tmp_path / "contacts.csv"
    source.write_bytes(csv_file(250) + b"123,sms,true,Bad,CAS-X,incident,x\n")
    out = tmp_path / "out.csv"
    env = {**os.environ, "HUB_API_KEY": api.org["api_key"]}  # type: ignore[attr-defined]
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub",
            "send",
            str(source),
            "--config",
            config_id,
            "--url",
            hub.url,
            "--results",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    stderr, stdout = proc.stderr.decode(), proc.stdout.decode()
    assert proc.returncode == 0, stderr
    assert time.monotonic() - started < 30
    # A bar redrawn in place on stderr; the counts on stdout.
    assert "\r[" in stderr and "\r[##############################] 100.0% 251/251 done" in stderr
    assert " done: 251 of 251 contacts" in stdout
    assert [line.split() for line in stdout.splitlines()[1:3]] == [["queued", "250"], ["rejected", "1"]]
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 251 and rows[-1]["error_code"] == "invalid_phone"

    missing = subprocess.run(
        [sys.executable, "-m", "hub", "send", str(source), "--config", "cfg_nope", "--url", hub.url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "not_found" in missing.stderr


def test_ctrl_c_in_hub_send_cancels_the_job(hub, api: Api, sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    set_limits(hub.url, api.org["id"], contacts_per_request=2, requests_per_hour=1)  # type: ignore[attr-defined]
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]
    source = tmp_path / "contacts.csv"
    source.write_bytes(csv_file(4))
    env = {**os.environ, "HUB_API_KEY": api.org["api_key"]}  # type: ignore[attr-defined]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "send", str(source), "--config", config_id, "--url", hub.url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        jobs = wait_for(lambda: [j for j in api.ok("GET", "/v1/bulk-jobs")["items"] if j["waiting"]])
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, stderr
    assert f"canceled job {jobs[0]['id']}" in stderr.decode()
    assert f"job {jobs[0]['id']} canceled: 2 of 4 contacts" in stdout.decode()
    assert job_of(api, jobs[0]["id"])["status"] == "canceled"


@pytest.mark.timeout(300)
@pytest.mark.heavy
def test_bulk_job_of_100000_contacts(hub_factory, sandbox, clients) -> None:  # type: ignore[no-untyped-def]
    """HEAVY (60 to 100 s on two busy cores; HUB_SKIP_HEAVY=1 skips it):
    100,000 contacts in one upload, 1,000 send requests, every contact ends
    with exactly one outcome. Sandbox callbacks are off and the hourly limit
    is large; the hub's dispatchers send the messages meanwhile."""
    httpx.put(sandbox.url + "/_sandbox/settings", json={"callbacks_enabled": False})
    hub = hub_factory()
    api = clients(hub.url, limits={"requests_per_hour": 1_000_000})
    config_id = outbound_setup(api, sandbox.url, show_in_timeline=False)["config"]["id"]
    total = 100_000
    started = time.monotonic()
    job = upload(api, config_id, csv_file(total))
    uploaded = time.monotonic() - started
    done = wait_for(lambda: finished(api, job["id"]), timeout=300, interval=0.5)
    elapsed = time.monotonic() - started
    assert (done["processed"], done["counts"]) == (total, {"queued": total})
    rows = results_of(api, job["id"])
    assert len(rows) == total and len({r["tocontactid"] for r in rows}) == total
    assert len({r["activity_id"] for r in rows}) == total
    # Every outcome reaches the SQL history too (the hub's own SQLite).
    url = f"sqlite:///{hub.data_dir}/hub.sqlite3"
    wait_for(lambda: sql_count(url, done["id"]) == total, timeout=120, interval=0.5)
    archived = time.monotonic() - started
    print(
        f"\n100k bulk job: upload {uploaded:.1f}s, all outcomes after {elapsed:.1f}s, all in SQL after {archived:.1f}s"
    )


def sql_count(url: str, job_id: str) -> int:
    async def go() -> int:
        db = await open_database(url)
        try:
            return int(await db.fetchval("SELECT COUNT(*) FROM bulk_outcomes WHERE job_id = ?", job_id))
        finally:
            await db.close()

    return asyncio.run(go())


def test_answers_match_the_openapi_document(hub, api: Api, sandbox) -> None:  # type: ignore[no-untyped-def]
    from tests.test_openapi import check_response

    doc = httpx.get(hub.url + "/openapi.json").json()
    config_id = outbound_setup(api, sandbox.url)["config"]["id"]

    def call(method: str, path: str, template: str | None = None, **kw: Any) -> Any:
        response = api.request(method, path, **kw)
        return response.status_code, check_response(doc, template or path, method.lower(), response)

    status, flow = call(
        "POST", "/v1/flows", json={"kind": "automated", "event_type": "case.created", "configuration_id": config_id}
    )
    assert status == 201
    status, answer = call(
        "POST", "/v1/events", json={"id": "e1", "type": "case.created", "data": {"contacts": [contact(phone(1))]}}
    )
    assert status == 202 and answer["flows"][0]["status"] == "sent"
    assert call("PATCH", f"/v1/flows/{flow['id']}", "/v1/flows/{id}", json={"enabled": False})[0] == 200
    status, cron = call(
        "POST",
        "/v1/flows",
        json={
            "kind": "scheduled",
            "configuration_id": config_id,
            "contacts": [contact(phone(2))],
            "cron": "* * * * * */1",
        },
    )
    assert status == 201
    wait_for(lambda: api.ok("GET", f"/v1/flows/{cron['id']}")["runs"])
    assert call("GET", f"/v1/flows/{cron['id']}", "/v1/flows/{id}")[0] == 200
    assert call("GET", "/v1/flows")[0] == 200
    assert call("DELETE", f"/v1/flows/{cron['id']}", "/v1/flows/{id}")[0] == 204
    assert call("GET", "/v1/flows/flw_nope", "/v1/flows/{id}")[0] == 404
    assert call("POST", "/v1/flows", json={"kind": "nope"})[0] == 400

    status, job = call(
        "POST", "/v1/bulk-jobs", params={"configuration_id": config_id}, content=csv_file(3), headers=CSV
    )
    assert status == 201
    wait_for(lambda: finished(api, job["id"]))
    assert call("GET", f"/v1/bulk-jobs/{job['id']}", "/v1/bulk-jobs/{id}")[0] == 200
    assert call("POST", f"/v1/bulk-jobs/{job['id']}/cancel", "/v1/bulk-jobs/{id}/cancel")[0] == 409
    assert call("GET", "/v1/bulk-jobs")[0] == 200
    assert (
        call(
            "POST",
            "/v1/bulk-jobs",
            params={"configuration_id": config_id},
            content=b"x",
            headers={"Content-Type": "text/plain"},
        )[0]
        == 415
    )
    response = api.get(f"/v1/bulk-jobs/{job['id']}/results")
    assert response.status_code == 200 and response.text.startswith("row,tocontactid,status,")
