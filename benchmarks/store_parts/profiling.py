"""`--profile`: where `record_measurement` spends its time, under cProfile."""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

from benchmarks._common import PERFORMANCE_MD, markdown_table, new_benefit
from benchmarks.store_parts.workloads import LABELS, Measurer, stores
from domain.application import ValuetrailApplication
from persistence import store_env


def profile(backend: str, count: int) -> None:
    """Print where `record_measurement` spends its time (cProfile, cumulative and own time)."""
    with stores(backend) as (url, _):
        app = ValuetrailApplication(env=store_env(url, create_tables=True))
        try:
            measurer = Measurer(app, new_benefit(app), "profile")
            measurer(100)
            profiler = cProfile.Profile()
            profiler.enable()
            measurer(count)
            profiler.disable()
        finally:
            app.close()
    print(f"\n## {LABELS[backend]}: cProfile of {count} record_measurement calls\n")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    print(f"## {LABELS[backend]}: where one record_measurement goes (cumulative, per call)\n")
    print(summary(stats, count))


#: Functions worth naming in the profile summary: (file fragment, function name).
HOT_SPOTS = (
    ("domain/", ""),
    ("eventsourcing/application.py", "_reconstruct_aggregate"),
    ("eventsourcing/application.py", "project_aggregate"),
    ("eventsourcing/application.py", "take_snapshot"),
    ("eventsourcing/persistence.py", "to_domain_event"),
    ("eventsourcing/sqlite.py", "select_events"),
    ("eventsourcing/sqlite.py", "insert_events"),
    ("eventsourcing/sqlite.py", "max_notification_id"),
    ("eventsourcing/postgres.py", "select_events"),
    ("eventsourcing/postgres.py", "insert_events"),
    ("eventsourcing/postgres.py", "max_notification_id"),
    ("typing.py", "__instancecheck__"),
    ("copy.py", "deepcopy"),
)


def _short(path: str) -> str:
    """A source path relative to site-packages, the project, or the standard library."""
    if "site-packages/" in path:
        return path.split("site-packages/")[-1]
    project = str(PERFORMANCE_MD.parents[1]) + "/"
    return path.removeprefix(project) if path.startswith(project) else Path(path).name


def summary(stats: pstats.Stats, count: int) -> str:
    """A table of the hot spots: calls and cumulative ms per measurement, share of the total."""
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    entries = getattr(stats, "stats", {})
    total = float(getattr(stats, "total_tt", 0.0)) or 1.0
    lines = []
    for (path, line, name), (_, calls, _, cumulative, _) in entries.items():
        if any(part in path and name.endswith(func) for part, func in HOT_SPOTS):
            lines.append((cumulative, f"{_short(path)}:{line}({name})", calls))
    lines.sort(reverse=True)
    rows = [
        [where, f"{calls / count:.1f}", f"{cum / count * 1000:.2f}", f"{cum / total:.0%}"]
        for cum, where, calls in lines[:25]
    ]
    return markdown_table(["function", "calls/measurement", "ms/measurement", "share"], rows)
