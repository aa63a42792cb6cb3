"""The exact choice behind optimise and scenarios: a binary programme solved by HiGHS.

Each item (an initiative, in ascending id order) takes at most one of its options (a start delay,
or an action); options use capacity rows (budget, people) and may need other options. Equally
good answers are told apart lexicographically, one solve per step, so that every run and every
implementation returns the same choice:
1. the greatest total value (when no other choice is as valuable, that is the answer);
2. then the least total remaining cost;
3. then (optimise) the fewest options that add neither value nor cost;
4. then, item by item in id order, taking the item rather than leaving it out;
5. then, item by item in id order, its lowest `rank` (the earliest start, or continue before
   defer).
Solver answers are rounded to 0/1 and rechecked in Decimal; a choice that breaks a limit by
floating-point slack is cut off and the step solved again.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import highspy

ZERO = Decimal(0)
RowKey = tuple[str, str | None, str | None]  # (constraint, month, role)
INF = highspy.kHighsInf
# Values within this fraction of the largest option value count as equal: far below a cent on
# any real portfolio, and far above the solver's floating-point noise.
TIE = 1e-9
# Costs within this fraction of the largest option cost count as equal.
STEP = 1e-8
_ATTEMPTS = 50


@dataclass(frozen=True)
class Option:
    """One way an item can be chosen: its value, tie-break cost and rank, and capacity used."""

    item: int
    value: Decimal
    cost: Decimal
    rank: int = 0
    usage: Mapping[RowKey, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Items 0…n-1 (id order), their options, capacity limits, and what must or must not be."""

    items: int
    options: Sequence[Option]
    limits: Mapping[RowKey, Decimal] = field(default_factory=dict)
    required: frozenset[int] = frozenset()
    forbidden: frozenset[int] = frozenset()
    # (option, options): the option may be taken only together with one of the others.
    needs: Sequence[tuple[int, tuple[int, ...]]] = ()
    drop_idle: bool = True


def usage_of(problem: Problem, chosen: Collection[int]) -> dict[RowKey, Decimal]:
    """Capacity used by the chosen options, per limited row."""
    used = dict.fromkeys(problem.limits, ZERO)
    for index in chosen:
        for key, amount in problem.options[index].usage.items():
            if key in used:
                used[key] += amount
    return used


def feasible(problem: Problem, chosen: Collection[int]) -> bool:
    """Whether a choice keeps every rule, checked exactly in Decimal."""
    taken = [problem.options[o].item for o in chosen]
    if len(set(taken)) != len(taken) or not problem.required <= set(taken):
        return False
    if problem.forbidden & set(taken):
        return False
    if any(used > problem.limits[key] for key, used in usage_of(problem, chosen).items()):
        return False
    picked = set(chosen)
    return all(o not in picked or picked & set(alts) for o, alts in problem.needs)


def total_value(problem: Problem, chosen: Collection[int]) -> Decimal:
    """Σ value of the chosen options."""
    return sum((problem.options[o].value for o in chosen), ZERO)


def total_cost(problem: Problem, chosen: Collection[int]) -> Decimal:
    """Σ tie-break cost of the chosen options."""
    return sum((problem.options[o].cost for o in chosen), ZERO)


@dataclass
class Stopwatch:
    """Seconds spent inside the solver, summed over the solves it is passed to, and their limit."""

    seconds: float = 0.0
    limit: float | None = None


class SolverTimeLimitError(ArithmeticError):
    """The solver could not prove an optimum within the time allowed."""


