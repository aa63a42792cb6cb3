"""Event store benchmark: valuetrail's measurement write path against the raw eventsourcing store.

Run on SQLite (a temporary file) and PostgreSQL (a fresh `valuetrail_bench_<hex>` database,
dropped afterwards) in one run:

(a) append: a plain `eventsourcing.application.Application` with the same settings on the
    library's own recorders (`library_env`) saving one small event per transaction, against
    `ValuetrailApplication.record_measurement` (load the benefit, check the external_id receipt,
    save measurement and receipt). Ratio = measurements/s / events/s; target >= 0.5.
(b) scale: `record_measurement` on a benefit with 10,000 earlier measurements against one with
    10 (both prefilled with `record_measurements` batches of 500). Ratio = time per measurement
    big / small; target <= 1.3.

Both pairs run in alternating blocks (ABBA) and each ratio is the median of the per-round ratios.

    python benchmarks/store.py            # full run, about a minute
    python benchmarks/store.py --quick    # smoke run, well under a minute
    python benchmarks/store.py --write    # full run, then update docs/PERFORMANCE.md
    python benchmarks/store.py --profile  # cProfile record_measurement instead of timing
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from benchmarks._common import (
    BENCH_META,
    PERFORMANCE_MD,
    Paired,
    alternate,
    cpu_model,
    library_env,
    load_average,
    markdown_table,
    new_benefit,
    now_utc,
    nproc,
    observed_on,
    postgres_database,
    postgres_version,
    replace_section,
    sqlite_dir,
    sqlite_url,
    verdict,
    versions,
)
from domain.application import BENEFIT_SNAPSHOT_INTERVAL, ValuetrailApplication
from persistence import store_env

APPEND_TARGET = 0.5  # (a) valuetrail measurements/s over raw events/s, at least
SCALE_TARGET = 1.3  # (b) time per measurement with 10,000 earlier over with 10, at most
BACKENDS = ("sqlite", "postgres")
LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclass(frozen=True)
class Sizes:
    """How much work each part does."""

    warmup: int  # ops of each workload before timing
    append_rounds: int  # (a) alternating rounds
    append_block: int  # (a) ops per block
    big: int  # (b) earlier measurements on the big benefit
    small: int  # (b) earlier measurements on the small benefit
    batch: int  # (b) prefill batch size (record_measurements)
    scale_rounds: int  # (b) alternating rounds
    # (b) measurements per block: one snapshot interval, so that each block of either benefit
    # spans every count of events-since-the-last-snapshot once (the cost of a load follows that
    # count, and the two benefits are 10 apart in it).
    scale_block: int


FULL = Sizes(
    warmup=50,
    append_rounds=20,
    append_block=50,
    big=10_000,
    small=10,
    batch=500,
    scale_rounds=6,
    scale_block=BENEFIT_SNAPSHOT_INTERVAL,
)
QUICK = Sizes(
    warmup=10,
    append_rounds=4,
    append_block=25,
    big=2_000,
    small=10,
    batch=500,
    scale_rounds=2,
    scale_block=BENEFIT_SNAPSHOT_INTERVAL,
)


class Tick(Aggregate):
    """The raw baseline's aggregate: each save stores one small event carrying a Decimal."""

    def __init__(self) -> None:
        self.total = Decimal(0)

    @event("Ticked")
    def tick(self, amount: Decimal) -> None:
        """Add an amount."""
        self.total += amount


