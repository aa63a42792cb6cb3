"""The views' tables and the event log read back, to compare an incremental build with a rebuild."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from domain.application import ValuetrailApplication
from projections.catalog import audit_views, build_projectors
from projections.db import ViewDatabase
from projections.runner import Projector

MEASURED = "valuetrail.benefit.MeasurementRecorded.v1"
CORRECTED = "valuetrail.benefit.MeasurementCorrected.v1"
DECIDED = "valuetrail.initiative.DecisionRecorded.v1"
SPENT = "valuetrail.initiative.SpendRecorded.v1"
STATE_KINDS = ("valuetrail.portfolio.", "valuetrail.initiative.", "valuetrail.benefit.")
#: Columns that say when a row was written, not what the log says: they differ after a rebuild.
WRITE_TIME_COLUMNS: dict[str, frozenset[str]] = {}


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def columns_of(db: ViewDatabase, table: str) -> tuple[list[str], list[str]]:
    """A table's columns and its primary key's columns, in order."""
    with db.read() as cursor:
        if is_sqlite(db.url):
            cursor.execute("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", (table,))
            rows = cursor.fetchall()
            return [r[0] for r in rows], [r[0] for r in sorted(rows, key=lambda r: r[1]) if r[1]]
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
            " ORDER BY ordinal_position",
            (table,),
        )
        columns = [r[0] for r in cursor.fetchall()]
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = ?::regclass AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (table,),
        )
        return columns, [r[0] for r in cursor.fetchall()]


def dump(db: ViewDatabase, projectors: dict[str, Projector]) -> dict[str, list[tuple[Any, ...]]]:
    """Every view table's rows ordered by primary key, plus the tracked positions."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for projector in projectors.values():
        for table in projector.view.tables:
            columns, key = columns_of(db, table)
            assert key, f"{table} has no primary key"
            kept = [c for c in columns if c not in WRITE_TIME_COLUMNS.get(table, ())]
            with db.read() as cursor:
                cursor.execute(f"SELECT {', '.join(kept)} FROM {table} ORDER BY {', '.join(key)}")
                tables[table] = [tuple(row) for row in cursor.fetchall()]
    tables["vt_tracking"] = sorted(positions(db).items())
    return tables


def positions(db: ViewDatabase) -> dict[str, int]:
    """Each view's tracked position ({} before the projector has created its tables)."""
    try:
        with db.read() as cursor:
            cursor.execute("SELECT view, position FROM vt_tracking")
            return {str(name): int(position) for name, position in cursor.fetchall()}
    except (sqlite3.Error, psycopg.Error):  # the table does not exist yet
        return {}


def topic_counts(app: ValuetrailApplication) -> Counter[str]:
    """How many events of each topic the log holds."""
    counts: Counter[str] = Counter()
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=2000):
        counts.update(n.topic for n in page)
        start = page[-1].id + 1
    return counts


def assert_nothing_counted_twice(tables: dict[str, list[Any]], counts: Counter[str]) -> None:
    """One row per event of the kind each table records, and one chain link per event."""
    state_events = sum(
        n
        for topic, n in counts.items()
        if topic.startswith(STATE_KINDS) and topic not in (MEASURED, CORRECTED, SPENT)
    )
    assert len(tables["vt_measurement"]) == counts[MEASURED] > 0
    assert len(tables["vt_correction"]) == counts[CORRECTED]
    assert len(tables["vt_measured"]) == counts[MEASURED] + counts[CORRECTED]
    assert len(tables["vt_actual"]) == counts[MEASURED] + counts[CORRECTED]
    assert len(tables["vt_decision"]) == counts[DECIDED]
    assert len(tables["vt_spend"]) == counts[SPENT]
    assert len(tables["vt_state"]) == state_events
    assert len(tables["vt_chain"]) == counts.total()


def fresh_projectors(
    app: ValuetrailApplication, db: ViewDatabase, key: Path
) -> dict[str, Projector]:
    """New view instances (no cache carried over from an earlier run), tables created."""
    return build_projectors(app, db, audit_views(str(key)))


def assert_rebuild_equals(
    app: ValuetrailApplication, db: ViewDatabase, key: Path
) -> dict[str, list[Any]]:
    """Rebuild every view from scratch and check it equals what is there; returns the rows."""
    projectors = fresh_projectors(app, db, key)
    before = dump(db, projectors)
    for projector in projectors.values():
        projector.rebuild()
    after = dump(db, projectors)
    for table in before:
        assert after[table] == before[table], f"{table} differs after a rebuild"
    return after
