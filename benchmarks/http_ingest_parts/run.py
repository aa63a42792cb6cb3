"""One run of the ingest benchmark: the server, the set-up, both pairs of alternating blocks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application

from benchmarks._common import Paired, alternate, library_env, postgres_database
from benchmarks._http import serving
from benchmarks.http_ingest_parts.posts import (
    Feed,
    Tally,
    batch_bodies,
    http_block,
    set_up,
    single_bodies,
)
from benchmarks.http_ingest_parts.raw_store import RawBatcher, Ticks, raw_block

CONNECTIONS = 8  # concurrent client connections, and threads for the raw baseline


@dataclass(frozen=True)
class Sizes:
    """How much work each part does."""

    warmup: int  # (a) single posts and raw appends before timing
    single_rounds: int  # (a) alternating rounds
    single_block: int  # (a) requests (and raw appends) per block
    batch_warmup: int  # (b) batch posts and raw batch saves before timing
    batch_rounds: int  # (b) alternating rounds
    batch_block: int  # (b) batch requests (and raw 1,000-event saves) per block


FULL = Sizes(
    warmup=80, single_rounds=8, single_block=240, batch_warmup=2, batch_rounds=4, batch_block=8
)
QUICK = Sizes(
    warmup=16, single_rounds=4, single_block=48, batch_warmup=1, batch_rounds=2, batch_block=4
)


@dataclass(frozen=True)
class Result:
    """Figures of one run."""

    single: Paired  # first: raw seconds/event, second: HTTP seconds/measurement
    batch: Paired  # first: raw seconds/1,000 events, second: HTTP seconds/1,000 measurements
    single_tally: Tally
    batch_tally: Tally
    connections: int
    seconds: float

    @property
    def single_ratio(self) -> float:
        """Median over rounds of HTTP measurements/s over raw events/s."""
        return statistics.median(1 / r for r in self.single.ratios)

    @property
    def batch_ratio(self) -> float:
        """Median over rounds of HTTP batch measurements/s over raw batch events/s."""
        return statistics.median(1 / r for r in self.batch.ratios)


def run(sizes: Sizes, connections: int) -> Result:
    """Start the server, set up, and time both pairs."""
    started = time.monotonic()
    with postgres_database() as url, serving(url) as server:
        raw: Application[UUID] = Application(env=library_env(url, create_tables=True))
        try:
            token, benefit_ids = set_up(server.port)
            print(f"  server on :{server.port}, {len(benefit_ids)} benefits created", flush=True)
            n_single = sizes.single_rounds * sizes.single_block
            n_batch = sizes.batch_rounds * sizes.batch_block
            singles = Feed(single_bodies(benefit_ids, sizes.warmup + n_single, "s"))
            batches = Feed(batch_bodies(benefit_ids, sizes.batch_warmup + n_batch, "b"))
            single_tally, batch_tally, warm_tally = Tally(), Tally(), Tally()

            def posts(feed: Feed, tally: Tally) -> Callable[[int], None]:
                return http_block(server.port, token, feed, tally, connections)

            ticks = raw_block(Ticks(raw, connections).ticker, connections)
            ticks(sizes.warmup)
            posts(singles, warm_tally)(sizes.warmup)
            single = alternate(
                ticks,
                posts(singles, single_tally),
                rounds=sizes.single_rounds,
                size=sizes.single_block,
            )
            print(f"  (a) single done: {dict(single_tally.statuses)}", flush=True)

            saves = raw_block(lambda: RawBatcher(raw), connections)
            saves(sizes.batch_warmup)
            posts(batches, warm_tally)(sizes.batch_warmup)
            batch = alternate(
                saves,
                posts(batches, batch_tally),
                rounds=sizes.batch_rounds,
                size=sizes.batch_block,
            )
            print(f"  (b) batch done: {dict(batch_tally.statuses)}", flush=True)
            for tally in (warm_tally, single_tally, batch_tally):
                for error in tally.errors:
                    print(f"  non-201 answer: {error}", flush=True)
            if warm_tally.failed or single_tally.failed or batch_tally.failed:
                print("  server log (tail):\n" + server.tail(), flush=True)
        finally:
            raw.close()
    elapsed = time.monotonic() - started
    return Result(single, batch, single_tally, batch_tally, connections, elapsed)
