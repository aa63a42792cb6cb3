"""Initiatives over HTTP: proposals, revisions, forecasts, spend, and what is refused."""

from __future__ import annotations

from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

from tests.e2e.conftest import decision
from tests.e2e.initiative_requests import (
    ADMIN,
    key_for,
    new_initiative,
    new_portfolio,
    ok,
    proposal,
    url,
)

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
