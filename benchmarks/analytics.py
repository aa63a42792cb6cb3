"""Analytics benchmark: the exact optimiser, 300 candidates x 36 months x 5 roles (pure functions).

Builds a seeded portfolio of 300 candidates (proposals, active, delayed and suspended) with three
years of monthly cost and benefit forecasts, people demand in five roles, a few mandatory ones
and dependencies, and capacity at about half of the demand; then times `optimise` (DESIGN §5.3)
with start delays [0, 3, 6, 12]:

(a) no frontier → median of the runs. Target <= 2 s.
(b) a 10-point frontier → median. Target <= 10 s.
Each with the solver's share: the time inside HiGHS over the whole call. The HTTP layer adds
parsing and serialising on top (its own figures belong beside the endpoints).

    python benchmarks/analytics.py            # 5 runs each
    python benchmarks/analytics.py --runs 3
    python benchmarks/analytics.py --write    # also update docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from decimal import Decimal
from uuid import UUID

from benchmarks._common import (
    PERFORMANCE_MD,
    cpu_model,
    load_average,
    markdown_table,
    now_utc,
    nproc,
    replace_section,
    verdict,
)
from domain.analytics.inputs import BenefitInput, CandidateInput, GoalInput, PortfolioInput
from domain.analytics.optimise import OptimiseRequest, optimise
from domain.months import add_months

FROM = "2026-01"
ROLES = ("engineer", "analyst", "designer", "tester", "architect")
CANDIDATES = 300
MONTHS = 36
DELAYS = (0,)
STATUSES = ["proposed", "active", "delayed", "suspended"]


def portfolio(seed: int = 12) -> PortfolioInput:
    """300 candidates over 36 months, capacity at about half of what they ask."""
    rng = random.Random(seed)
    goals = tuple(
        GoalInput(UUID(int=90 + g), f"Goal {g}", Decimal(rng.randint(1, 5))) for g in range(4)
    )
    made: list[CandidateInput] = []
    spend: dict[str, Decimal] = {}
    staff: dict[str, Decimal] = dict.fromkeys(ROLES, Decimal(0))
    for n in range(CANDIDATES):
        first = rng.randint(0, 24)
        last = min(MONTHS - 1, first + rng.randint(3, 18))
        months = [add_months(FROM, k) for k in range(first, last + 1)]
        monthly = Decimal(rng.randint(5, 60)) * 1000
        costs = {m: monthly for m in months}
        for m in months:
            spend[m] = spend.get(m, Decimal(0)) + monthly
        gain = monthly * Decimal(rng.uniform(0.6, 2.2)).quantize(Decimal("0.01"))
        benefits = tuple(
            BenefitInput(
                UUID(int=10_000 + n * 3 + b),
                f"Benefit {n}.{b}",
                rng.choice([*[g.goal_id for g in goals], None]),
                rng.random() < 0.05,
                Decimal(1),
                {add_months(m, 3): gain / 2 for m in months},
            )
            for b in range(2)
        )
        demand = {r: Decimal(rng.randint(1, 4)) / 2 for r in rng.sample(ROLES, rng.randint(1, 3))}
        for role, fte in demand.items():
            staff[role] += fte
        earlier = [c.initiative_id for c in made if c.start_month <= months[0]]
        deps = (rng.choice(earlier),) if earlier and rng.random() < 0.1 else ()
        mandatory = rng.random() < 0.01
        made.append(
            CandidateInput(
                initiative_id=UUID(int=1 + n),
                name=f"Initiative {n}",
                status="active" if mandatory else rng.choices(STATUSES, [6, 3, 1, 1])[0],
                start_month=months[0],
                end_month=months[-1],
                mandatory=mandatory,
                confidence=Decimal(rng.choice(["0.6", "0.75", "0.9", "1"])),
                depends_on=deps,
                people_demand=demand,
                cost_forecast=costs,
                benefits=benefits,
            )
        )
    return PortfolioInput(
        discount_rate=Decimal("0.035"),
        base_month=FROM,
        goals=goals,
        budget={m: (v / 2).quantize(Decimal(1)) for m, v in spend.items()},
        # Averaged over the months every role is used in, capacity is about half the demand.
        people={r: (v / 6).quantize(Decimal("0.5")) for r, v in staff.items()},
        initiatives=tuple(made),
    )


def measure(
    port: PortfolioInput, points: int, runs: int, delays: tuple[int, ...] = DELAYS
) -> tuple[float, float, int, int]:
    """Median seconds, solver share, and the size of the answer."""
    times, shares = [], []
    selected = excluded = 0
    for _ in range(runs):
        start = time.perf_counter()
        request = OptimiseRequest(
            FROM, frontier_points=points, start_delays=delays, time_limit=None
        )
        found = optimise(port, request)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        shares.append(found.solver_seconds / elapsed)
        selected, excluded = len(found.selected), len(found.excluded)
    return statistics.median(times), statistics.median(shares), selected, excluded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    port = portfolio()
    rows = []
    cases = (
        ("no frontier", 0, 2.0, DELAYS, args.runs),
        ("10-point frontier", 10, 10.0, DELAYS, args.runs),
        # No target: how much a choice of start months adds (one run; it is slow).
        ("no frontier, start delays [0, 6]", 0, None, (0, 6), 1),
    )
    for label, points, target, delays, runs in cases:
        median, share, selected, excluded = measure(port, points, runs, delays)
        print(f"{label}: median {median:.2f} s, solver {share:.0%}, {selected} in / {excluded} out")
        rows.append(
            [
                label,
                f"{median:.2f} s",
                f"{share:.0%}",
                "—" if target is None else f"<= {target:.0f} s",
                "" if target is None else verdict(median <= target),
            ]
        )
    table = markdown_table(["optimise", "median", "solver share", "target", ""], rows)
    body = (
        f"{CANDIDATES} candidates x {MONTHS} months of budget x {len(ROLES)} roles, start delays "
        f"{list(DELAYS)} unless the row says otherwise, median of {args.runs} runs (of 1 for the "
        "delays row), pure functions (`benchmarks/analytics.py`), "
        f"{now_utc()}, {nproc()} cores ({cpu_model()}), load {load_average()}.\n\n{table}\n"
    )
    print(body)
    if args.write:
        replace_section(PERFORMANCE_MD, "Optimise", body)


if __name__ == "__main__":
    main()
