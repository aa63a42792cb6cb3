"""Goal coverage (Q1): attributed PV per live goal, unserved goals, benefits serving no goal."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from uuid import UUID, uuid4

from domain.analytics.coverage import Claim, InitiativeName, claims, goal_coverage
from domain.analytics.inputs import GoalInput
from domain.valuation import (
    BenefitFacts,
    InitiativeFacts,
    PortfolioTerms,
    benefit_money,
    initiative_value,
)
from tests.unit.builders import benefit_facts

D = Decimal
FLAT = PortfolioTerms(currency="GBP", discount_rate=D(0), base_month="2025-01")


def _benefit(owner: UUID, goal: UUID | None, shares: dict[UUID, Decimal]) -> BenefitFacts:
    return benefit_facts(
        initiative_id=owner,
        forecast={"2025-01": D(100), "2025-06": D(100), "2025-12": D(100)},
        actuals={"2025-01": D(80)},
        shares=shares,
        goal_id=goal,
    )


def _initiative(ident: UUID, status: str = "active", stopped: str | None = None) -> InitiativeFacts:
    return InitiativeFacts(ident, D(1), {}, D(0), status, stopped)


def _claims(benefits: list[BenefitFacts], initiatives: dict[UUID, InitiativeFacts]) -> list[Claim]:
    found = []
    for b in benefits:
        money = benefit_money(b, FLAT, "2025-03")
        found += claims(b, f"benefit {b.benefit_id}", money, initiatives, FLAT)
    return found


def test_goal_figures_and_goal_less_benefits_add_up_to_the_portfolio_pv() -> None:
    portal, stopped_one = uuid4(), uuid4()
    growth, retired, idle = (GoalInput(uuid4(), t, D(2)) for t in ("growth", "old", "idle"))
    retired = replace(retired, active=False)
    initiatives = {
        portal: _initiative(portal),
        stopped_one: _initiative(stopped_one, "stopped", "2025-06"),
    }
    benefits = [
        _benefit(portal, growth.goal_id, {portal: D("0.6"), stopped_one: D("0.3")}),
        _benefit(stopped_one, retired.goal_id, {}),
        _benefit(portal, None, {}),
    ]
    found = goal_coverage(
        [growth, retired, idle],
        [InitiativeName(portal, "Portal", "active"), InitiativeName(stopped_one, "Old", "stopped")],
        _claims(benefits, initiatives),
        {b.benefit_id: b.initiative_id for b in benefits},
    )
    # The stopped initiative keeps only its months up to the stop (200 of 300).
    [goal] = found.goals
    assert goal.pv_benefits == D("0.6") * 300 + D("0.3") * 200
    assert goal.realised_to_date == D("0.9") * 80
    assert [(i.initiative_id, i.pv_benefits) for i in goal.initiatives] == [
        (portal, D("180.0")),
        (stopped_one, D("60.0")),
    ]
    assert [g.title for g in found.unserved_goals] == ["idle"]
    # A retired goal's benefits count as serving no goal.
    assert [b.pv_benefits for b in found.benefits_without_goal] == [D(200), D(300)]
    valued = [initiative_value(i, benefits, FLAT, "2025-03") for i in initiatives.values()]
    total = goal.pv_benefits + sum(b.pv_benefits for b in found.benefits_without_goal)
    assert total == sum(v.pv_benefits for v in valued)


def test_a_benefit_claimed_by_an_initiative_outside_the_portfolio_is_not_counted() -> None:
    portal, stranger = uuid4(), uuid4()
    benefit = _benefit(portal, None, {portal: D("0.5"), stranger: D("0.5")})
    found = _claims([benefit], {portal: _initiative(portal)})
    assert [(c.initiative_id, c.pv_benefits) for c in found] == [(portal, D("150.0"))]


def test_no_goals_leaves_every_benefit_without_goal() -> None:
    portal = uuid4()
    benefit = _benefit(portal, uuid4(), {})
    found = goal_coverage(
        [],
        [InitiativeName(portal, "Portal", "proposed")],
        _claims([benefit], {portal: _initiative(portal, "proposed")}),
        {benefit.benefit_id: portal},
    )
    assert found.goals == [] and found.unserved_goals == []
    assert [(b.benefit_id, b.initiative_id) for b in found.benefits_without_goal] == [
        (benefit.benefit_id, portal)
    ]
