"""A frontier's points: the best value under each of several amounts of the same limits.

One HiGHS model serves every point: its capacity rows are scaled to each limit's largest amount
and only their bounds move from point to point, so the model is built once, not once a point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from .milp import Model, Problem, RowKey, Stopwatch, feasible, scale_of, total_value


def solve_points(
    problem: Problem,
    points: Sequence[Mapping[RowKey, Decimal]],
    watch: Stopwatch | None = None,
) -> list[tuple[int, ...] | None]:
    """The value step of `solve` under each of several amounts of the same limits: one model,
    re-bounded; the previous point's choice, where it fits, is a head start and a floor."""
    if not points:
        return []
    largest = {k: max(point[k] for point in points) for k in problem.limits}
    model = Model(replace(problem, limits=largest), watch)
    options = problem.options
    v_scale = scale_of([o.value for o in options])
    model.objective([float(o.value) / v_scale for o in options], maximise=True)
    found: list[tuple[int, ...] | None] = []
    previous: tuple[int, ...] | None = None
    for point in points:
        model.relimit(point)
        fits = previous is not None and feasible(model.problem, previous)
        if fits and previous:
            model.start(previous)
        chosen = model.run()
        floor = previous if fits else None
        if floor is not None and (
            chosen is None or total_value(model.problem, floor) > total_value(model.problem, chosen)
        ):
            chosen = floor
        found.append(chosen)
        previous = chosen
    return found
