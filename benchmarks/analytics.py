"""Analytics benchmark: the exact optimiser through HTTP, 300 candidates x 36 months x 5 roles.

Builds a seeded portfolio of 300 candidates (proposals, active, delayed and suspended) with three
years of monthly cost and benefit forecasts, people demand in five roles, a few mandatory ones
and dependencies, and capacity at about half of the demand. It writes that portfolio through the
use cases into a fresh PostgreSQL database (`valuetrail_bench_<hex>`, dropped afterwards), builds
the views, starts `valuetrail serve` (2 workers) and times `POST /portfolios/{id}/optimise`
(DESIGN §5.3) from a loopback client, one request at a time:

(a) no frontier → median of the runs. Target <= 2 s.
(b) a 10-point frontier → median. Target <= 10 s.

The solver's share is the time inside HiGHS over the whole request: the server does not report
it, so beside each request (alternating which goes first) the same call runs in this process on
the portfolio as the handler reads it (the snapshot of the views and `portfolio_input`); a
request's share is that call's HiGHS time over the request, and the table gives the median. The
in-process call is shown too, with HiGHS's share of it (exact): the request less that call is
what reading the views, HTTP, parsing and serialising add. HiGHS's time varies from run to run,
so the share of a request beside a slower solve can show more than 100 %.

    python -m benchmarks.analytics            # 5 runs each
    python -m benchmarks.analytics --runs 3
    python -m benchmarks.analytics --write    # also update docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from benchmarks._common import (
    BENCH_META,
    FIRST_DAY,
    PERFORMANCE_MD,
    cpu_model,
    load_average,
    markdown_table,
    now_utc,
    nproc,
    postgres_database,
    replace_section,
    verdict,
)
from benchmarks._http import ADMIN_TOKEN, API, Client, serving
from domain.analytics.inputs import BenefitInput, CandidateInput, GoalInput, PortfolioInput
from domain.analytics.optimise import OptimiseRequest, optimise
from domain.application import ValuetrailApplication
from domain.months import add_months
from persistence import store_env
from projections.catalog import build_projectors
from projections.db import ViewDatabase
from projections.portfolio_value.analytics import portfolio_input, snapshot

FROM = "2026-01"
ROLES = ("engineer", "analyst", "designer", "tester", "architect")
CANDIDATES = 300
MONTHS = 36
DELAYS = (0,)
STATUSES = ["proposed", "active", "delayed", "suspended"]
CURRENCY = "EUR"
#: Every benefit is a saving counted in the currency: its forecast is its money.
SAVINGS = {"name": "savings", "unit": CURRENCY, "kind": "flow"}
#: Decisions are recorded on a past day (the domain rejects future ones).
DECIDED_ON = date(2025, 12, 1)


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


def _text(values: Mapping[str, Decimal]) -> dict[str, object]:
    return {key: str(value) for key, value in values.items()}


def _decide(app: ValuetrailApplication, initiative_id: UUID, status: str) -> None:
    """Bring a proposal to `status` by the board's decisions."""
    steps = {"active": ["invest"], "delayed": ["delay"], "suspended": ["invest", "suspend"]}
    for decision in steps.get(status, []):
        app.record_decision(
            initiative_id,
            decision=decision,
            rationale="Benchmark portfolio.",
            decided_by="Board",
            decided_on=DECIDED_ON,
            delay_until=FROM if decision == "delay" else None,
            meta=BENCH_META,
        )


def write_portfolio(app: ValuetrailApplication, port: PortfolioInput) -> UUID:
    """The portfolio written through the use cases, as a board would record it."""
    portfolio_id: UUID = app.create_portfolio(
        name="Optimise benchmark",
        currency=CURRENCY,
        discount_rate=str(port.discount_rate),
        base_month=port.base_month,
        meta=BENCH_META,
    ).value.id
    goals = {}
    for goal in port.goals:
        added = app.add_goal(
            portfolio_id, title=goal.title, description="", weight=str(goal.weight), meta=BENCH_META
        )
        goals[goal.goal_id] = added.value["goal_id"]
    ids: dict[UUID, UUID] = {}
    for candidate in port.initiatives:
        made: UUID = app.propose_initiative(
            portfolio_id=portfolio_id,
            kind="project",
            name=candidate.name,
            sponsor="Board",
            start_month=candidate.start_month,
            end_month=candidate.end_month,
            confidence=str(candidate.confidence),
            mandatory=candidate.mandatory,
            depends_on=[ids[d] for d in candidate.depends_on],
            people_demand=_text(candidate.people_demand),
            meta=BENCH_META,
        ).value.id
        ids[candidate.initiative_id] = made
        app.revise_cost_forecast(
            made, periods=_text(candidate.cost_forecast), reason="plan", meta=BENCH_META
        )
        for benefit in candidate.benefits:
            identified = app.identify_benefit(
                initiative_id=made,
                title=benefit.title,
                category="cashable",
                owner="Benefits owner",
                measure=SAVINGS,
                baseline={"value": "0", "as_of": FIRST_DAY},
                disbenefit=benefit.disbenefit,
                goal_id=None if benefit.goal_id is None else goals[benefit.goal_id],
                meta=BENCH_META,
            ).value.id
            app.revise_benefit_forecast(
                identified, periods=_text(benefit.forecast), reason="plan", meta=BENCH_META
            )
        _decide(app, made, candidate.status)
    app.set_capacity(
        portfolio_id,
        budget=_text(port.budget),
        people=_text(port.people),
        reason="plan",
        meta=BENCH_META,
    )
    return portfolio_id


@dataclass
class Case:
    """One row of the table: the request, how often, and against what target."""

    label: str
    points: int
    target: float | None
    delays: tuple[int, ...]
    runs: int


