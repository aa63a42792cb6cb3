"""The optimiser finds the true optimum: brute force over every plan agrees (DESIGN §5.3)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analytics.inputs import CandidateInput
from domain.analytics.model import InfeasibleError
from domain.analytics.optimise import OptimiseRequest, Optimum, optimise
from tests.unit.analytics_instances import FROM, MONTHS, best_plans, initiatives, portfolio

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The solver treats values within a billionth of the largest as equal; cents are far coarser.
CLOSE = Decimal("0.000001")


def _solve(items: list[CandidateInput], **request: object) -> Optimum | None:
    try:
        return optimise(portfolio(items), OptimiseRequest(FROM, frontier_points=0, **request))  # type: ignore[arg-type]
    except InfeasibleError:
        return None


def _check_against_brute_force(items: list[CandidateInput], **request: object) -> None:
    found = _solve(items, **request)
    reference = dict(
        total=request.get("budget_total"),
        by_month=request.get("budget_by_month"),
        people=request.get("people"),
        force_in=request.get("force_in", ()),
        force_out=request.get("force_out", ()),
        delays=request.get("start_delays", (0,)),
        objective=request.get("objective", "risk_adjusted_npv"),
    )
    plans = list(best_plans(portfolio(items), **reference))  # type: ignore[arg-type]
    if not plans:
        assert found is None
        return
    assert found is not None
    best = max(value for value, _ in plans)
    assert abs(found.value - best) <= CLOSE
    chosen = {s.initiative_id: s.start_delay for s in found.selected}
    assert any(plan == chosen for _, plan in plans), "the optimum breaks a rule"
    everyone = {c.initiative_id for c in items if c.is_candidate}
    assert set(chosen) | {e.initiative_id for e in found.excluded} == everyone


@SETTINGS
@given(initiatives(12), st.integers(0, 800))
def test_a_total_budget(items: list[CandidateInput], total: int) -> None:
    _check_against_brute_force(items, budget_total=Decimal(total))


@SETTINGS
@given(initiatives(10), st.lists(st.integers(0, 150), min_size=6, max_size=6), st.integers(1, 6))
def test_month_budgets_and_people(
    items: list[CandidateInput], limits: list[int], staff: int
) -> None:
    by_month = {m: Decimal(v) for m, v in zip(MONTHS, limits, strict=True)}
    _check_against_brute_force(items, budget_by_month=by_month, people={"dev": Decimal(staff)})


@SETTINGS
@given(initiatives(6), st.integers(0, 200), st.sampled_from([(0, 2), (0, 1, 3), (2,)]))
def test_start_delays_for_proposals(
    items: list[CandidateInput], total: int, delays: tuple[int, ...]
) -> None:
    by_month = {m: Decimal(total // 4) for m in MONTHS}
    _check_against_brute_force(items, budget_by_month=by_month, start_delays=delays)


@SETTINGS
@given(initiatives(10, others=False), st.integers(0, 300), st.data())
def test_forces_and_the_strategic_objective(
    items: list[CandidateInput], total: int, data: st.DataObject
) -> None:
    ids = [c.initiative_id for c in items]
    force_in = tuple(data.draw(st.lists(st.sampled_from(ids), max_size=2, unique=True)))
    optional = [
        c.initiative_id for c in items if not c.mandatory and c.initiative_id not in force_in
    ]
    force_out = (
        tuple(data.draw(st.lists(st.sampled_from(optional), max_size=2, unique=True)))
        if optional
        else ()
    )
    _check_against_brute_force(
        items,
        budget_total=Decimal(total),
        force_in=force_in,
        force_out=force_out,
        objective="strategic_value",
    )
