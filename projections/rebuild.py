"""Rebuild views from the whole log, sharing them among processes on a machine with CPUs to spare.

`runner.rebuild_views` rebuilds any number of views in one pass over the log, in one process:
Python's work (decoding events, folding aggregates, hashing the chain) then runs on one CPU.
Here the views are shared among a few processes instead, each making its own pass over the log for
its views; the value view, which folds every aggregate, is the costliest, so with two processes it
has one to itself. Each view still commits its rows with its position page by page, so a process
that fails or is interrupted leaves its views consistent and behind, as an interrupted rebuild in
one process does; `catch_up` (or a new rebuild) carries on.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from projections.catalog import audit_views, build_views
from projections.db import ViewDatabase
from projections.process import open_store
from projections.runner import rebuild_views

#: Rough cost of rebuilding each view, relative to the others (profiles of a 200,000-event log).
COSTS = {"portfolio_value": 3.0, "audit_chain": 1.0, "measurement_series": 1.0}
#: Below this many events, starting processes (about a second each) costs more than it saves.
MIN_EVENTS_PER_PROCESS = 50_000


def processes_for(url: str, events: int, views: int) -> int:
    """How many processes to rebuild `views` views over a log of `events` events with.

    One on SQLite (one writer at a time), for a small log, or on one CPU; otherwise up to two.
    """
    if not _postgres(url):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(2, cpus or 1, views, events // MIN_EVENTS_PER_PROCESS))


def _postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def shared(names: Sequence[str], processes: int) -> list[list[str]]:
    """The views shared among up to `processes` groups: costliest first, each to the lightest."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(processes, len(names))))]
    loads = [0.0] * len(groups)
    for name in sorted(names, key=lambda n: -COSTS.get(n, 0.5)):
        lightest = loads.index(min(loads))
        groups[lightest].append(name)
        loads[lightest] += COSTS.get(name, 0.5)
    return [sorted(group, key=list(names).index) for group in groups if group]


def rebuild_in_processes(
    url: str,
    signing_key_path: str,
    names: Sequence[str],
    *,
    processes: int = 1,
    batch_size: int = 2000,
    state_path: str | None = None,
) -> int:
    """Drop the named views' rows and build them again; returns the events of the log passed.

    With `processes` above one the views are shared among this process and new ones (spawned:
    nothing of this one's connections is inherited). The views' tables must exist
    (`Projector.setup`), and the caller keeps holding whatever locks keep projectors away from
    the views meanwhile.
    """
    if not _postgres(url):
        processes = 1  # SQLite lets one process write at a time: more would only queue
    groups = shared(names, processes)
    if len(groups) == 1:
        return rebuild_group(url, signing_key_path, groups[0], batch_size, state_path)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(groups) - 1, mp_context=context) as pool:
        others = [
            pool.submit(rebuild_group, url, signing_key_path, group, batch_size, state_path)
            for group in groups[1:]
        ]
        # The costliest group here, while the others' processes start (about a second each).
        here = rebuild_group(url, signing_key_path, groups[0], batch_size, state_path)
        return max([here, *(rebuilt.result() for rebuilt in others)])


def rebuild_group(
    url: str,
    signing_key_path: str,
    names: Sequence[str],
    batch_size: int,
    state_path: str | None = None,
) -> int:
    """Rebuild these views in one pass over the log, with connections of this process's own."""
    app = open_store(url)
    db = ViewDatabase.from_url(url)
    try:
        views = build_views(app, audit_views(signing_key_path, state_path))
        return rebuild_views(app, db, [views[name] for name in names], batch_size=batch_size)
    finally:
        db.close()
        app.close()
