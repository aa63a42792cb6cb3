"""The portfolio analytics over HTTP (DESIGN §5.3): shapes, figures, as-of, roles and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import PROBLEM_JSON, Api, decision, expect, proposal

READS = ("goals/coverage", "priorities", "capacity", "forecast-accuracy", "lessons")
MONTHS = [f"{y}-{m:02d}" for y in (2025, 2026, 2027) for m in range(1, 13)]


class Board:
    """A portfolio with a goal served and one not, capacity, an invested initiative with actuals,
    a mandatory proposal depending on it, lessons and a plan B."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.portfolio = api.portfolio()
        self.goal = api.create(
            f"/portfolios/{self.portfolio}/goals", {"title": "Cheaper service", "weight": "2"}
        )["goal_id"]
        api.create(f"/portfolios/{self.portfolio}/goals", {"title": "Greener", "weight": "1"})
        self.put(
            f"/portfolios/{self.portfolio}/capacity",
            {
                "budget": {m: "1000" for m in MONTHS if m >= "2027-01" and m <= "2027-06"},
                "people": {"developer": "2"},
                "reason": "annual plan",
            },
        )
        self.portal = self.initiative(
            "Portal", leader="Ada", people_demand={"developer": "2"}, end_month="2027-12"
        )
        self.forecast_cost(self.portal, {m: "100" for m in MONTHS if "2025-02" <= m <= "2027-06"})
        self.savings = api.benefit(self.portal, goal_id=self.goal)
        self.put(
            f"/benefits/{self.savings}/forecast",
            {"periods": {m: "200" for m in MONTHS if m >= "2025-02"}, "reason": "plan"},
        )
        self.invest = api.create(f"/initiatives/{self.portal}/decisions", decision("invest"))
        for month in ("2025-02", "2025-03", "2025-04"):
            api.create(
                f"/benefits/{self.savings}/measurements",
                {"value": "150", "observed_on": f"{month}-20", "source": "ledger"},
            )
        self.chatbot = self.initiative(
            "Chatbot",
            mandatory=True,
            depends_on=[self.portal],
            people_demand={"developer": "1"},
            end_month="2027-12",
        )
        self.forecast_cost(self.chatbot, {m: "300" for m in MONTHS if "2027-01" <= m <= "2027-06"})
        extra = api.benefit(self.chatbot, title="Fewer calls")
        self.put(
            f"/benefits/{extra}/forecast",
            {"periods": {m: "500" for m in MONTHS if m >= "2027-03"}, "reason": "plan"},
        )
        self.archive = self.initiative("Archive", leader="Ada")
        api.create(f"/initiatives/{self.archive}/decisions", decision("invest"))
        api.create(
            f"/initiatives/{self.portal}/lessons",
            {"text": "Weekly demos kept the sponsor close", "category": "delivery"},
        )
        api.create(
            f"/initiatives/{self.archive}/lessons",
            {"text": "Vendor lock-in slowed us", "category": "procurement"},
        )
        self.put(
            f"/initiatives/{self.portal}/contingency",
            {"plan": "Keep the old site", "trigger": "Two missed releases"},
        )

    def initiative(self, name: str, **changes: Any) -> str:
        return str(
            self.api.create("/initiatives", proposal(self.portfolio, name=name, **changes))["id"]
        )

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return expect(self.api.call("PUT", path, json=body), 200)

    def forecast_cost(self, initiative: str, periods: dict[str, str]) -> None:
        self.put(f"/initiatives/{initiative}/cost-forecast", {"periods": periods, "reason": "plan"})

    def get(self, what: str, role: str = "auditor", **query: Any) -> Any:
        return expect(
            self.api.call(
                "GET", f"/portfolios/{self.portfolio}/{what}", role=role, query_string=query
            ),
            200,
        )


@pytest.fixture
def board(api: Api) -> Board:
    return Board(api)


def test_goal_coverage_adds_up_to_the_value_views_pv_benefits(board: Board) -> None:
    found = board.get("goals/coverage")
    value = board.get("value")
    [goal] = found["goals"]
    assert goal["goal_id"] == board.goal and goal["title"] == "Cheaper service"
    assert [i["name"] for i in goal["initiatives"]] == ["Portal"]
    assert [b["benefit_id"] for b in goal["benefits"]] == [board.savings]
    assert goal["realised_to_date"] == "450.00"
    assert [g["title"] for g in found["unserved_goals"]] == ["Greener"]
    assert [b["title"] for b in found["benefits_without_goal"]] == ["Fewer calls"]
    total = Decimal(goal["pv_benefits"]) + sum(
        Decimal(b["pv_benefits"]) for b in found["benefits_without_goal"]
    )
    # Each figure is rounded to the cent on its own, so the sum may differ by half a cent each.
    assert abs(total - Decimal(value["totals"]["pv_benefits"])) <= Decimal("0.01")


