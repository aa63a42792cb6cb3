"""Optimise and downturn scenarios over HTTP (DESIGN §5.3): the exact best set, stored evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import PROBLEM_JSON, Api, decision, expect
from tests.e2e.test_analytics_http import Board


@pytest.fixture
def board(api: Api) -> Board:
    """The analytics board plus a costly optional proposal, the first thing a cut falls on."""
    board = Board(api)
    lake = board.initiative("Data lake")
    board.forecast_cost(lake, {f"2027-{m:02d}": "1000" for m in range(1, 7)})
    for role in ("admin", "manager", "auditor", "ingest"):
        api.token(role)  # issued now, so that no later head position counts a key
    return board


def _optimise(board: Board, body: dict[str, Any], role: str = "auditor") -> Any:
    return board.api.call("POST", f"/portfolios/{board.portfolio}/optimise", role=role, json=body)


def _scenario(board: Board, body: dict[str, Any], role: str = "manager") -> Any:
    return board.api.call("POST", f"/portfolios/{board.portfolio}/scenarios", role=role, json=body)


CUT = {"name": "Downturn", "cut_pct": "50", "from_month": "2027-01", "reason": "board asked"}


def test_optimise_selects_under_the_budget_and_stores_nothing(board: Board) -> None:
    head = board.api.vt.head_position()
    found = expect(
        _optimise(
            board,
            {
                "from_month": "2027-01",
                "budget": {"total": "5000"},
                "people": {"developer": "3"},
                "frontier_points": 3,
            },
        ),
        200,
    )
    assert (found["status"], found["solver"], found["objective"]) == (
        "optimal",
        "highs",
        "risk_adjusted_npv",
    )
    selected = {s["name"]: s for s in found["selected"]}
    assert selected["Chatbot"]["reason_code"] == "mandatory"
    # The mandatory chatbot depends on the portal, so the portal comes with it.
    assert selected["Portal"]["reason_code"] == "dependency"
    # The data lake costs 6,000 and brings nothing: it stays out.
    [lake] = [x for x in found["excluded"] if x["name"] == "Data lake"]
    assert lake["reason_code"] == "no_value"
    assert [p["selected"] for p in found["frontier"]] == sorted(
        p["selected"] for p in found["frontier"]
    )
    assert len(found["frontier"]) == 3
    assert board.api.vt.head_position() == head


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"objective": "cheapest"}, "objective"),
        ({"budget": {"by_month": {}}}, "budget"),
        ({"budget": {"total": "-1"}}, "budget"),
        ({"budget": {"total": "1", "by_month": {"2027-01": "1"}}}, "budget"),
        ({"frontier_points": 51}, "frontier_points"),
        ({"people": {"developer": "-1"}}, "people"),
        ({"force_in": ["00000000-0000-0000-0000-000000000001"]}, "force_in"),
    ],
)
def test_bad_optimise_requests_are_422_naming_the_field(
    board: Board, body: dict[str, Any], field: str
) -> None:
    response = _optimise(board, body)
    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    assert any(key.startswith(field) for key in response.get_json()["errors"]), response.get_json()


def test_an_initiative_forced_both_in_and_out_is_422(board: Board) -> None:
    response = _optimise(board, {"force_in": [board.portal], "force_out": [board.portal]})
    assert response.status_code == 422
    assert "force_out" in response.get_json()["errors"]


def test_a_scenario_is_stored_and_read_back_as_the_board_saw_it(board: Board) -> None:
    response = _scenario(board, CUT)
    created = expect(response, 201)
    assert response.headers["Location"].endswith(f"/scenarios/{created['scenario_id']}")
    assert created["name"] == "Downturn" and created["kind"] == "budget_cut"
    assert created["window"] == {"from_month": "2027-01", "to_month": "2027-12"}
    assert created["parameters"]["cut_pct"] == "50"
    actions = {line["name"]: line for line in created["initiatives"]}
    assert actions["Chatbot"]["action"] == "continue"  # mandatory
    # The cut is honoured: what continues fits the budget after the cut.
    kept = sum(float(line["cost_in_window"]) for line in created["initiatives"])
    assert kept <= float(created["budget_after"])
    path = f"/portfolios/{board.portfolio}/scenarios/{created['scenario_id']}"
    # Later edits change what a new evaluation would say, never what was stored.
    board.forecast_cost(board.portal, {"2027-01": "1"})
    read = board.api.call("GET", path, role="auditor")
    assert read.get_data() == response.get_data()
    listed = board.get("scenarios")
    assert [s["scenario_id"] for s in listed["items"]] == [created["scenario_id"]]
    before = board.api.call(
        "GET", path, role="auditor", query_string={"as_of": "2001-01-01T00:00:00Z"}
    )
    assert before.status_code == 404


def test_a_scenario_posted_again_under_its_idempotency_key_is_stored_once(board: Board) -> None:
    path = f"/portfolios/{board.portfolio}/scenarios"
    once = {"Idempotency-Key": "downturn-2027"}
    first = board.api.call("POST", path, role="manager", json=CUT, headers=once)
    created = expect(first, 201)
    head = board.api.vt.head_position()
    again = board.api.call("POST", path, role="manager", json=CUT, headers=once)
    assert expect(again, 201) == created
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert board.api.vt.head_position() == head
    other = board.api.call(
        "POST", path, role="manager", json={**CUT, "cut_pct": "40"}, headers=once
    )
    assert other.status_code == 422 and other.mimetype == PROBLEM_JSON
    assert [s["scenario_id"] for s in board.get("scenarios")["items"]] == [created["scenario_id"]]
    read = board.api.call("GET", f"{path}/{created['scenario_id']}", role="auditor")
    assert read.get_data() == first.get_data()


def test_decisions_cite_only_the_portfolios_own_scenarios(board: Board) -> None:
    created = expect(_scenario(board, CUT), 201)
    other = board.api.portfolio("Other")
    board.api.initiative(other, "Elsewhere")
    theirs = expect(
        board.api.call("POST", f"/portfolios/{other}/scenarios", role="manager", json=CUT), 201
    )
    stranger = board.api.call(
        "POST",
        f"/initiatives/{board.archive}/decisions",
        json=decision("stop", scenario_id=theirs["scenario_id"]),
    )
    assert stranger.status_code == 422 and "scenario_id" in stranger.get_json()["errors"]
    cited = board.api.create(
        f"/initiatives/{board.archive}/decisions",
        decision("stop", scenario_id=created["scenario_id"]),
    )
    context = expect(
        board.api.call("GET", f"/audit/decisions/{cited['decision_id']}/context", role="auditor"),
        200,
    )
    assert context["scenario"]["scenario_id"] == created["scenario_id"]
    assert context["scenario"]["initiatives"] == created["initiatives"]
    unknown = board.api.call(
        "POST",
        f"/initiatives/{board.portal}/decisions",
        json=decision("continue", scenario_id="00000000-0000-0000-0000-000000000009"),
    )
    assert unknown.status_code == 422 and "scenario_id" in unknown.get_json()["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cut_pct": "-1"}, "cut_pct"),
        ({"cut_pct": "101"}, "cut_pct"),
        ({"new_budget": "10"}, "cut_pct"),  # both given
        ({"kind": "boom"}, "kind"),
        ({"window_months": 0}, "window_months"),
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"reason": " \t"}, "reason"),
    ],
)
def test_a_rejected_scenario_stores_nothing(
    board: Board, change: dict[str, Any], field: str
) -> None:
    head = board.api.vt.head_position()
    response = _scenario(board, {**CUT, **change})
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert board.api.vt.head_position() == head


def test_roles_for_optimise_and_scenarios(board: Board) -> None:
    for role in ("admin", "manager", "auditor"):
        expect(
            _optimise(board, {"frontier_points": 0, "people": {"developer": "3"}}, role=role), 200
        )
    assert _optimise(board, {}, role="ingest").status_code == 403
    assert _scenario(board, CUT, role="auditor").status_code == 403
    assert _scenario(board, CUT, role="ingest").status_code == 403
    expect(_scenario(board, CUT, role="admin"), 201)
    assert (
        board.api.call("GET", f"/portfolios/{board.portfolio}/scenarios", role="ingest").status_code
        == 403
    )
    at = datetime.now(UTC).isoformat()
    assert board.get("scenarios", as_of=at)["items"] != []
