"""Why each candidate is in or out of the optimum, and which limits bind (DESIGN §5.3 reason codes).

Selected: `mandatory`, `forced_in`, `dependency` (something mandatory or forced in needs it), else
`optimal`. Excluded, the first that applies: `forced_out`, `dependency` (something it depends on
is stopped, unknown, forced out or not selected early enough), `no_value` (value ≤ 0 at every
allowed start), else `capacity`. A binding constraint is a limit that some excluded `capacity`
candidate would break if it were added alone, at any start where it has value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.valuation import money

from .milp import RowKey, usage_of
from .model import Built, closure

ZERO = Decimal(0)


@dataclass(frozen=True)
class Selected:
    """A selected candidate, its start delay and why."""

    initiative_id: UUID
    name: str
    value: Decimal
    remaining_cost: Decimal
    start_delay: int
    reason_code: str
    reason: str


@dataclass(frozen=True)
class Excluded:
    """A candidate left out and why; value is its best over the allowed starts."""

    initiative_id: UUID
    name: str
    value: Decimal
    remaining_cost: Decimal
    reason_code: str
    reason: str


@dataclass(frozen=True)
class BindingConstraint:
    """A limit an excluded candidate would break: budget (total or a month) or a role in a month."""

    constraint: str
    month: str | None
    role: str | None
    used: Decimal
    limit: Decimal


def _describe(key: RowKey) -> str:
    name, month, role = key
    if name == "budget":
        return "the total budget" if month is None else f"the budget in {month}"
    return f"{role} people in {month}"


def _names(built: Built, items: set[int]) -> str:
    return ", ".join(sorted(built.candidates[i].name for i in items))


def explain(
    built: Built, chosen: tuple[int, ...], forced_in: set[int], forced_out: set[int]
) -> tuple[tuple[Selected, ...], tuple[Excluded, ...], tuple[BindingConstraint, ...]]:
    """Reason codes and sentences for every candidate, and the binding constraints."""
    problem = built.problem
    options = problem.options
    picked = {options[o].item: o for o in chosen}
    mandatory = {i for i, c in enumerate(built.candidates) if c.mandatory}
    pulled = closure(built, mandatory | forced_in) - mandatory - forced_in
    used = usage_of(problem, chosen)
    selected: list[Selected] = []
    excluded: list[Excluded] = []
    binding: set[RowKey] = set()
    for item, candidate in enumerate(built.candidates):
        cost = built.figures[item].cost()
        if item in picked:
            option = options[picked[item]]
            figures = f"value {money(option.value)} for remaining cost {money(cost)}"
            late = f", starting {option.rank} months late" if option.rank else ""
            if item in mandatory:
                code, reason = "mandatory", f"Mandatory, so selected whatever it adds: {figures}."
            elif item in forced_in:
                code, reason = "forced_in", f"Forced in by the request: {figures}."
            elif item in pulled:
                needers = {i for i in mandatory | forced_in if item in closure(built, {i})}
                code = "dependency"
                reason = (
                    f"Selected because {_names(built, needers - {item})} depend on it: {figures}."
                )
            else:
                code, reason = "optimal", f"Part of the best set: {figures}{late}."
            selected.append(
                Selected(
                    candidate.initiative_id,
                    candidate.name,
                    option.value,
                    cost,
                    option.rank,
                    code,
                    reason,
                )
            )
            continue
        mine = [o for o, option in enumerate(options) if option.item == item]
        best = max((options[o].value for o in mine), default=ZERO)
        missing = {d for d in built.prerequisites.get(item, frozenset()) if d not in picked}
        if item in forced_out:
            code, reason = (
                "forced_out",
                f"Forced out by the request; its value would be {money(best)}.",
            )
        elif item in built.blocked:
            code, reason = "dependency", f"Left out: it {built.blocked[item]}."
        elif missing:
            code = "dependency"
            reason = f"Left out: it depends on {_names(built, missing)}, which is not selected."
        elif best <= 0:
            code = "no_value"
            reason = f"Left out: its value ({money(best)}) is not positive at any allowed start."
        else:
            broken = _broken(
                problem.limits, used, [options[o].usage for o in mine if options[o].value > 0]
            )
            binding |= broken
            limits = ", ".join(_describe(k) for k in sorted(broken, key=_order)) or (
                "its dependencies' start months"
            )
            code = "capacity"
            reason = (
                f"Left out: value {money(best)} for remaining cost {money(cost)} does not fit "
                f"{limits} beside better uses of it."
            )
        excluded.append(Excluded(candidate.initiative_id, candidate.name, best, cost, code, reason))
    constraints = tuple(
        BindingConstraint(k[0], k[1], k[2], used[k], problem.limits[k])
        for k in sorted(binding, key=_order)
    )
    return tuple(selected), tuple(excluded), constraints


def _order(key: RowKey) -> tuple[str, str, str]:
    return (key[0], key[1] or "", key[2] or "")


def _broken(
    limits: Mapping[RowKey, Decimal],
    used: Mapping[RowKey, Decimal],
    usages: list[Mapping[RowKey, Decimal]],
) -> set[RowKey]:
    """The limits that taking any one of these usages on top of `used` would exceed."""
    found: set[RowKey] = set()
    for usage in usages:
        for key, amount in usage.items():
            if key in used and used[key] + amount > limits[key]:
                found.add(key)
    return found
