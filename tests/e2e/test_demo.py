"""The demo portfolio: what a new user sees after `valuetrail demo`, loaded once per module."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from demo import DEMO_NAME, TYPICAL_BENEFIT, DemoSummary, find_demo, load_demo
from domain.application import ValuetrailApplication, decision_record, topic_of
from domain.benefit import Benefit
from domain.initiative import Initiative
from domain.months import add_months, current_month
from domain.portfolio import Portfolio
from domain.values import BENEFIT_CATEGORIES, DECISIONS, INITIATIVE_KINDS
from persistence import store_env
from service.app import create_app
from service.cli import main

MEASURED = "valuetrail.benefit.MeasurementRecorded.v1"
SPENT = "valuetrail.initiative.SpendRecorded.v1"


@dataclass
class Demo:
    """The loaded store and what the demo loader said about it."""

    app: ValuetrailApplication
    summary: DemoSummary
    url: str

    @property
    def portfolio(self) -> Portfolio:
        return self.app.get_portfolio(self.summary.portfolio_id)

    @property
    def initiatives(self) -> list[Initiative]:
        return self.app.list_initiatives(self.summary.portfolio_id)

    @property
    def benefits(self) -> list[Benefit]:
        found: dict[UUID, Benefit] = {}
        for initiative in self.initiatives:
            for benefit in self.app.benefits_of(initiative.id):
                found.setdefault(benefit.id, benefit)
        return list(found.values())

    def named(self, name: str) -> Initiative:
        return next(i for i in self.initiatives if i.name == name)

    def titled(self, title: str) -> Benefit:
        return next(b for b in self.benefits if b.title == title)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    url = "sqlite:///" + str(tmp_path_factory.mktemp("demo") / "d.db")
    app = ValuetrailApplication(env=store_env(url, create_tables=True))
    try:
        yield Demo(app, load_demo(app), url)
    finally:
        app.close()


def test_the_portfolio_is_in_gbp_with_three_years_of_history(demo: Demo) -> None:
    portfolio = demo.portfolio

    assert demo.summary.loaded
    assert (portfolio.name, portfolio.currency) == (DEMO_NAME, "GBP")
    assert portfolio.discount_rate == Decimal("0.035")
    assert portfolio.base_month == add_months(current_month(), -36)
    assert set(portfolio.people) == {"delivery_manager", "engineer", "analyst", "designer"}
    assert len(portfolio.budget) >= 36
    assert demo.summary.seconds < 60


def test_there_are_weighted_strategic_goals_and_every_benefit_serves_one(demo: Demo) -> None:
    goals = demo.portfolio.goals

    assert len(goals) >= 4
    assert all(goal["weight"] > 0 for goal in goals.values())
    assert {b.goal_id for b in demo.benefits} <= set(goals)
    served = {b.goal_id for b in demo.benefits}
    assert served == set(goals), "every goal is served by at least one benefit"


def test_initiatives_cover_every_kind_with_a_programme_of_projects(demo: Demo) -> None:
    initiatives = demo.initiatives
    programme = next(i for i in initiatives if i.kind == "programme")
    children = [i for i in initiatives if i.parent_id == programme.id]

    assert len(initiatives) >= 9
    assert {i.kind for i in initiatives} == set(INITIATIVE_KINDS)
    assert len(children) >= 2
    assert all(child.kind == "project" for child in children)


def test_initiatives_have_what_the_capacity_and_priority_questions_need(demo: Demo) -> None:
    initiatives = demo.initiatives
    ids = {i.id for i in initiatives}
    leaders = [i.leader for i in initiatives if i.leader]

    assert any(i.mandatory for i in initiatives)
    assert any(i.leader is None for i in initiatives)
    assert max(leaders.count(leader) for leader in leaders) >= 3
    assert any(i.depends_on for i in initiatives)
    assert all(set(i.depends_on) <= ids for i in initiatives)
    assert all(set(i.people_demand) for i in initiatives)
    assert all(i.cost_forecast for i in initiatives)
    assert max(i.cost_forecast_revision for i in initiatives) >= 3
    assert sum(i.spend_to_date for i in initiatives) > 0


def test_spend_comes_monthly_from_the_ledger_with_external_ids(demo: Demo) -> None:
    initiative = demo.named("Online Benefit Claims")
    spend = [e for e in demo.app.history(initiative.id) if topic_of(e) == SPENT]
    months = [str(getattr(e, "month", "")) for e in spend]

    assert len(spend) >= 12
    assert len(set(months)) == len(months)
    assert {getattr(e, "source", None) for e in spend} == {"ledger"}
    assert all(
        getattr(e, "external_id", "") == f"LEDGER-OBC-{m}"
        for e, m in zip(spend, months, strict=True)
    )


def test_benefits_cover_every_category_measure_kind_and_attribution(demo: Demo) -> None:
    benefits = demo.benefits
    shared = [b for b in benefits if len(b.contributions) == 2]

    assert len(benefits) >= 25
    assert {b.category for b in benefits} == set(BENEFIT_CATEGORIES)
    assert {b.measure["kind"] for b in benefits} == {"flow", "level"}
    assert {b.measure["direction"] for b in benefits} == {"increase", "decrease"}
    assert any(b.disbenefit for b in benefits)
    assert len(shared) >= 1
    assert sorted(c["share"] for c in shared[0].contributions) == [Decimal("0.4"), Decimal("0.6")]
    assert any(b.measure["value_per_unit"] is None and b.measure["unit"] != "GBP" for b in benefits)
    assert any(b.measure["kind"] == "level" and b.measure["value_per_unit"] for b in benefits)
    assert max(b.forecast_revision for b in benefits) >= 2
    assert any(b.status == "closed" for b in benefits)


def test_a_typical_benefit_has_three_years_of_monthly_measurements(demo: Demo) -> None:
    typical = demo.titled(TYPICAL_BENEFIT)
    months = [len(b.actuals) for b in demo.benefits]
    recorded = [e for e in demo.app.history(typical.id) if topic_of(e) == MEASURED]

    assert len(typical.actuals) >= 30
    assert statistics.median(months) >= 30
    assert {getattr(e, "source", None) for e in recorded} == {"finance-ledger"}
    pattern = re.compile(r"^FIN-OBC-CPT-\d{4}-\d{2}$")
    assert all(pattern.match(str(getattr(e, "external_id", ""))) for e in recorded)
    assert demo.summary.measurements >= 25 * 30
    assert demo.summary.corrections >= 1


def test_measurements_scatter_around_forecast_some_over_some_under(demo: Demo) -> None:
    ratios: list[Decimal] = []
    for benefit in demo.benefits:
        if benefit.measure["kind"] != "flow" or benefit.disbenefit:
            continue
        months = [m for m in benefit.actuals if benefit.forecast.get(m)]
        if len(months) >= 12:
            actual = sum((benefit.actuals[m] for m in months), Decimal(0))
            ratios.append(actual / sum((benefit.forecast[m] for m in months), Decimal(0)))

    assert min(ratios) < Decimal("0.95")
    assert max(ratios) > Decimal("1.05")
    assert all(Decimal("0.5") < r < Decimal("1.5") for r in ratios)


def test_every_decision_kind_is_on_record_with_its_reasons(demo: Demo) -> None:
    records: list[dict[str, Any]] = [
        decision_record(event)
        for initiative in demo.initiatives
        for event in demo.app.decisions(initiative.id)
    ]
    kinds = {r["decision"] for r in records}
    delays = [r for r in records if r["decision"] == "delay"]

    assert kinds == set(DECISIONS)
    assert all(r["rationale"].strip() and r["reason_code"] for r in records)
    assert {r["decided_by"] for r in records} == {"Investment Board", "Portfolio Committee"}
    assert all(r["evidence_refs"] for r in records)
    assert any(ref.startswith("board-pack-") for r in records for ref in r["evidence_refs"])
    assert any(r["conditions"] for r in records)
    assert any(r["next_review_on"] for r in records)
    assert all(r["delay_until"] for r in delays)
    assert all(r["evidence"]["log_position"] == r["log_position"] for r in records)
    decided = sorted(r["decided_on"] for r in records)
    assert decided[0].isoformat()[:7] == demo.portfolio.base_month


def test_one_initiative_was_stopped_and_one_completed_with_lessons(demo: Demo) -> None:
    initiatives = demo.initiatives
    stopped = [i for i in initiatives if i.status == "stopped"]
    completed = [i for i in initiatives if i.status == "completed"]

    assert stopped and completed
    assert all(i.lessons for i in [*stopped, *completed])
    assert stopped[0].stopped_month is not None
    assert stopped[0].stopped_month < current_month()
    assert sum(1 for i in initiatives if i.contingency) >= 2
    assert any(i.cost_forecast_revision >= 2 for i in stopped)


def test_history_shows_reassessed_confidence_and_a_leader_handover(demo: Demo) -> None:
    topics = [topic_of(e) for i in demo.initiatives for e in demo.app.history(i.id)]

    assert topics.count("valuetrail.initiative.ConfidenceAssessed.v1") >= 3
    assert topics.count("valuetrail.initiative.LeaderAssigned.v1") >= 1


def test_a_second_load_adds_nothing_and_reports_the_existing_portfolio(demo: Demo) -> None:
    head = demo.app.head_position()

    again = load_demo(demo.app)

    assert demo.app.head_position() == head
    assert not again.loaded
    assert again.portfolio_id == demo.summary.portfolio_id
    assert again.measurements == demo.summary.measurements
    assert "already loaded" in again.describe()
    assert [p.name for p in demo.app.list_portfolios()].count(DEMO_NAME) == 1


def test_the_curl_commands_in_the_summary_answer_over_http(demo: Demo) -> None:
    commands = demo.summary.curl_commands("http://localhost:8000")
    flask_app = create_app({"db": demo.url, "admin_key": "demo-admin", "create_tables": False})
    client = flask_app.test_client()
    try:
        for command in commands:
            path = command.rsplit("'http://localhost:8000", 1)[1].rstrip("'")
            response = client.get(path, headers={"Authorization": "Bearer demo-admin"})
            assert response.status_code == 200, (path, response.get_data(as_text=True))
    finally:
        flask_app.extensions["valuetrail"].close()
    assert len(commands) >= 5


def test_every_analytic_has_something_to_show(demo: Demo) -> None:
    flask_app = create_app({"db": demo.url, "admin_key": "demo-admin", "create_tables": False})
    client = flask_app.test_client()
    base = f"/api/v1/portfolios/{demo.summary.portfolio_id}"
    headers = {"Authorization": "Bearer demo-admin"}

    def read(path: str, method: str = "GET", **body: Any) -> Any:
        response = client.open(base + path, method=method, headers=headers, json=body or None)
        assert response.status_code in (200, 201), (path, response.get_data(as_text=True))
        return response.get_json()

    try:
        coverage = read("/goals/coverage")
        priorities = read("/priorities")["items"]
        optimum = read("/optimise", "POST", start_delays=[0, 6], frontier_points=3)
        capacity = read("/capacity?leader_limit=1")
        accuracy = read("/forecast-accuracy")
        lessons = read("/lessons")
        scenario = read("/scenarios", "POST", name="Downturn", cut_pct=20, reason="what if")
    finally:
        flask_app.extensions["valuetrail"].close()
    assert sum(Decimal(g["pv_benefits"]) for g in coverage["goals"]) > 0
    assert priorities[0]["mandatory"] and len({p["vfm_band"] for p in priorities}) >= 3
    assert optimum["selected"] and optimum["excluded"] is not None and optimum["frontier"]
    assert any(Decimal(b["proposed"]) > 0 for b in capacity["budget"])
    assert any(leader["stretched"] for leader in capacity["leaders"])
    assert capacity["without_leader"] and capacity["people"]
    assert len(accuracy["initiatives"]) >= 5 and accuracy["by_kind"]
    assert accuracy["proposals"][0]["reference_ratio"] is not None
    assert len(lessons["items"]) >= 3 and lessons["plans"] and lessons["without_plan"]
    assert {line["action"] for line in scenario["initiatives"]} - {"continue"}


def test_the_demo_command_loads_once_and_prints_how_to_look(
    demo: Demo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "sqlite:///" + str(tmp_path / "var" / "valuetrail.db")
    monkeypatch.setenv("VALUETRAIL_DB", url)
    monkeypatch.delenv("VALUETRAIL_ADMIN_KEY", raising=False)

    code = main(["demo"])
    out, err = capsys.readouterr()

    assert code == 0
    assert "shown ONCE" in err  # a fresh store gets its first admin key, to use with curl
    assert out.startswith(f'Loaded the demo portfolio "{DEMO_NAME}"')
    portfolio_id = UUID(re.search(r"portfolio id\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    assert f"/api/v1/portfolios/{portfolio_id}" in out
    assert "curl" in out

    code = main(["demo"])
    again, err = capsys.readouterr()

    assert code == 0
    assert "already loaded; nothing was added" in again
    assert str(portfolio_id) in again
    assert "shown ONCE" not in err
    app = ValuetrailApplication(env=store_env(url))
    try:
        found = find_demo(app)
        assert found is not None and found.id == portfolio_id
        # Same seed, same story: the figures match the module's own load.
        theirs = {
            b.title: list(b.actuals.values()) for b in Demo(app, load_demo(app), url).benefits
        }
    finally:
        app.close()
    ours = {b.title: list(b.actuals.values()) for b in demo.benefits}
    assert theirs == ours
