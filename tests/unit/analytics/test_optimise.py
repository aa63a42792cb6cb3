"""Optimise (DESIGN §5.3): frontier, ties, reasons, forcing costs and the requests it refuses."""

from __future__ import annotations

import itertools
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analytics.inputs import BenefitInput, CandidateInput
from domain.analytics.model import InfeasibleError
from domain.analytics.optimise import OptimiseRequest, optimise
from domain.errors import ValidationError
from tests.unit.analytics_instances import FROM, MONTHS, best_plans, initiatives, portfolio

D = Decimal
CLOSE = D("0.000001")


def item(
    ident: int,
    cost: int,
    gain: int,
    *,
    status: str = "proposed",
    deps: tuple[int, ...] = (),
    **changes: object,
) -> CandidateInput:
    """An initiative spending `cost` and gaining `gain` (undiscounted) in the first month."""
    fields: dict[str, object] = {
        "initiative_id": UUID(int=ident),
        "name": f"I{ident}",
        "status": status,
        "start_month": FROM,
        "end_month": FROM,
        "depends_on": tuple(UUID(int=d) for d in deps),
        "cost_forecast": {FROM: D(cost)},
        "benefits": (
            BenefitInput(UUID(int=9000 + ident), "b", None, False, D(1), {FROM: D(gain)}),
        ),
    }
    fields.update(changes)
    return CandidateInput(**fields)  # type: ignore[arg-type]


def run(items: list[CandidateInput], **request: object):  # type: ignore[no-untyped-def]
    return optimise(portfolio(items), OptimiseRequest(FROM, **request))  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initiatives(8, others=False), st.sampled_from([1, 2, 5]), st.booleans())
def test_every_frontier_point_is_optimal_and_the_frontier_never_goes_down(
    items: list[CandidateInput], points: int, monthly: bool
) -> None:
    by_month = {m: D(50) for m in MONTHS} if monthly else None
    try:
        found = run(items, frontier_points=points, budget_by_month=by_month)
    except InfeasibleError:
        return
    assert len(found.frontier) == points
    values = [p.value for p in found.frontier]
    assert all(
        b.budget >= a.budget for a, b in zip(found.frontier, found.frontier[1:], strict=False)
    )
    reached = [v for v in values if v is not None]
    assert reached == sorted(reached)
    assert values[len(values) - len(reached) :] == reached, "infeasible points come first"
    for point in found.frontier:
        if monthly:
            scale = point.budget / (50 * len(MONTHS))
            limits = {"by_month": {m: D(50) * scale for m in MONTHS}}
        else:
            limits = {"total": point.budget}
        plans = list(best_plans(portfolio(items), **limits))  # type: ignore[arg-type]
        if point.value is None:
            assert not plans
        else:
            assert abs(point.value - max(v for v, _ in plans)) <= CLOSE


def test_frontier_runs_from_the_forced_set_to_everything_selectable() -> None:
    items = [item(1, 10, 50, mandatory=True), item(2, 20, 10, deps=(3,)), item(3, 30, 100)]
    items.append(item(4, 40, 100, deps=(5,)))
    items.append(item(5, 5, 0, status="stopped"))
    found = run(items, frontier_points=3, force_in=(UUID(int=2),))
    # L: I1 + I2 with I3 it needs = 60; U: all but I4, blocked by the stopped I5 = 60.
    assert [p.budget for p in found.frontier] == [D(60), D(60), D(60)]
    found = run(items, frontier_points=3)
    assert [p.budget for p in found.frontier] == [D(10), D(35), D(60)]
    assert [p.selected for p in found.frontier] == [1, 1, 2]


def test_a_portfolio_with_nothing_left_to_choose_gets_an_empty_optimum() -> None:
    items = [item(1, 10, 50, status="completed", mandatory=True), item(2, 5, 20, status="stopped")]
    for request in ({}, {"budget_total": D(0)}, {"start_delays": (0, 2), "frontier_points": 0}):
        found = run(items, **request)
        assert found.value == 0
        assert found.selected == ()
        assert found.status == "optimal"


def test_ties_go_to_the_least_remaining_cost_then_the_lowest_id() -> None:
    # I2 and I3 gain the same value; I1 costs more for it. A budget of 25 takes one.
    items = [item(3, 15, 115), item(2, 15, 115), item(1, 20, 120)]
    for _ in range(2):
        found = run(items, budget_total=D(25), frontier_points=0)
        assert [s.initiative_id for s in found.selected] == [UUID(int=2)]
    # I5 + I6 (value 40 + 60) against I4 alone (value 100) at the same cost: I4 comes first.
    items = [item(5, 10, 50), item(6, 10, 70), item(4, 20, 120)]
    found = run(items, budget_total=D(20), frontier_points=0)
    assert [s.initiative_id for s in found.selected] == [UUID(int=4)]


