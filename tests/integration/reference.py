"""A from-scratch reference for the portfolio value view (DESIGN §3, §4 "as-of", §5.6).

`reference_value` answers `GET /portfolios/{id}/value?as_of=` without any projection: every
aggregate is folded by the application from only the events recorded up to the instant, and the
value rules of `domain.valuation` turn them into figures. Tests compare it with the view.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.facts import benefit_facts, initiative_facts, terms_of
from domain.valuation import (
    ValueFigures,
    benefit_value,
    initiative_value,
    money,
    percent,
    portfolio_totals,
    ratio,
    unattributed_pv_benefits,
)
from projections.portfolio_value.value import PortfolioValue
from service.schemas.value import PortfolioValueResponse
from service.value import value_body


def api_body(view: PortfolioValue) -> dict[str, Any]:
    """The value view as the API answers it: presented by the service, dumped through its
    declared schema."""
    body: dict[str, Any] = PortfolioValueResponse().dump(value_body(view))
    return body


def presented(figures: ValueFigures) -> dict[str, Any]:
    """The §5.6 figures as strings: money and ratios 2 dp, percentages 1 dp."""
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


def reference_value(
    app: ValuetrailApplication, portfolio_id: UUID, as_of: datetime
) -> dict[str, Any]:
    """The value body of a portfolio as recorded at `as_of`, from aggregates alone.

    Raises `NotFoundError` when the portfolio was not yet recorded at `as_of` (the view answers
    None then). "To date" means months up to the UTC month of `as_of`. Initiatives and benefits
    are found through the application's Index aggregates as of the instant, so `as_of` should
    fall between writes, not inside one (see the xfail test in test_value_as_of.py).
    """
    at = as_of.astimezone(UTC)
    month = f"{at.year:04d}-{at.month:02d}"
    portfolio = app.get_portfolio(portfolio_id, as_of=at)
    terms = terms_of(portfolio)
    initiatives = app.list_initiatives(portfolio_id, as_of=at)

    every: dict[UUID, Benefit] = {}
    rows = []
    figures = []
    for initiative in initiatives:
        claimed = app.benefits_of(initiative.id, as_of=at)
        for benefit in claimed:
            every.setdefault(benefit.id, benefit)
        value = initiative_value(
            initiative_facts(initiative), [benefit_facts(b) for b in claimed], terms, month
        )
        figures.append(value)
        rows.append(
            {
                "initiative_id": str(initiative.id),
                "name": initiative.name,
                "kind": initiative.kind,
                "status": initiative.status,
                "confidence": str(initiative.confidence),
                **presented(value),
            }
        )
    totals = portfolio_totals(figures, terms)
    # Each benefit once, in the order it was identified.
    benefits = [benefit_facts(b) for b in sorted(every.values(), key=lambda b: b.created_on)]
    unattributed = sum((unattributed_pv_benefits(b, terms) for b in benefits), Decimal(0))

    goals = []
    for goal in portfolio.goals.values():
        if goal["retired"]:
            continue
        whole = [benefit_value(b, terms, month) for b in benefits if b.goal_id == goal["goal_id"]]
        goals.append(
            {
                "goal_id": str(goal["goal_id"]),
                "title": goal["title"],
                "weight": str(goal["weight"]),
                "pv_benefits": money(sum((v.pv_benefits for v in whole), Decimal(0))),
                "realised_to_date": money(sum((v.realised_to_date for v in whole), Decimal(0))),
            }
        )
    return {
        "portfolio_id": str(portfolio_id),
        "as_of": at.isoformat(),
        "currency": portfolio.currency,
        "totals": {**presented(totals), "unattributed_pv_benefits": money(unattributed)},
        "initiatives": rows,
        "goals": goals,
    }