class RawAppender:
    """Blocks of raw appends: trigger one event on an in-memory aggregate, save it."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.aggregate = Tick()
        app.save(self.aggregate)
        self.count = 0

    def __call__(self, n: int) -> None:
        for _ in range(n):
            self.count += 1
            self.aggregate.tick(Decimal(self.count))
            self.app.save(self.aggregate)


class Measurer:
    """Blocks of `record_measurement` calls on one benefit, each with a fresh external_id."""

    def __init__(self, app: ValuetrailApplication, benefit_id: UUID, prefix: str) -> None:
        self.app = app
        self.benefit_id = benefit_id
        self.prefix = prefix
        self.count = 0

    def __call__(self, n: int) -> None:
        for _ in range(n):
            self.count += 1
            written = self.app.record_measurement(
                self.benefit_id,
                value=Decimal(self.count),
                observed_on=observed_on(self.count),
                source="benchmark",
                external_id=f"{self.prefix}-{self.count}",
                meta=BENCH_META,
            )
            if not written.value.created:
                raise RuntimeError("a fresh external_id was taken as a duplicate")


def prefill(app: ValuetrailApplication, benefit_id: UUID, count: int, batch: int) -> None:
    """Record `count` measurements on a benefit through `record_measurements` batches."""
    for start in range(0, count, batch):
        items = [
            {
                "benefit_id": benefit_id,
                "value": Decimal(k),
                "observed_on": observed_on(k),
                "source": "prefill",
                "external_id": f"prefill-{k}",
            }
            for k in range(start, min(count, start + batch))
        ]
        outcome = app.record_measurements(items, meta=BENCH_META)
        if outcome.value.created != len(items):
            raise RuntimeError("prefill stored fewer measurements than it sent")


@contextmanager
def stores(backend: str) -> Iterator[tuple[str, str]]:
    """URLs for valuetrail's store and the raw baseline's (same settings, separate tables)."""
    if backend == "sqlite":
        with sqlite_dir() as folder:
            yield sqlite_url(folder, "valuetrail"), sqlite_url(folder, "raw")
    else:
        # One database: the two applications' names give them separate tables.
        with postgres_database() as url:
            yield url, url


@dataclass(frozen=True)
class Result:
    """One backend's figures."""

    backend: str
    append: Paired  # first: raw seconds/event, second: valuetrail seconds/measurement
    scale: Paired  # first: small benefit, second: big benefit (seconds/measurement)
    big: int
    small: int

    @property
    def append_ratio(self) -> float:
        """Median over rounds of valuetrail measurements/s over raw events/s."""
        return statistics.median(1 / r for r in self.append.ratios)

    @property
    def scale_ratio(self) -> float:
        """Median over rounds of time per measurement, big benefit over small."""
        return self.scale.ratio


