"""What every view is: tables, a reset, and how a batch of events changes its rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification

from projections.db import Cursor, empty_tables

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS vt_tracking (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)


#: How the JSON transcoder stores an event's timestamp, first of its fields.
_STORED_TIMESTAMP = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
_UNDECODED: Any = object()


class Envelope:
    """One event in log order: its position, the stored record and the event, decoded on demand.

    A view that reads `event` pays for decoding it; one that reads only the stored record (and
    `recorded_at`) does not. Views applied to the same envelopes share one decoding.
    """

    __slots__ = ("_decode", "_event", "_recorded_at", "notification", "position")

    def __init__(
        self,
        position: int,
        notification: Notification,
        event: Any = _UNDECODED,
        *,
        decode: Callable[[Notification], Any] | None = None,
    ) -> None:
        if event is _UNDECODED and decode is None:
            raise TypeError("an envelope needs the event or a way to decode it")
        self.position = position
        self.notification = notification
        self._event = event
        self._decode = decode
        self._recorded_at: str | None = None

    @property
    def event(self) -> Any:
        """The domain event (decoded from the stored record the first time it is asked for)."""
        if self._event is _UNDECODED and self._decode is not None:
            self._event = self._decode(self.notification)
        return self._event

    @property
    def topic(self) -> str:
        """The stable topic the event is stored under."""
        return self.notification.topic

    @property
    def recorded_at(self) -> str:
        """The event's timestamp as fixed-width UTC text (sorts like the instant)."""
        if self._recorded_at is None:
            stored = None if self._event is not _UNDECODED else stored_instant(self.notification)
            self._recorded_at = stored or instant_text(self.event.timestamp)
        return self._recorded_at


def stored_instant(notification: Notification) -> str | None:
    """The event's timestamp as `instant_text`, read from its stored JSON without decoding it.

    The JSON transcoder writes the timestamp first; anything else (another transcoder, a
    compressed or encrypted state) gives None and the caller decodes the event.
    """
    state = notification.state
    if not state.startswith(_STORED_TIMESTAMP):
        return None
    start = len(_STORED_TIMESTAMP)
    text = state[start : state.find(b'"', start)].decode("ascii", errors="replace")
    if len(text) == 32 and text[10] == "T" and text[19] == "." and text.endswith("+00:00"):
        return text  # UTC to the microsecond already: exactly what instant_text writes
    try:
        return instant_text(datetime.fromisoformat(text))
    except ValueError:
        return None


def event_topics(*aggregates: type) -> frozenset[str]:
    """The topics of every event these aggregate classes store (their nested event classes)."""
    return frozenset(
        topic
        for aggregate in aggregates
        for member in vars(aggregate).values()
        if isinstance(member, type)
        and (topic := getattr(member, "TOPIC", None))
        and topic != getattr(aggregate, "TOPIC", None)
    )


def instant_text(instant: datetime) -> str:
    """Fixed-width ISO text of a UTC instant, comparable as a string in SQL."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


class View(ABC):
    """A read model built from the event log, one batch per transaction."""

    name: str
    ddl: Sequence[str] = ()
    tables: Sequence[str] = ()
    #: The topics the view changes rows for; None for every topic. The projector reads only
    #: these, and still advances the view's position over the events in between.
    topics: frozenset[str] | None = None

    def create(self, cursor: Cursor) -> None:
        """Create the view's tables if missing."""
        for statement in self.ddl:
            cursor.execute(statement)

    def reset(self, cursor: Cursor) -> None:
        """Delete every row, so the view can be rebuilt from position 0."""
        empty_tables(cursor, self.tables)

    @abstractmethod
    def apply(self, cursor: Cursor, batch: Sequence[Envelope]) -> None:
        """Change the view's rows for a batch of events (in the caller's transaction)."""

    def forget(self) -> None:  # noqa: B027 - optional hook: most views cache nothing
        """Drop in-memory caches (after a rollback or a rebuild)."""


def claim_position(cursor: Cursor, view: str) -> int:
    """The view's position, locked for this transaction so concurrent appliers take turns."""
    cursor.execute("UPDATE vt_tracking SET position = position WHERE view = ?", (view,))
    return tracked_position(cursor, view)


def tracked_position(cursor: Cursor, view: str) -> int:
    """The last position a view has processed (0 when new)."""
    cursor.execute("SELECT position FROM vt_tracking WHERE view = ?", (view,))
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def track(cursor: Cursor, view: str, position: int) -> None:
    """Record the position a view has processed, in the same transaction as its rows."""
    cursor.execute(
        "INSERT INTO vt_tracking (view, position) VALUES (?, ?) "
        "ON CONFLICT (view) DO UPDATE SET position = excluded.position",
        (view, position),
    )
