"""The event store benchmark's workloads: raw appends, measurements, prefill, throw-away stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import Application

from benchmarks._common import (
    BENCH_META,
    Tick,
    observed_on,
    postgres_database,
    sqlite_dir,
    sqlite_url,
)
from domain.application import BENEFIT_SNAPSHOT_INTERVAL, ValuetrailApplication

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