class _Model:
    """One HiGHS model of a problem, re-solved with extra rows for each lexicographic step."""

    def __init__(self, problem: Problem, watch: Stopwatch | None = None) -> None:
        self.problem = problem
        self.watch = Stopwatch() if watch is None else watch
        self.highs = highspy.Highs()  # type: ignore[no-untyped-call]
        self.highs.silent()
        for name, setting in (("mip_rel_gap", 0.0), ("mip_abs_gap", 0.0), ("threads", 1)):
            self.highs.setOptionValue(name, setting)
        self.highs.setOptionValue("random_seed", 0)
        # Tighter than the defaults, so that the tie rows above are not lost in the slack.
        self.highs.setOptionValue("primal_feasibility_tolerance", 1e-9)
        self.highs.setOptionValue("mip_feasibility_tolerance", 1e-9)
        self.solves = 0
        options = problem.options
        count = len(options)
        upper = [0.0 if o.item in problem.forbidden else 1.0 for o in options]
        self.highs.addCols(count, [0.0] * count, [0.0] * count, upper, 0, [], [], [])
        kinds: Any = [highspy.HighsVarType.kInteger] * count  # the stub wants an ndarray
        self.highs.changeColsIntegrality(count, list(range(count)), kinds)
        self.by_item: list[list[int]] = [[] for _ in range(problem.items)]
        for index, option in enumerate(options):
            self.by_item[option.item].append(index)
        self.item_rows: list[int] = []
        for item, cols in enumerate(self.by_item):
            low = 1.0 if item in problem.required else -INF
            self.item_rows.append(self._row(cols, [1.0] * len(cols), low, 1.0))
        rows: dict[RowKey, tuple[list[int], list[float]]] = {k: ([], []) for k in problem.limits}
        for index, option in enumerate(options):
            for key, amount in option.usage.items():
                if key in rows and amount:
                    rows[key][0].append(index)
                    rows[key][1].append(float(amount))
        for key, (cols, coefs) in rows.items():
            limit = float(problem.limits[key])
            scale = limit if limit > 0 else 1.0  # rows relative to their limit
            self._row(cols, [c / scale for c in coefs], -INF, limit / scale)
        self._surrogates(rows)
        for index, alternatives in problem.needs:
            cols = [index, *alternatives]
            self._row(cols, [1.0] + [-1.0] * len(alternatives), -INF, 0.0)

    def _surrogates(self, rows: Mapping[RowKey, tuple[list[int], list[float]]]) -> None:
        """Per family of monthly rows, their sum: implied by them, it lets the solver cut deeper."""
        families: dict[tuple[str, str | None], list[RowKey]] = {}
        for key in rows:
            if key[1] is not None:
                families.setdefault((key[0], key[2]), []).append(key)
        for keys in families.values():
            if len(keys) < 2:
                continue
            total: dict[int, float] = {}
            for key in keys:
                for col, coef in zip(*rows[key], strict=True):
                    total[col] = total.get(col, 0.0) + coef
            limit = sum(float(self.problem.limits[k]) for k in keys)
            if limit > 0 and total:
                cols = sorted(total)
                self._row(cols, [total[c] / limit for c in cols], -INF, 1.0)

    def _row(self, cols: list[int], coefs: list[float], low: float, high: float) -> int:
        self.highs.addRows(1, [low], [high], len(cols), [0], cols, coefs)
        return int(self.highs.getNumRow()) - 1

    def objective(self, coefs: Sequence[float], maximise: bool) -> None:
        """Set the objective of the next solve."""
        count = len(coefs)
        self.highs.changeColsCost(count, list(range(count)), list(coefs))
        sense = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        self.highs.changeObjectiveSense(sense)

    def bound(self, coefs: Sequence[float], low: float, high: float) -> int:
        """Add a row over every option (keeping what a previous step achieved); its index."""
        cols = [i for i, c in enumerate(coefs) if c]
        return self._row(cols, [coefs[i] for i in cols], low, high)

    def run(self) -> tuple[int, ...] | None:
        """Solve; the rounded choice that passes the Decimal check, or None when infeasible."""
        for _ in range(_ATTEMPTS):
            self.solves += 1
            if self.watch.limit is not None:
                left = self.watch.limit - self.watch.seconds
                if left <= 0:
                    raise SolverTimeLimitError(f"no proven optimum within {self.watch.limit} s")
                self.highs.setOptionValue("time_limit", left)
            began = time.perf_counter()
            self.highs.run()
            self.watch.seconds += time.perf_counter() - began
            status = self.highs.getModelStatus()
            if status == highspy.HighsModelStatus.kTimeLimit:
                raise SolverTimeLimitError(f"no proven optimum within {self.watch.limit} s")
            if status == highspy.HighsModelStatus.kModelEmpty:
                # No option to choose (every candidate finished, say): HiGHS does not call
                # that optimal, but choosing nothing is the answer when it keeps the rules.
                return () if feasible(self.problem, ()) else None
            if status != highspy.HighsModelStatus.kOptimal:
                return None
            values = self.highs.getSolution().col_value
            chosen = tuple(i for i, v in enumerate(values) if v > 0.5)
            if feasible(self.problem, chosen):
                return chosen
            # Slack in floating point let an over-limit choice through: exclude exactly it.
            self._row(
                list(range(len(values))),
                [1.0 if i in chosen else -1.0 for i in range(len(values))],
                -INF,
                len(chosen) - 1.0,
            )
        raise ArithmeticError("the solver kept returning choices that break a limit")


def _scale(amounts: Sequence[Decimal]) -> float:
    largest = max((abs(a) for a in amounts), default=ZERO)
    return float(largest) if largest else 1.0


