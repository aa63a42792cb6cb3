"""The projections benchmark's markdown section: table, machine, method and findings."""

from __future__ import annotations

import math
import statistics
from collections import Counter

from benchmarks._common import markdown_table, measured_on, percentile, verdict
from benchmarks.projection_parts.lag import WRITERS
from benchmarks.projection_parts.log_passes import RAW_PAGE
from benchmarks.projection_parts.results import ALL_VIEWS, Run

REBUILD_TARGET = 10_000  # (a) events/s over every view, at least
VALUE_TARGET = 0.300  # (b) p95 seconds, at most
VERIFY_TARGET = 100_000  # (c) events/s, at least
LAG_TARGET = 1.0  # (d) p99 seconds, at most

HEADER = ["Benchmark", "Raw log read", "valuetrail", "vs raw", "Target", "Result"]
RUN_LINE = (
    "`.venv/bin/python benchmarks/projections.py --write` (4-5 minutes; `--quick` is a "
    "20,000-event smoke run under a minute, `--profile` adds a cProfile of one value view call) "
    "wrote what follows."
)

#: What profiling found (cProfile, `--profile` and per-view rebuild profiles of 2026-11-26, on
#: this benchmark's log); kept with the figures because it says what the misses need.
FINDINGS = """\
Where the time goes (cProfile on this log, 2026-11-26), and what would fix the misses:

- **(a) Every view in one pass, read once and decoded once.** Before, `valuetrail projections
  rebuild` ran the views one after another and each read and decoded the whole log (under
  4,000 events/s for all four; `mapper.to_domain_event` was 63 % of `decision_trail`'s
  rebuild, which uses 2 of the 12 topics). Now: (1) a view declares its topics and, alone,
  reads only those (filtered in SQL, the page ending at the log's head as read before it, so
  no event committed meanwhile is passed over), still tracking the whole range and counting
  the events it went past; on PostgreSQL a page is one SELECT in the binary format
  (`ViewDatabase.notifications`, twice the rate of the recorder's dictionary rows);
  (2) `rebuild_views` rebuilds several views in one pass: each page is read once, events are
  decoded lazily (`Envelope.event`) and at most once, and each view applies the page's events
  of its topics and its position in a transaction of its own; the sealer decodes nothing (it
  hashes the stored record and reads the timestamp from the stored JSON), so the 93,000
  receipts are never decoded; (3) the command shares the views among two processes on
  PostgreSQL when the log holds 100,000 events or more (`portfolio_value`, about half the
  work, in its own, the others in a second one it starts): in alternating runs on this shared
  machine 6-30 % less time than one process (11-13 s against 15-16 s for all four views at a
  load of 1.6), though about 15 % more CPU in all (each process reads the log, and both decode
  the measurements), so on a saturated machine `--processes 1` can be faster; (4) rows go in
  with one COPY per table and batch, a batch of `portfolio_value` versions supersedes its own
  versions in memory (one pipelined UPDATE per aggregate already in the table), and a rebuild
  empties the tables with TRUNCATE (a DELETE left every old row as a dead tuple and, without a
  vacuum, made the next rebuild's lookups slower by the size of the old table). Where the
  one-pass time goes now (cProfile, one process): `portfolio_value` 55 % (decoding its 103,000
  events 17 %, folding them 8 %, summing actuals for `vt_measured` 10 %, its state versions
  7 %), the sealer 19 %, reading the log 11 % (before the binary read), `measurement_series`
  8 %; COPY is 13 % across the views.
- **(b) The projection does the valuation work once; a read takes a row per benefit.** First
  measured at p95 956 ms: a call folded all 72,000 measurements (PostgreSQL's
  `ORDER BY observed_on, position` spilled to disk at the default 4 MB `work_mem`) and valued
  every benefit's 48-month forecast three times (per initiative, for the goals, for the
  unattributed total: 6,800 `present_value` calls). Summing the actuals in SQL per read was
  tried next (p95 about 600 ms: the database still sorts and aggregates every measurement on
  each call). Now each benefit version in `vt_state` carries its forecast's PV and running
  monthly totals under the portfolio's terms, and `vt_measured` holds each benefit's actuals
  summed after every change (`domain.valuation.measured`), read with one index probe per
  benefit (`LATERAL` on PostgreSQL); the valuation rules share one `BenefitMoney` per benefit
  and call; each initiative version carries its cost forecast's PV too. Forecasts are stored
  as `month amount ...` text, which JSON parses far faster than an object per month. A
  process keeps the versions it has decoded (a version's row never changes) as flat tuples,
  so a read decodes only versions it has not seen: the first calls at instants of a new part
  of the history take 250-300 ms on this machine, later ones 100-200 ms. Kept as decoded
  dicts with their derived objects, the cache held 80,000 objects that Python's garbage
  collector walked on each full pass (50-100 ms pauses); as tuples it holds a few thousand.
  For the same reason the calls run in a process of their own: the benchmark's own process
  holds the generator's and the rebuild's objects by then, an API worker does not (in it the
  same calls gave p95 317-331 ms). What is left is the rules and rounding for 2,000 benefits
  and 500 initiatives (about two thirds) and the reads.
- **(c)** `verify_store` now reads the log with `ViewDatabase.event_rows` (one SELECT per page
  of 5,000 in PostgreSQL's binary format, no Notification objects): it went from
  80,000-100,000 events/s (through `select_notifications`) to the figure above; the SHA-256
  chain itself is about 40 % of what is left.
- **(d)** The series view keeps up with 200 measurements/s with a p99 far below the target,
  although the projector was started just before the run (its `portfolio_value` thread loads
  each benefit from the store the first time it sees it)."""