def test_priorities_put_the_mandatory_proposal_first_with_its_reasons(board: Board) -> None:
    found = board.get("priorities", from_month="2027-01")
    assert (found["from_month"], found["objective"], found["reference_class"]) == (
        "2027-01",
        "risk_adjusted_npv",
        False,
    )
    assert [i["name"] for i in found["items"]] == ["Chatbot", "Portal", "Archive"]
    chatbot = found["items"][0]
    assert chatbot["rank"] == 1 and chatbot["mandatory"] is True
    assert chatbot["remaining_cost"] == "1800.00"
    assert chatbot["budget_share_pct"] == "30.0"
    assert chatbot["goal_alignment_pct"] == "0.0"
    assert "GBP 1800.00 from 2027-01" in chatbot["reasons"]["affordability"]
    assert (
        "depending on 1 initiative(s), 1 not yet completed" in chatbot["reasons"]["achievability"]
    )
    # The archive has neither benefits nor costs left: no ratio, and no value, so last.
    archive = found["items"][-1]
    assert archive["value_for_money"] is None and archive["value"] == "0.00"
    strategic = board.get("priorities", from_month="2027-01", objective="strategic_value")
    assert strategic["objective"] == "strategic_value"
    # Serving no goal, the chatbot's benefits weigh nothing under the strategic objective.
    assert Decimal(strategic["items"][0]["value"]) < Decimal(chatbot["value"])


def test_reference_class_needs_three_judged_initiatives(board: Board) -> None:
    found = board.get("priorities", from_month="2027-01", reference_class="true")
    assert found["reference_class"] is True
    chatbot = found["items"][0]
    assert chatbot["reference_ratio"] is None and chatbot["reference_cost_ratio"] is None


def test_capacity_shows_months_people_and_leaders(board: Board) -> None:
    found = board.get("capacity", from_month="2027-01", leader_limit="1")
    january = found["budget"][0]
    assert january == {
        "month": "2027-01",
        "capacity": "1000.00",
        "committed": "100.00",
        "proposed": "300.00",
        "headroom": "900.00",
    }
    assert found["budget"][-1]["month"] == "2027-12"
    developers = [p for p in found["people"] if p["month"] == "2027-01"]
    assert developers == [
        {
            "month": "2027-01",
            "role": "developer",
            "capacity": "2",
            "committed": "2",
            "proposed": "1",
            "over_allocated": False,
            "over_allocated_if_all_proposed": True,
        }
    ]
    assert found["leaders"] == [
        {
            "leader": "Ada",
            "initiatives": sorted([board.portal, board.archive]),
            "count": 2,
            "stretched": True,
        }
    ]
    assert [x["name"] for x in found["without_leader"]] == ["Chatbot"]


def test_forecast_accuracy_compares_with_the_forecast_at_invest(board: Board) -> None:
    before = board.get("forecast-accuracy")
    board.put(
        f"/benefits/{board.savings}/forecast",
        {"periods": {m: "900" for m in MONTHS}, "reason": "much more now"},
    )
    after = board.get("forecast-accuracy")
    assert before["initiatives"] == after["initiatives"]
    portal = next(i for i in after["initiatives"] if i["initiative_id"] == board.portal)
    assert portal["invested_on"] == "2025-02-10"
    assert portal["realised"] == "450.00"
    months = portal["months"]
    assert Decimal(portal["forecast_at_invest"]) == 200 * months
    assert [p["name"] for p in after["proposals"]] == ["Chatbot"]
    assert after["proposals"][0]["reference_ratio"] is None


def test_lessons_filter_page_and_plans(board: Board) -> None:
    page = board.get("lessons", limit=1)
    assert [x["category"] for x in page["items"]] == ["delivery"]
    assert page["next_cursor"]
    rest = board.get("lessons", limit=1, cursor=page["next_cursor"])
    assert [x["name"] for x in rest["items"]] == ["Archive"] and rest["next_cursor"] is None
    assert [x["name"] for x in board.get("lessons", q="VENDOR")["items"]] == ["Archive"]
    assert board.get("lessons", category="delivery", q="vendor")["items"] == []
    assert page["plans"] == [
        {
            "initiative_id": board.portal,
            "name": "Portal",
            "plan": "Keep the old site",
            "trigger": "Two missed releases",
        }
    ]
    assert [x["name"] for x in page["without_plan"]] == ["Archive"]


def test_as_of_answers_as_recorded_then(board: Board) -> None:
    at = datetime.now(UTC).isoformat()
    board.api.create(
        f"/initiatives/{board.chatbot}/lessons", {"text": "Later lesson", "category": "delivery"}
    )
    assert len(board.get("lessons", as_of=at)["items"]) == 2
    assert len(board.get("lessons")["items"]) == 3
    for what in READS:
        response = board.api.call(
            "GET",
            f"/portfolios/{board.portfolio}/{what}",
            query_string={"as_of": "2001-01-01T00:00:00Z"},
        )
        assert response.status_code == 404 and response.mimetype == PROBLEM_JSON


@pytest.mark.parametrize("what", READS)
def test_every_reader_but_ingest_may_read(board: Board, what: str) -> None:
    for role in ("admin", "manager", "auditor"):
        board.get(what, role=role)
    response = board.api.call("GET", f"/portfolios/{board.portfolio}/{what}", role="ingest")
    assert response.status_code == 403 and response.mimetype == PROBLEM_JSON


@pytest.mark.parametrize(
    ("what", "query", "field"),
    [
        ("priorities", {"objective": "cheapest"}, "objective"),
        ("priorities", {"from_month": "2027-13"}, "from_month"),
        ("capacity", {"leader_limit": "-1"}, "leader_limit"),
        ("lessons", {"cursor": "nonsense"}, "cursor"),
        ("goals/coverage", {"as_of": "yesterday"}, "as_of"),
    ],
)
def test_bad_queries_are_422_naming_the_field(
    board: Board, what: str, query: dict[str, str], field: str
) -> None:
    response = board.api.call("GET", f"/portfolios/{board.portfolio}/{what}", query_string=query)
    assert response.status_code == 422 and response.mimetype == PROBLEM_JSON
    assert field in response.get_json()["errors"]
