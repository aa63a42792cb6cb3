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
import bisect
import cProfile
import functools
import io
import math
import multiprocessing
import os
import pstats
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    PERFORMANCE_MD,
    ROOT,
    cpu_model,
    load_average,
    markdown_table,
    now_utc,
    nproc,
    postgres_database,
    postgres_version,
    replace_section,
    verdict,
    versions,
)
from domain.application import ValuetrailApplication
from domain.values import Meta
from persistence import store_env
from projections.audit.heads import load_or_create_signing_key
from projections.audit_chain.reads import verify_store
from projections.catalog import audit_views, build_projectors
from projections.db import ViewDatabase
from projections.log import events_table
from projections.portfolio_value.value import portfolio_value
from projections.process import open_store
from projections.rebuild import processes_for, rebuild_in_processes
from projections.view import tracked_position

REBUILD_TARGET = 10_000  # (a) events/s over every view, at least
VALUE_TARGET = 0.300  # (b) p95 seconds, at most
VERIFY_TARGET = 100_000  # (c) events/s, at least
LAG_TARGET = 1.0  # (d) p99 seconds, at most
RAW_PAGE = 1000  # the baseline reads the log in pages of this many events
SERIES_VIEW = "measurement_series"
WRITERS = 4  # (d) threads sharing the writer's schedule
GENERATOR_THREADS = 3  # threads writing a month's measurement batches, spend or forecasts

BOARD = Meta(actor="investment-board", request_id="bench-board")
PMO = Meta(actor="pmo", request_id="bench-pmo")
FEED = Meta(actor="finance-feed", request_id="bench-feed")
OPS = Meta(actor="ops-feed", request_id="bench-ops")


@dataclass(frozen=True)
class Sizes:
    """How much work each part does."""

    events: int  # log size the history is topped up to
    initiatives: int  # in the valued portfolio
    benefits: int  # in the valued portfolio (a multiple of `initiatives`)
    months: int  # months of history, each with a measurement of every benefit
    batch: int  # items per record_measurements call
    value_calls: int  # (b) timed calls at random instants
    raw_rounds: int  # (c) alternating rounds of raw read and verify
    lag_seconds: float  # (d) how long the writer runs
    lag_rate: int  # (d) measurements per second


FULL = Sizes(
    events=200_000,
    initiatives=500,
    benefits=2000,
    months=36,
    batch=500,
    value_calls=30,
    raw_rounds=4,
    lag_seconds=30.0,
    lag_rate=200,
)
QUICK = Sizes(
    events=20_000,
    initiatives=50,
    benefits=200,
    months=36,
    batch=100,
    value_calls=10,
    raw_rounds=2,
    lag_seconds=8.0,
    lag_rate=200,
)


# -- the history -------------------------------------------------------------------------------


def month_text(year: int, month: int) -> str:
    """YYYY-MM."""
    return f"{year:04d}-{month:02d}"


