"""An audited store on SQLite or PostgreSQL, and an intruder's SQL against it (test helpers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.application import ValuetrailApplication
from projections.audit.heads import TreeHead
from projections.audit.verify import Report, verify_lines
from projections.audit_chain.reads import (
    LogReport,
    export_lines,
    verify_store,
)
from projections.audit_chain.sealer import SealerView
from projections.audit_chain.store import signed_items
from projections.db import ViewDatabase, pg_conninfo
from projections.runner import Projector, rebuild_views
from tests.integration.builders import BOARD, FINANCE, Setup, build, measurement_items, opened

KEY = Ed25519PrivateKey.generate()
MEASUREMENT = "valuetrail.benefit.MeasurementRecorded.v1"


class EventTable:
    """The application's stored events, edited behind its back as an intruder with SQL would."""

    def __init__(self, url: str, app: ValuetrailApplication) -> None:
        self.url = url
        self.table = str(getattr(app.recorder, "events_table_name"))  # noqa: B009
        self.sqlite = url.startswith("sqlite:///")
        # SQLite numbers events by rowid; eventsourcing's PostgreSQL table has a column.
        self.position = "rowid" if self.sqlite else "notification_id"

    def execute(self, *statements: tuple[str, Sequence[Any]]) -> list[Any]:
        """Run statements (`?` placeholders) in one transaction; the last one's rows."""
        rows: list[Any] = []
        if self.sqlite:
            with closing(sqlite3.connect(self.url[len("sqlite:///") :])) as conn, conn:
                for sql, params in statements:
                    rows = conn.execute(sql, params).fetchall()
            return rows
        with psycopg.connect(pg_conninfo(self.url)) as pg:
            for sql, params in statements:
                cursor = pg.execute(sql.replace("?", "%s").encode(), params)
                rows = cursor.fetchall() if cursor.description else []
        return rows

    def state(self, position: int) -> bytes:
        """The stored state bytes of one event."""
        sql = f"SELECT state FROM {self.table} WHERE {self.position} = ?"
        return bytes(self.execute((sql, (position,)))[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        """Overwrite one event's payload."""
        sql = f"UPDATE {self.table} SET state = ? WHERE {self.position} = ?"
        self.execute((sql, (state, position)))

    def delete(self, position: int) -> None:
        """Remove one event."""
        self.execute((f"DELETE FROM {self.table} WHERE {self.position} = ?", (position,)))

    def swap(self, a: int, b: int) -> None:
        """Exchange the contents (originator, version, topic, state) of two rows in place."""
        columns = "originator_id, originator_version, topic, state"
        select = f"SELECT {columns} FROM {self.table} WHERE {self.position} = ?"
        first, second = self.execute((select, (a,)))[0], self.execute((select, (b,)))[0]
        update = (
            f"UPDATE {self.table} SET originator_id = ?, originator_version = ?, topic = ?,"
            f" state = ? WHERE {self.position} = ?"
        )
        parking = uuid4().hex if self.sqlite else uuid4()  # frees a's key for b's contents
        self.execute(
            (f"UPDATE {self.table} SET originator_id = ? WHERE {self.position} = ?", (parking, a)),
            (update, (*first, b)),
            (update, (*second, a)),
        )


@dataclass
class Store:
    """An application with ~50 events, its view database and the sealer's projector."""

    url: str
    app: ValuetrailApplication
    db: ViewDatabase
    state: Path
    projector: Projector
    setup: Setup

    @property
    def events(self) -> EventTable:
        """Direct SQL access to the stored events (and, through `execute`, every table)."""
        return EventTable(self.url, self.app)

    def verify(self) -> LogReport:
        """Verify the live store against its signed heads and the sealer's state file."""
        return verify_store(self.app, self.db, KEY.public_key(), str(self.state))

    def measure(self, count: int, *, start: int = 0) -> None:
        """Record `count` measurements, one event each."""
        items = measurement_items(self.setup.benefit_id, count, start=start)
        self.app.record_measurements(items, meta=FINANCE)

    def positions_of(self, topic: str) -> list[int]:
        """Log positions of the events with this topic."""
        log = self.app.recorder.select_notifications(start=1, limit=10_000)
        return [n.id for n in log if n.topic == topic]

    def restarted(self) -> Projector:
        """The sealer as a new process starts it: nothing in memory but the state file."""
        view = SealerView(KEY, state_path=str(self.state), app=self.app)
        return Projector(self.app, self.db, view, batch_size=8)

    def heads(self) -> list[TreeHead]:
        """Every signed head in the database."""
        with self.db.read() as cursor:
            return [item for _seq, item in signed_items(cursor) if isinstance(item, TreeHead)]

    def export(self) -> list[str]:
        """An export, as /audit/export streams it."""
        return list(export_lines(self.app, self.db))

    def sql(self, *statements: tuple[str, Sequence[Any]]) -> list[Any]:
        """Run statements against the database behind the application's back."""
        return self.events.execute(*statements)


def audited_store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh store with ~50 events, all sealed in batches of 8 (a head per batch)."""
    with opened(db_url, create_tables=True) as app:
        db = ViewDatabase.from_url(db_url)
        state = tmp_path / "sealer" / "audit_state.json"
        view = SealerView(KEY, state_path=str(state), app=app)
        projector = Projector(app, db, view, batch_size=8)
        projector.setup()  # before any event: the empty log's head
        setup = build(app)
        app.revise_cost_forecast(
            setup.initiative_id, periods={"2024-02": "1000"}, reason="Quote", meta=BOARD
        )
        store = Store(db_url, app, db, state, projector, setup)
        store.measure(20)
        projector.catch_up()
        try:
            yield store
        finally:
            db.close()


def offline(lines: Sequence[str], **options: Any) -> Report:
    """Verify export lines offline with the log's public key."""
    return verify_lines(lines, KEY.public_key(), **options)


def recompute_audit_tables(store: Store) -> None:
    """An intruder's rebuild of vt_chain and vt_tree from the log as it stands (no key needed)."""
    path = str(store.state) + ".intruder"
    intruder = SealerView(KEY, state_path=path, app=store.app, sign=False)
    rebuild_views(store.app, store.db, [intruder])


def roll_back(store: Store, position: int, size: int, seq: int) -> None:
    """Delete everything newer than a moment, as restoring a backup taken then would."""
    table, at = store.events.table, store.events.position
    statements: list[tuple[str, Sequence[Any]]] = [
        (f"DELETE FROM {table} WHERE {at} > ?", (position,)),
        ("DELETE FROM vt_chain WHERE position > ?", (position,)),
        ("DELETE FROM vt_tree_head WHERE seq > ?", (seq,)),
        ("UPDATE vt_tracking SET position = ? WHERE view = 'audit_chain'", (position,)),
    ]
    statements += [
        ("DELETE FROM vt_tree WHERE level = ? AND idx >= ?", (level, size >> level))
        for level in range(12)
    ]
    store.sql(*statements)
