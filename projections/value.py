"""The portfolio value view as recorded at an instant: the figures of DESIGN §3 from view rows.

The rows say what was recorded by `as_of` (transaction time); the value rules of
`domain.valuation` turn them into figures, exactly as they do for decision evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.valuation import (
    BenefitFacts,
    InitiativeFacts,
    PortfolioTerms,
    ValueFigures,
    benefit_value,
    effective_shares,
    initiative_value,
    money,
    percent,
    portfolio_totals,
    ratio,
    unattributed_pv_benefits,
)
from projections.codec import loads
from projections.db import Cursor, ViewDatabase
from projections.view import instant_text

VISIBLE = "recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)"


@dataclass
class Recorded:
    """Everything recorded about one portfolio by an instant."""

    portfolio: dict[str, Any]
    initiatives: dict[str, dict[str, Any]] = field(default_factory=dict)
    benefits: dict[str, dict[str, Any]] = field(default_factory=dict)
    actuals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    spend: dict[str, Decimal] = field(default_factory=dict)


def _uuid(value: Any) -> UUID | None:
    return None if value in (None, "") else UUID(str(value))


def _read(cursor: Cursor, portfolio_id: UUID, at: str) -> Recorded | None:
    cursor.execute(
        f"SELECT aggregate_id, kind, facts FROM vt_state WHERE portfolio_id = ? AND {VISIBLE}"
        " ORDER BY first_position",
        (str(portfolio_id), at, at),
    )
    portfolio = None
    initiatives: dict[str, dict[str, Any]] = {}
    benefits: dict[str, dict[str, Any]] = {}
    for aggregate_id, kind, facts in cursor.fetchall():
        decoded = loads(facts)
        if kind == "portfolio":
            portfolio = decoded
        elif kind == "initiative":
            initiatives[aggregate_id] = decoded
        else:
            benefits[aggregate_id] = decoded
    if portfolio is None:
        return None
    recorded = Recorded(portfolio, initiatives, benefits)
    recorded.actuals = _actuals(cursor, portfolio_id, at, benefits)
    cursor.execute(
        "SELECT initiative_id, amount FROM vt_spend WHERE portfolio_id = ? AND recorded_at <= ?",
        (str(portfolio_id), at),
    )
    for initiative_id, amount in cursor.fetchall():
        recorded.spend[initiative_id] = recorded.spend.get(initiative_id, Decimal(0)) + Decimal(
            amount
        )
    return recorded


def _actuals(
    cursor: Cursor, portfolio_id: UUID, at: str, benefits: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Decimal]]:
    """Monthly actuals per benefit: flow sums, or the latest level of each month."""
    cursor.execute(
        "SELECT measurement_id, value FROM vt_correction"
        " WHERE portfolio_id = ? AND recorded_at <= ? ORDER BY position",
        (str(portfolio_id), at),
    )
    corrected = {mid: Decimal(value) for mid, value in cursor.fetchall()}
    cursor.execute(
        "SELECT measurement_id, benefit_id, value, observed_on, month FROM vt_measurement"
        " WHERE portfolio_id = ? AND recorded_at <= ? ORDER BY observed_on, position",
        (str(portfolio_id), at),
    )
    actuals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for measurement_id, benefit_id, value, _observed, month in cursor.fetchall():
        facts = benefits.get(benefit_id)
        if facts is None:
            continue
        amount = corrected.get(measurement_id, Decimal(value))
        months = actuals[benefit_id]
        if facts["measure"]["kind"] == "flow":
            months[month] = months.get(month, Decimal(0)) + amount
        else:
            months[month] = amount  # ordered by observed_on, then log position: latest wins
    return dict(actuals)


def terms_from(portfolio: dict[str, Any]) -> PortfolioTerms:
    """Valuation terms from a portfolio's recorded facts."""
    return PortfolioTerms(
        currency=portfolio["currency"],
        discount_rate=Decimal(portfolio["discount_rate"]),
        base_month=portfolio["base_month"],
        rag_green=Decimal(portfolio["rag_green"]),
        rag_amber=Decimal(portfolio["rag_amber"]),
    )


def benefit_facts_from(
    benefit_id: str, facts: dict[str, Any], actuals: dict[str, Decimal]
) -> BenefitFacts:
    """Valuation facts of a benefit from its recorded facts and actuals."""
    measure, target = facts["measure"], facts["target"]
    vpu = measure.get("value_per_unit")
    return BenefitFacts(
        benefit_id=UUID(benefit_id),
        initiative_id=UUID(facts["initiative_id"]),
        category=facts["category"],
        disbenefit=bool(facts["disbenefit"]),
        unit=measure["unit"],
        kind=measure["kind"],
        direction=measure["direction"],
        value_per_unit=None if vpu is None else Decimal(vpu),
        baseline=Decimal(facts["baseline"]["value"]),
        target=None if target is None else Decimal(target["value"]),
        forecast={m: Decimal(v) for m, v in facts["forecast"].items()},
        actuals=actuals,
        shares={UUID(c["initiative_id"]): Decimal(c["share"]) for c in facts["contributions"]},
        goal_id=_uuid(facts.get("goal_id")),
    )


def initiative_facts_from(
    initiative_id: str, facts: dict[str, Any], spend: Decimal
) -> InitiativeFacts:
    """Valuation facts of an initiative from its recorded facts and spend."""
    return InitiativeFacts(
        initiative_id=UUID(initiative_id),
        confidence=Decimal(facts["confidence"]),
        cost_forecast={m: Decimal(v) for m, v in facts["cost_forecast"].items()},
        spend_to_date=spend,
        status=facts["status"],
        stopped_month=facts.get("stopped_month"),
    )


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


def value_of(recorded: Recorded, portfolio_id: UUID, at: datetime) -> PortfolioValue:
    """Compute the value view of a recorded portfolio, as of `at` (its month bounds 'to date')."""
    terms = terms_from(recorded.portfolio)
    month = f"{at.year:04d}-{at.month:02d}"
    benefits = [
        benefit_facts_from(b, facts, recorded.actuals.get(b, {}))
        for b, facts in recorded.benefits.items()
    ]
    by_initiative: dict[UUID, list[BenefitFacts]] = defaultdict(list)
    for benefit in benefits:
        for claimant in effective_shares(benefit):
            by_initiative[claimant].append(benefit)
    rows = []
    figures = []
    for initiative_id, facts in recorded.initiatives.items():
        initiative = initiative_facts_from(
            initiative_id, facts, recorded.spend.get(initiative_id, Decimal(0))
        )
        value = initiative_value(initiative, by_initiative[initiative.initiative_id], terms, month)
        figures.append(value)
        rows.append(
            {
                "initiative_id": initiative_id,
                "name": facts["name"],
                "kind": facts["kind"],
                "status": facts["status"],
                "confidence": str(facts["confidence"]),
                **present(value),
            }
        )
    totals = portfolio_totals(figures, terms)
    unattributed = sum((unattributed_pv_benefits(b, terms) for b in benefits), Decimal(0))
    benefit_values = {b.benefit_id: benefit_value(b, terms, month) for b in benefits}
    goals = []
    for goal in recorded.portfolio["goals"]:
        if goal.get("retired"):
            continue
        served = [b for b in benefits if b.goal_id == UUID(str(goal["goal_id"]))]
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
        recorded = _read(cursor, portfolio_id, instant_text(at))
    return None if recorded is None else value_of(recorded, portfolio_id, at)
