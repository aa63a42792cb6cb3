"""Initiatives over HTTP: proposals, forecasts, spend, decisions and history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

from domain.application import ValuetrailApplication
from domain.values import Meta
from service.app import create_app

ADMIN = {"Authorization": "Bearer admin-token"}
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
INITIATIVE_KEYS = {
    "id",
    "version",
    "portfolio_id",
    "kind",
    "parent_id",
    "name",
    "description",
    "sponsor",
    "leader",
    "start_month",
    "end_month",
    "confidence",
    "mandatory",
    "depends_on",
    "people_demand",
    "status",
    "cost_forecast",
    "spend_to_date",
    "spend_by_month",
    "lessons",
    "contingency",
    "stopped_month",
    "created_on",
    "modified_on",
}


@pytest.fixture
def app(tmp_path: Path) -> flask.Flask:
    """An app over a fresh SQLite store with the bootstrap admin key."""
    return create_app(
        {
            "db": "sqlite:///" + str(tmp_path / "t.db"),
            "admin_key": "admin-token",
            "create_tables": True,
        }
    )


@pytest.fixture
def client(app: flask.Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


def key_for(app: flask.Flask, role: str) -> dict[str, str]:
    """Authorization headers of a new key with this role."""
    vt: ValuetrailApplication = app.extensions["valuetrail"]
    _, token = vt.issue_api_key(name=f"{role}-key", role=role, meta=Meta()).value
    return {"Authorization": f"Bearer {token}"}


def ok(response: Any, status: int) -> Any:
    """The JSON body of a response that must have this status."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def new_portfolio(client: FlaskClient) -> str:
    body = {"name": "Digital", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"}
    return str(ok(client.post("/api/v1/portfolios", json=body, headers=ADMIN), 201)["id"])


def proposal(portfolio_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "portfolio_id": portfolio_id,
        "kind": "project",
        "name": "Self-service portal",
        "sponsor": "COO",
        "start_month": "2025-01",
        "end_month": "2025-12",
        "confidence": "0.8",
        **extra,
    }


def new_initiative(client: FlaskClient, **extra: Any) -> dict[str, Any]:
    body = proposal(new_portfolio(client), **extra)
    return dict(ok(client.post("/api/v1/initiatives", json=body, headers=ADMIN), 201))


def decision(kind: str = "invest", **extra: Any) -> dict[str, Any]:
    return {
        "decision": kind,
        "rationale": "Strong business case",
        "decided_by": "Investment board",
        "decided_on": "2025-02-10",
        **extra,
    }


def url(initiative: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/initiatives/{initiative['id']}{tail}"


def test_propose_answers_201_with_location_and_the_initiative(client: FlaskClient) -> None:
    portfolio_id = new_portfolio(client)
    body = proposal(
        portfolio_id,
        description="Let customers serve themselves",
        leader="Ada",
        mandatory=True,
        confidence=0.75,
        people_demand={"developer": "2.5"},
    )
    response = client.post("/api/v1/initiatives", json=body, headers=ADMIN)
    created = ok(response, 201)
    assert set(created) == INITIATIVE_KEYS
    assert response.headers["Location"] == f"/api/v1/initiatives/{created['id']}"
    assert response.headers["X-Log-Position"].isdigit()
    assert created["status"] == "proposed"
    assert created["confidence"] == "0.75"
    assert created["people_demand"] == {"developer": "2.5"}
    assert created["cost_forecast"] == {"periods": {}, "revision": 0}
    assert created["spend_to_date"] == "0"
    assert created["contingency"] is None
    assert created["portfolio_id"] == portfolio_id
    fetched = client.get(response.headers["Location"], headers=ADMIN)
    assert ok(fetched, 200) == created
    assert fetched.headers["ETag"] == f'"v{created["version"]}"'


def test_list_by_portfolio_and_status_with_pagination(client: FlaskClient) -> None:
    portfolio_id = new_portfolio(client)
    ids = [
        ok(
            client.post("/api/v1/initiatives", json=proposal(portfolio_id, name=n), headers=ADMIN),
            201,
        )["id"]
        for n in ("A", "B", "C")
    ]
    ok(client.post(f"/api/v1/initiatives/{ids[1]}/decisions", json=decision(), headers=ADMIN), 201)
    page = ok(
        client.get(f"/api/v1/initiatives?portfolio_id={portfolio_id}&limit=2", headers=ADMIN), 200
    )
    assert [i["id"] for i in page["items"]] == ids[:2]
    rest = client.get(
        f"/api/v1/initiatives?portfolio_id={portfolio_id}&cursor={page['next_cursor']}",
        headers=ADMIN,
    )
    assert [i["id"] for i in ok(rest, 200)["items"]] == ids[2:]
    active = ok(
        client.get(f"/api/v1/initiatives?portfolio_id={portfolio_id}&status=active", headers=ADMIN),
        200,
    )
    assert [i["id"] for i in active["items"]] == [ids[1]]
    assert active["next_cursor"] is None


def test_list_needs_a_portfolio_and_a_known_status(client: FlaskClient) -> None:
    missing = ok(client.get("/api/v1/initiatives", headers=ADMIN), 422)
    assert "portfolio_id" in missing["errors"]
    portfolio_id = new_portfolio(client)
    bad = client.get(
        f"/api/v1/initiatives?portfolio_id={portfolio_id}&status=dreaming", headers=ADMIN
    )
    assert "status" in ok(bad, 422)["errors"]


def test_patch_revises_details_and_honours_if_match(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    etag = client.get(url(initiative), headers=ADMIN).headers["ETag"]
    revised = client.patch(
        url(initiative),
        json={"name": "Customer portal", "end_month": "2026-06", "reason": "scope grew"},
        headers={**ADMIN, "If-Match": etag},
    )
    body = ok(revised, 200)
    assert (body["name"], body["end_month"]) == ("Customer portal", "2026-06")
    assert body["version"] == initiative["version"] + 1
    stale = client.patch(
        url(initiative),
        json={"mandatory": True, "reason": "regulator"},
        headers={**ADMIN, "If-Match": etag},
    )
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert ok(client.get(url(initiative), headers=ADMIN), 200)["mandatory"] is False


def test_patch_needs_a_reason(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    answer = ok(client.patch(url(initiative), json={"name": "X"}, headers=ADMIN), 422)
    assert "reason" in answer["errors"]


def test_cost_forecast_confidence_leader_contingency_lessons(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    forecast = client.put(
        url(initiative, "/cost-forecast"),
        json={"periods": {"2025-01": "1000.50", "2025-02": 2000}, "reason": "business case"},
        headers=ADMIN,
    )
    assert ok(forecast, 200)["cost_forecast"] == {
        "periods": {"2025-01": "1000.50", "2025-02": "2000"},
        "revision": 1,
    }
    confidence = client.post(
        url(initiative, "/confidence"),
        json={"confidence": "0.6", "reason": "supplier risk"},
        headers=ADMIN,
    )
    assert ok(confidence, 200)["confidence"] == "0.6"
    leader = client.post(
        url(initiative, "/leader"),
        json={"leader": "Grace", "reason": "Ada moved on"},
        headers=ADMIN,
    )
    assert ok(leader, 200)["leader"] == "Grace"
    plan = client.put(
        url(initiative, "/contingency"),
        json={"plan": "buy off the shelf", "trigger": "build slips a quarter"},
        headers=ADMIN,
    )
    assert ok(plan, 200)["contingency"] == {
        "plan": "buy off the shelf",
        "trigger": "build slips a quarter",
    }
    lesson = client.post(
        url(initiative, "/lessons"),
        json={"text": "Pilot with one team first", "category": "delivery"},
        headers=ADMIN,
    )
    recorded = ok(lesson, 201)
    assert set(recorded) == {"lesson_id", "text", "category"}
    assert recorded["category"] == "delivery"
    assert ok(client.get(url(initiative), headers=ADMIN), 200)["lessons"] == [recorded]


def test_spend_is_recorded_once_per_external_id(app: flask.Flask, client: FlaskClient) -> None:
    initiative = new_initiative(client)
    ingest = key_for(app, "ingest")
    body = {"month": "2025-03", "amount": "1200.00", "source": "ledger", "external_id": "INV-1"}
    first = client.post(url(initiative, "/spend"), json=body, headers=ingest)
    spend = ok(first, 201)
    assert set(spend) == {
        "spend_id",
        "initiative_id",
        "month",
        "amount",
        "source",
        "external_id",
        "recorded_at",
    }
    assert spend["amount"] == "1200.00"
    again = ok(client.post(url(initiative, "/spend"), json=body, headers=ingest), 200)
    assert again["spend_id"] == spend["spend_id"]
    other = {**body, "external_id": "INV-2", "amount": "300"}
    ok(client.post(url(initiative, "/spend"), json=other, headers=ingest), 201)
    now = ok(client.get(url(initiative), headers=ADMIN), 200)
    assert now["spend_to_date"] == "1500.00"
    assert now["spend_by_month"] == {"2025-03": "1500.00"}


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


def test_unknown_initiative_is_404(client: FlaskClient) -> None:
    portfolio_id = new_portfolio(client)
    for tail in ("", "/history", "/decisions"):
        response = client.get(f"/api/v1/initiatives/{portfolio_id}{tail}", headers=ADMIN)
        assert response.status_code == 404, tail


@pytest.mark.parametrize(
    ("field", "value"),
    [("confidence", "abc"), ("confidence", True), ("kind", "hobby"), ("start_month", "2025-13")],
)
def test_invalid_values_are_422(client: FlaskClient, field: str, value: Any) -> None:
    body = proposal(new_portfolio(client), **{field: value})
    answer = ok(client.post("/api/v1/initiatives", json=body, headers=ADMIN), 422)
    assert field in answer["errors"]


def test_fractional_integer_is_422(client: FlaskClient) -> None:
    portfolio_id = new_portfolio(client)
    answer = client.get(f"/api/v1/initiatives?portfolio_id={portfolio_id}&limit=1.5", headers=ADMIN)
    assert "limit" in ok(answer, 422)["errors"]


def test_unknown_fields_are_422(client: FlaskClient) -> None:
    initiative = new_initiative(client)
    body = decision(evidence={"npv": "1000000"})
    answer = ok(client.post(url(initiative, "/decisions"), json=body, headers=ADMIN), 422)
    assert "evidence" in answer["errors"]
    extra = proposal(initiative["portfolio_id"], status="active")
    assert (
        "status" in ok(client.post("/api/v1/initiatives", json=extra, headers=ADMIN), 422)["errors"]
    )
