"""The embedded store: eventsourcing's SQLite recorder, with one SELECT for many aggregates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing import sqlite
from eventsourcing.persistence import StoredEvent

from domain.application.recorder import ValuetrailRecorder


class SQLiteRecorder(ValuetrailRecorder, sqlite.SQLiteApplicationRecorder):
    """The SQLite event store, read many aggregates at a time."""

    # One file, usually one writer process: a stale cache is refused by the version check
    # cheaply, so the first attempt of a single write need not read first.
    writes_on_cache_first = True

    def events_of(self, ids: Iterable[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates, in one SELECT."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        statement = (
            "SELECT originator_id, originator_version, topic, state FROM "
            f"{self.events_table_name} WHERE originator_id IN ({marks}) "
            "ORDER BY originator_id, originator_version"
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [i.hex for i in wanted])
            return [self._stored(row) for row in cursor.fetchall()]

    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """Each aggregate's newer events with one SELECT on a pooled connection, without the
        BEGIN and ROLLBACK around it that `select_events` sends (a lone SELECT sees one state
        of the database anyway): a large part of a cache fast-forward's time."""
        if not versions:
            return []
        statement = (
            self.select_events_statement + "AND originator_version>? ORDER BY originator_version"
        )
        found: list[StoredEvent] = []
        with self.datastore.get_connection(commit=False) as conn:
            cursor = conn.cursor()
            for ident, after in versions.items():
                cursor.execute(statement, (ident.hex if isinstance(ident, UUID) else ident, after))
                found.extend(self._stored(row) for row in cursor.fetchall())
        return found

    @contextmanager
    def turns(self, ids: Iterable[UUID]) -> Iterator[bool]:
        """SQLite has no advisory locks: the block runs unlocked."""
        yield False

    def _stored(self, row: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=self.convert_originator_id(row["originator_id"]),
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=row["state"],
        )


class Factory(sqlite.SQLiteFactory):
    """eventsourcing's SQLite factory, building a `SQLiteRecorder`."""

    application_recorder_class = SQLiteRecorder
