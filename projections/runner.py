"""Run views: read the log in batches, apply each batch and its position in one transaction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from eventsourcing.persistence import PersistenceError

from domain.application import ValuetrailApplication
from projections.db import ViewDatabase
from projections.view import (
    TRACKING_DDL,
    Envelope,
    View,
    claim_position,
    track,
    tracked_position,
)

log = logging.getLogger("valuetrail.projector")

#: Told (view name, events in the batch, position reached) after each committed batch.
BatchObserver = Callable[[str, int, int], None]
_observers: list[BatchObserver] = []


def observe_batches(observer: BatchObserver) -> Callable[[], None]:
    """Call `observer` after every batch any projector in this process commits; returns undo."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


class Projector:
    """Keeps one view up to date with the event log, exactly once."""

    def __init__(
        self, app: ValuetrailApplication, db: ViewDatabase, view: View, *, batch_size: int = 500
    ) -> None:
        self.app = app
        self.db = db
        self.view = view
        self.batch_size = batch_size

    def setup(self) -> None:
        """Create the tracking table and the view's tables."""
        with self.db.transaction() as cursor:
            cursor.execute(TRACKING_DDL)
            self.view.create(cursor)
            cursor.execute(
                "INSERT INTO vt_tracking (view, position) VALUES (?, 0) ON CONFLICT DO NOTHING",
                (self.view.name,),
            )

    def position(self) -> int:
        """The last position this view has processed."""
        with self.db.read() as cursor:
            return tracked_position(cursor, self.view.name)

    def process_batch(self, batch_size: int | None = None) -> int:
        """Apply the next batch of events; returns how many were processed."""
        size = batch_size or self.batch_size
        with self.db.transaction() as cursor:
            start = claim_position(cursor, self.view.name)
            notifications = self.app.recorder.select_notifications(start=start + 1, limit=size)
            if not notifications:
                return 0
            batch = [Envelope(n.id, n, self.app.mapper.to_domain_event(n)) for n in notifications]
            try:
                self.view.apply(cursor, batch)
            except BaseException:
                self.view.forget()
                raise
            track(cursor, self.view.name, notifications[-1].id)
        for observer in _observers:
            observer(self.view.name, len(notifications), notifications[-1].id)
        return len(notifications)

    def catch_up(self, batch_size: int | None = None) -> int:
        """Process batches until the view has seen the whole log; returns the event count."""
        total = 0
        while count := self.process_batch(batch_size):
            total += count
        return total

    def rebuild(self, batch_size: int = 2000) -> int:
        """Drop the view's rows and build it again from the start of the log."""
        self.view.forget()
        with self.db.transaction() as cursor:
            self.view.reset(cursor)
            track(cursor, self.view.name, 0)
        return self.catch_up(batch_size)

    def run(self, stop: threading.Event, *, idle_wait: float = 1.0) -> None:
        """Run until `stop` is set: active while holding the view's lock, standby otherwise."""
        channel = str(getattr(self.app.recorder, "channel_name", "valuetrail_events"))
        failures = 0
        while not stop.is_set():
            try:
                with self.db.exclusive(f"view-{self.view.name}") as active:
                    if not active:
                        stop.wait(idle_wait)  # standby: another instance runs this view
                        continue
                    log.info("projector active for view %s", self.view.name)
                    self.setup()
                    while not stop.is_set():
                        if self.process_batch() == 0:
                            self.db.wait_for_events(channel, idle_wait)
                        failures = 0
            except (PersistenceError, OSError, RuntimeError) as error:
                # A dropped connection or a busy store: back off, reconnect, carry on.
                failures += 1
                self.view.forget()
                log.warning("view %s stopped (%s); restarting", self.view.name, error)
                stop.wait(min(30.0, 0.5 * 2**failures))
            except Exception as error:
                failures += 1
                self.view.forget()
                log.exception("view %s failed: %s; restarting", self.view.name, error)
                stop.wait(min(30.0, 0.5 * 2**failures))


def wait_for_position(
    db: ViewDatabase, views: Sequence[str], position: int, timeout: float
) -> bool:
    """Wait (bounded) until every named view has processed `position`."""
    deadline = time.monotonic() + timeout
    while True:
        with db.read() as cursor:
            if all(tracked_position(cursor, name) >= position for name in views):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