def solve(
    problem: Problem,
    *,
    depth: str = "full",
    watch: Stopwatch | None = None,
) -> tuple[int, ...] | None:
    """The chosen option indices (ascending), or None when no choice keeps the rules.

    `depth` "value" stops after the first step (enough for a value or a frontier point), "cost"
    after the least-cost step. No starting choice is handed to HiGHS: given one (`setSolution`),
    HiGHS 1.16 can report the optimum's objective value while returning the starting choice.
    Every step keeps maximising value, with the previous steps' results as rows: a step asks
    "is there an equally valuable choice that is better on this count?", which the solver
    answers as quickly as the first question.
    """
    model = _Model(problem, watch)
    options = problem.options
    v_scale = _scale([o.value for o in options])
    v_coefs = [float(o.value) / v_scale for o in options]
    model.objective(v_coefs, maximise=True)
    chosen = model.run()
    if chosen is None or depth == "value":
        return chosen
    model.bound(v_coefs, float(total_value(problem, chosen)) / v_scale - TIE, INF)
    if _unique(model, chosen):
        return chosen
    c_scale = Decimal(_scale([o.cost for o in options]))
    chosen = _descend(model, chosen, [o.cost / c_scale for o in options], Decimal(STEP))
    if problem.drop_idle:
        idle = [Decimal(o.value == 0 and o.cost == 0) for o in options]
        if any(idle):
            chosen = _descend(model, chosen, idle, Decimal(1))
    if depth == "cost":
        return chosen
    chosen = _prefer_items(model, chosen)
    return _prefer_ranks(model, chosen)


def _unique(model: _Model, chosen: tuple[int, ...]) -> bool:
    """Whether no other choice is as valuable: then every tie-break step would keep it."""
    picked = set(chosen)
    others = [1.0 if o in picked else -1.0 for o in range(len(model.problem.options))]
    row = model.bound(others, -INF, len(chosen) - 1.0)
    found = model.run()
    model.highs.changeRowBounds(row, -INF, INF)
    return found is None or not _as_good(model.problem, found, chosen)


def _descend(
    model: _Model, chosen: tuple[int, ...], coefs: Sequence[Decimal], unit: Decimal
) -> tuple[int, ...]:
    """Lower Σ coefs over the choice a `unit` at a time while the value holds; keep the least."""

    def level(choice: tuple[int, ...]) -> Decimal:
        return sum((coefs[o] for o in choice), ZERO)

    row = model.bound([float(c) for c in coefs], -INF, float(level(chosen) - unit))
    while True:
        found = model.run()
        if found is None or not _as_good(model.problem, found, chosen):
            break
        if level(found) > level(chosen) - unit / 2:
            break  # the solver's tolerance let the same level through: nothing lower exists
        chosen = found
        model.highs.changeRowBounds(row, -INF, float(level(chosen) - unit))
    model.highs.changeRowBounds(row, -INF, float(level(chosen) + unit / 2))
    return chosen


def _prefer_items(model: _Model, chosen: tuple[int, ...]) -> tuple[int, ...]:
    """Among equally good choices, take each item in id order when some such choice can."""
    problem = model.problem
    taken = {problem.options[o].item for o in chosen}
    left_out = [0.0 if option.item in taken else 1.0 for option in problem.options]
    row = model.bound(left_out, 1.0, INF)
    found = model.run()
    model.highs.changeRowBounds(row, -INF, INF)
    if found is None or not _as_good(problem, found, chosen):
        return chosen  # no equally good choice takes anything more: the choice is settled
    for item, row in enumerate(model.item_rows):
        if item not in taken and model.by_item[item] and item not in problem.forbidden:
            model.highs.changeRowBounds(row, 1.0, 1.0)
            trial = model.run()
            if trial is not None and _as_good(problem, trial, chosen):
                chosen = trial
                taken = {problem.options[o].item for o in chosen}
        fixed = 1.0 if item in taken else 0.0
        model.highs.changeRowBounds(row, fixed, fixed)
    return chosen


def _prefer_ranks(model: _Model, chosen: tuple[int, ...]) -> tuple[int, ...]:
    """Among equally good choices of the same items, each item in id order at its lowest rank."""
    problem = model.problem
    options = problem.options
    items = {options[o].item for o in chosen}
    for item, cols in enumerate(model.by_item):
        picked = [o for o in chosen if options[o].item == item]
        if not picked:
            for col in cols:
                model.highs.changeColBounds(col, 0.0, 0.0)
            continue
        lower = sorted(
            (c for c in cols if options[c].rank < options[picked[0]].rank),
            key=lambda c: options[c].rank,
        )
        for col in lower:
            for other in cols:
                fixed = 1.0 if other == col else 0.0
                model.highs.changeColBounds(other, fixed, fixed)
            trial = model.run()
            if (
                trial is not None
                and _as_good(problem, trial, chosen)
                and {options[o].item for o in trial} == items
            ):
                chosen = trial
                break
        keep = next(o for o in chosen if options[o].item == item)
        for other in cols:
            fixed = 1.0 if other == keep else 0.0
            model.highs.changeColBounds(other, fixed, fixed)
    return chosen


def _as_good(problem: Problem, found: tuple[int, ...], chosen: tuple[int, ...]) -> bool:
    """Whether `found` is worth as much as `chosen`, up to the tie tolerance."""
    slack = Decimal(TIE) * Decimal(_scale([o.value for o in problem.options]))
    return total_value(problem, found) >= total_value(problem, chosen) - slack
