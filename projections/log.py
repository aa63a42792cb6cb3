"""Reading the event log: eventsourcing's stored events table, read raw through a view database.

The views and the log share a URL, so the projector and the audit verifier read the stored
events with the view database's own connections: one plain SELECT per page, building no more
than they need. This module alone knows the events table's layout in each store; the view
database (`projections.db`) is an `EventLogReader`, and the views know neither.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Notification

from projections.audit.hashing import EventRow, uuid_of

if TYPE_CHECKING:
    from domain.application import ValuetrailApplication

#: Stored events read per query when streaming the whole log.
PAGE_SIZE = 5000


class LogCursor(Protocol):
    """The little of DB-API reading the log takes."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def fetchall(self) -> list[Any]: ...


@runtime_checkable
class BinaryCursor(LogCursor, Protocol):
    """A cursor that can also fetch results in binary format (PostgreSQL's)."""

    def execute_binary(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class EventLogReader(ABC):
    """Reads of the stored events table, through a database's read transactions."""

    url: str

    @abstractmethod
    def read(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor for reads (a transaction, so a read sees one consistent state)."""

    def event_rows(
        self, table: str, after: int, limit: int, *, schema: str | None = None
    ) -> list[EventRow]:
        """Up to `limit` stored events after log position `after`, in log order, read raw.

        One plain SELECT on eventsourcing's events table (`table`: the recorder's
        `events_table_name`; on PostgreSQL in `schema`, the datastore's, default public),
        building no Notification objects: (position, originator id as its 16 raw bytes,
        version, topic, state). The table must be in this database, as it is when the views
        and the log share a URL. Written against `read()`, so wrappers that delegate it (the
        projector's woken database) read the same way.
        """
        sqlite = self.url.startswith("sqlite:")
        # eventsourcing's SQLite recorder stores a UUID originator id as 32 hex digits (a text
        # id as given); on PostgreSQL it is a `uuid` (or `text`, hence the cast), and uuid_send
        # gives its 16 bytes in RFC 4122 order (psycopg reads bytea as bytes).
        originator = "originator_id" if sqlite else "uuid_send(originator_id::uuid)"
        at, source = self._log(table, schema)
        query = (
            f"SELECT {at}, {originator}, originator_version, topic, state FROM {source}"
            f" WHERE {at} > ? ORDER BY {at} LIMIT ?"
        )
        with self.read() as cursor:
            if isinstance(cursor, BinaryCursor):
                cursor.execute_binary(query, (after, limit))  # bytea as is, not decoded
            else:
                cursor.execute(query, (after, limit))
            rows: list[EventRow] = cursor.fetchall()
        if not sqlite:
            return rows
        return [
            (position, _uuid_bytes(originator), version, topic, state)
            for position, originator, version, topic, state in rows
        ]

    def notifications(
        self,
        cursor: LogCursor,
        table: str,
        *,
        schema: str | None,
        after: int,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] | None = None,
    ) -> list[Notification] | None:
        """What the recorder's `select_notifications` gives, read with `cursor`, or None.

        On PostgreSQL one SELECT in the binary format, rather than the recorder's rows made into
        dictionaries first (docs/PERFORMANCE.md has the rates). None on SQLite: read through
        the recorder there.
        """
        if not isinstance(cursor, BinaryCursor):
            return None
        at, source = self._log(table, schema)
        where = [f"{at} > ?"]
        params: list[Any] = [after]
        if stop is not None:
            where.append(f"{at} <= ?")
            params.append(stop)
        if topics is not None:
            where.append("topic = ANY(?)")
            params.append(list(topics))
        query = (
            f"SELECT {at}, originator_id, originator_version, topic, state FROM {source}"
            f" WHERE {' AND '.join(where)} ORDER BY {at} LIMIT ?"
        )
        cursor.execute_binary(query, (*params, limit))
        return [
            Notification(
                id=position,
                originator_id=originator,
                originator_version=version,
                topic=topic,
                state=state,
            )
            for position, originator, version, topic, state in cursor.fetchall()
        ]

    def count_events_sql(self, table: str, *, schema: str | None = None) -> str:
        """SQL counting the stored events after one log position up to another (`?`, `?`)."""
        at, source = self._log(table, schema)
        return f"SELECT COUNT(*) FROM {source} WHERE {at} > ? AND {at} <= ?"

    def _log(self, table: str, schema: str | None) -> tuple[str, str]:
        """The log's position column and its table, as SQL."""
        if self.url.startswith("sqlite:"):
            # eventsourcing's SQLite recorder numbers events by rowid.
            return "rowid", _quoted(table)
        # Its PostgreSQL recorder keeps the position in `notification_id` (uniquely indexed).
        return "notification_id", f"{_quoted(schema or 'public')}.{_quoted(table)}"


def events_table(app: ValuetrailApplication) -> tuple[str, str | None]:
    """The recorder's events table and (on PostgreSQL) its schema, as `event_rows` takes them."""
    recorder = app.recorder
    table = str(getattr(recorder, "events_table_name"))  # noqa: B009 - not on the base type
    schema = getattr(getattr(recorder, "datastore", None), "schema", None)
    return table, None if schema is None else str(schema)


def stream_event_rows(
    app: ValuetrailApplication, log: EventLogReader, *, up_to: int | None = None
) -> Iterator[EventRow]:
    """Every stored event in log order (up to a position) as raw rows, a page at a time."""
    table, schema = events_table(app)
    after = 0
    while True:
        page = log.event_rows(table, after, PAGE_SIZE, schema=schema)
        for row in page:
            if up_to is not None and row[0] > up_to:
                return
            yield row
        if len(page) < PAGE_SIZE:
            return
        after = page[-1][0]


def event_row(notification: Notification) -> EventRow:
    """The fields of a stored event that the log hashes."""
    return (
        notification.id,
        uuid_of(notification.originator_id).bytes,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


def _quoted(identifier: str) -> str:
    """An SQL identifier in double quotes (the same in SQLite and PostgreSQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def _uuid_bytes(originator: Any) -> bytes:
    """The 16 raw bytes of an originator id stored as text: 32 hex digits, or any UUID form."""
    text = str(originator)
    return bytes.fromhex(text) if len(text) == 32 else UUID(text).bytes
