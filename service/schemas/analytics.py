"""Schemas of the portfolio analytics (DESIGN §5.3): queries and the answers as documented.

Answers are built as plain dicts of presented figures (money 2 dp, ratios 2 dp, percentages
1 dp, as strings) and sent as they are; these schemas document them in the OpenAPI spec.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from service.schemas.common import AsOfArgs, FreshArgs, Month, PageArgs

OBJECTIVES = ("risk_adjusted_npv", "strategic_value")


def _money(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(metadata={"example": "1000.00", **kwargs})


def _maybe(example: str, **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(allow_none=True, metadata={"example": example, **kwargs})


def _list(schema: type[ma.Schema]) -> ma.fields.List[Any]:
    return ma.fields.List(ma.fields.Nested(schema))


class AnalyticsArgs(AsOfArgs, FreshArgs):
    """`as_of` and `min_position`, as every analytics read takes them."""


class FromMonthArgs(AnalyticsArgs):
    """Reads that split past from future at `from_month`."""

    from_month = Month(
        metadata={"description": "first remaining month (default: the month of as_of, or now)"}
    )


class PrioritiesArgs(FromMonthArgs):
    """Query of GET /portfolios/{id}/priorities."""

    objective = ma.fields.String(
        load_default="risk_adjusted_npv", validate=ma.validate.OneOf(OBJECTIVES)
    )
    reference_class = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "apply the organisation's own forecast accuracy to proposals"},
    )


class CapacityArgs(FromMonthArgs):
    """Query of GET /portfolios/{id}/capacity."""

    leader_limit = ma.fields.Integer(load_default=3, validate=ma.validate.Range(min=0, max=1000))


class LessonsArgs(AnalyticsArgs, PageArgs):
    """Query of GET /portfolios/{id}/lessons."""

    category = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    q = ma.fields.String(
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "case-insensitive substring of the lesson text"},
    )


# -- coverage ----------------------------------------------------------------------------------


class CoveredInitiative(ma.Schema):
    """An initiative's attributed PV in the benefits serving a goal."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    status = ma.fields.String()
    pv_benefits = _money()


class CoveredBenefit(ma.Schema):
    """A benefit's attributed PV (summed over the initiatives claiming it)."""

    benefit_id = ma.fields.UUID()
    title = ma.fields.String()
    initiative_id = ma.fields.UUID(metadata={"description": "the accountable initiative"})
    pv_benefits = _money()


class GoalCoverageResponse(ma.Schema):
    """One live goal and what serves it."""

    goal_id = ma.fields.UUID()
    title = ma.fields.String()
    weight = ma.fields.String(metadata={"example": "2"})
    pv_benefits = _money()
    realised_to_date = _money()
    initiatives = _list(CoveredInitiative)
    benefits = _list(CoveredBenefit)


class UnservedGoal(ma.Schema):
    """A live goal no benefit serves."""

    goal_id = ma.fields.UUID()
    title = ma.fields.String()


class CoverageResponse(ma.Schema):
    """GET /portfolios/{id}/goals/coverage."""

    portfolio_id = ma.fields.UUID()
    as_of = ma.fields.AwareDateTime()
    goals = _list(GoalCoverageResponse)
    unserved_goals = _list(UnservedGoal)
    benefits_without_goal = _list(CoveredBenefit)


# -- priorities --------------------------------------------------------------------------------


class Reasons(ma.Schema):
    """One plain sentence each, with the figures it rests on."""

    desirability = ma.fields.String()
    affordability = ma.fields.String()
    achievability = ma.fields.String()


class PriorityItem(ma.Schema):
    """A ranked candidate."""

    rank = ma.fields.Integer()
    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    status = ma.fields.String()
    mandatory = ma.fields.Boolean()
    remaining_pv_benefits = _money()
    remaining_pv_costs = _money()
    remaining_cost = _money()
    confidence = ma.fields.String(metadata={"example": "0.8"})
    value = _money()
    value_for_money = _maybe("1.85")
    vfm_band = ma.fields.String(allow_none=True)
    goal_alignment_pct = _maybe("75.0")
    budget_share_pct = _maybe("12.5")
    reasons = ma.fields.Nested(Reasons)
    reference_ratio = _maybe("0.85", description="benefit ratio applied (reference_class)")
    reference_cost_ratio = _maybe("1.10", description="cost ratio applied (reference_class)")


class PrioritiesResponse(ma.Schema):
    """GET /portfolios/{id}/priorities."""

    portfolio_id = ma.fields.UUID()
    as_of = ma.fields.AwareDateTime()
    from_month = ma.fields.String(metadata={"example": "2025-01"})
    objective = ma.fields.String()
    reference_class = ma.fields.Boolean()
    items = _list(PriorityItem)


