"""Priorities (Q2): the §5.3 order, the figures behind each place, and the reasons."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain.analytics.accuracy import ReferenceClass
from domain.analytics.inputs import BenefitInput, CandidateInput, GoalInput, PortfolioInput
from domain.analytics.priorities import priorities

D = Decimal
GOAL = GoalInput(UUID(int=900), "Growth", D(2))


def _id(n: int) -> UUID:
    return UUID(int=n)


def _candidate(
    n: int, gain: str, costs: str, status: str = "proposed", **changes: object
) -> CandidateInput:
    """Benefits in March 2025 and costs in February 2025 (rate 0: PV is the plain sum)."""
    fields: dict[str, object] = {
        "initiative_id": _id(n),
        "name": f"Initiative {n}",
        "status": status,
        "start_month": "2025-01",
        "end_month": "2025-12",
        "confidence": D(1),
        "cost_forecast": {"2025-01": D(999), "2025-02": D(costs)} if costs else {},
        "benefits": (
            BenefitInput(_id(1000 + n), "savings", GOAL.goal_id, False, D(1), {"2025-03": D(gain)}),
        ),
    }
    fields.update(changes)
    return CandidateInput(**fields)  # type: ignore[arg-type]


def _portfolio(
    *initiatives: CandidateInput, budget: dict[str, Decimal] | None = None
) -> PortfolioInput:
    return PortfolioInput(D(0), "2025-01", (GOAL,), budget or {}, {}, initiatives)


def _ranked(portfolio: PortfolioInput, **kwargs: object) -> list[int]:
    found = priorities(portfolio, from_month="2025-02", currency="GBP", **kwargs)  # type: ignore[arg-type]
    assert [p.rank for p in found] == list(range(1, len(found) + 1))
    return [p.initiative_id.int for p in found]


def test_mandatory_first_then_value_for_money_then_value_then_id() -> None:
    portfolio = _portfolio(
        _candidate(1, "300", "100"),  # vfm 3
        _candidate(2, "150", "100", mandatory=True),  # mandatory beats everything
        _candidate(3, "600", "200"),  # vfm 3, more value than 1
        _candidate(4, "50", ""),  # no remaining cost, positive value: first of the rest
        _candidate(5, "-10", ""),  # no remaining cost, no value: last
        _candidate(6, "300", "100"),  # ties with 1: the lower id wins
        _candidate(7, "300", "100", status="completed"),  # not a candidate
    )
    assert _ranked(portfolio) == [2, 4, 3, 1, 6, 5]


def test_figures_exclude_months_before_from_month_and_give_the_budget_share() -> None:
    portfolio = _portfolio(
        _candidate(1, "300", "100", confidence=D("0.5"), status="active"),
        budget={"2025-01": D(10_000), "2025-02": D(400), "2025-03": D(100)},
    )
    [item] = priorities(portfolio, from_month="2025-02", currency="GBP")
    # January's 999 is sunk: only February's 100 remains.
    assert (item.remaining_cost, item.remaining_pv_costs) == (D(100), D(100))
    assert item.value == D("0.5") * 300 - 100
    assert item.value_for_money == D("1.5") and item.vfm_band == "medium"
    assert item.goal_alignment_pct == D(100) and item.budget_share_pct == D(20)
    assert item.reasons["affordability"] == (
        "It needs GBP 100.00 from 2025-02 (GBP 100.00 in present value),"
        " 20.0% of the capacity budget from then, and its value for money is 1.50 (medium)."
    )
    assert "GBP 300.00" in item.reasons["desirability"]
    assert "100.0% of it serving an active goal" in item.reasons["desirability"]
    assert item.reasons["achievability"].startswith("Confidence of delivery is 50.0%")


def test_no_budget_and_no_goal_say_so() -> None:
    lone = BenefitInput(_id(2000), "savings", None, False, D(1), {"2025-03": D(100)})
    [item] = priorities(
        _portfolio(_candidate(1, "100", "50", benefits=(lone,))), from_month="2025-02"
    )
    assert item.budget_share_pct is None and item.goal_alignment_pct == D(0)
    assert "no capacity budget is set" in item.reasons["affordability"]


def test_achievability_counts_unmet_and_stopped_dependencies() -> None:
    done = _candidate(1, "1", "1", status="completed")
    stopped = _candidate(2, "1", "1", status="stopped")
    running = _candidate(3, "1", "1", status="active")
    dependent = _candidate(4, "100", "10", depends_on=(_id(1), _id(2), _id(3)), leader=None)
    found = {
        p.initiative_id.int: p
        for p in priorities(_portfolio(done, stopped, running, dependent), from_month="2025-02")
    }
    assert found[4].reasons["achievability"] == (
        "Confidence of delivery is 100.0%, with no leader named,"
        " depending on 3 initiative(s), 1 not yet completed and 1 stopped."
    )


def test_the_reference_class_scales_proposals_only_and_says_so() -> None:
    reference = ReferenceClass(
        {"project": [D("0.5"), D("0.5"), D("0.5")]}, {"project": [D(2), D(2), D(2)]}
    )
    portfolio = _portfolio(
        _candidate(1, "300", "100"), _candidate(2, "300", "100", status="active")
    )
    found = {
        p.initiative_id.int: p
        for p in priorities(portfolio, from_month="2025-02", reference=reference)
    }
    proposal, active = found[1], found[2]
    assert (proposal.remaining_pv_benefits, proposal.remaining_pv_costs) == (D(150), D(200))
    assert (proposal.reference_ratio, proposal.reference_cost_ratio) == (D("0.5"), D(2))
    assert "track record (x 0.50)" in proposal.reasons["desirability"]
    assert "track record (x 2.00)" in proposal.reasons["affordability"]
    assert (active.remaining_pv_benefits, active.reference_ratio) == (D(300), None)
    # Scaled down, the proposal now ranks below the unchanged active initiative.
    assert [p.initiative_id.int for p in sorted(found.values(), key=lambda p: p.rank)] == [2, 1]
