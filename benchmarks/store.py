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
import sys
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.application import Application

from benchmarks._common import (
    PERFORMANCE_MD,
    alternate,
    library_env,
    load_average,
    new_benefit,
    postgres_version,
    replace_section,
)
from benchmarks.store_parts.profiling import profile
from benchmarks.store_parts.report import APPEND_TARGET, SCALE_TARGET, Result, report
from benchmarks.store_parts.workloads import (
    BACKENDS,
    FULL,
    LABELS,
    QUICK,
    Measurer,
    RawAppender,
    Sizes,
    prefill,
    stores,
)
from domain.application import ValuetrailApplication
from persistence import store_env


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
