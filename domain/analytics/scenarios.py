"""Q5: what could we stop, suspend or delay in a downturn? (DESIGN §5.3, budget_cut scenarios)

API: `downturn(portfolio, DownturnRequest(...)) -> Downturn` (plain dataclasses, Decimal money;
the caller stores and serialises it). Each candidate continues, is deferred by `defer_months`
(`suspend` for active or suspended, `delay` for proposals; remaining cost * (1 + defer_cost_pct
/ 100)) or stops, chosen exactly (HiGHS, ties as in optimise, continue before defer) to maximise
risk-adjusted value with Σ window cost ≤ budget_after. `cost_in_window` is the window cost under
the chosen action. Errors: `ValidationError` naming the field (`cut_pct`, `new_budget`,
`window_months`, `defer_months`, `defer_cost_pct`, `from_month`); `InfeasibleError` naming
`cut_pct`/`new_budget` (mandatory work does not fit) or `depends_on`; past `time_limit`
seconds of solving (default 60), a ValidationError on `window_months`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.errors import ValidationError
from domain.months import add_months, check_month
from domain.valuation import money

from .inputs import CandidateInput, PortfolioInput
from .milp import Option, Problem, SolverTimeLimitError, Stopwatch, solve
from .model import TOTAL, InfeasibleError
from .remaining import Remaining, goal_factors

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CONTINUE, DEFER, STOP = "continue", "defer", "stop"
# The decision that enacts an action from a status (None: nothing to record).
DECISIONS: dict[tuple[str, str], str | None] = {
    (CONTINUE, "proposed"): "invest",
    (CONTINUE, "delayed"): "invest",
    (CONTINUE, "active"): None,
    (CONTINUE, "suspended"): "resume",
    (DEFER, "proposed"): "delay",
    (DEFER, "delayed"): "delay",
    (DEFER, "active"): "suspend",
    (DEFER, "suspended"): None,
}


@dataclass(frozen=True)
class DownturnRequest:
    """A budget cut from `from_month` for `window_months`: a percentage or a new budget."""

    from_month: str
    cut_pct: Decimal | None = None
    new_budget: Decimal | None = None
    window_months: int = 12
    defer_months: int = 12
    defer_cost_pct: Decimal = ZERO
    time_limit: float | None = 60.0


@dataclass(frozen=True)
class ScenarioLine:
    """One candidate's action, the decision that enacts it, and what it saves and forgoes."""

    initiative_id: UUID
    name: str
    status: str
    action: str
    decision: str | None
    cost_in_window: Decimal
    cost_saved: Decimal
    benefits_forgone_pv: Decimal
    value: Decimal
    reason: str


@dataclass(frozen=True)
class Downturn:
    """The evaluated scenario: window, budgets, one line per candidate, and totals."""

    from_month: str
    to_month: str
    budget_before: Decimal
    budget_after: Decimal
    initiatives: tuple[ScenarioLine, ...]
    cost_saved: Decimal
    benefits_forgone_pv: Decimal
    value_kept_pct: Decimal | None


def _check(request: DownturnRequest) -> None:
    check_month(request.from_month, "from_month")
    if (request.cut_pct is None) == (request.new_budget is None):
        raise ValidationError("give either cut_pct or new_budget", "cut_pct")
    if request.cut_pct is not None and not ZERO <= request.cut_pct <= HUNDRED:
        raise ValidationError("must be 0 to 100", "cut_pct")
    if request.new_budget is not None and request.new_budget < 0:
        raise ValidationError("must not be negative", "new_budget")
    if request.window_months < 1:
        raise ValidationError("must be 1 or more", "window_months")
    if request.defer_months < 1:
        raise ValidationError("must be 1 or more", "defer_months")
    if request.defer_cost_pct < 0:
        raise ValidationError("must not be negative", "defer_cost_pct")


@dataclass(frozen=True)
class _Action:
    action: str
    shift: int
    factor: Decimal


def _window_cost(figures: Remaining, act: _Action, months: frozenset[str]) -> Decimal:
    spend = figures.cost_by_month(act.shift, act.factor)
    return sum((v for m, v in spend.items() if m in months), ZERO)


