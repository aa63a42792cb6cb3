"""Q1: which initiatives and benefits serve each strategic goal (DESIGN §5.3, goals/coverage).

Every figure is attributed as in the value view: a benefit counts for each initiative at that
initiative's share, and a stopped initiative's share of the months after its stop is left out.
So the goals' PV plus the PV of benefits serving no live goal is the portfolio's pv_benefits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.analytics.inputs import GoalInput
from domain.valuation import (
    BenefitFacts,
    BenefitMoney,
    InitiativeFacts,
    PortfolioTerms,
    effective_shares,
    present_value,
)

ZERO = Decimal(0)


@dataclass(frozen=True)
class Claim:
    """One initiative's attributed part of one benefit."""

    benefit_id: UUID
    title: str
    goal_id: UUID | None
    initiative_id: UUID
    pv_benefits: Decimal
    realised_to_date: Decimal


@dataclass(frozen=True)
class InitiativeName:
    """How an initiative is shown beside its figures."""

    initiative_id: UUID
    name: str
    status: str


@dataclass(frozen=True)
class BenefitShare:
    """A benefit's attributed figures, summed over the initiatives that claim it."""

    benefit_id: UUID
    title: str
    initiative_id: UUID
    pv_benefits: Decimal


@dataclass(frozen=True)
class InitiativeShare:
    """An initiative's attributed PV in the benefits that serve one goal."""

    initiative_id: UUID
    name: str
    status: str
    pv_benefits: Decimal


@dataclass(frozen=True)
class GoalCoverage:
    """One live goal: its attributed PV and realised value, who serves it and how."""

    goal_id: UUID
    title: str
    weight: Decimal
    pv_benefits: Decimal
    realised_to_date: Decimal
    initiatives: list[InitiativeShare]
    benefits: list[BenefitShare]


@dataclass(frozen=True)
class Coverage:
    """The answer to Q1."""

    goals: list[GoalCoverage]
    unserved_goals: list[GoalInput]
    benefits_without_goal: list[BenefitShare]


def claims(
    benefit: BenefitFacts,
    title: str,
    money: BenefitMoney,
    initiatives: Mapping[UUID, InitiativeFacts],
    terms: PortfolioTerms,
) -> list[Claim]:
    """A benefit's attributed figures per claiming initiative of the portfolio.

    The same cut as `domain.valuation.initiative_value`: a stopped claimant keeps only the
    forecast up to its stop month; actuals count in full.
    """
    found = []
    for initiative_id, share in effective_shares(benefit).items():
        initiative = initiatives.get(initiative_id)
        if initiative is None:
            continue
        stop = initiative.stopped_month if initiative.status == "stopped" else None
        pv = (
            money.pv_benefits
            if stop is None
            else present_value(money.forecast(), terms, until=stop)
        )
        found.append(
            Claim(
                benefit_id=benefit.benefit_id,
                title=title,
                goal_id=benefit.goal_id,
                initiative_id=initiative_id,
                pv_benefits=share * pv,
                realised_to_date=share * money.realised,
            )
        )
    return found


def _benefits(claimed: Sequence[Claim], accountable: Mapping[UUID, UUID]) -> list[BenefitShare]:
    """Claims summed per benefit, in the order the benefits were first claimed."""
    totals: dict[UUID, Decimal] = {}
    titles: dict[UUID, str] = {}
    for claim in claimed:
        totals[claim.benefit_id] = totals.get(claim.benefit_id, ZERO) + claim.pv_benefits
        titles[claim.benefit_id] = claim.title
    return [BenefitShare(b, titles[b], accountable[b], pv) for b, pv in totals.items()]


def goal_coverage(
    goals: Sequence[GoalInput],
    initiatives: Sequence[InitiativeName],
    claimed: Sequence[Claim],
    accountable: Mapping[UUID, UUID],
) -> Coverage:
    """Group attributed claims by live goal; benefits of no live goal are listed apart.

    `accountable` maps each benefit to the initiative accountable for it; goals keep their
    recorded order, initiatives within a goal are ordered by PV (highest first) then id.
    """
    live = {g.goal_id: g for g in goals if g.active}
    names = {i.initiative_id: i for i in initiatives}
    by_goal: dict[UUID | None, list[Claim]] = defaultdict(list)
    for claim in claimed:
        by_goal[claim.goal_id if claim.goal_id in live else None].append(claim)
    covered, unserved = [], []
    for goal in live.values():
        served = by_goal.get(goal.goal_id, [])
        if not served:
            unserved.append(goal)
            continue
        per_initiative: dict[UUID, Decimal] = {}
        for claim in served:
            per_initiative[claim.initiative_id] = (
                per_initiative.get(claim.initiative_id, ZERO) + claim.pv_benefits
            )
        shares = [
            InitiativeShare(i, names[i].name, names[i].status, pv)
            for i, pv in per_initiative.items()
        ]
        shares.sort(key=lambda s: (-s.pv_benefits, str(s.initiative_id)))
        covered.append(
            GoalCoverage(
                goal_id=goal.goal_id,
                title=goal.title,
                weight=goal.weight,
                pv_benefits=sum((c.pv_benefits for c in served), ZERO),
                realised_to_date=sum((c.realised_to_date for c in served), ZERO),
                initiatives=shares,
                benefits=_benefits(served, accountable),
            )
        )
    return Coverage(covered, unserved, _benefits(by_goal.get(None, []), accountable))
