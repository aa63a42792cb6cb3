"""One listener for new events shared by every view thread of a projector process.

Each view waiting on a LISTEN connection of its own would pin one PostgreSQL connection per view
(DESIGN §8: mind the connection budget). Instead one thread waits for the store's notifications
(or polls, on SQLite) and wakes every view at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from projections.db import Cursor, ViewDatabase

log = logging.getLogger("valuetrail.projector")


class Wakeups:
    """Counts "new events may exist" moments; views wait for the count to move past theirs."""

    def __init__(self, db: ViewDatabase, channel: str, *, interval: float = 1.0) -> None:
        self.db = db
        self.channel = channel
        self.interval = interval
        self._changed = threading.Condition()
        self._generation = 0

    def run(self, stop: threading.Event) -> None:
        """Listen until `stop` is set; a lost connection is retried (views poll meanwhile)."""
        failures = 0
        while not stop.is_set():
            try:
                self.db.wait_for_events(self.channel, self.interval)
                failures = 0
            except Exception as error:
                failures += 1
                log.warning("listening for new events failed (%s); retrying", error)
                stop.wait(min(30.0, 0.5 * 2**failures))
            with self._changed:
                self._generation += 1
                self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until a wake-up later than `seen` (or `timeout`); returns the latest one."""
        with self._changed:
            self._changed.wait_for(lambda: self._generation != seen, timeout)
            return self._generation


class WokenViewDatabase(ViewDatabase):
    """A view database whose waits for new events are served by shared `Wakeups`."""

    def __init__(self, inner: ViewDatabase, wakeups: Wakeups) -> None:
        self.inner = inner
        self.url = inner.url
        self.wakeups = wakeups
        # The wake-up this view last saw: one that came while it was busy returns at once.
        self._seen = 0

    def transaction(self) -> contextlib.AbstractContextManager[Cursor]:
        return self.inner.transaction()

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        return self.inner.read()

    def exclusive(self, name: str) -> contextlib.AbstractContextManager[bool]:
        return self.inner.exclusive(name)

    def wait_for_events(self, channel: str, timeout: float) -> None:
        self._seen = self.wakeups.wait(self._seen, timeout)

    def close(self) -> None:
        self.inner.close()
