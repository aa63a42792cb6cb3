"""Remaining present values month by month: shared series and start shifts change no digit."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from domain.analytics.inputs import GoalInput
from domain.analytics.remaining import CONTEXT, Remaining
from domain.valuation import discount_factor, month_index
from tests.unit.analytics.remaining_inputs import (
    GOAL_A,
    GOAL_B,
    RATE,
    benefit,
    initiative,
    portfolio,
)


def _looped(series: dict[str, Decimal], shift: int) -> Decimal:
    """Σ amount * d(m + shift) month by month, as DESIGN §3 and §5.3 state it."""
    with localcontext(CONTEXT):
        total = Decimal(0)
        for month in sorted(series):
            total += series[month] * discount_factor(month_index(month, "2026-01") + shift, RATE)
        return total


@pytest.mark.parametrize("objective", ["risk_adjusted_npv", "strategic_value"])
def test_present_values_equal_a_month_by_month_sum_with_gaps_shifts_and_goals(
    objective: str,
) -> None:
    goals = (GoalInput(GOAL_A, "A", Decimal("2")), GoalInput(GOAL_B, "B", Decimal("1")))
    item = initiative(
        benefit("1000.10", ["2026-01", "2026-02", "2026-07", "2028-03"], GOAL_A),
        benefit("333.33", ["2026-02", "2026-03"], None, dis=True, share="0.4"),
        benefit("77", ["2025-11", "2026-05", "2026-06"], GOAL_B, share="0.25"),
        cost={"2025-12": "10", "2026-01": "500", "2026-04": "250.5", "2027-01": "1000"},
    )
    figures = Remaining.of(item, portfolio(*goals), "2026-01", objective)
    for shift in (0, 1, 5, 12, 0):  # asked again: the same figures
        assert figures.pv_benefits(shift) == _looped(dict(figures.benefits), shift)
        assert figures.weighted_pv_benefits(shift) == _looped(dict(figures.weighted), shift)
        assert figures.aligned_pv_benefits(shift) == _looped(dict(figures.aligned), shift)
        assert figures.pv_costs(shift) == _looped(dict(figures.costs), shift)
    assert figures.aligned_pv_benefits() != figures.pv_benefits()  # one benefit serves no goal
    if objective == "risk_adjusted_npv":
        assert figures.weighted_pv_benefits(3) == figures.pv_benefits(3)
    else:
        assert figures.weighted_pv_benefits(3) != figures.pv_benefits(3)


def test_with_every_benefit_serving_a_goal_all_of_it_is_aligned() -> None:
    item = initiative(
        benefit("1000", ["2026-01", "2026-04"], GOAL_A),
        benefit("50", ["2026-02"], GOAL_A, dis=True),
    )
    figures = Remaining.of(item, portfolio(GoalInput(GOAL_A, "A", Decimal(1))), "2026-01")
    assert figures.aligned == figures.benefits
    assert (
        figures.aligned_pv_benefits(2)
        == figures.pv_benefits(2)
        == _looped(dict(figures.benefits), 2)
    )
