"""Analytics reads benchmark: coverage, priorities, capacity and forecast accuracy, p95.

Writes the valued portfolio of benchmarks/projections.py (500 initiatives, 2,000 benefits, 36
months of monthly measurements, spend, re-forecasts and decisions) through the use cases into a
fresh PostgreSQL database, builds the views the analytics read and gathers the planner's
statistics (`ANALYZE`, as autovacuum would), then, in a process of its own (as an API worker
serves them), reads each analytic at random instants of the portfolio's history:
the snapshot of the value view as recorded then and the pure function on it, or for forecast
accuracy its own read and the function (what the HTTP handler does, less Flask). Target: p95 <=
300 ms each.

    .venv/bin/python benchmarks/analytics_reads.py [--quick] [--calls N] [--write]

`--write` puts the table in docs/PERFORMANCE.md between the `analytics-reads` markers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import psycopg

from benchmarks._common import (
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
from benchmarks.projection_parts.generator import Generator
from benchmarks.projection_parts.history import FULL, QUICK, History
from domain.analytics.capacity import capacity
from domain.analytics.priorities import priorities
from domain.application import ValuetrailApplication
from persistence import store_env
from projections.catalog import build_projectors
from projections.db import ViewDatabase
from projections.portfolio_value.accuracy_feed import accuracy_as_of
from projections.portfolio_value.analytics import Snapshot, coverage, portfolio_input, snapshot

TARGET = 0.300  # p95 seconds, at most
Reader = Callable[[ViewDatabase, UUID, datetime], object]
OnSnapshot = Callable[[Snapshot], object]


def _coverage(snap: Snapshot) -> object:
    return coverage(snap)


def _priorities(snap: Snapshot) -> object:
    month = snap.month
    return priorities(portfolio_input(snap, month), from_month=month, currency=snap.terms.currency)


def _capacity(snap: Snapshot) -> object:
    portfolio = portfolio_input(snap, snap.month)
    return capacity(
        portfolio.initiatives,
        portfolio.budget,
        portfolio.people,
        from_month=snap.month,
        leader_limit=3,
    )


def _on_snapshot(analytic: OnSnapshot) -> Reader:
    """The snapshot as recorded at the instant, then the analytic on it."""

    def read(db: ViewDatabase, portfolio_id: UUID, at: datetime) -> object:
        snap = snapshot(db, portfolio_id, at)
        if snap is None:
            raise RuntimeError(f"no portfolio at {at}")
        return analytic(snap)

    return read


def _accuracy(db: ViewDatabase, portfolio_id: UUID, at: datetime) -> object:
    """Forecast accuracy reads what it needs itself (no snapshot), as its handler does."""
    found = accuracy_as_of(db, portfolio_id, at)
    if found is None:
        raise RuntimeError(f"no portfolio at {at}")
    return found


READERS: dict[str, Reader] = {
    "goals/coverage": _on_snapshot(_coverage),
    "priorities": _on_snapshot(_priorities),
    "capacity": _on_snapshot(_capacity),
    "forecast-accuracy": _accuracy,
}


Timings = dict[str, tuple[list[float], list[float]]]


def reads(url: str, history: History, calls: int, seed: int = 11) -> Timings:
    """(wall, CPU) seconds per call of each analytic (its read included) at random instants.

    CPU time is this process's: on a shared machine it shows what a read costs apart from
    waiting for the CPU, and it leaves out the database server's share of the wall time.
    """
    assert history.portfolio_id and history.started and history.finished
    db = ViewDatabase.from_url(url)
    rng = random.Random(seed)
    span = history.finished - history.started
    instants = [history.started + span * rng.random() for _ in range(calls)]
    timings: Timings = {name: ([], []) for name in READERS}
    try:
        for name, reader in READERS.items():
            for _ in range(2):  # warm-up: connections and caches, as a running worker has them
                reader(db, history.portfolio_id, history.finished)
            for at in instants:
                started, cpu = time.perf_counter(), time.process_time()
                reader(db, history.portfolio_id, at)
                timings[name][0].append(time.perf_counter() - started)
                timings[name][1].append(time.process_time() - cpu)
        return timings
    finally:
        db.close()


def analyse(url: str) -> None:
    """Gather the planner's statistics, as autovacuum does after a bulk load in service.

    Without them (a server with autovacuum off) PostgreSQL plans the tables just filled as if
    they were nearly empty.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def p95(values: list[float]) -> float:
    """The 95th percentile (linear interpolation)."""
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def main(argv: list[str] | None = None) -> int:
    """Write, project, read; print the table (and write it with --write)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="50 initiatives, 200 benefits")
    parser.add_argument("--calls", type=int, default=30, help="timed calls per analytic")
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    sizes = replace(QUICK if args.quick else FULL, events=0)  # the valued portfolio only
    with postgres_database() as url:
        writer = ValuetrailApplication(env=store_env(url, create_tables=True))
        try:
            print(f"  writing {sizes.initiatives} initiatives, {sizes.benefits} benefits ...")
            history = Generator(writer, sizes).run()
            print(f"  written in {history.seconds:.0f} s ({history.head:,} events)", flush=True)
            db = ViewDatabase.from_url(url)
            for projector in build_projectors(writer, db).values():
                projector.catch_up()
            db.close()
            analyse(url)
        finally:
            writer.close()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            timings = pool.apply(reads, (url, history, args.calls))
    rows = []
    for name, (seconds, cpu) in timings.items():
        worst = p95(seconds)
        rows.append(
            [
                f"`GET …/{name}`",
                f"{statistics.median(seconds) * 1000:.0f} ms",
                f"{worst * 1000:.0f} ms",
                f"{statistics.median(cpu) * 1000:.0f} ms / {p95(cpu) * 1000:.0f} ms",
                f"<= {TARGET * 1000:.0f} ms",
                verdict(worst <= TARGET),
            ]
        )
    table = markdown_table(
        ["Analytic", "p50", "p95", "CPU p50 / p95", "Target (p95)", "Result"], rows
    )
    line = (
        f"Measured {now_utc()} on PostgreSQL, {nproc()} CPUs ({cpu_model()}),"
        f" load {load_average()};"
        f" {sizes.initiatives} initiatives, {sizes.benefits} benefits, {history.head:,} events;"
        f" {args.calls} calls each at random instants of the portfolio's history."
    )
    print(table)
    print(line)
    if args.write and not args.quick:
        replace_section(PERFORMANCE_MD, "analytics-reads", f"{line}\n\n{table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
