"""The event store benchmark's figures and its markdown section: table, machine and method."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from benchmarks._common import Paired, markdown_table, measured_on, verdict
from benchmarks.store_parts.workloads import LABELS, Sizes

APPEND_TARGET = 0.5  # (a) valuetrail measurements/s over raw events/s, at least
SCALE_TARGET = 1.3  # (b) time per measurement with 10,000 earlier over with 10, at most


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
            f"{measured_on(pg_version)}. "
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