def months_back(count: int, today: date) -> list[str]:
    """The `count` months before this one, oldest first."""
    index = today.year * 12 + today.month - 1
    return [month_text(i // 12, i % 12 + 1) for i in range(index - count, index)]


def month_add(month: str, n: int) -> str:
    """`month` plus n months."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + n
    year, zero_based = divmod(index, 12)
    return month_text(year, zero_based + 1)


def day_of(month: str, day: int = 15) -> date:
    """A day of a month."""
    return date(int(month[:4]), int(month[5:]), day)


GOALS = (
    ("Cut cost to serve", "3"),
    ("Faster, simpler services", "2"),
    ("Resilient operations", "2"),
    ("Net zero estate", "1"),
    ("Skilled workforce", "1"),
)
#: (category, measure, monthly forecast scale): the four benefit archetypes, in turn.
ARCHETYPES: tuple[tuple[str, dict[str, Any], int], ...] = (
    ("cashable", {"name": "savings", "unit": "GBP", "kind": "flow"}, 40_000),
    (
        "non_cashable",
        {"name": "staff hours saved", "unit": "hours", "kind": "flow", "value_per_unit": "32"},
        900,
    ),
    (
        "quantitative",
        {
            "name": "processing days",
            "unit": "days",
            "kind": "level",
            "direction": "decrease",
            "value_per_unit": "1500",
        },
        20,
    ),
    ("qualitative", {"name": "satisfaction", "unit": "score", "kind": "level"}, 70),
)


@dataclass
class Planned:
    """A benefit of the valued portfolio and what the generator needs to know to measure it."""

    benefit_id: UUID
    number: int
    scale: Decimal
    kind: str


@dataclass
class History:
    """What the generator wrote: ids, the time window of the valued portfolio, the event mix."""

    portfolio_id: UUID | None = None
    initiatives: list[UUID] = field(default_factory=list)
    benefits: list[Planned] = field(default_factory=list)
    started: datetime | None = None
    finished: datetime | None = None
    calls: Counter[str] = field(default_factory=Counter)
    mix: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    head: int = 0


class Generator:
    """Writes the benchmark's history through the application's use cases, month by month."""

    def __init__(self, app: ValuetrailApplication, sizes: Sizes, seed: int = 7) -> None:
        self.app = app
        self.sizes = sizes
        self.random = random.Random(seed)
        self.months = months_back(sizes.months, datetime.now(UTC).date())
        self.history = History()
        self.status: dict[UUID, str] = {}
        self.goals: list[UUID] = []
        self.lock = threading.Lock()

    def noise(self, spread: float = 0.15) -> Decimal:
        """A factor near 1."""
        return Decimal(str(round(1 + self.random.uniform(-spread, spread), 3)))

    def call(self, *use_case: Any, **kwargs: Any) -> Any:
        """Run a use case (optionally preceded by the name to count it under), counting it."""
        name, func, *args = use_case if isinstance(use_case[0], str) else ("", *use_case)
        with self.lock:
            self.history.calls[name or func.__name__] += 1
        return func(*args, **kwargs)

    def later(self, *use_case: Any, **kwargs: Any) -> Callable[[], Any]:
        """A use case call to run with others (`concurrently`)."""
        return functools.partial(self.call, *use_case, **kwargs)

    def concurrently(self, calls: list[Callable[[], Any]]) -> None:
        """Run calls on disjoint aggregates in GENERATOR_THREADS threads; the first error raises.

        The client mostly waits on the store's round trips, so a few threads overlap them.
        """
        with ThreadPoolExecutor(GENERATOR_THREADS) as pool:
            for _ in pool.map(lambda c: c(), calls):
                pass

    def run(self) -> History:
        """The whole history: the valued portfolio month by month, then the top-up."""
        started = time.perf_counter()
        self.history.started = datetime.now(UTC)
        self.portfolio()
        for k in range(len(self.months)):
            self.month(k)
        self.history.finished = datetime.now(UTC)
        self.top_up()
        self.history.seconds = time.perf_counter() - started
        self.history.head = self.app.head_position()
        return self.history

    # -- the valued portfolio ------------------------------------------------------------------

    def portfolio(self) -> None:
        first = self.months[0]
        portfolio = self.call(
            self.app.create_portfolio,
            name="Benchmark transformation portfolio",
            currency="GBP",
            discount_rate="0.035",
            base_month=first,
            meta=PMO,
        ).value
        self.history.portfolio_id = portfolio.id
        for title, weight in GOALS:
            goal = self.call(
                self.app.add_goal,
                portfolio.id,
                title=title,
                description=f"{title}.",
                weight=weight,
                meta=BOARD,
            ).value
            self.goals.append(goal["goal_id"])
        per = self.sizes.benefits // self.sizes.initiatives
        for n in range(self.sizes.initiatives):
            initiative_id = self.initiative(n)
            for b in range(per):
                self.benefit(n * per + b, initiative_id)
            self.decide(initiative_id, "invest", 0, "Business case approved at gateway 2.")

    def initiative(self, n: int) -> UUID:
        assert self.history.portfolio_id is not None
        first = self.months[0]
        programme = n % 25 == 0
        parent = None
        if not programme:
            parent = self.history.initiatives[(n // 25) * 25] if n % 3 == 0 else None
        start = month_add(first, n % 6)
        end = month_add(first, 36 + n % 24)
        initiative = self.call(
            self.app.propose_initiative,
            portfolio_id=self.history.portfolio_id,
            kind="programme" if programme else "project",
            name=f"Initiative {n:03d}",
            sponsor=f"Director {n % 17}",
            leader=f"Lead {n % 41}",
            start_month=start,
            end_month=end,
            confidence=str(round(self.random.uniform(0.5, 0.95), 2)),
            parent_id=parent,
            meta=PMO,
        ).value
        self.history.initiatives.append(initiative.id)
        rate = Decimal(self.random.randrange(20, 400)) * 1000
        periods = {
            month_add(start, k): rate for k in range(max(0, 12 * (int(end[:4]) - int(start[:4]))))
        }
        self.call(
            self.app.revise_cost_forecast,
            initiative.id,
            periods=periods,
            reason="Business case cost profile.",
            meta=PMO,
        )
        self.status[initiative.id] = "proposed"
        return UUID(str(initiative.id))

    def benefit(self, number: int, initiative_id: UUID) -> None:
        category, measure, scale = ARCHETYPES[number % len(ARCHETYPES)]
        contributions: list[dict[str, Any]] = []
        if number % 10 == 9 and len(self.history.initiatives) > 1:
            other = self.history.initiatives[-2]
            contributions = [
                {"initiative_id": initiative_id, "share": "0.6"},
                {"initiative_id": other, "share": "0.4"},
            ]
        level = measure["kind"] == "level"
        benefit = self.call(
            self.app.identify_benefit,
            initiative_id=initiative_id,
            title=f"Benefit {number:04d}",
            category=category,
            owner=f"Owner {number % 97}",
            goal_id=self.goals[number % len(self.goals)],
            measure=measure,
            disbenefit=number % 20 == 19,
            baseline={"value": str(scale) if level else "0", "as_of": day_of(self.months[0])},
            target={"value": str(scale * 2), "by_month": self.months[-1]},
            contributions=contributions,
            meta=PMO,
        ).value
        planned = Planned(benefit.id, number, Decimal(scale) * self.noise(0.3), measure["kind"])
        self.history.benefits.append(planned)
        self.forecast(planned, 0, "Benefits profile from the business case.")()

    def forecast(self, planned: Planned, from_month: int, reason: str) -> Callable[[], Any]:
        """A benefit forecast revision: 48 months from `from_month`, to run later."""
        periods = {
            month_add(self.months[0], k): (planned.scale * self.noise()).quantize(Decimal("0.01"))
            for k in range(from_month, from_month + 48)
        }
        return self.later(
            self.app.revise_benefit_forecast,
            planned.benefit_id,
            periods=periods,
            reason=reason,
            meta=PMO,
        )

    def decide(self, initiative_id: UUID, decision: str, k: int, rationale: str) -> None:
        recorded = self.call(
            self.app.record_decision,
            initiative_id,
            decision=decision,
            rationale=rationale,
            decided_by="Investment board",
            decided_on=day_of(self.months[k], 20),
            evidence_refs=[f"board-pack-{self.months[k]}.pdf"],
            meta=BOARD,
        ).value
        self.status[initiative_id] = recorded["to_status"]

    def month(self, k: int) -> None:
        """Everything that happens in month k: measurements, spend, revisions, decisions."""
        month = self.months[k]
        items = [
            {
                "benefit_id": b.benefit_id,
                "value": (b.scale * self.noise()).quantize(Decimal("0.01")),
                "observed_on": day_of(month, 1 + b.number % 28),
                "source": "finance-feed",
                "external_id": f"feed-{b.number}-{month}",
            }
            for b in self.history.benefits
        ]
        self.concurrently(
            [
                self.later(
                    self.app.record_measurements,
                    items[start : start + self.sizes.batch],
                    meta=FEED,
                )
                for start in range(0, len(items), self.sizes.batch)
            ]
        )
        if k % 3 == 2:
            self.spend(k)
        if k >= 12:
            self.concurrently(
                [
                    self.forecast(b, k, f"Quarterly benefits review {month}.")
                    for b in self.history.benefits
                    if b.number % 12 == k % 12
                ]
            )
        initiatives = self.history.initiatives
        if k in (12, 24):
            for n, ident in enumerate(initiatives):
                if n % 4 == k // 12 and self.status[ident] == "active":
                    self.decide(ident, "continue", k, "Annual review: on track, continue.")
        if k == 18:
            for n, ident in enumerate(initiatives):
                if n % 2 == 0:
                    self.call(
                        self.app.revise_cost_forecast,
                        ident,
                        periods={month_add(month, j): Decimal(90_000) for j in range(24)},
                        reason="Re-plan after the mid-point review.",
                        meta=PMO,
                    )
        if k == len(self.months) - 6:
            for n, ident in enumerate(initiatives):
                if n % 20 == 7 and self.status[ident] == "active":
                    self.decide(ident, "stop", k, "Benefits no longer credible; stop.")

    def spend(self, k: int) -> None:
        """The quarter's spend from the ledger, for every active initiative."""
        month = self.months[k]
        calls = []
        for ident in self.history.initiatives:
            if self.status[ident] != "active":
                continue
            amount = (Decimal(250_000) * self.noise(0.2)).quantize(Decimal("0.01"))
            calls.append(
                self.later(
                    self.app.record_spend,
                    ident,
                    month=month,
                    amount=amount,
                    source="ledger",
                    external_id=f"ledger-{ident}-{month}",
                    meta=FEED,
                )
            )
        self.concurrently(calls)

    # -- the top-up ----------------------------------------------------------------------------

    def top_up(self) -> None:
        """Another portfolio's daily operational measurements, until the log has `events`."""
        head = self.app.head_position()
        if head >= self.sizes.events:
            return
        portfolio = self.app.create_portfolio(
            name="Operations portfolio",
            currency="GBP",
            discount_rate="0.035",
            base_month=self.months[0],
            meta=PMO,
        ).value
        initiative = self.app.propose_initiative(
            portfolio_id=portfolio.id,
            kind="project",
            name="Service operations",
            sponsor="COO",
            start_month=self.months[0],
            end_month=month_add(self.months[-1], 12),
            confidence="0.9",
            meta=PMO,
        ).value
        benefits = [
            self.app.identify_benefit(
                initiative_id=initiative.id,
                title=f"Operational KPI {n}",
                category="quantitative",
                owner="Ops",
                measure={"name": f"kpi {n}", "unit": "tickets", "kind": "flow"},
                baseline={"value": "0", "as_of": day_of(self.months[0])},
                meta=OPS,
            ).value.id
            for n in range(50)
        ]
        self.history.calls["top-up setup"] += 52
        day = 0
        while (left := self.sizes.events - self.app.head_position()) > 0:
            count = min(self.sizes.batch, max(1, left // 2))
            items = []
            for _ in range(count):
                benefit = benefits[day % len(benefits)]
                observed = date.fromordinal(day_of(self.months[0], 1).toordinal() + day // 50)
                items.append(
                    {
                        "benefit_id": benefit,
                        "value": Decimal(self.random.randrange(10, 500)),
                        "observed_on": observed,
                        "source": "ops-feed",
                        "external_id": f"ops-{day}",
                    }
                )
                day += 1
            self.call(
                "record_measurements (top-up)",
                self.app.record_measurements,
                items,
                meta=OPS,
            )


def event_mix(app: ValuetrailApplication, url: str) -> Counter[str]:
    """Events in the log by topic (without the `valuetrail.` prefix and the version)."""
    table, schema = events_table(app)
    db = ViewDatabase.from_url(url)
    try:
        with db.read() as cursor:
            cursor.execute(f'SELECT topic, COUNT(*) FROM "{schema}"."{table}" GROUP BY topic')
            rows = cursor.fetchall()
    finally:
        db.close()
    return Counter(
        {str(topic).removeprefix("valuetrail.").rsplit(".", 1)[0]: int(n) for topic, n in rows}
    )


# -- timing helpers ----------------------------------------------------------------------------


def raw_read(app: ValuetrailApplication) -> float:
    """Seconds to read the whole log with `select_notifications` in pages of RAW_PAGE."""
    started = time.perf_counter()
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=RAW_PAGE):
        start = page[-1].id + 1
    return time.perf_counter() - started


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


#: (a) The name a rebuild of every view in one pass is reported under.
ALL_VIEWS = "*"


@dataclass(frozen=True)
class Rebuilt:
    """(a) one view (or ALL_VIEWS in one pass): its rebuild and the raw read paired with it."""

    view: str
    events: int
    seconds: float
    raw_seconds: float
    processes: int = 1


@dataclass(frozen=True)
class ValueCalls:
    """(b) latencies of the value view and how much of the log each instant covered."""

    seconds: list[float]
    covered: list[int]  # log position at each instant
    initiatives: int
    benefits: int
    measurements: int  # visible at the latest instant


@dataclass(frozen=True)
class Verified:
    """(c) rounds of verify_store and of the raw read, in run order."""

    events: int
    seconds: list[float]
    raw_seconds: list[float]


@dataclass(frozen=True)
class Lag:
    """(d) per measurement: seconds from its event's timestamp until the series view had it."""

    lags: list[float]
    rate: float  # measurements per second the writer achieved
    seconds: float
    unseen: int  # measurements the view had not processed when the wait ended


@dataclass
class Run:
    """Everything one run measured."""

    sizes: Sizes
    history: History
    mix: Counter[str]
    rebuilt: list[Rebuilt] = field(default_factory=list)
    value: ValueCalls | None = None
    verified: Verified | None = None
    lag: Lag | None = None
    profile: str = ""
    seconds: float = 0.0

    @property
    def raw_rates(self) -> list[float]:
        """Every raw read of the run, as events/s."""
        events = self.history.head
        blocks = [r.raw_seconds for r in self.rebuilt]
        if self.verified is not None:
            blocks += self.verified.raw_seconds
        return [events / s for s in blocks]

    @property
    def raw_rate(self) -> float:
        """Median raw log-read rate of the run."""
        return statistics.median(self.raw_rates)


# -- (a) rebuild -------------------------------------------------------------------------------


def rebuild_all(app: ValuetrailApplication, url: str, key_path: str) -> list[Rebuilt]:
    """Rebuild each view alone, then every view in one pass (as `valuetrail projections
    rebuild`), each paired with a raw read of the log in ABBA order."""
    db = ViewDatabase.from_url(url)
    try:
        projectors = build_projectors(app, db, audit_views(key_path, key_path + ".state.json"))
        names = list(projectors)
        processes = processes_for(url, app.head_position(), len(names))
        rebuilds: list[tuple[str, Callable[[], int]]] = [
            *((name, projector.rebuild) for name, projector in projectors.items()),
            (
                ALL_VIEWS,
                lambda: rebuild_in_processes(
                    url, key_path, names, processes=processes, state_path=key_path + ".state.json"
                ),
            ),
        ]
        results = []
        for index, (name, rebuild) in enumerate(rebuilds):
            if index % 2 == 0:
                raw = raw_read(app)
                seconds, events = timed(rebuild)
            else:
                seconds, events = timed(rebuild)
                raw = raw_read(app)
            every = name == ALL_VIEWS
            results.append(Rebuilt(name, events, seconds, raw, processes if every else 1))
            label = f"all {len(names)} views in {processes} process(es)" if every else name
            print(f"  (a) {label}: {events:,} events in {seconds:.1f} s", flush=True)
        return results
    finally:
        db.close()


def timed(rebuild: Callable[[], int]) -> tuple[float, int]:
    """Seconds and events of one rebuild (its default batches)."""
    started = time.perf_counter()
    events = rebuild()
    return time.perf_counter() - started, events


# -- (b) value as of ---------------------------------------------------------------------------


def value_calls_in_a_fresh_process(url: str, history: History, calls: int) -> ValueCalls:
    """`value_calls` in a process of its own, as an API worker serves the value view.

    This process holds the generator's and the rebuild's objects by now (hundreds of thousands
    that Python's garbage collector walks on every full pass); a worker does not.
    """
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(value_calls, (url, history, calls))


def value_calls(url: str, history: History, calls: int, seed: int = 11) -> ValueCalls:
    """`portfolio_value` of the valued portfolio at `calls` random instants of its history."""
    assert history.portfolio_id and history.started and history.finished
    db = ViewDatabase.from_url(url)
    rng = random.Random(seed)
    span = history.finished - history.started
    instants = [history.started + span * rng.random() for _ in range(calls)]
    try:
        for _ in range(2):  # warm-up: connections, caches of parsed months and discount factors
            portfolio_value(db, history.portfolio_id, history.finished)
        seconds, covered = [], []
        for at in instants:
            started = time.perf_counter()
            value = portfolio_value(db, history.portfolio_id, at)
            seconds.append(time.perf_counter() - started)
            if value is None:
                raise RuntimeError(f"no value view at {at}")
            covered.append(position_at(db, at))
        last = portfolio_value(db, history.portfolio_id, history.finished)
        assert last is not None
        with db.read() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM vt_measurement WHERE portfolio_id = ?",
                (str(history.portfolio_id),),
            )
            measurements = int(cursor.fetchone()[0])
        initiatives = len(last.body["initiatives"])
        return ValueCalls(seconds, covered, initiatives, len(history.benefits), measurements)
    finally:
        db.close()


def position_at(db: ViewDatabase, at: datetime) -> int:
    """The last log position recorded by an instant (from the sealed chain)."""
    with db.read() as cursor:
        cursor.execute(
            "SELECT MAX(position) FROM vt_chain WHERE recorded_at <= ?",
            (at.astimezone(UTC).isoformat(timespec="microseconds"),),
        )
        row = cursor.fetchone()
    return int(row[0] or 0)


def profile_value(url: str, history: History) -> str:
    """cProfile of one value view call at the end of the portfolio's history (top functions)."""
    assert history.portfolio_id and history.finished
    db = ViewDatabase.from_url(url)
    try:
        portfolio_value(db, history.portfolio_id, history.finished)
        profiler = cProfile.Profile()
        profiler.enable()
        portfolio_value(db, history.portfolio_id, history.finished)
        profiler.disable()
    finally:
        db.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    return out.getvalue()


# -- (c) audit verify --------------------------------------------------------------------------


def verify_rounds(
    app: ValuetrailApplication, url: str, key_path: str, rounds: int, events: int
) -> Verified:
    """`verify_store` over the whole log and a raw read, alternated (ABBA)."""
    db = ViewDatabase.from_url(url)
    public_key = load_or_create_signing_key(key_path).public_key()
    seconds: list[float] = []
    raw: list[float] = []

    def verify() -> None:
        started = time.perf_counter()
        result = verify_store(app, db, public_key)
        seconds.append(time.perf_counter() - started)
        if not result.verified or result.events_checked != events:
            raise RuntimeError(f"verify_store failed: {result.summary()}")

    try:
        for r in range(rounds):
            if r % 2 == 0:
                raw.append(raw_read(app))
                verify()
            else:
                verify()
                raw.append(raw_read(app))
    finally:
        db.close()
    return Verified(events, seconds, raw)


# -- (d) projection lag ------------------------------------------------------------------------


@contextmanager
def projector_process(url: str, key_path: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m projections` on the store, stopped with SIGTERM afterwards."""
    env = dict(os.environ)
    env |= {
        "VALUETRAIL_DB": url,
        "VALUETRAIL_AUDIT_SIGNING_KEY": key_path,
        "VALUETRAIL_AUDIT_STATE": key_path + ".state.json",
        "VALUETRAIL_METRICS": "0",
        "VALUETRAIL_PROJECTOR_PARENT_PID": str(os.getpid()),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "projections"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Sampler:
    """Polls a view's tracking position; remembers when each position was first seen."""

    def __init__(self, url: str, interval: float = 0.005, view: str = SERIES_VIEW) -> None:
        self.view = view
        self.db = ViewDatabase.from_url(url)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="lag-sampler", daemon=True)

    def position(self) -> int:
        with self.db.read() as cursor:
            return tracked_position(cursor, self.view)

    def run(self) -> None:
        while not self.stop.is_set():
            position = self.position()
            now = time.time()
            if not self.samples or position > self.samples[-1][1]:
                self.samples.append((now, position))
            self.stop.wait(self.interval)

    def seen_at(self, position: int) -> float | None:
        """Wall time of the first sample at or past `position` (positions only grow)."""
        index = bisect.bisect_left(self.samples, position, key=lambda sample: sample[1])
        return self.samples[index][0] if index < len(self.samples) else None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.db.close()


def measure_lag(
    url: str,
    key_path: str,
    history: History,
    sizes: Sizes,
    folder: Path,
    view: str = SERIES_VIEW,
) -> Lag:
    """Write measurements at a steady rate while the projector process runs; lag per measurement.

    The schedule is one measurement every 1/rate s; WRITERS threads take its ticks in turn (one
    thread alone cannot always keep 200/s on a small, shared machine), each sleeping until its
    tick is due and writing at once when late.
    """
    app = ValuetrailApplication(env=store_env(url))
    sampler = Sampler(url, view=view)
    benefits = [b.benefit_id for b in history.benefits]
    observed = datetime.now(UTC).date().replace(day=1)
    written: list[tuple[int, float]] = []
    failures: list[BaseException] = []
    serial = [0]

    def writer(ticks: range, started: float, keep: bool, prefix: str) -> None:
        try:
            for tick in ticks:
                pause = started + tick / sizes.lag_rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                done = app.record_measurement(
                    benefits[(serial[0] + tick) % len(benefits)],
                    value=Decimal(tick % 97),
                    observed_on=observed,
                    source="lag-feed",
                    external_id=f"{prefix}-{tick}",
                    meta=FEED,
                )
                if not done.value.created:
                    raise RuntimeError("a new external_id was taken as a duplicate")
                if keep:  # list.append is atomic
                    stamp = done.value.measurement["recorded_at"].timestamp()
                    written.append((done.log_position, stamp))
        except BaseException as error:
            failures.append(error)

    def write(count: int, keep: bool, prefix: str) -> float:
        started = time.perf_counter()
        threads = [
            threading.Thread(target=writer, args=(range(j, count, WRITERS), started, keep, prefix))
            for j in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        serial[0] += count
        if failures:
            raise RuntimeError(f"a writer failed: {failures[0]!r}") from failures[0]
        return time.perf_counter() - started

    try:
        for benefit_id in benefits:  # the writer's aggregate cache warm, as an API worker's is
            app.repository.get(benefit_id)
        with projector_process(url, key_path, folder / "projector.log") as process:
            sampler.thread.start()
            run_id = uuid4().hex[:8]
            write(
                sizes.lag_rate * 2, keep=False, prefix=f"warm-{run_id}"
            )  # every view thread active
            if not wait_for(sampler, app.head_position(), 60.0):
                raise RuntimeError("the projector did not catch up; see its log")
            seconds = write(
                int(sizes.lag_rate * sizes.lag_seconds), keep=True, prefix=f"lag-{run_id}"
            )
            wait_for(sampler, max(p for p, _ in written), 10.0)
            if process.poll() is not None:
                raise RuntimeError("the projector process died; see its log")
    finally:
        sampler.close()
        app.close()
    lags = []
    unseen = 0
    for position, stamp in written:
        seen = sampler.seen_at(position)
        if seen is None:
            unseen += 1
        else:
            lags.append(seen - stamp)
    return Lag(lags, len(written) / seconds, seconds, unseen)


def wait_for(sampler: Sampler, position: int, timeout: float) -> bool:
    """Wait until the sampler has seen the series view at `position`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sampler.samples and sampler.samples[-1][1] >= position:
            return True
        time.sleep(0.05)
    return False


# -- the run -----------------------------------------------------------------------------------


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


# -- the report --------------------------------------------------------------------------------

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
            f"Measured {now_utc()} on {nproc()} CPUs ({cpu_model()}), "
            f"Python {sys.version.split()[0]}, {pg_version}; {versions()}. "
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
