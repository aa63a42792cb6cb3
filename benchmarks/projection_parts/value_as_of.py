"""(b) value as of: `portfolio_value` of the big portfolio at random instants of its history."""

from __future__ import annotations

import cProfile
import io
import multiprocessing
import pstats
import random
import time
from datetime import UTC, datetime

from benchmarks.projection_parts.history import History
from benchmarks.projection_parts.results import ValueCalls
from projections.db import ViewDatabase
from projections.portfolio_value.value import portfolio_value


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
        initiatives = len(last.initiatives)
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
