"""The whole outbound loop on real parts: hub process, redis-server, sandbox over HTTP."""

from __future__ import annotations

from tests.support import Api, contact, outbound_setup, wait_for


def test_one_message_is_sent_and_its_delivered_status_comes_back(api: Api, sandbox) -> None:
    ids = outbound_setup(api, sandbox.url)
    answer = api.ok(
        "POST",
        "/v1/outbound/send",
        202,
        json={
            "configuration_id": ids["config"]["id"],
            "contacts": [contact("+14155552671", CustomerName="Ada", CaseName="CAS-7")],
        },
    )
    result = answer["results"][0]
    assert result["status"] == "queued"
    activity_id = result["activity_id"]

    def delivered() -> dict | None:
        activity = api.ok("GET", f"/v1/outbound/activities/{activity_id}")
        return activity if activity["status"] == "delivered" else None

    activity = wait_for(delivered, timeout=15)
    sent = sandbox.state.list_messages("AC" + "a" * 32, to="+14155552671")
    assert len(sent) == 1
    assert sent[0].resource["body"] == "Hi Ada, case CAS-7 is resolved."
    assert activity["provider_message_id"] == sent[0].resource["sid"]
    assert activity["body"] == "Hi Ada, case CAS-7 is resolved."
    assert activity["locale"] == "en-US"
    statuses = [event["status"] for event in activity["history"]]
    assert statuses[0] == "queued" and "sending" in statuses
    assert statuses[-2:] == ["sent", "delivered"]
