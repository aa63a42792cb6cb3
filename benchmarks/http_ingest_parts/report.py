"""The ingest benchmark's markdown section: the table, the machine and the method."""

from __future__ import annotations

import subprocess

from benchmarks._common import ROOT, markdown_table, measured_on, verdict
from benchmarks._http import WORKERS
from benchmarks.http_ingest_parts.posts import BATCH, BENEFITS, Tally
from benchmarks.http_ingest_parts.run import Result, Sizes

SINGLE_TARGET = 0.4  # (a) HTTP measurements/s over raw events/s (one per transaction), at least
BATCH_TARGET = 0.3  # (b) HTTP measurements/s over raw events/s (1,000 per transaction), at least


def _ms(seconds: float) -> str:
    return f"{seconds:,.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def _failures(tally: Tally) -> str:
    if not tally.failed:
        return "none"
    codes = ", ".join(f"{n} x {s}" for s, n in sorted(tally.statuses.items()) if s != 201)
    return f"**{codes}**"


def header(connections: int) -> list[str]:
    """The table's column names."""
    return [
        "Benchmark",
        f"Raw store ({connections} threads)",
        f"HTTP ({connections} connections)",
        "HTTP p50 / p99",
        "Non-201",
        "Ratio",
        "Target",
        "Result",
    ]


def _ratio(ratio: float, target: float) -> str:
    # Two decimals, unless that would print a miss as the target itself (0.399 as "0.40").
    text = f"{ratio:.2f}"
    return f"{ratio:.3f}" if text == f"{target:.2f}" else text


def rows(r: Result) -> list[list[str]]:
    """The two table rows."""
    return [
        [
            "(a) single: 1 event per transaction vs `POST /benefits/{id}/measurements`",
            f"{1 / r.single.median('first'):,.0f} events/s",
            f"{1 / r.single.median('second'):,.0f} measurements/s",
            f"{_ms(r.single_tally.percentile(50))} / {_ms(r.single_tally.percentile(99))}",
            _failures(r.single_tally),
            _ratio(r.single_ratio, SINGLE_TARGET),
            f">= {SINGLE_TARGET}",
            verdict(r.single_ratio >= SINGLE_TARGET and not r.single_tally.failed),
        ],
        [
            "(b) batch: 1,000 events per transaction vs `POST /measurements/batch` of 1,000",
            f"{BATCH / r.batch.median('first'):,.0f} events/s",
            f"{BATCH / r.batch.median('second'):,.0f} measurements/s",
            f"{_ms(r.batch_tally.percentile(50))} / {_ms(r.batch_tally.percentile(99))}",
            _failures(r.batch_tally),
            _ratio(r.batch_ratio, BATCH_TARGET),
            f">= {BATCH_TARGET}",
            verdict(r.batch_ratio >= BATCH_TARGET and not r.batch_tally.failed),
        ],
    ]


def revision() -> str:
    """The commit the code under test is at (`-dirty` with uncommitted changes)."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def report(r: Result, sizes: Sizes, pg_version: str, loads: tuple[str, str]) -> str:
    """The markdown section: table, machine and method."""
    n_single = sizes.single_rounds * sizes.single_block
    n_batch = sizes.batch_rounds * sizes.batch_block
    return "\n".join(
        [
            f"{measured_on(pg_version)}; gunicorn "
            f"{WORKERS} workers (gthread); code at `{revision()}`. Load average (1 min) "
            f"{loads[0]} at start, {loads[1]} at end; the whole run took {r.seconds:.0f} s.",
            "",
            markdown_table(header(r.connections), rows(r)),
            "",
            f"(a) {n_single:,} raw appends and {n_single:,} single POSTs in "
            f"{sizes.single_rounds} alternating blocks of {sizes.single_block}, after "
            f"{sizes.warmup} warm-up operations each; every POST has a new external_id, "
            f"round-robin over {BENEFITS} benefits.",
            f"(b) {n_batch} raw saves of {BATCH:,} new aggregates and {n_batch} batch POSTs of "
            f"{BATCH:,} items ({BATCH // BENEFITS} per benefit, all {BENEFITS} benefits in every "
            f"request) in {sizes.batch_rounds} alternating blocks of {sizes.batch_block}.",
            "Rates are medians of the blocks; each ratio is the median of the per-block ratios "
            "(HTTP rate over raw rate). Latencies are client-side, over every timed request. "
            "A row with non-201 answers is a MISS whatever its ratio.",
        ]
    )