def rate(events: int, seconds: float) -> str:
    """events/s, grouped."""
    return f"{events / seconds:,.0f} events/s"


def table_rows(r: Run) -> list[list[str]]:
    """One row per view rebuilt, all views, value, verify and lag."""
    rows = []
    for b in r.rebuilt:
        ours, raw = b.events / b.seconds, b.events / b.raw_seconds
        passes = "one pass" if b.processes == 1 else f"{b.processes} processes, a pass each"
        label = (
            f"(a) rebuild all {len(r.rebuilt) - 1} views ({passes})"
            if b.view == ALL_VIEWS
            else f"(a) rebuild `{b.view}`"
        )
        rows.append(
            [
                label,
                rate(b.events, b.raw_seconds),
                f"{ours:,.0f} events/s ({b.seconds:.1f} s)",
                f"{ours / raw:.2f}",
                f">= {REBUILD_TARGET:,}",
                verdict(ours >= REBUILD_TARGET),
            ]
        )
    if r.value is not None:
        v = r.value
        p50, p95 = statistics.median(v.seconds), percentile(v.seconds, 95)
        shares = [s / (c / r.raw_rate) for s, c in zip(v.seconds, v.covered, strict=True) if c]
        rows.append(
            [
                f"(b) value as of a past instant ({v.initiatives} initiatives, "
                f"{v.benefits:,} benefits, up to {v.measurements:,} measurements)",
                f"{r.raw_rate:,.0f} events/s",
                f"p50 {p50 * 1000:.0f} ms / p95 {p95 * 1000:.0f} ms ({len(v.seconds)} calls)",
                f"{statistics.median(shares):.2f}",
                f"p95 <= {VALUE_TARGET * 1000:.0f} ms",
                verdict(p95 <= VALUE_TARGET),
            ]
        )
    if r.verified is not None:
        c = r.verified
        verify_rates = [c.events / s for s in c.seconds]
        ratios = [s_raw / s for s, s_raw in zip(c.seconds, c.raw_seconds, strict=True)]
        rows.append(
            [
                f"(c) audit verify (`verify_store`, {c.events:,} events)",
                f"{statistics.median(c.events / s for s in c.raw_seconds):,.0f} events/s",
                f"{statistics.median(verify_rates):,.0f} events/s",
                f"{statistics.median(ratios):.2f}",
                f">= {VERIFY_TARGET:,}",
                verdict(statistics.median(verify_rates) >= VERIFY_TARGET),
            ]
        )
    if r.lag is not None:
        lag = r.lag
        ok = bool(lag.lags) and not lag.unseen
        p99 = percentile(lag.lags, 99) if lag.lags else math.inf
        rows.append(
            [
                f"(d) projection lag at {lag.rate:,.0f} measurements/s for {lag.seconds:.0f} s "
                f"(series view)",
                f"{r.raw_rate:,.0f} events/s",
                f"p50 {statistics.median(lag.lags) * 1000:.0f} ms / p99 {p99 * 1000:.0f} ms "
                f"(max {max(lag.lags) * 1000:.0f} ms; {len(lag.lags):,} measurements"
                + (f", {lag.unseen} never seen" if lag.unseen else "")
                + ")",
                "n/a",
                f"p99 <= {LAG_TARGET * 1000:.0f} ms",
                verdict(ok and p99 <= LAG_TARGET and lag.rate >= 0.95 * r.sizes.lag_rate),
            ]
        )
    return rows