# -- capacity ----------------------------------------------------------------------------------


class BudgetMonthResponse(ma.Schema):
    """Money in one month (capacity and headroom null where no budget is set)."""

    month = ma.fields.String()
    capacity = _maybe("1000.00")
    committed = _money()
    proposed = _money()
    headroom = _maybe("250.00")


class PeopleMonthResponse(ma.Schema):
    """One role in one month, in FTE (capacity null: the role has no limit)."""

    month = ma.fields.String()
    role = ma.fields.String()
    capacity = _maybe("5")
    committed = ma.fields.String(metadata={"example": "4.5"})
    proposed = ma.fields.String(metadata={"example": "2"})
    over_allocated = ma.fields.Boolean()
    over_allocated_if_all_proposed = ma.fields.Boolean()


class LeaderResponse(ma.Schema):
    """A leader and the active initiatives they lead."""

    leader = ma.fields.String()
    initiatives = ma.fields.List(ma.fields.UUID())
    count = ma.fields.Integer()
    stretched = ma.fields.Boolean()


class NamedInitiative(ma.Schema):
    """An initiative by id, name and status."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    status = ma.fields.String()


class CapacityResponse(ma.Schema):
    """GET /portfolios/{id}/capacity."""

    portfolio_id = ma.fields.UUID()
    as_of = ma.fields.AwareDateTime()
    from_month = ma.fields.String()
    leader_limit = ma.fields.Integer()
    budget = _list(BudgetMonthResponse)
    people = _list(PeopleMonthResponse)
    leaders = _list(LeaderResponse)
    without_leader = _list(NamedInitiative)


# -- forecast accuracy -------------------------------------------------------------------------


class TrackResponse(ma.Schema):
    """One invested initiative: the promise at invest against what came."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    kind = ma.fields.String()
    sponsor = ma.fields.String()
    leader = ma.fields.String(allow_none=True)
    invested_on = ma.fields.Date()
    months = ma.fields.Integer()
    forecast_at_invest = _money()
    realised = _money()
    accuracy_ratio = _maybe("0.85")
    optimism_pct = _maybe("15.0")
    cost_forecast_at_invest = _money()
    spend = _money()
    cost_overrun_pct = _maybe("10.0")
    cost_ratio = _maybe("1.10")


class KindGroup(ma.Schema):
    """The ratios of one kind."""

    kind = ma.fields.String()
    n = ma.fields.Integer()
    median_ratio = _maybe("0.85")
    p80_ratio = _maybe("0.62")
    median_cost_ratio = _maybe("1.10")
    p80_cost_ratio = _maybe("1.34")


class SponsorGroup(ma.Schema):
    """The benefit ratios of one sponsor."""

    sponsor = ma.fields.String()
    n = ma.fields.Integer()
    median_ratio = _maybe("0.85")
    p80_ratio = _maybe("0.62")


class LeaderGroup(ma.Schema):
    """The benefit ratios of one leader."""

    leader = ma.fields.String()
    n = ma.fields.Integer()
    median_ratio = _maybe("0.85")
    p80_ratio = _maybe("0.62")


class ProposalReference(ma.Schema):
    """A proposal with the reference class applied."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    kind = ma.fields.String()
    pv_benefits = _money()
    reference_ratio = _maybe("0.85")
    adjusted_pv_benefits = _maybe("850.00")
    pv_costs = _money()
    reference_cost_ratio = _maybe("1.10")
    adjusted_pv_costs = _maybe("440.00")


class AccuracyResponse(ma.Schema):
    """GET /portfolios/{id}/forecast-accuracy."""

    portfolio_id = ma.fields.UUID()
    as_of = ma.fields.AwareDateTime()
    initiatives = _list(TrackResponse)
    by_kind = _list(KindGroup)
    by_sponsor = _list(SponsorGroup)
    by_leader = _list(LeaderGroup)
    proposals = _list(ProposalReference)


# -- lessons -----------------------------------------------------------------------------------


class PortfolioLesson(ma.Schema):
    """A lesson learned."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    lesson_id = ma.fields.UUID()
    category = ma.fields.String()
    text = ma.fields.String()
    recorded_at = ma.fields.AwareDateTime()


class PlanResponse(ma.Schema):
    """An initiative's plan B."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    plan = ma.fields.String()
    trigger = ma.fields.String()


class LessonsResponse(ma.Schema):
    """GET /portfolios/{id}/lessons: a page of lessons, every plan B, active ones without."""

    items = _list(PortfolioLesson)
    next_cursor = ma.fields.String(allow_none=True)
    plans = _list(PlanResponse)
    without_plan = _list(NamedInitiative)
