"""Helpers shared by the benchmarks: throw-away stores, the raw baseline's aggregate, paired
timing, machine facts, docs output.

Every benchmark compares valuetrail against a baseline measured in the same run (the raw
eventsourcing store, or the same operation at a smaller size), alternating blocks of the two so
that drift (a busy neighbour, a warming cache, a checkpoint) affects both sides alike.
"""

from __future__ import annotations

import math
import os
import platform
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from uuid import UUID

import psycopg
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from domain.application import ValuetrailApplication
from domain.values import Meta
from persistence import POSTGRES_MODULE, SQLITE_MODULE, store_env

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE_MD = ROOT / "docs" / "PERFORMANCE.md"

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"

BENCH_META = Meta(actor="benchmark", request_id="bench")
#: Measurements are observed on past days only (the domain rejects future dates).
FIRST_DAY = date(2023, 1, 1)


# -- stores -----------------------------------------------------------------------------------


def _admin_conninfo() -> str:
    return (
        f"host={POSTGRES_HOST} port={POSTGRES_PORT} user={POSTGRES_USER} "
        "dbname=postgres connect_timeout=5"
    )


@contextmanager
def sqlite_dir() -> Iterator[Path]:
    """A temporary directory for SQLite database files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="valuetrail_bench_") as folder:
        yield Path(folder)


def sqlite_url(folder: Path, name: str) -> str:
    """The `VALUETRAIL_DB` URL of a SQLite file in `folder`."""
    return f"sqlite:///{folder / name}.db"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database `valuetrail_bench_<hex>`, dropped (WITH FORCE) afterwards."""
    name = f"valuetrail_bench_{secrets.token_hex(6)}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def postgres_version() -> str:
    """`SELECT version()` of the server, without the compiler details."""
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        row = conn.execute("SELECT version()").fetchone()
    text = str(row[0]) if row else "unknown"
    return text.split(" on ")[0]


# -- domain fixtures ---------------------------------------------------------------------------


def new_benefit(app: ValuetrailApplication, *, title: str = "Benchmark benefit") -> UUID:
    """A portfolio, an initiative and one flow benefit measured in EUR; returns the benefit id."""
    portfolio = app.create_portfolio(
        name="Benchmark portfolio",
        currency="EUR",
        discount_rate="0.035",
        base_month="2023-01",
        meta=BENCH_META,
    ).value
    initiative = app.propose_initiative(
        portfolio_id=portfolio.id,
        kind="project",
        name="Benchmark initiative",
        sponsor="bench",
        start_month="2023-01",
        end_month="2027-12",
        confidence="0.8",
        meta=BENCH_META,
    ).value
    benefit = app.identify_benefit(
        initiative_id=initiative.id,
        title=title,
        category="cashable",
        owner="bench",
        measure={"name": "savings", "unit": "EUR", "kind": "flow"},
        baseline={"value": "0", "as_of": FIRST_DAY},
        meta=BENCH_META,
    ).value
    return benefit.id


def observed_on(n: int) -> date:
    """A past day for the n-th measurement (cycling through two years)."""
    return FIRST_DAY + timedelta(days=n % 730)


class Tick(Aggregate):
    """The raw baseline's aggregate: each save stores one small event carrying a Decimal."""

    def __init__(self) -> None:
        self.total = Decimal(0)

    @event("Ticked")
    def tick(self, amount: Decimal) -> None:
        """Add an amount."""
        self.total += amount


# -- timing ------------------------------------------------------------------------------------

Block = Callable[[int], None]


@dataclass(frozen=True)
class Paired:
    """Seconds per operation of each block of two alternated workloads, in run order."""

    first: list[float]
    second: list[float]

    @property
    def ratios(self) -> list[float]:
        """Per round: time per op of `second` / time per op of `first`."""
        return [b / a for a, b in zip(self.first, self.second, strict=True)]

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios (robust to drift and to one noisy round)."""
        return statistics.median(self.ratios)

    def median(self, which: str) -> float:
        """Median seconds per op of `first` or `second`."""
        return statistics.median(self.first if which == "first" else self.second)


def timed(block: Block, n: int) -> float:
    """Seconds per operation of one block of n operations."""
    start = time.perf_counter()
    block(n)
    return (time.perf_counter() - start) / n


def alternate(first: Block, second: Block, *, rounds: int, size: int) -> Paired:
    """Run `rounds` blocks of `size` ops of each workload, in ABBA order to cancel drift."""
    a: list[float] = []
    b: list[float] = []
    for r in range(rounds):
        if r % 2 == 0:
            a.append(timed(first, size))
            b.append(timed(second, size))
        else:
            b.append(timed(second, size))
            a.append(timed(first, size))
    return Paired(a, b)


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


# -- reporting ---------------------------------------------------------------------------------


def nproc() -> int:
    """CPUs this process may run on (what `nproc` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def cpu_model() -> str:
    """The CPU model name, when the OS says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """The 1-minute load average (other work on the machine skews figures)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover - not available
        return "n/a"


def versions() -> str:
    """Library versions that matter for the store's speed."""
    return (
        f"eventsourcing {metadata.version('eventsourcing')}, "
        f"psycopg {metadata.version('psycopg')} ({psycopg.pq.__impl__}), "
        f"SQLite {sqlite3.sqlite_version}"
    )


def now_utc() -> str:
    """The current time, to the minute, in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def measured_on(pg_version: str) -> str:
    """When and where a run was measured: time, CPUs, Python, PostgreSQL and library versions."""
    return (
        f"Measured {now_utc()} on {nproc()} CPUs ({cpu_model()}), "
        f"Python {sys.version.split()[0]}, {pg_version}; {versions()}"
    )


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def replace_section(path: Path, name: str, body: str) -> None:
    """Replace what lies between `<!-- {name}:begin -->` and `<!-- {name}:end -->` in `path`."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8")
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise SystemExit(f"{path}: markers {begin} ... {end} not found")
    updated = text[: start + len(begin)] + "\n" + body.strip() + "\n" + text[stop:]
    path.write_text(updated, encoding="utf-8")


#: The raw side of a comparison runs on eventsourcing's own recorders, not valuetrail's.
LIBRARY_MODULES = {SQLITE_MODULE: "eventsourcing.sqlite", POSTGRES_MODULE: "eventsourcing.postgres"}


def library_env(url: str, *, create_tables: bool = False) -> dict[str, str]:
    """`store_env` for the raw eventsourcing store: the library's own persistence module."""
    env = store_env(url, create_tables=create_tables)
    return env | {"PERSISTENCE_MODULE": LIBRARY_MODULES[env["PERSISTENCE_MODULE"]]}
