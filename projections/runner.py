"""Run views: read the log in batches, apply each batch and its position in one transaction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Notification, PersistenceError

from domain.application import ValuetrailApplication
from projections.db import Cursor, ViewDatabase
from projections.log import events_table
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


#: Told the view's name each time a running view fails and backs off.
FailureObserver = Callable[[str], None]
_failure_observers: list[FailureObserver] = []


def observe_failures(observer: FailureObserver) -> Callable[[], None]:
    """Call `observer` each time a running view of this process fails; returns undo."""
    _failure_observers.append(observer)
    return lambda: _failure_observers.remove(observer)


#: A failing view waits 1, 2, 4 … seconds before it tries again, at most this long.
MAX_BACKOFF_SECONDS = 60.0


def backoff_seconds(failures: int) -> float:
    """How long a view waits after its `failures`-th failure in a row."""
    return float(min(MAX_BACKOFF_SECONDS, 2 ** (failures - 1)))


@dataclass(frozen=True)
class Page:
    """What one read of the log found: the envelopes to apply, and how far it got."""

    envelopes: list[Envelope]
    reached: int  # the position a view is at once it has applied them
    events: int  # events of the log up to `reached` (those skipped included)


def read_page(
    app: ValuetrailApplication,
    db: ViewDatabase,
    cursor: Cursor,
    start: int,
    size: int,
    topics: frozenset[str] | None,
) -> Page | None:
    """Up to `size` events after position `start`, of these topics only (all when None).

    None when the log has nothing after `start`. Reading some topics, the page ends at the
    log's head as it was before the read (every event up to it was committed, so nothing
    skipped is written later; gaps in positions are numbers never used), or at its last event
    when it is full. `cursor` (on the log's database) counts the events it went past.
    """
    decode = app.mapper.to_domain_event
    if topics is None:
        notifications = _select(app, db, cursor, start, size, None, None)
        if not notifications:
            return None
        envelopes = [Envelope(n.id, n, decode=decode) for n in notifications]
        return Page(envelopes, notifications[-1].id, len(notifications))
    head = app.recorder.max_notification_id() or 0
    if head <= start:
        return None
    notifications = _select(app, db, cursor, start, size, head, topics) if topics else []
    reached = notifications[-1].id if len(notifications) == size else head
    envelopes = [Envelope(n.id, n, decode=decode) for n in notifications]
    table, schema = events_table(app)
    cursor.execute(db.count_events_sql(table, schema=schema), (start, reached))
    return Page(envelopes, reached, int(cursor.fetchone()[0]))


def _select(
    app: ValuetrailApplication,
    db: ViewDatabase,
    cursor: Cursor,
    start: int,
    size: int,
    stop: int | None,
    topics: frozenset[str] | None,
) -> Sequence[Notification]:
    """Up to `size` events after `start` (up to `stop`, of `topics`): raw where it is faster."""
    table, schema = events_table(app)
    wanted = sorted(topics) if topics is not None else None
    raw = db.notifications(
        cursor, table, schema=schema, after=start, limit=size, stop=stop, topics=wanted
    )
    if raw is not None:
        return raw
    return app.recorder.select_notifications(
        start=start + 1, limit=size, stop=stop, topics=wanted or ()
    )


#: The least time between two batches of a running view while events trickle in: under a
#: stream of single writes each view applies a batch of them, not one event per wake-up.
GATHER_SECONDS = 0.05


class Projector:
    """Keeps one view up to date with the event log, exactly once."""

    def __init__(
        self,
        app: ValuetrailApplication,
        db: ViewDatabase,
        view: View,
        *,
        batch_size: int = 500,
        gather: float = GATHER_SECONDS,
    ) -> None:
        self.app = app
        self.db = db
        self.view = view
        self.batch_size = batch_size
        self.gather = gather

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
        """Apply the next batch of events; returns how many events of the log it went past."""
        size = batch_size or self.batch_size
        with self.db.transaction() as cursor:
            start = claim_position(cursor, self.view.name)
            page = read_page(self.app, self.db, cursor, start, size, self.view.topics)
            if page is None:
                return 0
            try:
                if page.envelopes:
                    self.view.apply(cursor, page.envelopes)
            except BaseException:
                self.view.forget()
                raise
            track(cursor, self.view.name, page.reached)
        for observer in _observers:
            observer(self.view.name, page.events, page.reached)
        return page.events

    def catch_up(self, batch_size: int | None = None) -> int:
        """Process batches until the view has seen the whole log; returns the event count."""
        total = 0
        while count := self.process_batch(batch_size):
            total += count
        return total

    def rebuild(self, batch_size: int = 2000) -> int:
        """Drop the view's rows and build it again from the start of the log."""
        return rebuild_views(self.app, self.db, [self.view], batch_size=batch_size)

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
                    applied = 0.0
                    while not stop.is_set():
                        count = self.process_batch()
                        failures = 0
                        if count >= self.batch_size:
                            continue  # more are waiting in the log
                        if count:
                            applied = time.monotonic()
                        self.db.wait_for_events(channel, idle_wait)
                        # A steady stream of single writes wakes the view for each event: let
                        # them gather, so it applies a batch at most every `gather` seconds.
                        pause = self.gather - (time.monotonic() - applied)
                        if pause > 0:
                            stop.wait(pause)
            except Exception as error:
                # A dropped connection, a busy store, or an event the view cannot apply: one
                # line per back-off (the traceback only on the first of a run of failures),
                # counted in valuetrail_projection_failures_total, waiting longer each time.
                failures += 1
                self.view.forget()
                wait = backoff_seconds(failures)
                expected = isinstance(error, (PersistenceError, OSError))
                log.error(
                    "view %s failed (%s: %s); failure %d in a row, retrying in %.0f s",
                    self.view.name,
                    type(error).__name__,
                    str(error).splitlines()[0] if str(error) else "",
                    failures,
                    wait,
                    exc_info=failures == 1 and not expected,
                )
                for observer in _failure_observers:
                    observer(self.view.name)
                stop.wait(wait)


def rebuild_views(
    app: ValuetrailApplication, db: ViewDatabase, views: Sequence[View], *, batch_size: int = 2000
) -> int:
    """Drop the views' rows and build them again in one pass over the log; returns its events.

    Each page of the log is read once and each event decoded at most once, for the views
    that read it; each view applies the page's events of its topics and records its position
    in a transaction of its own, so an interrupted rebuild leaves every view consistent (and
    `catch_up` carries on from there). Runs to the head, events written meanwhile included.
    """
    if not views:
        return 0
    for view in views:
        view.forget()
    with db.transaction() as cursor:
        for view in views:
            view.reset(cursor)
            track(cursor, view.name, 0)
    topics: frozenset[str] | None = frozenset()
    for view in views:
        topics = None if topics is None or view.topics is None else topics | view.topics
    position = events = 0
    while True:
        with db.read() as cursor:
            page = read_page(app, db, cursor, position, batch_size, topics)
        if page is None:
            return events
        for view in views:
            _apply_page(db, view, position, page)
        position = page.reached
        events += page.events


def _apply_page(db: ViewDatabase, view: View, position: int, page: Page) -> None:
    """Apply a page's events of the view's topics to a view that is at `position`."""
    envelopes = page.envelopes
    if view.topics is not None:
        envelopes = [e for e in envelopes if e.topic in view.topics]
    with db.transaction() as cursor:
        if claim_position(cursor, view.name) != position:
            raise RuntimeError(f"view {view.name} was changed by another process while rebuilding")
        try:
            if envelopes:
                view.apply(cursor, envelopes)
        except BaseException:
            view.forget()
            raise
        track(cursor, view.name, page.reached)
    for observer in _observers:
        observer(view.name, page.events, page.reached)


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
