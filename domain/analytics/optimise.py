"""Q3 and "is the timing right?": the exact best set under budget and people (DESIGN §5.3).

API: `optimise(portfolio, OptimiseRequest(...)) -> Optimum` (plain dataclasses, Decimal money).
- `request.budget_total` or `request.budget_by_month`; neither → the portfolio's capacity budget
  by month (none at all → unconstrained). `request.people` None → the capacity people.
- Errors: `domain.errors.ValidationError` naming the field (`force_in`, `force_out`,
  `start_delays`, `frontier_points`, `budget`, `people`, `objective`); `InfeasibleError` (a
  ValidationError) naming the constraint (`budget`, `people`, `depends_on`) when the mandatory and
  forced-in initiatives cannot all be selected.
- A frontier point's `selected` counts one optimal set at that budget (ties there are not
  broken: only the value is the point's answer).
- `Optimum.solver_seconds` is the time spent inside HiGHS (for benchmarks; not part of the shape).
- `request.time_limit` caps the solver time of one call (default 60 s); past it, `ValidationError`
  on `start_delays` (when several are allowed), else `frontier_points`, else `budget`: the exact
  optimum could not be proven in time, and a smaller question can be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from uuid import UUID

from domain.errors import ValidationError
from domain.months import check_month

from .inputs import PortfolioInput
from .milp import (
    Problem,
    RowKey,
    SolverTimeLimitError,
    Stopwatch,
    feasible,
    solve,
    total_value,
)
from .model import TOTAL, Built, InfeasibleError, budget_limits, build, closure, unreachable
from .reasons import BindingConstraint, Excluded, Selected, explain

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MAX_FRONTIER_POINTS = 50


@dataclass(frozen=True)
class OptimiseRequest:
    """What the board asks: objective, the month from which to decide, limits and forces."""

    from_month: str
    objective: str = "risk_adjusted_npv"
    budget_total: Decimal | None = None
    budget_by_month: Mapping[str, Decimal] | None = None
    people: Mapping[str, Decimal] | None = None
    force_in: tuple[UUID, ...] = ()
    force_out: tuple[UUID, ...] = ()
    frontier_points: int = 10
    start_delays: tuple[int, ...] = (0,)
    time_limit: float | None = 60.0


@dataclass(frozen=True)
class ForcingCost:
    """What one force costs: the optimum without it minus the optimum with it."""

    initiative_id: UUID
    forced: str
    value_lost: Decimal


@dataclass(frozen=True)
class FrontierPoint:
    """The optimum at one budget; value None when the forced set does not fit."""

    budget: Decimal
    value: Decimal | None
    selected: int


@dataclass(frozen=True)
class Optimum:
    """The exact best set, why each candidate is in or out, and what the limits cost."""

    objective: str
    from_month: str
    value: Decimal
    value_available: Decimal
    value_captured_pct: Decimal | None
    selected: tuple[Selected, ...]
    excluded: tuple[Excluded, ...]
    binding_constraints: tuple[BindingConstraint, ...]
    forcing_cost: tuple[ForcingCost, ...]
    frontier: tuple[FrontierPoint, ...]
    status: str = "optimal"
    solver: str = "highs"
    solver_seconds: float = field(default=0.0, compare=False)


def _check(portfolio: PortfolioInput, request: OptimiseRequest) -> None:
    check_month(request.from_month, "from_month")
    everyone = portfolio.by_id()
    for name, ids in (("force_in", request.force_in), ("force_out", request.force_out)):
        for ident in ids:
            other = everyone.get(ident)
            if other is None:
                raise ValidationError(f"unknown initiative {ident}", name)
            if not other.is_candidate:
                raise ValidationError(f"{other.name} is {other.status}, not a candidate", name)
            if name == "force_out" and ident in request.force_in:
                raise ValidationError(f"{other.name} is forced both in and out", name)
            if name == "force_out" and other.mandatory:
                raise ValidationError(f"{other.name} is mandatory and cannot be forced out", name)
    if not request.start_delays or any(d < 0 for d in request.start_delays):
        raise ValidationError("must list one or more delays of 0 months or more", "start_delays")
    if not 0 <= request.frontier_points <= MAX_FRONTIER_POINTS:
        raise ValidationError(f"must be 0 to {MAX_FRONTIER_POINTS}", "frontier_points")
    amounts = [request.budget_total] if request.budget_total is not None else []
    for month, amount in (request.budget_by_month or {}).items():
        check_month(month, "budget")
        amounts.append(amount)
    if any(a < 0 for a in amounts):
        raise ValidationError("must not be negative", "budget")
    if any(v < 0 for v in (request.people or {}).values()):
        raise ValidationError("must not be negative", "people")


def _budget(portfolio: PortfolioInput, request: OptimiseRequest) -> dict[RowKey, Decimal]:
    by_month = request.budget_by_month
    if request.budget_total is None and by_month is None:
        by_month = portfolio.budget
    return budget_limits(request.from_month, request.budget_total, by_month)


def _diagnose(built: Built, watch: Stopwatch) -> InfeasibleError:
    """Which constraint keeps the mandatory and forced-in set from fitting."""
    problem = built.problem
    names = ", ".join(sorted(built.candidates[i].name for i in problem.required))
    must = f"the mandatory and forced-in initiatives ({names})"
    kept = unreachable(built) & problem.required
    if kept:
        item = min(kept)
        why = built.blocked.get(item, "depends on an initiative that cannot be selected")
        return InfeasibleError("depends_on", f"{built.candidates[item].name} {why}")
    for family in ("budget", "people"):
        others = {k: v for k, v in problem.limits.items() if k[0] != family}
        if solve(replace(problem, limits=others), depth="value", watch=watch) is not None:
            return InfeasibleError(family, f"{must} do not fit the {family} capacity")
    free = replace(problem, limits={})
    if solve(free, depth="value", watch=watch) is None:
        return InfeasibleError("depends_on", f"{must} would start before what they depend on")
    return InfeasibleError("budget", f"{must} do not fit the budget and people together")


def _value(problem: Problem, watch: Stopwatch) -> Decimal | None:
    chosen = solve(problem, depth="value", watch=watch)
    return None if chosen is None else total_value(problem, chosen)


def optimise(portfolio: PortfolioInput, request: OptimiseRequest) -> Optimum:
    """The exact optimum of §5.3 with reasons, binding constraints, forcing costs and frontier."""
    _check(portfolio, request)
    try:
        return _optimise(portfolio, request, Stopwatch(limit=request.time_limit))
    except SolverTimeLimitError:
        if len(set(request.start_delays)) > 1:
            field = "start_delays"
        else:
            field = "frontier_points" if request.frontier_points else "budget"
        message = (
            f"the exact optimum could not be proven within {request.time_limit} s of solving; "
            "ask with fewer start delays or frontier points, or a simpler budget"
        )
        raise ValidationError(message, field) from None


def _optimise(portfolio: PortfolioInput, request: OptimiseRequest, watch: Stopwatch) -> Optimum:
    budget = _budget(portfolio, request)
    people = portfolio.people if request.people is None else request.people
    built = build(
        portfolio,
        from_month=request.from_month,
        objective=request.objective,
        budget=budget,
        people=people,
        delays=request.start_delays,
        required=request.force_in,
        forbidden=request.force_out,
    )
    problem = built.problem
    chosen = solve(problem, watch=watch)
    if chosen is None:
        raise _diagnose(built, watch)
    value = total_value(problem, chosen)
    forced_in = {i for i, c in enumerate(built.candidates) if c.initiative_id in request.force_in}
    forced_out = {i for i, c in enumerate(built.candidates) if c.initiative_id in request.force_out}
    selected, excluded, binding = explain(built, chosen, forced_in, forced_out)
    best: dict[int, Decimal] = {}
    for option in problem.options:
        best[option.item] = max(best.get(option.item, ZERO), option.value)
    available = sum(best.values(), ZERO)
    return Optimum(
        objective=request.objective,
        from_month=request.from_month,
        value=value,
        value_available=available,
        value_captured_pct=HUNDRED * value / available if available > 0 else None,
        selected=selected,
        excluded=excluded,
        binding_constraints=binding,
        forcing_cost=_forcing_costs(built, value, forced_in, forced_out, watch),
        frontier=_frontier(built, budget, request.frontier_points, watch),
        solver_seconds=watch.seconds,
    )


def _forcing_costs(
    built: Built, value: Decimal, forced_in: set[int], forced_out: set[int], watch: Stopwatch
) -> tuple[ForcingCost, ...]:
    problem = built.problem
    mandatory = {i for i, c in enumerate(built.candidates) if c.mandatory}
    costs = []
    for item in sorted(forced_in):
        relaxed = replace(problem, required=problem.required - ({item} - mandatory))
        costs.append(("in", item, relaxed))
    for item in sorted(forced_out):
        relaxed = replace(problem, forbidden=problem.forbidden - ({item} - set(built.blocked)))
        costs.append(("out", item, relaxed))
    result = []
    for forced, item, relaxed in costs:
        without = _value(relaxed, watch)
        lost = ZERO if without is None else max(ZERO, without - value)
        result.append(ForcingCost(built.candidates[item].initiative_id, forced, lost))
    return tuple(result)


def _frontier(
    built: Built, budget: Mapping[RowKey, Decimal], points: int, watch: Stopwatch
) -> tuple[FrontierPoint, ...]:
    """Optima at budgets from the forced set's cost to every selectable candidate's cost."""
    if points == 0:
        return ()
    problem = built.problem
    costs = [f.cost() for f in built.figures]
    low = sum((costs[i] for i in closure(built, set(problem.required))), ZERO)
    high = sum((c for i, c in enumerate(costs) if i not in unreachable(built)), ZERO)
    steps = (
        [high] if points == 1 else [low + (high - low) * k / (points - 1) for k in range(points)]
    )
    by_month = {k: v for k, v in budget.items() if k != TOTAL}
    spread = sum(by_month.values(), ZERO)
    people = {k: v for k, v in problem.limits.items() if k[0] == "people"}
    frontier = []
    previous: tuple[int, ...] | None = None
    for amount in steps:
        if by_month and spread > 0:
            limits = {k: v * amount / spread for k, v in by_month.items()}
        else:
            limits = {TOTAL: amount}
        point = replace(problem, limits={**limits, **people})
        # The previous point's set still fits a larger budget: a floor for this point.
        fits = previous is not None and feasible(point, previous)
        chosen = solve(point, depth="value", watch=watch)
        if (
            fits
            and previous is not None
            and (chosen is None or total_value(point, previous) > total_value(point, chosen))
        ):
            chosen = previous
        previous = chosen
        value = None if chosen is None else total_value(point, chosen)
        frontier.append(FrontierPoint(amount, value, 0 if chosen is None else len(chosen)))
    return tuple(frontier)
