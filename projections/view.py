"""What every view is: tables, a reset, and how a batch of events changes its rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification

from projections.db import Cursor

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS vt_tracking (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)


@dataclass(frozen=True)
class Envelope:
    """One event in log order: its position, the stored record and the decoded event."""

    position: int
    notification: Notification
    event: Any

    @property
    def topic(self) -> str:
        """The stable topic the event is stored under."""
        return self.notification.topic

    @property
    def recorded_at(self) -> str:
        """The event's timestamp as fixed-width UTC text (sorts like the instant)."""
        return instant_text(self.event.timestamp)


def instant_text(instant: datetime) -> str:
    """Fixed-width ISO text of a UTC instant, comparable as a string in SQL."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


class View(ABC):
    """A read model built from the event log, one batch per transaction."""

    name: str
    ddl: Sequence[str] = ()
    tables: Sequence[str] = ()

    def create(self, cursor: Cursor) -> None:
        """Create the view's tables if missing."""
        for statement in self.ddl:
            cursor.execute(statement)

    def reset(self, cursor: Cursor) -> None:
        """Delete every row, so the view can be rebuilt from position 0."""
        for table in self.tables:
            cursor.execute(f"DELETE FROM {table}")

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
