"""Turn a portfolio and an optimise request into the binary programme of DESIGN §5.3.

Each candidate (in id order) gets one option per allowed start delay (proposals only; others
start as planned). An option uses its remaining cost against the budget (in total, and by month
once shifted) and its people demand against each role in each month. A candidate that depends on
another needs one of that candidate's options starting no later than its own; a dependency that
is completed is met, and one that is stopped or unknown blocks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.errors import ValidationError
from domain.months import add_months, months_between

from .inputs import CandidateInput, PortfolioInput
from .milp import Option, Problem, RowKey
from .remaining import Remaining, check_objective, goal_factors

TOTAL: RowKey = ("budget", None, None)


class InfeasibleError(ValidationError):
    """The mandatory and forced-in initiatives cannot all be selected; names the constraint."""

    def __init__(self, constraint: str, message: str) -> None:
        super().__init__(message, constraint)
        self.constraint = constraint


@dataclass(frozen=True)
class Built:
    """The programme with what the optimiser reports on: candidates, figures, options by item."""

    problem: Problem
    candidates: tuple[CandidateInput, ...]
    figures: tuple[Remaining, ...]
    shifts: tuple[tuple[int, ...], ...]
    blocked: Mapping[int, str]  # item -> why no option of it may be taken (dependency)
    prerequisites: Mapping[int, frozenset[int]]  # item -> the candidates it depends on


def _start(candidate: CandidateInput, shift: int) -> str:
    return add_months(candidate.start_month, shift)


def budget_limits(
    from_month: str, total: Decimal | None, by_month: Mapping[str, Decimal] | None
) -> dict[RowKey, Decimal]:
    """Budget rows: one for a total, or one per month from from_month on."""
    if total is not None:
        return {TOTAL: total}
    return {
        ("budget", m, None): v
        for m, v in sorted((by_month or {}).items())
        if months_between(from_month, m) >= 0
    }


def build(
    portfolio: PortfolioInput,
    *,
    from_month: str,
    objective: str,
    budget: Mapping[RowKey, Decimal],
    people: Mapping[str, Decimal],
    delays: Sequence[int],
    required: Sequence[UUID] = (),
    forbidden: Sequence[UUID] = (),
) -> Built:
    """The programme for these candidates, limits and forces (ids already validated)."""
    check_objective(objective)
    factors = goal_factors(portfolio)
    candidates = portfolio.candidates
    index = {c.initiative_id: i for i, c in enumerate(candidates)}
    everyone = portfolio.by_id()
    figures = tuple(Remaining.of(c, portfolio, from_month, objective, factors) for c in candidates)
    shifts = tuple(tuple(sorted(set(delays))) if c.is_proposal else (0,) for c in candidates)
    options: list[Option] = []
    by_item: list[list[int]] = []
    limits: dict[RowKey, Decimal] = dict(budget)
    for item, (figure, item_shifts) in enumerate(zip(figures, shifts, strict=True)):
        by_item.append([])
        cost = figure.cost()
        for shift in item_shifts:
            usage: dict[RowKey, Decimal] = {TOTAL: cost}
            for month, amount in figure.cost_by_month(shift).items():
                usage[("budget", month, None)] = amount
            for month, demand in figure.people_by_month(shift).items():
                for role, fte in demand.items():
                    if role in people:
                        usage[("people", month, role)] = fte
                        limits[("people", month, role)] = people[role]
            by_item[item].append(len(options))
            options.append(Option(item, figure.value(shift), cost, shift, usage))
    blocked: dict[int, str] = {}
    prerequisites: dict[int, frozenset[int]] = {}
    needs: list[tuple[int, tuple[int, ...]]] = []
    for item, candidate in enumerate(candidates):
        wanted: set[int] = set()
        for dep in candidate.depends_on:
            other = everyone.get(dep)
            if other is not None and other.status == "completed":
                continue
            if dep not in index:
                status = "unknown" if other is None else other.status
                blocked.setdefault(item, f"depends on {other.name if other else dep} ({status})")
                continue
            wanted.add(index[dep])
            for o in by_item[item]:
                start = _start(candidate, options[o].rank)
                alts = tuple(
                    a
                    for a in by_item[index[dep]]
                    if months_between(_start(candidates[index[dep]], options[a].rank), start) >= 0
                )
                needs.append((o, alts))
        prerequisites[item] = frozenset(wanted)
    must = {index[i] for i in required} | {i for i, c in enumerate(candidates) if c.mandatory}
    problem = Problem(
        items=len(candidates),
        options=tuple(options),
        limits=limits,
        required=frozenset(must),
        forbidden=frozenset({index[i] for i in forbidden} | set(blocked)),
        needs=tuple(needs),
    )
    return Built(problem, candidates, figures, shifts, blocked, prerequisites)


def closure(built: Built, items: set[int]) -> set[int]:
    """The items with every candidate they depend on, directly or not."""
    seen = set(items)
    stack = list(items)
    while stack:
        for dep in built.prerequisites.get(stack.pop(), frozenset()):
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def unreachable(built: Built) -> set[int]:
    """Items that can never be selected: forbidden, or depending on one that cannot be."""
    out = set(built.problem.forbidden)
    changed = True
    while changed:
        changed = False
        for item, deps in built.prerequisites.items():
            if item not in out and deps & out:
                out.add(item)
                changed = True
    return out
