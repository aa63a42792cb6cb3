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

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from domain.valuation import discount_factors, month_index

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
    # Worked out on first use, by the id of a series (a field of this frozen instance, so the
    # id names it for the instance's lifetime; two fields holding one series share them): each
    # series' month indices and amounts in month order, and its present value at each shift.
    _ordered_series: dict[int, tuple[tuple[int, ...], tuple[Decimal, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _present_values: dict[tuple[int, int], Decimal] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

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
        weighting = objective == "strategic_value"
        # A benefit without an active goal is not aligned; when every one has such a goal the
        # aligned series is the benefits series itself.
        every_aligned = all(
            b.goal_id is not None and b.goal_id in factors for b in candidate.benefits
        )
        benefits: dict[str, Decimal] = {}
        weighted: dict[str, Decimal] = {}
        aligned: dict[str, Decimal] = {}
        with localcontext(CONTEXT):
            for benefit in candidate.benefits:
                sign = -ONE if benefit.disbenefit else ONE
                share = benefit.share
                factor = factors.get(benefit.goal_id) if benefit.goal_id is not None else None
                weight = ONE
                if weighting and not benefit.disbenefit:
                    weight = ZERO if factor is None else factor
                add_aligned = factor is not None and not every_aligned
                for month, amount in benefit.forecast.items():
                    if months_between(from_month, month) < 0:
                        continue
                    money = sign * amount * share
                    benefits[month] = benefits.get(month, ZERO) + money
                    if weighting:
                        weighted[month] = weighted.get(month, ZERO) + money * weight
                    if add_aligned:
                        aligned[month] = aligned.get(month, ZERO) + money
        # Unweighted, every weight is 1 and `money * 1` is `money` to the last digit: the
        # weighted series is the benefits series, so it is neither built nor valued twice.
        if not weighting:
            weighted = benefits
        if every_aligned:
            aligned = benefits
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

    def _ordered(
        self, series: Mapping[str, Decimal]
    ) -> tuple[tuple[int, ...], tuple[Decimal, ...]]:
        """A series' month indices from the base month and its amounts, in month order."""
        found = self._ordered_series.get(id(series))
        if found is None:
            months = sorted(series)
            indices: tuple[int, ...] = ()
            if months:
                first = month_index(months[0], self.base_month)
                last = month_index(months[-1], self.base_month)
                if last - first + 1 == len(months):  # no month missing: a plain run
                    indices = tuple(range(first, last + 1))
                else:
                    indices = tuple(month_index(m, self.base_month) for m in months)
            found = (indices, tuple(series[m] for m in months))
            self._ordered_series[id(series)] = found
        return found

    def _pv(self, series: Mapping[str, Decimal], shift: int) -> Decimal:
        """Σ amount * d(m + shift) over the series, once per series and shift."""
        key = (id(series), shift)
        found = self._present_values.get(key)
        if found is None:
            found = self._present_value(series, shift)
            self._present_values[key] = found
        return found

    def _present_value(self, series: Mapping[str, Decimal], shift: int) -> Decimal:
        indices, amounts = self._ordered(series)
        if not indices:
            return ZERO
        first = indices[0]
        factors = discount_factors(self.rate, first + shift, indices[-1] - first + 1)
        if len(factors) != len(indices):  # months missing in between: pick each month's
            factors = tuple(factors[i - first] for i in indices)
        with localcontext(CONTEXT):
            # Summed from ZERO in month order, one product at a time, as a loop would.
            return sum(map(operator.mul, amounts, factors), ZERO)

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
