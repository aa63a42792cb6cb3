"""The portfolio value view as recorded at an instant: the figures of DESIGN §3 from view rows.

The rows say what was recorded by `as_of` (transaction time); the value rules of
`domain.valuation` turn them into figures, exactly as they do for decision evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
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
    portfolio_totals,
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


@dataclass(frozen=True)
class InitiativeValue:
    """One initiative as recorded, and its attributed figures."""

    initiative_id: str
    name: str
    kind: str
    status: str
    confidence: str
    figures: ValueFigures


@dataclass(frozen=True)
class GoalValue:
    """The benefits serving one live strategic goal, summed."""

    goal_id: str
    title: str
    weight: str
    pv_benefits: Decimal
    realised_to_date: Decimal


@dataclass(frozen=True)
class PortfolioValue:
    """A portfolio's figures as recorded at an instant, unrounded (the service presents them)."""

    portfolio_id: UUID
    as_of: datetime
    currency: str
    totals: ValueFigures
    unattributed_pv_benefits: Decimal
    initiatives: list[InitiativeValue]
    goals: list[GoalValue]
    red_benefits: int


def recorded_benefits(recorded: Recorded) -> list[BenefitFacts]:
    """Each recorded benefit's valuation facts, in the order the benefits were recorded."""
    return [
        benefit_facts_from(benefit_id, row, recorded.forecasts.get(benefit_id))
        for benefit_id, row in recorded.benefits.items()
    ]


def benefits_money(
    recorded: Recorded, benefits: list[BenefitFacts], terms: PortfolioTerms, month: str
) -> dict[UUID, BenefitMoney]:
    """The money figures as at `month` of the recorded benefits (`recorded_benefits`)."""
    key = terms_key(terms)
    money_of: dict[UUID, BenefitMoney] = {}
    nothing = Measured(Decimal(0), 0, None)
    for (benefit_id, row), benefit in zip(recorded.benefits.items(), benefits, strict=True):
        money_of[benefit.benefit_id] = benefit_money(
            benefit,
            terms,
            month,
            forecast=recorded_forecast(row, key),
            seen=recorded.measured.get(benefit_id, nothing),
        )
    return money_of


def valued_benefits(
    recorded: Recorded, terms: PortfolioTerms, month: str
) -> tuple[list[BenefitFacts], dict[UUID, BenefitMoney]]:
    """Each recorded benefit's valuation facts and its money figures as at `month`."""
    benefits = recorded_benefits(recorded)
    return benefits, benefits_money(recorded, benefits, terms, month)


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
        rows.append(
            InitiativeValue(
                initiative_id,
                recorded_as.name,
                recorded_as.kind,
                recorded_as.status,
                recorded_as.confidence,
                value,
            )
        )
    totals = portfolio_totals([row.figures for row in rows], terms)
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
            GoalValue(
                str(goal["goal_id"]),
                goal["title"],
                str(goal["weight"]),
                sum((benefit_values[b.benefit_id].pv_benefits for b in served), Decimal(0)),
                sum((benefit_values[b.benefit_id].realised_to_date for b in served), Decimal(0)),
            )
        )
    red = sum(1 for v in benefit_values.values() if v.rag == "red")
    return PortfolioValue(portfolio_id, at, terms.currency, totals, unattributed, rows, goals, red)


def portfolio_value(
    db: ViewDatabase, portfolio_id: UUID, as_of: datetime | None = None
) -> PortfolioValue | None:
    """The value view of a portfolio as recorded at `as_of` (now when None); None if unknown."""
    at = (as_of or datetime.now(UTC)).astimezone(UTC)
    with db.read() as cursor:
        recorded = read_recorded(db, cursor, portfolio_id, at)
    return None if recorded is None else value_of(recorded, portfolio_id, at)
