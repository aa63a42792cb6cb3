"""Store access for many aggregates at once: one query instead of one per aggregate, and a lock
that lets writers of the same aggregates take turns instead of redoing each other's work.

PostgreSQL and SQLite get one statement each; any other recorder (the in-memory one of the unit
tests) falls back to the recorder's own per-aggregate reads, which give the same answers.
"""

from __future__ import annotations

import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.utils import retry

#: The class half of the two-key advisory locks taken here (the projector's locks use one
#: bigint key, a separate key space in PostgreSQL, so the two can never collide).
WRITE_LOCK_CLASS = zlib.crc32(b"valuetrail:aggregate-writes") & 0x7FFFFFFF
#: Aggregates share this many locks (by a hash of their id), so a writer never holds more
#: than this many entries of PostgreSQL's lock table, however many aggregates it writes.
LOCK_BUCKETS = 64
#: How long a writer waits for its turn before going ahead optimistically (store retries).
LOCK_WAIT_SECONDS = 15


def kind(recorder: AggregateRecorder) -> str:
    """Which store a recorder writes to: "postgres", "sqlite" or "other"."""
    module = type(recorder).__module__
    if module.startswith("eventsourcing.postgres"):
        return "postgres"
    if module.startswith("eventsourcing.sqlite"):
        return "sqlite"
    return "other"


def _pg_table(recorder: Any) -> str:
    schema = str(recorder.datastore.schema).replace('"', '""')
    table = str(recorder.events_table_name).replace('"', '""')
    return f'"{schema}"."{table}"'


def _pg_stored(row: Mapping[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )


def events_of(recorder: AggregateRecorder, ids: Iterable[UUID]) -> list[StoredEvent]:
    """Every stored event of these aggregates, in one query (for receipts: one event each)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    store = kind(recorder)
    if store == "postgres":
        db: Any = recorder
        statement = (
            "SELECT originator_id, originator_version, topic, state FROM "
            f"{_pg_table(db)} WHERE originator_id = ANY(%s) "
            "ORDER BY originator_id, originator_version"
        )
        with db.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (wanted,), prepare=True)
            return [_pg_stored(row) for row in cursor.fetchall()]
    if store == "sqlite":
        db = recorder
        marks = ",".join("?" * len(wanted))
        statement = (
            f"SELECT originator_id, originator_version, topic, state FROM {db.events_table_name} "
            f"WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version"
        )
        with db.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [i.hex for i in wanted])
            return [
                StoredEvent(
                    originator_id=db.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in cursor.fetchall()
            ]
    found: list[StoredEvent] = []
    for ident in wanted:
        found.extend(recorder.select_events(ident))
    return found


def events_after(recorder: AggregateRecorder, versions: Mapping[UUID, int]) -> list[StoredEvent]:
    """The events of each aggregate after the version given for it, in one query."""
    if not versions:
        return []
    if kind(recorder) == "postgres" and len(versions) == 1:
        db: Any = recorder
        ((ident, after),) = versions.items()
        statement = (
            "SELECT originator_id, originator_version, topic, state FROM "
            f"{_pg_table(db)} WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version"
        )
        with db.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (ident, after), prepare=True)
            return [_pg_stored(row) for row in cursor.fetchall()]
    if kind(recorder) == "postgres":
        db = recorder
        ids = list(versions)
        statement = (
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS w(id, after) "
            f"JOIN {_pg_table(db)} AS e "
            "ON e.originator_id = w.id AND e.originator_version > w.after "
            "ORDER BY e.originator_id, e.originator_version"
        )
        with db.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (ids, [versions[i] for i in ids]), prepare=True)
            return [_pg_stored(row) for row in cursor.fetchall()]
    if kind(recorder) == "sqlite":
        return _sqlite_events_after(recorder, versions)
    found: list[StoredEvent] = []
    for ident, version in versions.items():
        found.extend(recorder.select_events(ident, gt=version))
    return found


def _sqlite_events_after(
    recorder: AggregateRecorder, versions: Mapping[UUID, int]
) -> list[StoredEvent]:
    """`events_after` on SQLite: each aggregate's newer events with one SELECT on a pooled
    connection, without the BEGIN and ROLLBACK around it that `select_events` sends (a lone
    SELECT sees one state of the database anyway): a third of a cache fast-forward's time."""
    db: Any = recorder
    statement = db.select_events_statement + "AND originator_version>? ORDER BY originator_version"
    found: list[StoredEvent] = []
    with db.datastore.get_connection(commit=False) as conn:
        cursor = conn.cursor()
        for ident, after in versions.items():
            cursor.execute(statement, (ident.hex if isinstance(ident, UUID) else ident, after))
            found.extend(
                StoredEvent(
                    originator_id=db.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in cursor.fetchall()
            )
    return found


@contextmanager
def turns(recorder: AggregateRecorder, ids: Iterable[UUID]) -> Iterator[bool]:
    """Hold PostgreSQL advisory locks on these aggregates' buckets (in a fixed order, so two
    writers never deadlock) until the block ends: writers of the same aggregates take turns, which
    beats letting them race and redo a large write after each conflict. Yields whether the
    locks are held; elsewhere, or if the wait is too long, the block runs unlocked and the
    store's version check still keeps writes correct."""
    keys = sorted({zlib.crc32(i.bytes) % LOCK_BUCKETS for i in ids})
    db: Any = recorder
    # The lock holds a connection while the block uses another: too small a pool goes unlocked.
    if not keys or kind(recorder) != "postgres" or db.datastore.pool.max_size < 2:
        yield False
        return
    # One writer per process waits on the database at a time; the others wait here, without
    # holding a connection each.
    local = _process_turns.setdefault(db.datastore, threading.Lock())
    if not local.acquire(timeout=LOCK_WAIT_SECONDS):
        yield False
        return
    try:
        with _advisory_locks(db, keys) as held:
            yield held
    finally:
        local.release()


_process_turns: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()


@contextmanager
def _advisory_locks(db: Any, keys: list[int]) -> Iterator[bool]:
    with db.datastore.get_connection() as conn:
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


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the recorder does
def insert_events(recorder: AggregateRecorder, stored: Sequence[StoredEvent]) -> list[int] | None:
    """Insert events as the recorder would (the same table lock, notification and ids), with
    plain prepared statements and the columns sent as four binary arrays rather than the
    recorder's composed SQL and text-encoded array of composite values. None elsewhere."""
    if kind(recorder) != "postgres":
        return None
    db: Any = recorder
    table = _pg_table(db)
    channel = str(db.channel_name).replace('"', '""')
    statement = (
        f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
        "RETURNING notification_id"
    )
    columns = (
        [e.originator_id for e in stored],
        [e.originator_version for e in stored],
        [e.topic for e in stored],
        [e.state for e in stored],
    )
    with db.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cursor:
        # Without parameters the three go to the server as one message, in one round trip.
        cursor.execute(
            f"SET LOCAL lock_timeout = '{int(db.datastore.lock_timeout)}s'; "
            f"LOCK TABLE {table} IN EXCLUSIVE MODE; "
            f'NOTIFY "{channel}"'
        )
        cursor.execute(statement, columns, prepare=True)
        return [int(row["notification_id"]) for row in cursor.fetchall()]
