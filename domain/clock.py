"""One instant per transaction: every event saved together carries the same timestamp.

Events are stamped when they are created, a little before they are saved. A use case that
saves several events at once (a measurement and its receipt, a proposal and its index entry)
runs inside `one_instant()`, so an as-of read at that instant sees all of them or none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_instant: ContextVar[datetime | None] = ContextVar("valuetrail_instant", default=None)


@contextmanager
def one_instant() -> Iterator[datetime]:
    """Stamp every event created inside the block with the same UTC instant."""
    token = _instant.set(datetime.now(UTC))
    try:
        yield _instant.get() or datetime.now(UTC)
    finally:
        _instant.reset(token)


class SharedClock:
    """Mixin for aggregate event classes: take the timestamp from `one_instant()` if set."""

    @staticmethod
    def create_timestamp() -> datetime:
        """The block's instant, or now."""
        return _instant.get() or datetime.now(UTC)
