"""(a) rebuild and (c) audit verify: passes over the whole log, each paired with a raw read."""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.projection_parts.results import ALL_VIEWS, Rebuilt, Verified
from domain.application import ValuetrailApplication
from projections.audit.heads import load_or_create_signing_key
from projections.audit_chain.reads import verify_store
from projections.catalog import audit_views, build_projectors
from projections.db import ViewDatabase
from projections.rebuild import processes_for, rebuild_in_processes

RAW_PAGE = 1000  # the baseline reads the log in pages of this many events


def raw_read(app: ValuetrailApplication) -> float:
    """Seconds to read the whole log with `select_notifications` in pages of RAW_PAGE."""
    started = time.perf_counter()
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=RAW_PAGE):
        start = page[-1].id + 1
    return time.perf_counter() - started


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
