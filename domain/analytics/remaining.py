"""Remaining figures per initiative (DESIGN §5.3 common terms), optionally started late.

Remaining months are m ≥ from_month, discounted with section 3's d(m) (not re-based). A start
shift s moves every remaining cost, benefit and people month s months later, valued at its new
month; a `cost_factor` (scenarios' remobilisation, 1 + defer_cost_pct/100) scales every cost.

API (all pure; `objective` is "risk_adjusted_npv" or "strategic_value"):
- `Remaining.of(candidate, portfolio, from_month, objective)` precomputes one initiative's
  series; then `.pv_benefits(s)`, `.weighted_pv_benefits(s)`, `.aligned_pv_benefits(s)`,
  `.pv_costs(s, f)`, `.cost(f)`, `.value(s, f)`, `.cost_by_month(s, f)` {month: amount},
  `.people_by_month(s)` {month: {role: fte}}.
- Shorthands: `remaining_pv_benefits`, `remaining_pv_costs`, `remaining_cost`, `value_of`,
  `value_for_money(value, pv_costs)`, `people_months`, `goal_factors(portfolio)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    localcontext,
)
from uuid import UUID

from domain.errors import ValidationError
from domain.months import add_months, months_between
from domain.valuation import discount_factor, month_index

from .inputs import CandidateInput, PortfolioInput

OBJECTIVES = ("risk_adjusted_npv", "strategic_value")
ZERO = Decimal(0)
ONE = Decimal(1)
# As in valuation: enough digits that sums of many discounted months keep every cent.
CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero])


def check_objective(objective: str) -> str:
    """The objective, or a ValidationError naming the `objective` field."""
    if objective not in OBJECTIVES:
        raise ValidationError(f"must be one of {', '.join(OBJECTIVES)}", "objective")
    return objective


def goal_factors(portfolio: PortfolioInput) -> dict[UUID, Decimal]:
    """Each active goal's weight / the mean weight of the active goals."""
    active = [g for g in portfolio.goals if g.active]
    total = sum((g.weight for g in active), ZERO)
    if not active or total == 0:
        return {}
    with localcontext(CONTEXT):
        return {g.goal_id: g.weight * len(active) / total for g in active}


def _add(series: dict[str, Decimal], month: str, amount: Decimal) -> None:
    series[month] = series.get(month, ZERO) + amount


