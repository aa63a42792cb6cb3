"""Turn aggregates into the plain facts the value rules take, and into a decision's evidence."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.benefit import Benefit
from domain.initiative import Initiative
from domain.portfolio import Portfolio
from domain.valuation import (
    EVIDENCE_FIGURES,
    BenefitFacts,
    InitiativeFacts,
    PortfolioTerms,
    figures_dict,
    initiative_value,
)


def terms_of(portfolio: Portfolio) -> PortfolioTerms:
    """The valuation terms of a portfolio."""
    return PortfolioTerms(
        currency=portfolio.currency,
        discount_rate=portfolio.discount_rate,
        base_month=portfolio.base_month,
        rag_green=portfolio.rag_green,
        rag_amber=portfolio.rag_amber,
    )


def benefit_facts(benefit: Benefit) -> BenefitFacts:
    """The value-relevant facts of a benefit as it stands."""
    measure: dict[str, Any] = benefit.measure
    target = benefit.target
    return BenefitFacts(
        benefit_id=benefit.id,
        initiative_id=benefit.initiative_id,
        category=benefit.category,
        disbenefit=benefit.disbenefit,
        unit=measure["unit"],
        kind=measure["kind"],
        direction=measure["direction"],
        value_per_unit=measure["value_per_unit"],
        baseline=Decimal(benefit.baseline["value"]),
        target=None if target is None else Decimal(target["value"]),
        forecast=dict(benefit.forecast),
        actuals=dict(benefit.actuals),
        shares={c["initiative_id"]: c["share"] for c in benefit.contributions},
        goal_id=benefit.goal_id,
    )


def initiative_facts(initiative: Initiative) -> InitiativeFacts:
    """The value-relevant facts of an initiative as it stands."""
    return InitiativeFacts(
        initiative_id=initiative.id,
        confidence=initiative.confidence,
        cost_forecast=dict(initiative.cost_forecast),
        spend_to_date=initiative.spend_to_date,
        status=initiative.status,
        stopped_month=initiative.stopped_month,
    )


def decision_evidence(
    initiative: Initiative, benefits: list[Benefit], portfolio: Portfolio, month: str
) -> dict[str, Any]:
    """What a decision's evidence records of an initiative: its value figures with "to date"
    running to `month`, its confidence and status, and the forecast revisions they rest on.

    The decision stores it; the audit context rebuilds it from the state just before the
    decision, so the two can be compared member by member.
    """
    figures = initiative_value(
        initiative_facts(initiative),
        [benefit_facts(b) for b in benefits],
        terms_of(portfolio),
        month,
    )
    return {
        **figures_dict(figures, only=EVIDENCE_FIGURES),
        "confidence": initiative.confidence,
        "status": initiative.status,
        "cost_forecast_revision": initiative.cost_forecast_revision,
        "benefit_forecast_revisions": {str(b.id): b.forecast_revision for b in benefits},
        "as_of_month": month,
    }
