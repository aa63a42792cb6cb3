"""The raw store baseline of the ingest benchmark: eventsourcing appends from client threads."""

from __future__ import annotations

import queue
from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import Application

from benchmarks._common import Tick
from benchmarks._http import concurrently
from benchmarks.http_ingest_parts.posts import BATCH


class Ticks:
    """Saved aggregates for the raw appenders, made before timing; one per thread at a time."""

    def __init__(self, app: Application[UUID], count: int) -> None:
        self.app = app
        self.free: queue.SimpleQueue[Tick] = queue.SimpleQueue()
        for _ in range(count):
            aggregate = Tick()
            app.save(aggregate)
            self.free.put(aggregate)

    def ticker(self) -> RawTicker:
        """A worker appending to an aggregate no other thread is using."""
        return RawTicker(self.app, self.free)


class RawTicker:
    """One thread's raw appends: one event per transaction on its own aggregate."""

    def __init__(self, app: Application[UUID], free: queue.SimpleQueue[Tick]) -> None:
        self.app = app
        self.free = free
        self.aggregate = free.get_nowait()

    def __call__(self) -> None:
        self.aggregate.tick(Decimal(self.aggregate.version))
        self.app.save(self.aggregate)

    def close(self) -> None:
        """Hand the aggregate back."""
        self.free.put(self.aggregate)


class RawBatcher:
    """One thread's raw batches: 1,000 new aggregates' events in one transaction."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app

    def __call__(self) -> None:
        self.app.save(*(Tick() for _ in range(BATCH)))


def raw_block(worker: Callable[[], Callable[[], None]], threads: int) -> Callable[[int], None]:
    """A block of n raw operations over `threads` threads, each with its own worker."""

    def block(n: int) -> None:
        concurrently(n, threads, worker)

    return block
