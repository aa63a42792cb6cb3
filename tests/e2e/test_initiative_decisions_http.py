"""An initiative's decisions over HTTP: who may decide, the recorded shape, replays, history."""

from __future__ import annotations

import flask
from flask.testing import FlaskClient

from tests.e2e.conftest import decision
from tests.e2e.initiative_requests import ADMIN, key_for, new_initiative, ok, url

DECISION_KEYS = {
    "decision_id",
    "initiative_id",
    "decision",
    "from_status",
    "to_status",
    "rationale",
    "reason_code",
    "decided_by",
    "decided_on",
    "recorded_at",
    "actor",
    "log_position",
    "evidence",
    "conditions",
    "delay_until",
    "next_review_on",
    "evidence_refs",
    "scenario_id",
    "request_id",
}


def test_ingest_keys_may_not_decide(app: flask.Flask, client: FlaskClient) -> None:
    initiative = new_initiative(client)
    ingest = key_for(app, "ingest")
    refused = client.post(url(initiative, "/decisions"), json=decision(), headers=ingest)
    assert refused.status_code == 403
    assert ok(client.get(url(initiative), headers=key_for(app, "auditor")), 200)["status"] == (
        "proposed"
    )


def test_decision_answers_201_with_the_contract_shape(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    client.put(
        url(initiative, "/cost-forecast"),
        json={"periods": {"2025-03": "1000"}, "reason": "plan"},
        headers=ADMIN,
    )
    response = client.post(
        url(initiative, "/decisions"),
        json=decision(
            reason_code="BC-OK", evidence_refs=["https://wiki/bc"], next_review_on="2025-06-01"
        ),
        headers=ADMIN,
    )
    body = ok(response, 201)
    assert set(body) == DECISION_KEYS
    assert response.headers["Location"] == url(initiative, "/decisions")
    assert (body["from_status"], body["to_status"]) == ("proposed", "active")
    assert body["decided_on"] == "2025-02-10"
    assert body["next_review_on"] == "2025-06-01"
    assert body["evidence_refs"] == ["https://wiki/bc"]
    assert body["actor"] == "bootstrap-admin"
    assert body["initiative_id"] == initiative["id"]
    evidence = body["evidence"]
    for key in (
        "pv_benefits",
        "pv_costs",
        "npv",
        "bcr",
        "realised_to_date",
        "forecast_to_date",
        "spend_to_date",
        "confidence",
        "cost_forecast_revision",
        "benefit_forecast_revisions",
    ):
        assert key in evidence
    assert evidence["confidence"] == "0.8"
    assert evidence["cost_forecast_revision"] == 1
    assert evidence["benefit_forecast_revisions"] == {}
    for money in ("pv_benefits", "pv_costs", "npv", "spend_to_date"):
        assert evidence[money].count(".") == 1 and len(evidence[money].split(".")[1]) == 2
    listed = ok(client.get(url(initiative, "/decisions"), headers=ADMIN), 200)
    assert listed == {"items": [body], "next_cursor": None}


def test_illegal_decision_is_a_409_naming_the_allowed_ones(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    response = client.post(url(initiative, "/decisions"), json=decision("complete"), headers=ADMIN)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    for allowed in ("invest", "delay", "stop"):
        assert allowed in problem["detail"]
    assert problem["allowed_decisions"] == ["invest", "delay", "stop"]


def test_delay_needs_delay_until(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    missing = client.post(url(initiative, "/decisions"), json=decision("delay"), headers=ADMIN)
    assert "delay_until" in ok(missing, 422)["errors"]
    delayed = client.post(
        url(initiative, "/decisions"), json=decision("delay", delay_until="2025-09"), headers=ADMIN
    )
    assert ok(delayed, 201)["delay_until"] == "2025-09"


def test_idempotency_key_replays_a_decision(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    headers = {**ADMIN, "Idempotency-Key": "board-2025-02"}
    first = client.post(url(initiative, "/decisions"), json=decision(), headers=headers)
    again = client.post(url(initiative, "/decisions"), json=decision(), headers=headers)
    assert ok(again, 201) == ok(first, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert len(ok(client.get(url(initiative, "/decisions"), headers=ADMIN), 200)["items"]) == 1


def test_as_of_before_a_decision_shows_the_earlier_status(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    before = initiative["modified_on"]
    ok(client.post(url(initiative, "/decisions"), json=decision(), headers=ADMIN), 201)
    then = client.get(url(initiative), query_string={"as_of": before}, headers=ADMIN)
    assert ok(then, 200)["status"] == "proposed"
    assert ok(client.get(url(initiative), headers=ADMIN), 200)["status"] == "active"
    decisions = client.get(
        url(initiative, "/decisions"), query_string={"as_of": before}, headers=ADMIN
    )
    assert ok(decisions, 200)["items"] == []


def test_history_lists_events_oldest_first(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    client.put(
        url(initiative, "/cost-forecast"),
        json={"periods": {"2025-03": "1000.50"}, "reason": "plan"},
        headers=ADMIN,
    )
    ok(client.post(url(initiative, "/decisions"), json=decision(), headers=ADMIN), 201)
    history = ok(client.get(url(initiative, "/history"), headers=ADMIN), 200)
    events = history["events"]
    assert [e["type"] for e in events] == ["Proposed", "CostForecastRevised", "DecisionRecorded"]
    assert [e["version"] for e in events] == [0, 1, 2]
    assert set(events[0]) == {"version", "type", "recorded_at", "actor", "request_id", "data"}
    assert events[0]["actor"] == "bootstrap-admin"
    assert events[0]["data"]["confidence"] == "0.8"
    assert "originator_id" not in events[0]["data"]
    assert events[1]["data"] == {
        "revision": 1,
        "periods": {"2025-03": "1000.50"},
        "reason": "plan",
    }
    assert events[2]["data"]["decided_on"] == "2025-02-10"
    early = client.get(
        url(initiative, "/history"),
        query_string={"as_of": initiative["modified_on"]},
        headers=ADMIN,
    )
    assert [e["type"] for e in ok(early, 200)["events"]] == ["Proposed"]