def test_reason_codes_say_why_each_is_in_or_out() -> None:
    items = [
        item(1, 10, 5, mandatory=True),
        item(2, 10, 0, deps=(3,)),
        item(3, 10, 5),
        item(4, 10, 100),
        item(5, 100, 500),
        item(6, 10, 2),
        item(7, 1, 100, deps=(8,)),
        item(8, 0, 0, status="stopped"),
        item(9, 10, 90),
    ]
    found = run(items, budget_total=D(60), force_in=(UUID(int=2),), force_out=(UUID(int=9),))
    codes = {s.name: s.reason_code for s in found.selected}
    assert codes == {"I1": "mandatory", "I2": "forced_in", "I3": "dependency", "I4": "optimal"}
    codes = {e.name: e.reason_code for e in found.excluded}
    assert codes == {"I5": "capacity", "I6": "no_value", "I7": "dependency", "I9": "forced_out"}
    [limit] = found.binding_constraints
    assert (limit.constraint, limit.month, limit.used, limit.limit) == ("budget", None, 40, 60)
    assert "I8" in next(e.reason for e in found.excluded if e.name == "I7")
    # Forcing I2 in costs what I2 and I3 together lose; forcing I9 out, the 80 it would add.
    lost = {(f.forced, f.initiative_id.int): f.value_lost for f in found.forcing_cost}
    assert lost == {("in", 2): D(15), ("out", 9): D(80)}
    assert found.value == D(-5) + (-10 - 5) + 90
    assert found.value_available == D(90) + 400 + 80 + 99  # I7 too, though it is blocked
    assert found.value_captured_pct == 100 * found.value / found.value_available


def test_a_proposal_is_pushed_back_to_where_the_budget_allows() -> None:
    items = [item(1, 50, 80, status="active"), item(2, 50, 90)]
    budget = {FROM: D(50), MONTHS[3]: D(50)}
    found = run(items, budget_by_month=budget, start_delays=(0, 3), frontier_points=0)
    assert {(s.name, s.start_delay) for s in found.selected} == {("I1", 0), ("I2", 3)}
    assert "3 months late" in next(s.reason for s in found.selected if s.name == "I2")


def test_people_by_role_and_month() -> None:
    items = [item(i, 1, 50 + i, people_demand={"dev": D(2)}) for i in (1, 2, 3)]
    found = run(items, people={"dev": D(4)}, frontier_points=0)
    assert [s.name for s in found.selected] == ["I2", "I3"]
    [limit] = found.binding_constraints
    assert (limit.constraint, limit.month, limit.role) == ("people", FROM, "dev")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"force_in": (UUID(int=77),)}, "force_in"),
        ({"force_out": (UUID(int=3),)}, "force_out"),  # completed: not a candidate
        ({"force_in": (UUID(int=2),), "force_out": (UUID(int=2),)}, "force_out"),
        ({"force_out": (UUID(int=1),)}, "force_out"),  # mandatory
        ({"start_delays": (-1,)}, "start_delays"),
        ({"frontier_points": 51}, "frontier_points"),
        ({"objective": "fastest"}, "objective"),
        ({"budget_total": D(-1)}, "budget"),
        ({"people": {"dev": D(-2)}}, "people"),
        ({"start_delays": (0, 3), "time_limit": 0.0}, "start_delays"),
        ({"time_limit": 0.0}, "frontier_points"),
        ({"time_limit": 0.0, "frontier_points": 0}, "budget"),
    ],
)
def test_contradictory_or_unknown_requests_name_the_field(
    request_: dict[str, object], field: str
) -> None:
    items = [item(1, 10, 50, mandatory=True), item(2, 10, 50), item(3, 1, 1, status="completed")]
    with pytest.raises(ValidationError) as caught:
        run(items, **request_)
    assert list(caught.value.errors) == [field]


def test_mandatory_and_forced_sets_that_cannot_fit_name_the_constraint() -> None:
    items = [
        item(1, 60, 50, mandatory=True, people_demand={"dev": D(3)}),
        item(2, 60, 50),
        item(3, 1, 5, deps=(4,)),
        item(4, 1, 1, status="stopped"),
    ]
    cases: list[tuple[dict[str, object], str]] = [
        ({"budget_total": D(100), "force_in": (UUID(int=2),)}, "budget"),
        ({"people": {"dev": D(2)}}, "people"),
        ({"force_in": (UUID(int=3),)}, "depends_on"),
    ]
    for request, constraint in cases:
        with pytest.raises(InfeasibleError) as caught:
            run(items, **request)
        assert caught.value.constraint == constraint
        assert list(caught.value.errors) == [constraint]


