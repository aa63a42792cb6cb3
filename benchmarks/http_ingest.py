"""HTTP ingest benchmark: measurements through a real gunicorn against the raw eventsourcing store.

On a fresh PostgreSQL database (`valuetrail_bench_<hex>`, dropped afterwards) this starts
`valuetrail serve` with 2 workers, creates 100 benefits over HTTP, and drives it from a loopback
client with 8 concurrent keep-alive connections (8 threads, one `http.client` connection each):

(a) single: `POST /api/v1/benefits/{id}/measurements`, each with a unique external_id, spread over
    the 100 benefits → measurements/s, p50/p99 latency. Baseline: a plain eventsourcing
    `Application` on the same database appending one small event per transaction from 8 threads
    (one aggregate each) → events/s. Target: ratio >= 0.4.
(b) batch: `POST /api/v1/measurements/batch` with 1,000 items over the 100 benefits
    → measurements/s, p50/p99 per request. Baseline: `app.save(*aggregates)` of 1,000 new
    aggregates (1,000 events in one transaction), also from 8 threads → events/s.
    Target: ratio >= 0.3.

Baseline and HTTP run in alternating blocks (ABBA); each ratio is the median of per-round ratios.

    python benchmarks/http_ingest.py            # full run, about 1.5-3 minutes
    python benchmarks/http_ingest.py --quick    # smoke run, under a minute
    python benchmarks/http_ingest.py --write    # full run, then update docs/PERFORMANCE.md
    python benchmarks/http_ingest.py --profile  # cProfile the same request mix in-process
    python benchmarks/http_ingest.py --profile --profile-dump DIR  # also save DIR/*.prof
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import PERFORMANCE_MD, load_average, postgres_version, replace_section
from benchmarks.http_ingest_parts.profiling import profile
from benchmarks.http_ingest_parts.report import BATCH_TARGET, SINGLE_TARGET, report
from benchmarks.http_ingest_parts.run import CONNECTIONS, FULL, QUICK, run


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print (and optionally write) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run (< 60 s), smaller sizes")
    parser.add_argument(
        "--write", action="store_true", help="replace the http section of docs/PERFORMANCE.md"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the request mix in-process instead"
    )
    parser.add_argument(
        "--profile-dump",
        type=Path,
        metavar="DIR",
        help="with --profile: also save the stats as DIR/single.prof and DIR/batch.prof",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        help=f"client connections and raw-store threads (default {CONNECTIONS}; for diagnosis)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.write and (args.quick or args.connections != CONNECTIONS):
        parser.error(f"--write needs a full run (no --quick, {CONNECTIONS} connections)")
    if args.profile:
        profile(100 if args.quick else 500, 2 if args.quick else 5, args.profile_dump)
        return 0

    sizes = QUICK if args.quick else FULL
    pg_version = postgres_version()
    start_load = load_average()
    print("running HTTP ingest against PostgreSQL ...", flush=True)
    result = run(sizes, args.connections)
    section = report(result, sizes, pg_version, (start_load, load_average()))
    for name, paired in (("single", result.single), ("batch", result.batch)):
        print(f"  per-block ratios, {name}: " + ", ".join(f"{1 / x:.2f}" for x in paired.ratios))
    print()
    print(section)
    if args.write:
        replace_section(PERFORMANCE_MD, "http", section)
        print(f"\nwrote {PERFORMANCE_MD.relative_to(PERFORMANCE_MD.parents[1])}")
    missed = (
        result.single_ratio < SINGLE_TARGET
        or result.batch_ratio < BATCH_TARGET
        or bool(result.single_tally.failed or result.batch_tally.failed)
    )
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