def downturn(portfolio: PortfolioInput, request: DownturnRequest) -> Downturn:
    """The best continue / defer / stop per candidate under the cut budget, exactly."""
    _check(request)
    start = request.from_month
    window = frozenset(add_months(start, k) for k in range(request.window_months))
    factors = goal_factors(portfolio)
    candidates = portfolio.candidates
    figures = [Remaining.of(c, portfolio, start, "risk_adjusted_npv", factors) for c in candidates]
    keep = _Action(CONTINUE, 0, Decimal(1))
    defer = _Action(DEFER, request.defer_months, 1 + request.defer_cost_pct / HUNDRED)
    options: list[Option] = []
    acts: list[_Action] = []
    slots: list[dict[str, int]] = []
    for item, (candidate, figure) in enumerate(zip(candidates, figures, strict=True)):
        slots.append({})
        for rank, act in enumerate([keep] if candidate.mandatory else [keep, defer]):
            slots[item][act.action] = len(options)
            usage = {TOTAL: _window_cost(figure, act, window)}
            value = figure.value(act.shift, act.factor)
            options.append(Option(item, value, figure.cost(act.factor), rank, usage))
            acts.append(act)
    before = sum((_window_cost(f, keep, window) for f in figures), ZERO)
    if request.cut_pct is not None:
        after = before * (1 - request.cut_pct / HUNDRED)
    else:
        after = request.new_budget or ZERO
    blocked, needs = _dependencies(portfolio, candidates, slots)
    problem = Problem(
        items=len(candidates),
        options=options,
        limits={TOTAL: after},
        required=frozenset(i for i, c in enumerate(candidates) if c.mandatory),
        forbidden=frozenset(blocked),
        needs=needs,
        drop_idle=False,
    )
    try:
        chosen = solve(problem, watch=Stopwatch(limit=request.time_limit))
    except SolverTimeLimitError:
        message = f"the exact choice could not be proven within {request.time_limit} s of solving"
        raise ValidationError(message, "window_months") from None
    if chosen is None:
        names = ", ".join(sorted(c.name for c in candidates if c.mandatory))
        stuck = [i for i in sorted(blocked) if candidates[i].mandatory]
        if stuck:
            message = f"mandatory {candidates[stuck[0]].name} depends on {blocked[stuck[0]]}"
            raise InfeasibleError("depends_on", message)
        field = "cut_pct" if request.cut_pct is not None else "new_budget"
        raise InfeasibleError(field, f"the mandatory initiatives ({names}) need more than that")
    picked = {options[o].item: o for o in chosen}
    index = {c.initiative_id: i for i, c in enumerate(candidates)}
    lines = []
    for item, (candidate, figure) in enumerate(zip(candidates, figures, strict=True)):
        o = picked.get(item)
        act = _Action(STOP, 0, ZERO) if o is None else acts[o]
        # A dependent that stops with a dependency that stops stops because of it.
        stopped = [
            candidates[index[d]].name
            for d in candidate.depends_on
            if d in index and index[d] not in picked
        ]
        cause = blocked.get(item) or (f"{stopped[0]}, which stops" if stopped else None)
        lines.append(_line(candidate, figure, act, window, keep, cause, request))
    all_value = sum((f.value() for f in figures), ZERO)
    kept = sum((line.value for line in lines), ZERO)
    return Downturn(
        from_month=start,
        to_month=add_months(start, request.window_months - 1),
        budget_before=before,
        budget_after=after,
        initiatives=tuple(lines),
        cost_saved=sum((line.cost_saved for line in lines), ZERO),
        benefits_forgone_pv=sum((line.benefits_forgone_pv for line in lines), ZERO),
        value_kept_pct=HUNDRED * kept / all_value if all_value > 0 else None,
    )


def _dependencies(
    portfolio: PortfolioInput, candidates: Sequence[CandidateInput], slots: list[dict[str, int]]
) -> tuple[dict[int, str], list[tuple[int, tuple[int, ...]]]]:
    """Stopped or unknown dependencies stop a dependent; otherwise it does no more than they do."""
    index = {c.initiative_id: i for i, c in enumerate(candidates)}
    everyone = portfolio.by_id()
    blocked: dict[int, str] = {}
    needs: list[tuple[int, tuple[int, ...]]] = []
    for item, candidate in enumerate(candidates):
        for dep in candidate.depends_on:
            other = everyone.get(dep)
            if other is not None and other.status == "completed":
                continue
            if dep not in index:
                why = f"{other.name}, which is {other.status}" if other else f"{dep}, unknown"
                blocked.setdefault(item, why)
                continue
            theirs = slots[index[dep]]
            if CONTINUE in slots[item]:
                needs.append((slots[item][CONTINUE], (theirs[CONTINUE],)))
            if DEFER in slots[item]:
                needs.append((slots[item][DEFER], tuple(theirs.values())))
    return blocked, needs


def _line(
    candidate: CandidateInput,
    figure: Remaining,
    act: _Action,
    window: frozenset[str],
    keep: _Action,
    blocker: str | None,
    request: DownturnRequest,
) -> ScenarioLine:
    full_cost = _window_cost(figure, keep, window)
    if act.action == STOP:
        cost, benefits, value = ZERO, ZERO, ZERO
    else:
        cost = _window_cost(figure, act, window)
        benefits = figure.pv_benefits(act.shift)
        value = figure.value(act.shift, act.factor)
    saved = full_cost - cost
    forgone = figure.pv_benefits() - benefits
    if act.action == DEFER:
        name = "suspend" if candidate.status in ("active", "suspended") else "delay"
        decision = DECISIONS[DEFER, candidate.status]
        reason = (
            f"{name.capitalize()} by {request.defer_months} months: saves {money(saved)} in the "
            f"window and forgoes {money(forgone)} of PV benefits; value {money(value)}."
        )
    elif act.action == CONTINUE:
        name, decision = CONTINUE, DECISIONS[CONTINUE, candidate.status]
        why = "Mandatory, so it continues" if candidate.mandatory else "Continues"
        reason = f"{why}: {money(cost)} in the window for value {money(value)}."
    else:
        name, decision = STOP, "stop"
        cause = f"it depends on {blocker}" if blocker else "that loses the least value"
        reason = (
            f"Stop, as {cause}: saves {money(saved)} in the window and forgoes "
            f"{money(forgone)} of PV benefits (value if continued {money(figure.value())})."
        )
    return ScenarioLine(
        candidate.initiative_id,
        candidate.name,
        candidate.status,
        name,
        decision,
        cost,
        saved,
        forgone,
        value,
        reason,
    )
