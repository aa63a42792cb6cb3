"""GET /portfolios/{id}/value (DESIGN §3, §4, §5.6): figures a reader can check by hand.

The portfolio discounts at 3.5 % a year from 2025-01. The benefit forecasts 100 a month for the
twelve months of 2025, worth Σ 100 x 1.035^(-m/12) for m = 0…11 = 1181.29 today; the cost is
1000 in the base month, so pv_costs is 1000.00. Every forecast month is before today, so the
whole 1200 is forecast to date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from projections.catalog import build_projectors
from service.app import create_app
from tests.e2e.conftest import (
    ADMIN_TOKEN,
    API,
    PROBLEM_JSON,
    Api,
    bearer,
    benefit_body,
    decision,
    expect,
    measurement_body,
)

TWELVE_MONTHS = {f"2025-{month:02d}": "100" for month in range(1, 13)}
FIGURES = (
    "pv_benefits",
    "pv_costs",
    "npv",
    "bcr",
    "roi",
    "risk_adjusted_npv",
    "vfm_band",
    "realised_to_date",
    "forecast_to_date",
    "realisation_pct",
    "rag",
    "spend_to_date",
    "forgone_pv_benefits",
    "avoided_pv_costs",
)


@pytest.fixture
def any_api(db_url: str) -> Api:
    """A test client of an app over an empty store, on SQLite and on PostgreSQL."""
    return Api(create_app({"db": db_url, "admin_key": ADMIN_TOKEN, "create_tables": True}))


class Portfolio:
    """A portfolio with one initiative whose benefit is forecast at 100 a month in 2025."""

    def __init__(self, api: Api, *, cost: dict[str, str] | None = None) -> None:
        self.api = api
        self.id = api.portfolio()
        goal = api.create(f"/portfolios/{self.id}/goals", {"title": "Cheaper", "weight": "2"})
        self.goal_id = str(goal["goal_id"])
        self.initiative_id = api.invested_initiative(self.id)
        self.put(f"/initiatives/{self.initiative_id}/cost-forecast", cost or {"2025-01": "1000"})
        self.benefit_id = api.benefit(self.initiative_id, goal_id=self.goal_id)
        self.put(f"/benefits/{self.benefit_id}/forecast", TWELVE_MONTHS)

    def put(self, path: str, periods: dict[str, str]) -> Any:
        response = self.api.call("PUT", path, json={"periods": periods, "reason": "plan"})
        return expect(response, 200)

    def value(self, **query: str) -> Any:
        return expect(self.api.call("GET", f"/portfolios/{self.id}/value", query_string=query), 200)


def test_the_value_view_has_the_contract_shape_and_hand_checked_figures(any_api: Api) -> None:
    api = any_api
    p = Portfolio(api)
    api.create(
        f"/benefits/{p.benefit_id}/measurements",
        measurement_body(value="1140", observed_on="2025-12-31"),
    )
    api.create(
        f"/initiatives/{p.initiative_id}/spend",
        {"month": "2025-03", "amount": "250", "source": "ledger"},
    )

    body = p.value()

    assert set(body) == {"portfolio_id", "as_of", "currency", "totals", "initiatives", "goals"}
    assert (body["portfolio_id"], body["currency"]) == (p.id, "GBP")
    expected = {
        "pv_benefits": "1181.29",
        "pv_costs": "1000.00",
        "npv": "181.29",
        "bcr": "1.18",
        "roi": "0.18",
        "risk_adjusted_npv": "-54.97",  # 0.8 x 1181.29 − 1000
        "vfm_band": "low",
        "realised_to_date": "1140.00",
        "forecast_to_date": "1200.00",
        "realisation_pct": "95.0",
        "rag": "green",
        "spend_to_date": "250.00",
        "forgone_pv_benefits": "0.00",
        "avoided_pv_costs": "0.00",
    }
    assert body["totals"] == {**expected, "unattributed_pv_benefits": "0.00"}
    [row] = body["initiatives"]
    assert row == {
        "initiative_id": p.initiative_id,
        "name": "Self-service portal",
        "kind": "project",
        "status": "active",
        "confidence": "0.8",
        **expected,
    }
    assert body["goals"] == [
        {
            "goal_id": p.goal_id,
            "title": "Cheaper",
            "weight": "2",
            "pv_benefits": "1181.29",
            "realised_to_date": "1140.00",
        }
    ]


def test_a_share_no_initiative_claims_is_unattributed_and_not_in_the_totals(api: Api) -> None:
    p = Portfolio(api)
    half = api.benefit(
        p.initiative_id,
        title="Shared saving",
        contributions=[{"initiative_id": p.initiative_id, "share": "0.5"}],
    )
    p.put(f"/benefits/{half}/forecast", TWELVE_MONTHS)

    totals = p.value()["totals"]

    assert totals["pv_benefits"] == "1771.93"  # 1.5 x 1181.2854
    assert totals["unattributed_pv_benefits"] == "590.64"  # 0.5 x 1181.2854
    assert totals["forecast_to_date"] == "1800.00"


def test_a_stopped_initiative_reports_forgone_benefits_and_avoided_costs(api: Api) -> None:
    p = Portfolio(api, cost={"2025-01": "1000", "2025-12": "500"})
    stopped = api.call(
        "POST",
        f"/initiatives/{p.initiative_id}/decisions",
        json=decision("stop", decided_on="2025-06-15"),
    )
    expect(stopped, 201)

    [row] = p.value()["initiatives"]

    assert row["status"] == "stopped"
    # Up to the stop month (2025-06) it still counts; after it, it is forgone or avoided.
    assert (row["pv_benefits"], row["forgone_pv_benefits"]) == ("595.72", "585.56")
    assert (row["pv_costs"], row["avoided_pv_costs"]) == ("1000.00", "484.48")
    assert row["forecast_to_date"] == "600.00"
    assert p.value()["totals"]["forgone_pv_benefits"] == "585.56"


def test_as_of_answers_with_the_forecast_recorded_then(any_api: Api) -> None:
    p = Portfolio(any_api)
    between = datetime.now(UTC).isoformat()
    p.put(f"/benefits/{p.benefit_id}/forecast", {m: "200" for m in TWELVE_MONTHS})

    then = p.value(as_of=between)
    now = p.value()

    assert then["totals"]["pv_benefits"] == "1181.29"
    assert now["totals"]["pv_benefits"] == "2362.57"
    assert then["as_of"] == datetime.fromisoformat(between).isoformat()


def test_an_unknown_portfolio_or_one_not_yet_recorded_is_404(api: Api) -> None:
    before = datetime.now(UTC).isoformat()
    p = Portfolio(api)

    unknown = api.call("GET", f"/portfolios/{p.initiative_id}/value")
    too_early = api.call("GET", f"/portfolios/{p.id}/value", query_string={"as_of": before})

    for response in (unknown, too_early):
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.mimetype == PROBLEM_JSON


def test_min_position_reads_the_write_just_made(api: Api) -> None:
    p = Portfolio(api)
    written = api.call(
        "PUT",
        f"/initiatives/{p.initiative_id}/cost-forecast",
        json={"periods": {"2025-01": "2000"}, "reason": "quote"},
    )
    position = written.headers["X-Log-Position"]

    body = p.value(min_position=position)

    assert body["totals"]["pv_costs"] == "2000.00"


def test_a_view_behind_min_position_answers_503_then_catches_up(tmp_path: Path) -> None:
    """Without inline catch-up (as under `valuetrail serve`), the read waits, then gives up."""
    app = create_app(
        {
            "db": "sqlite:///" + str(tmp_path / "v.db"),
            "admin_key": ADMIN_TOKEN,
            "create_tables": True,
            "projector_inline": False,
            "read_wait_seconds": 0.2,
        }
    )
    api = Api(app)
    portfolio_id = api.portfolio()
    head = app.extensions["valuetrail"].head_position()
    projectors = build_projectors(app.extensions["valuetrail"], app.extensions["valuetrail.views"])
    path = f"{API}/portfolios/{portfolio_id}/value?min_position={head}"

    behind = api.client.get(path, headers=bearer(ADMIN_TOKEN))
    for projector in projectors.values():
        projector.catch_up()
    caught_up = api.client.get(path, headers=bearer(ADMIN_TOKEN))

    assert behind.status_code == 503
    assert behind.headers["Retry-After"] == "1"
    assert behind.mimetype == PROBLEM_JSON
    assert caught_up.status_code == 200
    assert caught_up.get_json()["portfolio_id"] == portfolio_id


def test_lists_page_in_sql_and_answer_as_of(any_api: Api) -> None:
    """Lists come from the view: keyset pages, status filter and as_of, same item shapes."""
    api = any_api
    portfolio_id = api.portfolio()
    ids = [api.initiative(portfolio_id, name=f"I{n}") for n in range(3)]
    before_invest = datetime.now(UTC).isoformat()
    api.create(f"/initiatives/{ids[2]}/decisions", decision("invest"))
    benefit = api.create("/benefits", benefit_body(ids[0]))

    first = api.call("GET", "/initiatives", query_string={"portfolio_id": portfolio_id, "limit": 2})
    page = expect(first, 200)
    rest = api.call(
        "GET",
        "/initiatives",
        query_string={"portfolio_id": portfolio_id, "cursor": page["next_cursor"]},
    )
    active = api.call(
        "GET", "/initiatives", query_string={"portfolio_id": portfolio_id, "status": "active"}
    )
    active_then = api.call(
        "GET",
        "/initiatives",
        query_string={"portfolio_id": portfolio_id, "status": "active", "as_of": before_invest},
    )
    benefits = api.call("GET", "/benefits", query_string={"initiative_id": ids[0]})

    assert [i["id"] for i in page["items"]] == ids[:2]
    assert 'rel="next"' in first.headers["Link"]
    assert [i["id"] for i in expect(rest, 200)["items"]] == ids[2:]
    assert expect(rest, 200)["next_cursor"] is None
    assert [i["id"] for i in expect(active, 200)["items"]] == [ids[2]]
    assert expect(active_then, 200)["items"] == []
    assert expect(benefits, 200)["items"] == [
        expect(api.call("GET", f"/benefits/{benefit['id']}"), 200)
    ]
    listed = expect(api.call("GET", "/portfolios", query_string={"as_of": before_invest}), 200)
    assert [p["id"] for p in listed["items"]] == [portfolio_id]
