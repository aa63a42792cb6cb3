"""Projections benchmark: rebuild, value as of, audit verify and projection lag, on PostgreSQL.

In a fresh PostgreSQL database (`valuetrail_bench_<hex>`, dropped afterwards) this writes a log
of 200,000 events through the application's use cases: one portfolio of 500 initiatives and
2,000 benefits with three years of monthly measurements (72,000, each with its receipt), cost
and benefit forecasts and their revisions, quarterly spend and board decisions, month after
month; then a second portfolio's daily operational measurements to reach the log size. Then:

(a) rebuild: `Projector.rebuild()` of each view alone, then every view as `valuetrail
    projections rebuild` does (`rebuild_in_processes`: one pass over the log per process, the
    views shared among two processes) → events/s per view and for all of them. Target >= 10,000
    events/s.
(b) value as of: `portfolio_value` of the big portfolio at random instants of its history
    → p50/p95 latency. Target p95 <= 300 ms.
(c) audit verify: `verify_store` over the whole sealed log → events/s. Target >= 100,000.
(d) projection lag: a writer posting `record_measurement` at a steady 200/s while the projector
    process (`python -m projections`) runs; for each measurement, the time from its event's
    timestamp to the first moment the measurement series view's tracking position includes it
    → p50/p99. Target p99 <= 1 s.

Each figure stands beside the raw log-read rate measured in the same run: eventsourcing's
`recorder.select_notifications` reading the whole log in pages of 1,000 (no decoding), in
alternating blocks (ABBA) with (a) and (c).

    python benchmarks/projections.py            # full run, about 5 minutes
    python benchmarks/projections.py --quick    # smoke run (20,000 events), about a minute
    python benchmarks/projections.py --write    # full run, then update docs/PERFORMANCE.md
    python benchmarks/projections.py --profile  # also cProfile the value view (b)
    python benchmarks/projections.py --only rebuild  # write the log, then (a) only
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    PERFORMANCE_MD,
    load_average,
    postgres_database,
    postgres_version,
    replace_section,
)
from benchmarks.projection_parts.generator import Generator
from benchmarks.projection_parts.history import FULL, QUICK, Sizes, event_mix
from benchmarks.projection_parts.lag import measure_lag
from benchmarks.projection_parts.log_passes import rebuild_all, verify_rounds
from benchmarks.projection_parts.report import report, table_rows
from benchmarks.projection_parts.results import Run
from benchmarks.projection_parts.value_as_of import profile_value, value_calls_in_a_fresh_process
from domain.application import ValuetrailApplication
from persistence import store_env
from projections.process import open_store


def run(sizes: Sizes, *, profile: bool, only_rebuild: bool = False) -> Run:
    """Generate the log, then (a), (c), (b) and (d) (or (a) only), in one fresh PostgreSQL
    database."""
    started = time.perf_counter()
    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="vt_bench_") as tmp:
        folder = Path(tmp)
        key_path = str(folder / "audit_signing_key.pem")
        writer = ValuetrailApplication(env=store_env(url, create_tables=True))
        try:
            print(f"  writing a log of {sizes.events:,} events ...", flush=True)
            history = Generator(writer, sizes).run()
            print(f"  written in {history.seconds:.0f} s", flush=True)
            mix = event_mix(writer, url)
        finally:
            writer.close()
        result = Run(sizes, history, mix)
        app = open_store(url)  # the projector's application: what a rebuild runs with
        try:
            result.rebuilt = rebuild_all(app, url, key_path)
            if only_rebuild:
                result.seconds = time.perf_counter() - started
                return result
            result.verified = verify_rounds(app, url, key_path, sizes.raw_rounds, history.head)
            print("  (c) done", flush=True)
            result.value = value_calls_in_a_fresh_process(url, history, sizes.value_calls)
            print("  (b) done", flush=True)
            if profile:
                result.profile = profile_value(url, history)
        finally:
            app.close()
        result.lag = measure_lag(url, key_path, history, sizes, folder)
        print("  (d) done", flush=True)
    result.seconds = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print (and optionally write) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run (20,000 events)")
    parser.add_argument(
        "--write", action="store_true", help="replace the projections section of PERFORMANCE.md"
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile the value view")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--only", choices=["rebuild"], help="after writing the log, run (a) and nothing else"
    )
    args = parser.parse_args(argv)
    if args.write and (args.quick or args.only):
        parser.error("--write needs a full run (no --quick, no --only)")
    sizes = QUICK if args.quick else FULL
    pg_version = postgres_version()
    start_load = load_average()
    print(f"running on PostgreSQL ({'quick' if args.quick else 'full'}) ...", flush=True)
    result = run(sizes, profile=args.profile, only_rebuild=args.only == "rebuild")
    section = report(result, pg_version, (start_load, load_average()))
    print()
    print(section)
    if result.profile:
        print("\n## cProfile of one value view call (as of the end of the history)\n")
        print(result.profile)
    if args.write:
        replace_section(PERFORMANCE_MD, "projections", section)
        print(f"\nwrote {PERFORMANCE_MD.relative_to(PERFORMANCE_MD.parents[1])}")
    missed = any(row[-1] == "MISS" for row in table_rows(result))
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
