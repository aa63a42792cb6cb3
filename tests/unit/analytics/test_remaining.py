"""Remaining figures (DESIGN §5.3 common terms): what is left to spend and gain from a month on."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from domain.analytics.inputs import (
    CandidateInput,
    GoalInput,
    with_reference_class,
)
from domain.analytics.remaining import (
    Remaining,
    goal_factors,
    people_months,
    remaining_cost,
    remaining_pv_benefits,
    remaining_pv_costs,
    value_for_money,
    value_of,
)
from domain.errors import ValidationError
from tests.unit.analytics.remaining_inputs import (
    GOAL_A,
    GOAL_B,
    benefit,
    initiative,
    portfolio,
)


def test_sunk_months_are_ignored_and_the_rest_discounted_from_the_base_month() -> None:
    item = initiative(
        benefit("1000", ["2025-12", "2027-01"]), cost={"2025-12": "500", "2028-01": "1000"}
    )
    # 1000 at m = 12 and m = 24 discount to 966.18 and 933.51 (section 3's vector).
    assert round(remaining_pv_benefits(item, portfolio(), "2026-01"), 2) == Decimal("966.18")
    assert round(remaining_pv_costs(item, portfolio(), "2026-01"), 2) == Decimal("933.51")
    assert remaining_cost(item, "2026-01") == Decimal("1000")
    value = value_of(item, portfolio(), "2026-01")
    assert round(value, 2) == round(Decimal("0.5") * Decimal("966.1835") - Decimal("933.5107"), 2)


def test_a_start_shift_values_every_month_at_its_new_month() -> None:
    item = initiative(benefit("1000", ["2026-01"]), cost={"2026-01": "1000"})
    figures = Remaining.of(item, portfolio(), "2026-01")
    assert round(figures.pv_benefits(12), 2) == Decimal("966.18")
    assert round(figures.pv_costs(24, Decimal("1.1")), 2) == round(Decimal("933.51") * 11 / 10, 2)
    assert figures.cost(Decimal("1.1")) == Decimal("1100.0")
    assert figures.cost_by_month(3) == {"2026-04": Decimal("1000")}
    assert sorted(figures.people_by_month(6)) == [f"2026-{m:02d}" for m in range(7, 13)]


def test_dis_benefits_count_negative_at_the_initiatives_share() -> None:
    item = initiative(
        benefit("1000", ["2026-01"], share="0.5"), benefit("300", ["2026-01"], dis=True)
    )
    assert remaining_pv_benefits(item, portfolio(), "2026-01") == Decimal("200")


def test_strategic_value_weighs_goals_by_their_weight_over_the_mean() -> None:
    goals = (
        GoalInput(GOAL_A, "Grow", Decimal("3")),
        GoalInput(GOAL_B, "Save", Decimal("1")),
        GoalInput(UUID(int=103), "Old", Decimal("10"), active=False),
    )
    assert goal_factors(portfolio(*goals)) == {GOAL_A: Decimal("1.5"), GOAL_B: Decimal("0.5")}
    item = initiative(
        benefit("100", ["2026-01"], GOAL_A),
        benefit("100", ["2026-01"], UUID(int=103)),  # retired goal: weighs 0
        benefit("40", ["2026-01"], GOAL_B, dis=True),  # a dis-benefit always weighs 1
        cost={"2026-01": "10"},
    )
    strategic = value_of(item, portfolio(*goals), "2026-01", "strategic_value")
    assert strategic == Decimal("0.5") * (150 - 40) - 10
    plain = value_of(item, portfolio(*goals), "2026-01")
    assert plain == Decimal("0.5") * (200 - 40) - 10
    aligned = Remaining.of(item, portfolio(*goals), "2026-01").aligned_pv_benefits()
    assert aligned == 100 - 40


def test_value_for_money_is_weighted_benefits_per_unit_of_cost() -> None:
    assert value_for_money(Decimal("50"), Decimal("100")) == Decimal("1.5")
    assert value_for_money(Decimal("50"), Decimal("0")) is None


def test_people_months_run_from_the_later_of_start_and_from_month_to_the_end() -> None:
    item = initiative()
    assert sorted(people_months(item, "2026-04")) == ["2026-04", "2026-05", "2026-06"]
    assert people_months(item, "2026-07") == {}
    assert people_months(item, "2026-05", shift=2)["2026-07"] == {"engineer": Decimal("2")}


def test_reference_class_scales_proposals_only() -> None:
    item = initiative(benefit("1000", ["2026-01"]), cost={"2026-01": "100"})
    scaled = with_reference_class(item, Decimal("0.8"), Decimal("1.25"))
    assert remaining_pv_benefits(scaled, portfolio(), "2026-01") == Decimal("800.0")
    assert remaining_cost(scaled, "2026-01") == Decimal("125.00")
    active = CandidateInput(UUID(int=2), "Run", "active", "2026-01", "2026-02")
    assert with_reference_class(active, Decimal("0.5"), None) is active


def test_an_unknown_objective_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        value_of(initiative(), portfolio(), "2026-01", "cheapest")
    assert list(caught.value.errors) == ["objective"]