def run_backend(backend: str, sizes: Sizes) -> Result:
    """Both benchmarks on one backend, in one fresh store."""
    warm = max(1, sizes.warmup // 10)  # (b) warm-up: keeps the earlier counts near 10 / 10,000
    with stores(backend) as (ours_url, raw_url):
        app = ValuetrailApplication(env=store_env(ours_url, create_tables=True))
        raw: Application[UUID] = Application(env=library_env(raw_url, create_tables=True))
        try:
            appender = RawAppender(raw)
            measurer = Measurer(app, new_benefit(app), "append")
            appender(sizes.warmup)
            measurer(sizes.warmup)
            append = alternate(
                appender, measurer, rounds=sizes.append_rounds, size=sizes.append_block
            )
            print(f"  {LABELS[backend]}: (a) done, prefilling {sizes.big:,} measurements")

            big_id = new_benefit(app, title="Big benefit")
            small_id = new_benefit(app, title="Small benefit")
            prefill(app, big_id, sizes.big, sizes.batch)
            prefill(app, small_id, sizes.small, sizes.batch)
            big, small = Measurer(app, big_id, "big"), Measurer(app, small_id, "small")
            small(warm)
            big(warm)
            scale = alternate(small, big, rounds=sizes.scale_rounds, size=sizes.scale_block)
            print(f"  {LABELS[backend]}: (b) done")
        finally:
            app.close()
            raw.close()
    return Result(backend, append, scale, sizes.big + warm, sizes.small + warm)


def rows(results: list[Result]) -> list[list[str]]:
    """Table rows: two per backend."""
    out = []
    for r in results:
        label = LABELS[r.backend]
        raw_rate = 1 / r.append.median("first")
        ours_rate = 1 / r.append.median("second")
        out.append(
            [
                label,
                "(a) append: raw events/s vs `record_measurement`/s",
                f"{raw_rate:,.0f} events/s",
                f"{ours_rate:,.0f} measurements/s",
                f"{r.append_ratio:.2f}",
                f">= {APPEND_TARGET}",
                verdict(r.append_ratio >= APPEND_TARGET),
            ]
        )
        out.append(
            [
                label,
                f"(b) scale: {r.small:,} vs {r.big:,} earlier measurements",
                f"{r.scale.median('first') * 1000:.2f} ms/measurement",
                f"{r.scale.median('second') * 1000:.2f} ms/measurement",
                f"{r.scale_ratio:.2f}",
                f"<= {SCALE_TARGET}",
                verdict(r.scale_ratio <= SCALE_TARGET),
            ]
        )
    return out


HEADER = ["Backend", "Benchmark", "Baseline", "valuetrail", "Ratio", "Target", "Result"]


def report(results: list[Result], sizes: Sizes, pg_version: str, loads: tuple[str, str]) -> str:
    """The markdown section: table, machine and method."""
    table = markdown_table(HEADER, rows(results))
    n_append = sizes.append_rounds * sizes.append_block
    n_scale = sizes.scale_rounds * sizes.scale_block
    return "\n".join(
        [
            f"Measured {now_utc()} on {nproc()} CPUs ({cpu_model()}), "
            f"Python {sys.version.split()[0]}, {pg_version}; {versions()}. "
            f"Load average (1 min) {loads[0]} at start, {loads[1]} at end.",
            "",
            table,
            "",
            f"(a) {n_append:,} raw events and {n_append:,} measurements per backend in "
            f"{sizes.append_rounds} alternating blocks of {sizes.append_block}, after "
            f"{sizes.warmup} warm-up operations each; the ratio is the median of the per-block "
            "ratios, the rates are medians of the blocks.",
            f"(b) {n_scale:,} measurements on each benefit in {sizes.scale_rounds} alternating "
            f"blocks of {sizes.scale_block} (one snapshot interval, so both sides average the "
            "same events-since-snapshot), after prefilling with `record_measurements` batches "
            f"of {sizes.batch}; ratio = median of the per-block ratios. "
            f"Targets: (a) ratio >= {APPEND_TARGET} on each backend, (b) ratio <= {SCALE_TARGET}.",
        ]
    )


def profile(backend: str, count: int) -> None:
    """Print where `record_measurement` spends its time (cProfile, cumulative and own time)."""
    with stores(backend) as (url, _):
        app = ValuetrailApplication(env=store_env(url, create_tables=True))
        try:
            measurer = Measurer(app, new_benefit(app), "profile")
            measurer(100)
            profiler = cProfile.Profile()
            profiler.enable()
            measurer(count)
            profiler.disable()
        finally:
            app.close()
    print(f"\n## {LABELS[backend]}: cProfile of {count} record_measurement calls\n")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    print(f"## {LABELS[backend]}: where one record_measurement goes (cumulative, per call)\n")
    print(summary(stats, count))


#: Functions worth naming in the profile summary: (file fragment, function name).
HOT_SPOTS = (
    ("domain/", ""),
    ("eventsourcing/application.py", "_reconstruct_aggregate"),
    ("eventsourcing/application.py", "project_aggregate"),
    ("eventsourcing/application.py", "take_snapshot"),
    ("eventsourcing/persistence.py", "to_domain_event"),
    ("eventsourcing/sqlite.py", "select_events"),
    ("eventsourcing/sqlite.py", "insert_events"),
    ("eventsourcing/sqlite.py", "max_notification_id"),
    ("eventsourcing/postgres.py", "select_events"),
    ("eventsourcing/postgres.py", "insert_events"),
    ("eventsourcing/postgres.py", "max_notification_id"),
    ("typing.py", "__instancecheck__"),
    ("copy.py", "deepcopy"),
)


def _short(path: str) -> str:
    """A source path relative to site-packages, the project, or the standard library."""
    if "site-packages/" in path:
        return path.split("site-packages/")[-1]
    project = str(PERFORMANCE_MD.parents[1]) + "/"
    return path.removeprefix(project) if path.startswith(project) else Path(path).name


def summary(stats: pstats.Stats, count: int) -> str:
    """A table of the hot spots: calls and cumulative ms per measurement, share of the total."""
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    entries = getattr(stats, "stats", {})
    total = float(getattr(stats, "total_tt", 0.0)) or 1.0
    lines = []
    for (path, line, name), (_, calls, _, cumulative, _) in entries.items():
        if any(part in path and name.endswith(func) for part, func in HOT_SPOTS):
            lines.append((cumulative, f"{_short(path)}:{line}({name})", calls))
    lines.sort(reverse=True)
    rows = [
        [where, f"{calls / count:.1f}", f"{cum / count * 1000:.2f}", f"{cum / total:.0%}"]
        for cum, where, calls in lines[:25]
    ]
    return markdown_table(["function", "calls/measurement", "ms/measurement", "share"], rows)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print (and optionally write) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run (< 60 s), smaller sizes")
    parser.add_argument(
        "--write", action="store_true", help="replace the store section of docs/PERFORMANCE.md"
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile record_measurement instead of timing"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.write and (args.quick or args.backend != "both"):
        parser.error("--write needs a full run on both backends (no --quick, --backend both)")
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    if args.profile:
        for backend in backends:
            profile(backend, 100 if args.quick else 500)
        return 0

    sizes = QUICK if args.quick else FULL
    pg_version = postgres_version() if "postgres" in backends else "PostgreSQL not used"
    start_load = load_average()
    results = []
    for backend in backends:
        print(f"running on {LABELS[backend]} ...", flush=True)
        results.append(run_backend(backend, sizes))
    section = report(results, sizes, pg_version, (start_load, load_average()))
    print()
    print(section)
    if args.write:
        replace_section(PERFORMANCE_MD, "store", section)
        print(f"\nwrote {PERFORMANCE_MD.relative_to(PERFORMANCE_MD.parents[1])}")
    missed = any(r.append_ratio < APPEND_TARGET or r.scale_ratio > SCALE_TARGET for r in results)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