@dataclass
class Timing:
    """Medians of one case: the request, the call in process, HiGHS inside it, and its share."""

    request: float
    in_process: float
    solver: float
    share: float  # of the request beside it (a paired estimate)
    call_share: float  # of the call it ran in (exact)
    selected: int
    excluded: int


class Requests:
    """`POST …/optimise`, a connection each (the server closes one left idle for 5 s)."""

    def __init__(self, port: int, portfolio_id: UUID) -> None:
        self.port = port
        self.path = f"{API}/portfolios/{portfolio_id}/optimise"

    def send(self, case: Case) -> tuple[float, dict[str, Any]]:
        """Seconds of one request, and its answer."""
        body = {"from_month": FROM, "frontier_points": case.points, "start_delays": case.delays}
        client = Client(self.port, ADMIN_TOKEN)
        try:
            started = time.perf_counter()
            status, data = client.request("POST", self.path, json.dumps(body).encode())
            elapsed = time.perf_counter() - started
        finally:
            client.close()
        if status != 200:
            raise SystemExit(f"optimise answered {status}: {data[:500]!r}")
        found: dict[str, Any] = json.loads(data)
        return elapsed, found


def in_process(port: PortfolioInput, case: Case) -> tuple[float, float]:
    """Seconds of one call, and of HiGHS inside it."""
    request = OptimiseRequest(FROM, frontier_points=case.points, start_delays=case.delays)
    started = time.perf_counter()
    found = optimise(port, request)
    return time.perf_counter() - started, found.solver_seconds


def measure(requests: Requests, read: PortfolioInput, case: Case) -> Timing:
    """`case.runs` requests (after one not timed), each beside a call in process.

    The two alternate (request first, then call first) so that a busy neighbour slows both
    alike; each request's solver share is the HiGHS time of the call beside it.
    """
    requests.send(case)  # warms the worker's caches, as a running server has them
    times, calls, solver, shares, call_shares = [], [], [], [], []
    answer: dict[str, Any] = {}
    for run in range(case.runs):
        if run % 2:
            call, highs = in_process(read, case)
            elapsed, answer = requests.send(case)
        else:
            elapsed, answer = requests.send(case)
            call, highs = in_process(read, case)
        times.append(elapsed)
        calls.append(call)
        solver.append(highs)
        shares.append(highs / elapsed)
        call_shares.append(highs / call)
    return Timing(
        statistics.median(times),
        statistics.median(calls),
        statistics.median(solver),
        statistics.median(shares),
        statistics.median(call_shares),
        len(answer["selected"]),
        len(answer["excluded"]),
    )


def run(cases: list[Case]) -> dict[str, Timing]:
    """Write the portfolio, build the views, serve, and time every case both ways."""
    with postgres_database() as url:
        app = ValuetrailApplication(env=store_env(url, create_tables=True))
        try:
            print(f"  writing {CANDIDATES} candidates ...", flush=True)
            portfolio_id = write_portfolio(app, portfolio())
            db = ViewDatabase.from_url(url)
            for projector in build_projectors(app, db).values():
                projector.catch_up()
        finally:
            app.close()
        try:
            snap = snapshot(db, portfolio_id, datetime.now(UTC))
            assert snap is not None
            read = portfolio_input(snap, FROM)  # what the handler hands to the solver
        finally:
            db.close()
        found = {}
        with serving(url) as server:
            requests = Requests(server.port, portfolio_id)
            for case in cases:
                timing = found[case.label] = measure(requests, read, case)
                print(
                    f"{case.label}: request {timing.request:.2f} s, in process"
                    f" {timing.in_process:.2f} s, HiGHS {timing.solver:.2f} s"
                    f" ({timing.share:.0%} of the request), {timing.selected} in /"
                    f" {timing.excluded} out",
                    flush=True,
                )
        return found


def main() -> None:
    """Time the cases; print the table (and write it with --write)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    cases = [
        Case("no frontier", 0, 2.0, DELAYS, args.runs),
        Case("10-point frontier", 10, 10.0, DELAYS, args.runs),
        # No target: how much a choice of start months adds (one run; it is slow).
        Case("no frontier, start delays [0, 6]", 0, None, (0, 6), 1),
    ]
    load_before = load_average()
    found = run(cases)
    rows = []
    for case in cases:
        timing = found[case.label]
        rows.append(
            [
                case.label,
                f"{timing.request:.2f} s",
                f"{timing.in_process:.2f} s",
                f"{timing.solver:.2f} s",
                f"{timing.call_share:.0%} / {timing.share:.0%}",
                "—" if case.target is None else f"<= {case.target:.0f} s",
                "" if case.target is None else verdict(timing.request <= case.target),
            ]
        )
    table = markdown_table(
        [
            "`POST …/optimise`",
            "request (median)",
            "in process",
            "HiGHS",
            "HiGHS share: of the call / of the request",
            "target",
            "",
        ],
        rows,
    )
    body = (
        f"{CANDIDATES} candidates x {MONTHS} months of budget x {len(ROLES)} roles, start delays "
        f"{list(DELAYS)} unless the row says otherwise, through HTTP (`valuetrail serve`, 2 "
        f"workers, PostgreSQL), median of {args.runs} requests after one not timed (of 1 for the "
        f"delays row); in process: the same call on the portfolio as the handler reads it, "
        f"alternating with the requests; HiGHS share: medians of its time over the call it ran in "
        f"(exact) and over the request beside that call (an estimate: the solve varies from run "
        f"to run) (`benchmarks/analytics.py`), "
        f"{now_utc()}, "
        f"{nproc()} cores ({cpu_model()}), load {load_before} before and {load_average()} "
        f"after.\n\n{table}\n"
    )
    print(body)
    if args.write:
        replace_section(PERFORMANCE_MD, "Optimise", body)


if __name__ == "__main__":
    main()
