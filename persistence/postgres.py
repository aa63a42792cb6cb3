"""The production store: eventsourcing's PostgreSQL recorder, with reads of many aggregates in
one query, advisory locks that let writers of the same aggregates take turns, and a leaner
insert (the same table lock, notification and ids as the library's)."""

from __future__ import annotations

import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing import postgres
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry

from domain.application.recorder import ValuetrailRecorder

#: The class half of the two-key advisory locks taken here (the projector's locks use one
#: bigint key, a separate key space in PostgreSQL, so the two can never collide).
WRITE_LOCK_CLASS = zlib.crc32(b"valuetrail:aggregate-writes") & 0x7FFFFFFF
#: Aggregates share this many locks (by a hash of their id), so a writer never holds more
#: than this many entries of PostgreSQL's lock table, however many aggregates it writes.
LOCK_BUCKETS = 64
#: How long a writer waits for its turn before going ahead optimistically (store retries).
LOCK_WAIT_SECONDS = 15

_COLUMNS = "originator_id, originator_version, topic, state"


class PostgresRecorder(ValuetrailRecorder, postgres.PostgresApplicationRecorder):
    """The PostgreSQL event store, read and written many aggregates at a time."""

    @property
    def table(self) -> str:
        """The events table, schema-qualified and quoted."""
        schema = str(self.datastore.schema).replace('"', '""')
        table = str(self.events_table_name).replace('"', '""')
        return f'"{schema}"."{table}"'

    def events_of(self, ids: Iterable[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates, in one query."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        statement = (
            f"SELECT {_COLUMNS} FROM {self.table} WHERE originator_id = ANY(%s) "
            "ORDER BY originator_id, originator_version"
        )
        return self._select(statement, (wanted,))

    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The events of each aggregate after the version given for it, in one query."""
        if not versions:
            return []
        if len(versions) == 1:
            ((ident, after),) = versions.items()
            statement = (
                f"SELECT {_COLUMNS} FROM {self.table} WHERE originator_id = %s "
                "AND originator_version > %s ORDER BY originator_version"
            )
            return self._select(statement, (ident, after))
        ids = list(versions)
        statement = (
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS w(id, after) "
            f"JOIN {self.table} AS e "
            "ON e.originator_id = w.id AND e.originator_version > w.after "
            "ORDER BY e.originator_id, e.originator_version"
        )
        return self._select(statement, (ids, [versions[i] for i in ids]))

    def _select(self, statement: str, params: Sequence[Any]) -> list[StoredEvent]:
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, params, prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in cursor.fetchall()
            ]

    @contextmanager
    def turns(self, ids: Iterable[UUID]) -> Iterator[bool]:
        """Hold advisory locks on these aggregates' buckets (in a fixed order, so two writers
        never deadlock) until the block ends: writers of the same aggregates take turns, which
        beats letting them race and redo a large write after each conflict. If the wait is too
        long the block runs unlocked, and the store's version check keeps writes correct."""
        keys = sorted({zlib.crc32(i.bytes) % LOCK_BUCKETS for i in ids})
        # The lock holds a connection while the block uses another: too small a pool goes unlocked.
        if not keys or self.datastore.pool.max_size < 2:
            yield False
            return
        # One writer per process waits on the database at a time; the others wait here, without
        # holding a connection each.
        local = _process_turns.setdefault(self.datastore, threading.Lock())
        if not local.acquire(timeout=LOCK_WAIT_SECONDS):
            yield False
            return
        try:
            with self._advisory_locks(keys) as held:
                yield held
        finally:
            local.release()

    @contextmanager
    def _advisory_locks(self, keys: list[int]) -> Iterator[bool]:
        with self.datastore.get_connection() as conn:
            try:
                with conn.transaction(), conn.cursor() as cursor:
                    # A session lock taken in a transaction outlives it; the timeout ends with it.
                    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'")
                    cursor.execute(
                        "SELECT count(pg_advisory_lock(%s, k)) FROM unnest(%s::int[]) AS k",
                        (WRITE_LOCK_CLASS, keys),
                    )
            except Exception:  # the driver's own error type: not our turn in time, or no lock
                # Locks taken before the timeout outlive the rolled-back transaction: drop them.
                with conn.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock_all()")
                yield False
                return
            try:
                yield True
            finally:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock_all()")

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library does
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert events as the library's recorder would (the same table lock, notification and
        ids), with plain prepared statements and the columns sent as four binary arrays rather
        than composed SQL and a text-encoded array of composite values."""
        if kwargs.get("tracking") is not None:  # a process recorder's: the library's insert
            inserted: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return inserted
        channel = str(self.channel_name).replace('"', '""')
        statement = (
            f"INSERT INTO {self.table} ({_COLUMNS}) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        )
        columns = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cursor:
            # Without parameters the three go to the server as one message, in one round trip.
            cursor.execute(
                f"SET LOCAL lock_timeout = '{int(self.datastore.lock_timeout)}s'; "
                f"LOCK TABLE {self.table} IN EXCLUSIVE MODE; "
                f'NOTIFY "{channel}"'
            )
            cursor.execute(statement, columns, prepare=True)
            return [int(row["notification_id"]) for row in cursor.fetchall()]


_process_turns: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()


class Factory(postgres.PostgresFactory):
    """eventsourcing's PostgreSQL factory, building a `PostgresRecorder`."""

    application_recorder_class = PostgresRecorder
