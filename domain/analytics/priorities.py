"""Q2: candidates ranked by value for money, each with the reasons behind its place (§5.3).

Order: mandatory first; then value for money descending, where an initiative with no remaining
cost ranks first if its value is positive and last otherwise; then value descending; then
initiative id. Each reason is one plain sentence carrying the figures it rests on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from uuid import UUID

from domain.analytics.accuracy import ReferenceClass
from domain.analytics.inputs import CandidateInput, PortfolioInput, with_reference_class
from domain.analytics.remaining import (
    Remaining,
    check_objective,
    goal_factors,
    value_for_money,
)
from domain.months import months_between
from domain.valuation import money, percent, ratio, vfm_band

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Priority:
    """One ranked candidate with its figures and reasons."""

    rank: int
    initiative_id: UUID
    name: str
    status: str
    mandatory: bool
    remaining_pv_benefits: Decimal
    remaining_pv_costs: Decimal
    remaining_cost: Decimal
    confidence: Decimal
    value: Decimal
    value_for_money: Decimal | None
    vfm_band: str | None
    goal_alignment_pct: Decimal | None
    budget_share_pct: Decimal | None
    reasons: Mapping[str, str]
    reference_ratio: Decimal | None = None
    reference_cost_ratio: Decimal | None = None


def _order(item: Priority) -> tuple[int, int, Decimal, Decimal, str]:
    # No remaining cost: infinitely good value for money if the value is positive, else worst.
    group = (0 if item.value > 0 else 2) if item.value_for_money is None else 1
    return (
        0 if item.mandatory else 1,
        group,
        -(item.value_for_money or ZERO),
        -item.value,
        str(item.initiative_id),
    )


def _future_budget(portfolio: PortfolioInput, from_month: str) -> Decimal | None:
    months = [v for m, v in portfolio.budget.items() if months_between(from_month, m) >= 0]
    total = sum(months, ZERO)
    return total if months and total > 0 else None


def _figure(amount: Decimal | None, currency: str) -> str:
    return f"{currency} {money(amount)}".strip()


@dataclass(frozen=True)
class _Figures:
    """What the reasons quote, unrounded."""

    pv_benefits: Decimal
    pv_costs: Decimal
    cost: Decimal
    value: Decimal
    vfm: Decimal | None
    aligned: Decimal | None
    share: Decimal | None
    ratios: tuple[Decimal | None, Decimal | None]


def _desirability(f: _Figures, kind: str, objective: str, currency: str) -> str:
    aligned = "none" if f.aligned is None else f"{percent(f.aligned)}%"
    track = (
        "" if f.ratios[0] is None else f" after the {kind} track record (x {ratio(f.ratios[0])})"
    )
    return (
        f"Its remaining benefits are worth {_figure(f.pv_benefits, currency)} in present value"
        f"{track}, {aligned} of it serving an active goal, for a value of"
        f" {_figure(f.value, currency)} ({objective.replace('_', ' ')})."
    )


def _affordability(f: _Figures, from_month: str, currency: str) -> str:
    track = "" if f.ratios[1] is None else f" after the track record (x {ratio(f.ratios[1])})"
    budget = (
        "no capacity budget is set"
        if f.share is None
        else f"{percent(f.share)}% of the capacity budget from then"
    )
    vfm = "no ratio (no remaining cost)" if f.vfm is None else f"{ratio(f.vfm)} ({vfm_band(f.vfm)})"
    return (
        f"It needs {_figure(f.cost, currency)} from {from_month}{track}"
        f" ({_figure(f.pv_costs, currency)} in present value), {budget},"
        f" and its value for money is {vfm}."
    )


def _achievability(candidate: CandidateInput, everyone: Mapping[UUID, CandidateInput]) -> str:
    leader = f"led by {candidate.leader}" if candidate.leader else "with no leader named"
    deps = [everyone.get(d) for d in candidate.depends_on]
    blocked = sum(1 for d in deps if d is not None and d.status == "stopped")
    pending = sum(1 for d in deps if d is not None and d.status not in ("completed", "stopped"))
    if not deps:
        tail = "depending on no other initiative"
    else:
        tail = f"depending on {len(deps)} initiative(s), {pending} not yet completed"
        tail += f" and {blocked} stopped" if blocked else ""
    must = "mandatory, " if candidate.mandatory else ""
    confidence = percent(HUNDRED * candidate.confidence)
    return f"Confidence of delivery is {confidence}%, {must}{leader}, {tail}."


def priorities(
    portfolio: PortfolioInput,
    *,
    from_month: str,
    objective: str = "risk_adjusted_npv",
    currency: str = "",
    reference: ReferenceClass | None = None,
) -> list[Priority]:
    """Rank every candidate; with `reference`, proposals first take the reference class."""
    check_objective(objective)
    factors = goal_factors(portfolio)
    budget = _future_budget(portfolio, from_month)
    everyone = portfolio.by_id()
    items = []
    for original in portfolio.candidates:
        candidate = original
        applied: tuple[Decimal | None, Decimal | None] = (None, None)
        if reference is not None and original.is_proposal:
            applied = reference.ratios(original.kind)
            candidate = with_reference_class(original, *applied)
        left = Remaining.of(candidate, portfolio, from_month, objective, factors)
        pv_b, pv_c, cost, value = left.pv_benefits(), left.pv_costs(), left.cost(), left.value()
        f = _Figures(
            pv_benefits=pv_b,
            pv_costs=pv_c,
            cost=cost,
            value=value,
            vfm=value_for_money(value, pv_c),
            aligned=None if pv_b == 0 else HUNDRED * left.aligned_pv_benefits() / pv_b,
            share=None if budget is None else HUNDRED * cost / budget,
            ratios=applied,
        )
        items.append(
            Priority(
                rank=0,
                initiative_id=original.initiative_id,
                name=original.name,
                status=original.status,
                mandatory=original.mandatory,
                remaining_pv_benefits=pv_b,
                remaining_pv_costs=pv_c,
                remaining_cost=cost,
                confidence=original.confidence,
                value=value,
                value_for_money=f.vfm,
                vfm_band=vfm_band(f.vfm),
                goal_alignment_pct=f.aligned,
                budget_share_pct=f.share,
                reasons={
                    "desirability": _desirability(f, original.kind, objective, currency),
                    "affordability": _affordability(f, from_month, currency),
                    "achievability": _achievability(original, everyone),
                },
                reference_ratio=applied[0],
                reference_cost_ratio=applied[1],
            )
        )
    items.sort(key=_order)
    return [_ranked(item, rank) for rank, item in enumerate(items, start=1)]


def _ranked(item: Priority, rank: int) -> Priority:
    return replace(item, rank=rank)
