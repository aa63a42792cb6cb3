"""The analytics' answers as the API presents them: money 2 dp, ratios 2 dp, percentages 1 dp."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.analytics.accuracy import Accuracy, Group
from domain.analytics.capacity import Capacity
from domain.analytics.coverage import BenefitShare, Coverage
from domain.analytics.lessons import Lessons
from domain.analytics.priorities import Priority
from domain.valuation import money, percent, ratio


def _plain(value: Decimal | None) -> str | None:
    """An FTE or weight as written, without a trailing exponent (`2`, `1.5`)."""
    if value is None:
        return None
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _benefit(b: BenefitShare) -> dict[str, Any]:
    return {
        "benefit_id": str(b.benefit_id),
        "title": b.title,
        "initiative_id": str(b.initiative_id),
        "pv_benefits": money(b.pv_benefits),
    }


def coverage_body(found: Coverage) -> dict[str, Any]:
    """goals, unserved_goals and benefits_without_goal of GET …/goals/coverage."""
    return {
        "goals": [
            {
                "goal_id": str(g.goal_id),
                "title": g.title,
                "weight": _plain(g.weight),
                "pv_benefits": money(g.pv_benefits),
                "realised_to_date": money(g.realised_to_date),
                "initiatives": [
                    {
                        "initiative_id": str(i.initiative_id),
                        "name": i.name,
                        "status": i.status,
                        "pv_benefits": money(i.pv_benefits),
                    }
                    for i in g.initiatives
                ],
                "benefits": [_benefit(b) for b in g.benefits],
            }
            for g in found.goals
        ],
        "unserved_goals": [
            {"goal_id": str(g.goal_id), "title": g.title} for g in found.unserved_goals
        ],
        "benefits_without_goal": [_benefit(b) for b in found.benefits_without_goal],
    }


def priority_item(p: Priority) -> dict[str, Any]:
    """One ranked candidate."""
    return {
        "rank": p.rank,
        "initiative_id": str(p.initiative_id),
        "name": p.name,
        "status": p.status,
        "mandatory": p.mandatory,
        "remaining_pv_benefits": money(p.remaining_pv_benefits),
        "remaining_pv_costs": money(p.remaining_pv_costs),
        "remaining_cost": money(p.remaining_cost),
        "confidence": _plain(p.confidence),
        "value": money(p.value),
        "value_for_money": ratio(p.value_for_money),
        "vfm_band": p.vfm_band,
        "goal_alignment_pct": percent(p.goal_alignment_pct),
        "budget_share_pct": percent(p.budget_share_pct),
        "reasons": dict(p.reasons),
        "reference_ratio": ratio(p.reference_ratio),
        "reference_cost_ratio": ratio(p.reference_cost_ratio),
    }


def capacity_body(found: Capacity) -> dict[str, Any]:
    """budget, people, leaders and without_leader of GET …/capacity."""
    return {
        "budget": [
            {
                "month": b.month,
                "capacity": money(b.capacity),
                "committed": money(b.committed),
                "proposed": money(b.proposed),
                "headroom": money(b.headroom),
            }
            for b in found.budget
        ],
        "people": [
            {
                "month": p.month,
                "role": p.role,
                "capacity": _plain(p.capacity),
                "committed": _plain(p.committed),
                "proposed": _plain(p.proposed),
                "over_allocated": p.over_allocated,
                "over_allocated_if_all_proposed": p.over_allocated_if_all_proposed,
            }
            for p in found.people
        ],
        "leaders": [
            {
                "leader": x.leader,
                "initiatives": [str(i) for i in x.initiatives],
                "count": x.count,
                "stretched": x.stretched,
            }
            for x in found.leaders
        ],
        "without_leader": [
            {"initiative_id": str(d.initiative_id), "name": d.name, "status": d.status}
            for d in found.without_leader
        ],
    }


def _group(name: str, g: Group, *, costs: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        name: g.key,
        "n": g.n,
        "median_ratio": ratio(g.median_ratio),
        "p80_ratio": ratio(g.p80_ratio),
    }
    if costs:
        body["median_cost_ratio"] = ratio(g.median_cost_ratio)
        body["p80_cost_ratio"] = ratio(g.p80_cost_ratio)
    return body


def accuracy_body(found: Accuracy) -> dict[str, Any]:
    """initiatives, groups and proposals of GET …/forecast-accuracy."""
    return {
        "initiatives": [
            {
                "initiative_id": str(t.initiative_id),
                "name": t.name,
                "kind": t.kind,
                "sponsor": t.sponsor,
                "leader": t.leader,
                "invested_on": t.invested_on.isoformat(),
                "months": t.months,
                "forecast_at_invest": money(t.forecast_at_invest),
                "realised": money(t.realised),
                "accuracy_ratio": ratio(t.accuracy_ratio),
                "optimism_pct": percent(t.optimism_pct),
                "cost_forecast_at_invest": money(t.cost_forecast_at_invest),
                "spend": money(t.spend),
                "cost_overrun_pct": percent(t.cost_overrun_pct),
                "cost_ratio": ratio(t.cost_ratio),
            }
            for t in found.initiatives
        ],
        "by_kind": [_group("kind", g, costs=True) for g in found.by_kind],
        # Groups with only cost ratios say nothing about benefits: leave them out here.
        "by_sponsor": [_group("sponsor", g, costs=False) for g in found.by_sponsor if g.n],
        "by_leader": [_group("leader", g, costs=False) for g in found.by_leader if g.n],
        "proposals": [
            {
                "initiative_id": str(a.proposal.initiative_id),
                "name": a.proposal.name,
                "kind": a.proposal.kind,
                "pv_benefits": money(a.proposal.pv_benefits),
                "reference_ratio": ratio(a.reference_ratio),
                "adjusted_pv_benefits": money(a.adjusted_pv_benefits),
                "pv_costs": money(a.proposal.pv_costs),
                "reference_cost_ratio": ratio(a.reference_cost_ratio),
                "adjusted_pv_costs": money(a.adjusted_pv_costs),
            }
            for a in found.proposals
        ],
    }


def lessons_body(found: Lessons) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The page's items, and the plans and gaps beside them."""
    items = [
        {
            "initiative_id": str(x.initiative_id),
            "name": x.name,
            "lesson_id": str(x.lesson_id),
            "category": x.category,
            "text": x.text,
            "recorded_at": x.recorded_at.isoformat(),
        }
        for x in found.items
    ]
    extra = {
        "plans": [
            {
                "initiative_id": str(p.initiative_id),
                "name": p.name,
                "plan": p.plan,
                "trigger": p.trigger,
            }
            for p in found.plans
        ],
        "without_plan": [
            {"initiative_id": str(p.initiative_id), "name": p.name, "status": p.status}
            for p in found.without_plan
        ],
    }
    return items, extra