def test_the_worked_example_in_the_valuation_docs() -> None:
    items = [
        item(1, 10, 5, status="active", mandatory=True),
        item(2, 30, 100),
        item(3, 20, 60),
        item(4, 20, 60),
    ]
    found = run(items, budget_total=D(60), frontier_points=3)
    assert [s.initiative_id.int for s in found.selected] == [1, 2, 3]
    assert (found.value, found.value_available, found.value_captured_pct) == (105, 150, 70)
    assert [(p.budget, p.value, p.selected) for p in found.frontier] == [
        (10, -5, 1),
        (45, 65, 2),
        (80, 145, 4),
    ]
    forced = run(items, budget_total=D(60), frontier_points=0, force_out=(UUID(int=2),))
    assert [f.value_lost for f in forced.forcing_cost] == [D(30)]
    timed = run(
        items,
        budget_by_month={FROM: D(30), MONTHS[3]: D(30)},
        start_delays=(0, 3),
        frontier_points=0,
    )
    assert {s.initiative_id.int: s.start_delay for s in timed.selected} == {1: 0, 2: 3, 3: 0}
    assert round(timed.value, 2) == D("104.40")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), min_size=1, max_size=8),
    st.integers(0, 12),
)
def test_ties_are_broken_as_the_contract_orders_them(
    pairs: list[tuple[int, int]], budget: int
) -> None:
    # Small whole numbers in one undiscounted month: equal values and costs abound.
    items = [item(n + 1, cost, gain) for n, (cost, gain) in enumerate(pairs)]
    found = run(items, budget_total=D(budget), frontier_points=0)
    again = run(items, budget_total=D(budget), frontier_points=0)
    assert found == again

    def key(subset: tuple[int, ...]) -> tuple[object, ...]:
        value = sum(pairs[i][1] - pairs[i][0] for i in subset)
        cost = sum(pairs[i][0] for i in subset)
        idle = sum(1 for i in subset if pairs[i] == (0, 0))
        return (-value, cost, idle, tuple(0 if i in subset else 1 for i in range(len(pairs))))

    subsets = [
        s
        for r in range(len(pairs) + 1)
        for s in itertools.combinations(range(len(pairs)), r)
        if sum(pairs[i][0] for i in s) <= budget
    ]
    best = min(subsets, key=key)
    assert [s.initiative_id.int - 1 for s in found.selected] == list(best)


def _spread(
    ident: int, confidence: str, costs: dict[str, int], gains: dict[str, int]
) -> CandidateInput:
    """A proposal with costs and gains over several months (`item` has one month of each)."""
    months = sorted(costs)
    return item(
        ident,
        0,
        0,
        start_month=months[0],
        end_month=months[-1],
        confidence=D(confidence),
        cost_forecast={m: D(v) for m, v in costs.items()},
        benefits=(
            BenefitInput(
                UUID(int=9000 + ident), "b", None, False, D(1), {m: D(v) for m, v in gains.items()}
            ),
        ),
    )


def test_a_frontier_point_is_the_optimum_of_its_budget_not_the_last_points_set() -> None:
    # At a monthly budget of 34.5, I1 and I6 are best; at 46, I4 fits beside them. A frontier
    # once handed the previous point's set to HiGHS as a start, and HiGHS returned that set
    # (with the better set's objective value).
    items = [
        _spread(1, "1", {"2026-04": 29, "2026-05": 2}, {"2026-06": 32}),
        _spread(2, "0.5", {"2026-01": 7, "2026-02": 34}, {}),
        _spread(3, "0.5", {"2026-04": 28, "2026-05": 40}, {"2026-05": 57, "2026-06": 80}),
        _spread(4, "0.5", {"2026-02": 14, "2026-03": 2}, {"2026-06": 33}),
        _spread(5, "0.5", {"2026-06": 36}, {}),
        _spread(
            6, "0.5", {"2026-02": 21, "2026-04": 1, "2026-05": 6}, {"2026-05": 13, "2026-06": 45}
        ),
        _spread(7, "0.5", {"2026-04": 17, "2026-05": 5}, {"2026-04": 40, "2026-06": 4}),
        _spread(8, "0.5", {"2026-04": 34}, {}),
    ]
    found = run(items, frontier_points=5, budget_by_month={m: D(50) for m in MONTHS})
    assert [p.budget for p in found.frontier] == [D(0), D(69), D(138), D(207), D(276)]
    for point in found.frontier:
        alone = run(
            items,
            frontier_points=0,
            budget_by_month={m: D(50) * point.budget / (50 * len(MONTHS)) for m in MONTHS},
        )
        assert (point.value, point.selected) == (alone.value, len(alone.selected))
    assert [p.selected for p in found.frontier][-2:] == [2, 3]