def mix_text(mix: Counter[str]) -> str:
    """The log's events by topic, largest first, with shares."""
    total = sum(mix.values())
    parts = [f"{topic} {count:,} ({count / total:.1%})" for topic, count in mix.most_common()]
    return "; ".join(parts)


def report(r: Run, pg_version: str, loads: tuple[str, str]) -> str:
    """The markdown section: machine, table, method and the log's make-up."""
    s, h = r.sizes, r.history
    calls = ", ".join(f"{name} {count:,}" for name, count in h.calls.most_common())
    return "\n".join(
        [
            RUN_LINE,
            "",
            f"{measured_on(pg_version)}. "
            f"Load average (1 min) {loads[0]} at start, {loads[1]} at end; the run took "
            f"{r.seconds:.0f} s, {h.seconds:.0f} s of it writing the log.",
            "",
            markdown_table(HEADER, table_rows(r)),
            "",
            f"The log: {h.head:,} events written through the use cases in {h.seconds:.0f} s. "
            f"A portfolio of {s.initiatives} initiatives and {s.benefits:,} benefits (four "
            "archetypes in turn: cashable GBP flow, non-cashable hours with a unit value, "
            "quantitative level, qualitative score; every tenth shared by two initiatives, "
            "every twentieth a dis-benefit) with "
            f"{s.months} months of measurements, month by month: every benefit measured each "
            f"month in `record_measurements` batches of {s.batch:,} with external ids (so a "
            "receipt per measurement), spend each quarter for every active initiative, a "
            "benefit forecast revision per benefit a year in the second and third years, cost "
            "re-plans, invest / continue / stop decisions; then a second portfolio's daily "
            f"operational measurements up to {s.events:,} events. Calls: {calls}. "
            f"Events by topic: {mix_text(r.mix)}.",
            "",
            "Raw log read: `app.recorder.select_notifications` over the whole log in pages of "
            f"{RAW_PAGE:,} (rows fetched and wrapped in Notifications, not decoded), run "
            "alternately (ABBA) with each rebuild and with each `verify_store`; rows (b) and "
            "(d) show the median of all raw reads. "
            "(a) `Projector.rebuild()` (batches of 2,000) of each view alone, reading only its "
            "topics, then every view as `valuetrail projections rebuild` does: each page of the "
            "log read once per process and each event decoded once, the views shared among "
            "processes (`portfolio_value` in one, the others in the other); vs raw = rebuild "
            "rate over the paired raw rate. "
            "(b) `portfolio_value` of the big portfolio at "
            f"{s.value_calls} instants drawn uniformly from its recording window (after two "
            "warm-up calls), in a process of its own as an API worker serves it; vs raw = "
            "median over calls of the latency over the time a raw "
            "read of the log up to that instant takes. (c) `verify_store` recomputing the "
            f"chain over the whole sealed log; {s.raw_rounds} alternating rounds; vs raw = "
            "median per-round rate ratio. (d) `python -m projections` running every view, the "
            f"writer calling `record_measurement` at {s.lag_rate}/s round-robin over the "
            "portfolio's benefits for "
            f"{s.lag_seconds:.0f} s after a 2 s warm-up; lag = first time a 5 ms poll of the "
            "measurement series view's tracking position covered the write's log position, "
            "minus the event's timestamp (taken before the write's transaction, so the lag "
            "includes the commit). The writer's aggregate cache is warmed first (as a running "
            f"API worker's is), and {WRITERS} threads share the schedule so that one slow write "
            "does not stall the rate.",
            "",
            FINDINGS,
        ]
    )