@dataclass(frozen=True)
class Remaining:
    """One initiative's remaining series from `from_month`, ready to value at any start shift."""

    candidate: CandidateInput
    from_month: str
    base_month: str
    rate: Decimal
    confidence: Decimal
    benefits: Mapping[str, Decimal]  # signed, at share
    weighted: Mapping[str, Decimal]  # signed, at share, * goal factor (objective applied)
    aligned: Mapping[str, Decimal]  # signed, at share, serving an active goal
    costs: Mapping[str, Decimal]
    people_months: tuple[str, ...]

    @classmethod
    def of(
        cls,
        candidate: CandidateInput,
        portfolio: PortfolioInput,
        from_month: str,
        objective: str = "risk_adjusted_npv",
        factors: Mapping[UUID, Decimal] | None = None,
    ) -> Remaining:
        """Precompute the remaining series (pass `factors` from `goal_factors` to reuse them)."""
        check_objective(objective)
        factors = goal_factors(portfolio) if factors is None else factors
        benefits: dict[str, Decimal] = {}
        weighted: dict[str, Decimal] = {}
        aligned: dict[str, Decimal] = {}
        with localcontext(CONTEXT):
            for benefit in candidate.benefits:
                sign = -ONE if benefit.disbenefit else ONE
                factor = factors.get(benefit.goal_id) if benefit.goal_id is not None else None
                weight = ONE
                if objective == "strategic_value" and not benefit.disbenefit:
                    weight = ZERO if factor is None else factor
                for month, amount in benefit.forecast.items():
                    if months_between(from_month, month) < 0:
                        continue
                    money = sign * amount * benefit.share
                    _add(benefits, month, money)
                    _add(weighted, month, money * weight)
                    if factor is not None:
                        _add(aligned, month, money)
        costs = {
            m: v for m, v in candidate.cost_forecast.items() if months_between(from_month, m) >= 0
        }
        start = candidate.start_month
        if months_between(from_month, start) < 0:
            start = from_month
        span = months_between(start, candidate.end_month) + 1 if candidate.people_demand else 0
        return cls(
            candidate=candidate,
            from_month=from_month,
            base_month=portfolio.base_month,
            rate=portfolio.discount_rate,
            confidence=candidate.confidence,
            benefits=benefits,
            weighted=weighted,
            aligned=aligned,
            costs=costs,
            people_months=tuple(add_months(start, k) for k in range(max(span, 0))),
        )

    def _pv(self, series: Mapping[str, Decimal], shift: int) -> Decimal:
        with localcontext(CONTEXT):
            total = ZERO
            for month in sorted(series):
                index = month_index(month, self.base_month) + shift
                total += series[month] * discount_factor(index, self.rate)
            return total

    def pv_benefits(self, shift: int = 0) -> Decimal:
        """remaining_pv_benefits: at share, dis-benefits negative, not risk-adjusted."""
        return self._pv(self.benefits, shift)

    def weighted_pv_benefits(self, shift: int = 0) -> Decimal:
        """Remaining PV benefits weighted by the objective (goal factors for strategic_value)."""
        return self._pv(self.weighted, shift)

    def aligned_pv_benefits(self, shift: int = 0) -> Decimal:
        """The part of remaining PV benefits that serves an active goal."""
        return self._pv(self.aligned, shift)

    def pv_costs(self, shift: int = 0, cost_factor: Decimal = ONE) -> Decimal:
        """remaining_pv_costs, * cost_factor."""
        with localcontext(CONTEXT):
            return self._pv(self.costs, shift) * cost_factor

    def cost(self, cost_factor: Decimal = ONE) -> Decimal:
        """remaining_cost: undiscounted, * cost_factor (a shift does not change it)."""
        with localcontext(CONTEXT):
            return sum(self.costs.values(), ZERO) * cost_factor

    def value(self, shift: int = 0, cost_factor: Decimal = ONE) -> Decimal:
        """value_i = confidence * weighted remaining PV benefits - remaining PV costs."""
        with localcontext(CONTEXT):
            benefits = self.confidence * self.weighted_pv_benefits(shift)
            return benefits - self.pv_costs(shift, cost_factor)

    def cost_by_month(self, shift: int = 0, cost_factor: Decimal = ONE) -> dict[str, Decimal]:
        """Remaining cost by (shifted) month, * cost_factor."""
        with localcontext(CONTEXT):
            return {add_months(m, shift): v * cost_factor for m, v in sorted(self.costs.items())}

    def people_by_month(self, shift: int = 0) -> dict[str, Mapping[str, Decimal]]:
        """People demand {role: fte} in each (shifted) month of max(start, from_month)…end."""
        demand = self.candidate.people_demand
        return {add_months(m, shift): demand for m in self.people_months}


def remaining_pv_benefits(
    candidate: CandidateInput, portfolio: PortfolioInput, from_month: str, shift: int = 0
) -> Decimal:
    """Remaining PV benefits at share (dis-benefits negative), started `shift` months late."""
    return Remaining.of(candidate, portfolio, from_month).pv_benefits(shift)


def remaining_pv_costs(
    candidate: CandidateInput, portfolio: PortfolioInput, from_month: str, shift: int = 0
) -> Decimal:
    """Remaining PV costs, started `shift` months late."""
    return Remaining.of(candidate, portfolio, from_month).pv_costs(shift)


def remaining_cost(candidate: CandidateInput, from_month: str) -> Decimal:
    """Undiscounted Σ of the cost forecast over months ≥ from_month."""
    return sum(
        (v for m, v in candidate.cost_forecast.items() if months_between(from_month, m) >= 0), ZERO
    )


def value_of(
    candidate: CandidateInput,
    portfolio: PortfolioInput,
    from_month: str,
    objective: str = "risk_adjusted_npv",
    shift: int = 0,
) -> Decimal:
    """value_i under the objective, started `shift` months late."""
    return Remaining.of(candidate, portfolio, from_month, objective).value(shift)


def value_for_money(value: Decimal, pv_costs: Decimal) -> Decimal | None:
    """(value + remaining_pv_costs) / remaining_pv_costs; None when there is no remaining cost."""
    if pv_costs == 0:
        return None
    with localcontext(CONTEXT):
        return (value + pv_costs) / pv_costs


def people_months(
    candidate: CandidateInput, from_month: str, shift: int = 0
) -> dict[str, Mapping[str, Decimal]]:
    """People demand by month: max(start_month, from_month) … end_month, moved `shift` later."""
    return Remaining.of(candidate, PortfolioInput(ZERO, from_month), from_month).people_by_month(
        shift
    )
