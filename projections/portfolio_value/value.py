"""The portfolio value view as recorded at an instant: the figures of DESIGN §3 from view rows.

The rows say what was recorded by `as_of` (transaction time); the value rules of
`domain.valuation` turn them into figures, exactly as they do for decision evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.valuation import (
    BenefitFacts,
    BenefitMoney,
    Measured,
    PortfolioTerms,
    ValueFigures,
    benefit_money,
    benefit_value,
    effective_shares,
    initiative_value,
    money,
    percent,
    portfolio_totals,
    ratio,
    unattributed_pv_benefits,
)
from projections.db import ViewDatabase
from projections.portfolio_value.facts import (
    benefit_facts_from,
    initiative_facts_from,
    recorded_forecast,
)
from projections.portfolio_value.recorded import month_of_instant, read_recorded
from projections.portfolio_value.rows import Recorded, id_of, terms_from, terms_key


def present(figures: ValueFigures) -> dict[str, Any]:
    """Figures as the API answers them: money 2 dp, ratios 2 dp, percentages 1 dp."""
    return {
        "pv_benefits": money(figures.pv_benefits),
        "pv_costs": money(figures.pv_costs),
        "npv": money(figures.npv),
        "bcr": ratio(figures.bcr),
        "roi": ratio(figures.roi),
        "risk_adjusted_npv": money(figures.risk_adjusted_npv),
        "vfm_band": figures.vfm_band,
        "realised_to_date": money(figures.realised_to_date),
        "forecast_to_date": money(figures.forecast_to_date),
        "realisation_pct": percent(figures.realisation_pct),
        "rag": figures.rag,
        "spend_to_date": money(figures.spend_to_date),
        "forgone_pv_benefits": money(figures.forgone_pv_benefits),
        "avoided_pv_costs": money(figures.avoided_pv_costs),
    }


@dataclass
class PortfolioValue:
    """Unrounded figures of a portfolio (for metrics and tests) and its presented view."""

    body: dict[str, Any]
    totals: ValueFigures
    red_benefits: int


def valued_benefits(
    recorded: Recorded, terms: PortfolioTerms, month: str
) -> tuple[list[BenefitFacts], dict[UUID, BenefitMoney]]:
    """Each recorded benefit's valuation facts and its money figures as at `month`."""
    key = terms_key(terms)
    benefits: list[BenefitFacts] = []
    money_of: dict[UUID, BenefitMoney] = {}
    nothing = Measured(Decimal(0), 0, None)
    for benefit_id, row in recorded.benefits.items():
        benefit = benefit_facts_from(benefit_id, row, recorded.forecasts.get(benefit_id))
        benefits.append(benefit)
        money_of[benefit.benefit_id] = benefit_money(
            benefit,
            terms,
            month,
            forecast=recorded_forecast(row, key),
            seen=recorded.measured.get(benefit_id, nothing),
        )
    return benefits, money_of


def value_of(recorded: Recorded, portfolio_id: UUID, at: datetime) -> PortfolioValue:
    """Compute the value view of a recorded portfolio, as of `at` (its month bounds 'to date')."""
    terms = terms_from(recorded.portfolio)
    month = month_of_instant(at)
    key = terms_key(terms)
    benefits, money_of = valued_benefits(recorded, terms, month)
    by_initiative: dict[UUID, list[BenefitFacts]] = defaultdict(list)
    for benefit in benefits:
        for claimant in effective_shares(benefit):
            by_initiative[claimant].append(benefit)
    rows = []
    figures = []
    for initiative_id, recorded_as in recorded.initiatives.items():
        initiative = initiative_facts_from(
            initiative_id,
            recorded_as,
            recorded.spend.get(initiative_id, Decimal(0)),
            recorded.forecasts.get(initiative_id),
        )
        claimed = by_initiative[initiative.initiative_id]
        pv_costs = Decimal(recorded_as.pv_costs) if recorded_as.terms == key else None
        value = initiative_value(initiative, claimed, terms, month, money_of, pv_costs)
        figures.append(value)
        rows.append(
            {
                "initiative_id": initiative_id,
                "name": recorded_as.name,
                "kind": recorded_as.kind,
                "status": recorded_as.status,
                "confidence": recorded_as.confidence,
                **present(value),
            }
        )
    totals = portfolio_totals(figures, terms)
    unattributed = sum(
        (unattributed_pv_benefits(b, terms, money_of[b.benefit_id]) for b in benefits), Decimal(0)
    )
    benefit_values = {
        b.benefit_id: benefit_value(b, terms, month, money_of[b.benefit_id]) for b in benefits
    }
    by_goal: dict[UUID | None, list[BenefitFacts]] = defaultdict(list)
    for benefit in benefits:
        by_goal[benefit.goal_id].append(benefit)
    goals = []
    for goal in recorded.portfolio["goals"]:
        if goal.get("retired"):
            continue
        served = by_goal.get(id_of(str(goal["goal_id"])), [])
        goals.append(
            {
                "goal_id": str(goal["goal_id"]),
                "title": goal["title"],
                "weight": str(goal["weight"]),
                "pv_benefits": money(
                    sum((benefit_values[b.benefit_id].pv_benefits for b in served), Decimal(0))
                ),
                "realised_to_date": money(
                    sum((benefit_values[b.benefit_id].realised_to_date for b in served), Decimal(0))
                ),
            }
        )
    body = {
        "portfolio_id": str(portfolio_id),
        "as_of": at.isoformat(),
        "currency": terms.currency,
        "totals": {**present(totals), "unattributed_pv_benefits": money(unattributed)},
        "initiatives": rows,
        "goals": goals,
    }
    red = sum(1 for v in benefit_values.values() if v.rag == "red")
    return PortfolioValue(body, totals, red)


def portfolio_value(
    db: ViewDatabase, portfolio_id: UUID, as_of: datetime | None = None
) -> PortfolioValue | None:
    """The value view of a portfolio as recorded at `as_of` (now when None); None if unknown."""
    at = (as_of or datetime.now(UTC)).astimezone(UTC)
    with db.read() as cursor:
        recorded = read_recorded(db, cursor, portfolio_id, at)
    return None if recorded is None else value_of(recorded, portfolio_id, at)
