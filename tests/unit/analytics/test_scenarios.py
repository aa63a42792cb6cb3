"""Downturn scenarios (DESIGN §5.3): the best continue / defer / stop under a cut, exactly."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analytics.inputs import BenefitInput, CandidateInput
from domain.analytics.model import InfeasibleError
from domain.analytics.remaining import Remaining
from domain.analytics.scenarios import DownturnRequest, downturn
from domain.errors import ValidationError
from domain.months import add_months
from tests.unit.analytics_instances import FROM, initiatives, portfolio

D = Decimal
CLOSE = D("0.000001")


def _brute_force(items: list[CandidateInput], request: DownturnRequest) -> Decimal | None:
    """The best total value over every combination of actions that keeps the rules."""
    port = portfolio(items)
    everyone = port.by_id()
    cands = [c for c in items if c.is_candidate]
    window = {add_months(FROM, k) for k in range(request.window_months)}
    factor = 1 + request.defer_cost_pct / 100
    figures = {c.initiative_id: Remaining.of(c, port, FROM) for c in cands}

    def cost(c: CandidateInput, action: str) -> Decimal:
        if action == "stop":
            return D(0)
        shift, scale = (0, D(1)) if action == "continue" else (request.defer_months, factor)
        spend = figures[c.initiative_id].cost_by_month(shift, scale)
        return sum((v for m, v in spend.items() if m in window), D(0))

    def value(c: CandidateInput, action: str) -> Decimal:
        if action == "stop":
            return D(0)
        if action == "continue":
            return figures[c.initiative_id].value()
        return figures[c.initiative_id].value(request.defer_months, factor)

    before = sum((cost(c, "continue") for c in cands), D(0))
    after = before * (1 - request.cut_pct / 100) if request.cut_pct is not None else None
    after = request.new_budget if after is None else after
    best: Decimal | None = None
    for actions in itertools.product(["continue", "defer", "stop"], repeat=len(cands)):
        plan = {c.initiative_id: a for c, a in zip(cands, actions, strict=True)}
        ok = all(not c.mandatory or plan[c.initiative_id] == "continue" for c in cands)
        for c in cands:
            for dep in c.depends_on:
                if everyone[dep].status == "completed" or plan[c.initiative_id] == "stop":
                    continue
                theirs = plan.get(dep, "stop")
                ok = ok and theirs != "stop"
                ok = ok and (plan[c.initiative_id] == "defer" or theirs == "continue")
        if ok and after is not None and sum(cost(c, plan[c.initiative_id]) for c in cands) <= after:
            total = sum((value(c, plan[c.initiative_id]) for c in cands), D(0))
            best = total if best is None else max(best, total)
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initiatives(7),
    st.integers(0, 100),
    st.integers(1, 6),
    st.integers(1, 4),
    st.sampled_from([D(0), D(20)]),
)
def test_the_chosen_actions_are_the_best_combination(
    items: list[CandidateInput], cut: int, window: int, defer: int, remobilise: Decimal
) -> None:
    request = DownturnRequest(FROM, D(cut), None, window, defer, remobilise)
    best = _brute_force(items, request)
    try:
        found = downturn(portfolio(items), request)
    except InfeasibleError:
        assert best is None
        return
    assert best is not None
    assert abs(sum(line.value for line in found.initiatives) - best) <= CLOSE
    assert sum(line.cost_in_window for line in found.initiatives) <= found.budget_after
    assert found.cost_saved == sum(line.cost_saved for line in found.initiatives)
    assert found.budget_after == found.budget_before * (100 - cut) / 100


def item(ident: int, status: str, cost: int, gain: int, **changes: object) -> CandidateInput:
    """Spends `cost` a month and gains `gain` a month over the first three months."""
    months = [add_months(FROM, k) for k in range(3)]
    fields: dict[str, object] = {
        "initiative_id": UUID(int=ident),
        "name": f"I{ident}",
        "status": status,
        "start_month": FROM,
        "end_month": months[-1],
        "cost_forecast": {m: D(cost) for m in months},
        "benefits": (
            BenefitInput(
                UUID(int=900 + ident), "b", None, False, D(1), {m: D(gain) for m in months}
            ),
        ),
    }
    fields.update(changes)
    return CandidateInput(**fields)  # type: ignore[arg-type]


def test_each_action_comes_with_the_decision_that_enacts_it() -> None:
    items = [
        item(1, "active", 10, 30, mandatory=True),
        item(2, "active", 10, 20),
        item(3, "proposed", 10, 12),
        item(4, "suspended", 10, 11),
        item(5, "proposed", 10, 100, depends_on=(UUID(int=6),)),
        item(6, "stopped", 10, 100),
    ]
    request = DownturnRequest(FROM, new_budget=D(60), window_months=3, defer_months=3)
    found = downturn(portfolio(items), request)
    lines = {line.name: line for line in found.initiatives}
    assert found.budget_before == D(150) and found.budget_after == D(60)
    # Continuing I1 and I2 spends 60 in the window; I3 and I4 are worth more later than never.
    assert (lines["I1"].action, lines["I1"].decision) == ("continue", None)
    assert (lines["I2"].action, lines["I2"].decision) == ("continue", None)
    assert (lines["I3"].action, lines["I3"].decision) == ("delay", "delay")
    assert (lines["I4"].action, lines["I4"].decision) == ("suspend", None)
    assert (lines["I5"].action, lines["I5"].decision) == ("stop", "stop")
    assert "I6, which is stopped" in lines["I5"].reason
    assert lines["I3"].cost_saved == D(30) and lines["I3"].cost_in_window == 0
    assert D(290) < lines["I5"].benefits_forgone_pv < D(300)  # 100 a month, discounted
    assert found.cost_saved == D(90)
    assert found.value_kept_pct is not None and 0 < found.value_kept_pct < 100


def test_remobilisation_can_make_stopping_better_than_deferring() -> None:
    items = [item(1, "active", 10, 12)]
    cheap = downturn(portfolio(items), DownturnRequest(FROM, D(100), None, 1, 2))
    dear = downturn(portfolio(items), DownturnRequest(FROM, D(100), None, 1, 2, D(50)))
    assert cheap.initiatives[0].action == "suspend"  # its costs leave the one-month window
    assert (dear.initiatives[0].action, dear.initiatives[0].decision) == ("stop", "stop")


def test_a_dependent_does_no_more_than_its_dependency() -> None:
    items = [item(1, "active", 10, 11), item(2, "active", 1, 50, depends_on=(UUID(int=1),))]
    found = downturn(portfolio(items), DownturnRequest(FROM, D(60), window_months=3))
    actions = [line.action for line in found.initiatives]
    assert actions == ["suspend", "suspend"]
    # Without room to defer either, the dependent stops because its dependency does.
    found = downturn(portfolio(items), DownturnRequest(FROM, D(100), None, 24, 12))
    assert [line.action for line in found.initiatives] == ["stop", "stop"]
    assert "I1, which stops" in found.initiatives[1].reason


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cut_pct": D(101)}, "cut_pct"),
        ({"cut_pct": D(-1)}, "cut_pct"),
        ({"cut_pct": None, "new_budget": D(-5)}, "new_budget"),
        ({"cut_pct": None}, "cut_pct"),
        ({"new_budget": D(5)}, "cut_pct"),
        ({"window_months": 0}, "window_months"),
        ({"defer_cost_pct": D(-1)}, "defer_cost_pct"),
        ({"from_month": "2026-13"}, "from_month"),
    ],
)
def test_bad_parameters_name_the_field(changes: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {"from_month": FROM, "cut_pct": D(10)}
    fields.update(changes)
    with pytest.raises(ValidationError) as caught:
        downturn(portfolio([]), DownturnRequest(**fields))  # type: ignore[arg-type]
    assert list(caught.value.errors) == [field]


def test_mandatory_work_that_does_not_fit_the_cut_is_refused() -> None:
    items = [item(1, "active", 10, 30, mandatory=True)]
    with pytest.raises(InfeasibleError) as caught:
        downturn(portfolio(items), DownturnRequest(FROM, D(50), window_months=3))
    assert caught.value.constraint == "cut_pct"


def test_the_worked_example_in_the_valuation_docs() -> None:
    items = [
        item(1, "active", 10, 30, mandatory=True),
        item(2, "active", 10, 20),
        item(3, "proposed", 10, 12),
        item(4, "suspended", 10, 11),
    ]
    request = DownturnRequest(FROM, None, D(60), 3, 3, D(10))
    found = downturn(portfolio(items), request)
    assert [(line.action, line.decision) for line in found.initiatives] == [
        ("continue", None),
        ("continue", None),
        ("delay", "delay"),
        ("stop", "stop"),
    ]
    assert (found.budget_before, found.budget_after, found.cost_saved) == (D(120), D(60), D(60))
    assert round(found.benefits_forgone_pv, 2) == D("33.21")
    assert found.value_kept_pct is not None and round(found.value_kept_pct, 1) == D("93.9")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["active", "proposed"]), st.integers(0, 3), st.integers(0, 6)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 10),
)
def test_ties_between_actions_are_broken_as_the_contract_orders_them(
    rows: list[tuple[str, int, int]], budget: int
) -> None:
    items = [
        item(n + 1, status, cost, gain, end_month=FROM, cost_forecast={FROM: D(cost)})
        for n, (status, cost, gain) in enumerate(rows)
    ]
    items = [
        replace(c, benefits=(replace(c.benefits[0], forecast={FROM: D(g)}),))
        for c, (_, _, g) in zip(items, rows, strict=True)
    ]
    request = DownturnRequest(FROM, None, D(budget), window_months=1, defer_months=1)
    found = downturn(portfolio(items), request)
    figures = [Remaining.of(c, portfolio(items), FROM) for c in items]

    def outcome(plan: tuple[str, ...]) -> tuple[object, ...] | None:
        spend = sum(D(rows[i][1]) for i, a in enumerate(plan) if a == "continue")
        if spend > budget:
            return None
        value = sum(
            (
                figures[i].value(0 if a == "continue" else 1)
                for i, a in enumerate(plan)
                if a != "stop"
            ),
            D(0),
        )
        cost = sum(D(rows[i][1]) for i, a in enumerate(plan) if a != "stop")
        # Sums of the same terms in another order may differ in the 28th digit: equal values
        # are equal to far fewer places than that.
        return (-value.quantize(D("1e-12")), cost)

    # Most value, then least remaining cost, then initiative by initiative in id order:
    # continue before defer before stop (the plans compare as tuples in that order).
    plans = itertools.product(["continue", "defer", "stop"], repeat=len(rows))
    best = min((k, p) for p in plans if (k := outcome(p)) is not None)[1]
    names = {"suspend": "defer", "delay": "defer"}
    got = tuple(names.get(line.action, line.action) for line in found.initiatives)
    assert got == best, (rows, budget)
