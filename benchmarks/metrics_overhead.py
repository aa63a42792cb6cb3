"""Metrics overhead: request throughput of the same API with Prometheus metrics on and off.

On a fresh PostgreSQL database (`valuetrail_bench_<hex>`, dropped afterwards) this runs two
`valuetrail api` servers side by side, 2 gunicorn workers each, identical except that one has
VALUETRAIL_METRICS=0. A loopback client with 8 concurrent keep-alive connections drives each in
alternating blocks (ABBA), so drift hits both alike:

- healthz: `GET /healthz`, no database: the worst case, metrics' share of the cheapest request.
- read:    `GET /api/v1/portfolios/{id}` with a bearer token (authentication and a load).
- write:   `POST /api/v1/benefits/{id}/measurements`, each with a new external_id.

Overhead = time per request with metrics over time per request without, minus 1 (median of the
per-round ratios). Target: <= 10 % on each workload. Access logs are on for both servers.

    python benchmarks/metrics_overhead.py            # full run, about 2 minutes
    python benchmarks/metrics_overhead.py --quick    # smoke run, under a minute
    python benchmarks/metrics_overhead.py --write    # full run, then update docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import timeit
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    PERFORMANCE_MD,
    ROOT,
    load_average,
    measured_on,
    postgres_database,
    postgres_version,
    replace_section,
)
from benchmarks._http import WORKERS, Client, valuetrail_command
from benchmarks.metrics_overhead_parts.blocks import (
    CONNECTIONS,
    FULL,
    QUICK,
    Row,
    Sizes,
    measure,
    workloads,
)
from benchmarks.metrics_overhead_parts.report import report
from benchmarks.metrics_overhead_parts.servers import counted, env_for, serving, set_up
from service.logs import route_template
from service.metrics import instruments


def bookkeeping_microseconds(repeat: int = 7, number: int = 20000) -> float:
    """CPU time metrics add to one request in a worker, measured in-process (no network noise).

    The same calls the request middleware makes (in-flight up and down, the counter, the
    histogram) on file-backed multiprocess values, plus the route template; best of `repeat`.
    """
    with tempfile.TemporaryDirectory(prefix="vt_bench_mp_") as folder:
        saved = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            metrics = instruments()  # made now, so on file-backed values

            def one() -> None:
                route = route_template("/api/v1/portfolios/<uuid:portfolio_id>")
                metrics.in_flight.inc()
                metrics.in_flight.dec()
                metrics.requests.labels("GET", route, "200").inc()
                metrics.duration.labels("GET", route).observe(0.004)

            best = min(timeit.repeat(one, number=number, repeat=repeat))
        finally:
            if saved is None:
                del os.environ["PROMETHEUS_MULTIPROC_DIR"]
            else:
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
    return best / number * 1e6


def run(sizes: Sizes) -> tuple[list[Row], str]:
    """Measure every workload; the rows and a description of the run."""
    started = time.monotonic()
    load_start = load_average()
    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="vt_bench_m_") as home:
        subprocess.run(
            valuetrail_command("db", "init"),
            cwd=home,
            env=env_for(url, home),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with ExitStack() as stack:
            on = stack.enter_context(serving(url, home, metrics=True))
            off = stack.enter_context(serving(url, home, metrics=False))
            if Client(off.port).request("GET", "/metrics")[0] != 404:
                raise SystemExit("the metrics-off server still serves /metrics")
            portfolio_id, benefit_id = set_up(on.port)
            rows = []
            before = counted(on)
            sent = 0
            for name, make in workloads(portfolio_id, benefit_id).items():
                rows.append(measure(name, off, on, make, sizes))
                sent += sizes.warmup + sizes.rounds * sizes.blocks[name]
                print(
                    f"{name}: CPU {rows[-1].ratio('cpu') - 1:+.1%}, "
                    f"wall {rows[-1].ratio('wall') - 1:+.1%}",
                    file=sys.stderr,
                    flush=True,
                )
            if counted(on) - before < sent:
                raise SystemExit("the metrics-on server did not count every request")
    cost = bookkeeping_microseconds()
    elapsed = time.monotonic() - started
    header = (
        f"{measured_on(postgres_version())}; gunicorn {WORKERS} "
        f"workers (gthread) per server, {CONNECTIONS} client connections. Load average (1 min) "
        f"{load_start} at start, {load_average()} at end; the run took {elapsed:.0f} s."
    )
    return rows, f"{header}\n\n" + (
        f"In-process, the metrics' bookkeeping costs {cost:.1f} µs of CPU per request (in-flight "
        "gauge up and down, counter, histogram, on file-backed multiprocess values, and the route "
        "template), best of 7 runs of 20,000."
    )


def main() -> None:
    """Run the benchmark; print (and with --write, record) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller blocks, fewer rounds")
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    rows, header = run(sizes)
    text = report(rows, header, sizes)
    print(text)
    if args.write:
        replace_section(PERFORMANCE_MD, "metrics", text)
        print(f"updated {PERFORMANCE_MD.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
