"""Rebuilding every view in one pass, and views that read only their topics, on SQLite and
PostgreSQL: the rows equal those built event by event, and no event is skipped or counted twice
across gaps in positions or an event committed while a view reads."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from domain.application import ValuetrailApplication
from projections.catalog import build_projectors
from projections.db import Cursor, ViewDatabase
from projections.decision_trail.writer import DecisionsView
from projections.log import events_table
from projections.rebuild import processes_for, rebuild_in_processes, shared
from projections.runner import Projector, observe_batches, rebuild_views
from projections.view import Envelope, View
from tests.integration.builders import BOARD, build, opened
from tests.integration.use_case_history import History
from tests.integration.view_tables import dump, fresh_projectors, topic_counts


def propose(app: ValuetrailApplication, portfolio_id: UUID, name: str) -> None:
    """One more initiative: an event the decision trail reads."""
    app.propose_initiative(
        portfolio_id=portfolio_id,
        kind="project",
        name=name,
        sponsor="COO",
        leader="Ada",
        start_month="2024-01",
        end_month="2024-12",
        confidence="0.5",
        meta=BOARD,
    )


def proposed(db: ViewDatabase) -> int:
    """How many initiatives the decision trail knows."""
    with db.read() as cursor:
        cursor.execute("SELECT COUNT(*) FROM vt_decision_initiative")
        return int(cursor.fetchone()[0])


def test_views_rebuilt_in_one_pass_equal_views_built_batch_by_batch(
    db_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "audit.pem"
    rng = random.Random(20261126)
    with opened(db_url, create_tables=True) as app:
        db = ViewDatabase.from_url(db_url)
        projectors = fresh_projectors(app, db, key)
        history = History(app, rng)
        for _ in range(160):
            history.step()
            for projector in projectors.values():
                if rng.random() < 0.3:
                    projector.process_batch(3)
        for projector in projectors.values():
            projector.catch_up(3)
        incremental = dump(db, projectors)

        rebuilt = fresh_projectors(app, db, key)
        events = rebuild_views(app, db, [p.view for p in rebuilt.values()], batch_size=11)

        assert events == topic_counts(app).total()
        after = dump(db, rebuilt)
        for table, rows in incremental.items():
            assert after[table] == rows, f"{table} differs after a one-pass rebuild"
        assert {position for _, position in after["vt_tracking"]} == {app.head_position()}
        db.close()


def test_a_view_reads_only_its_topics_yet_goes_past_every_event_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    with opened(db_url, create_tables=True) as app:
        setup = build(app)
        for n in range(5):
            propose(app, setup.portfolio_id, f"Pilot {n}")
        db = ViewDatabase.from_url(db_url)
        projector = Projector(app, db, DecisionsView())
        projector.setup()
        seen: list[tuple[int, int]] = []
        stop_observing = observe_batches(
            lambda _view, events, position: seen.append((events, position))
        )
        read = spy_on_reads(app, db)
        try:
            total = projector.catch_up(2)
            reads = list(read)
        finally:
            stop_observing()

        head = app.head_position()
        assert total == topic_counts(app).total() == sum(events for events, _ in seen)
        assert projector.position() == seen[-1][1] == head
        assert proposed(db) == 6
        assert reads
        assert all(topics == sorted(DecisionsView.topics) for topics in reads)
        assert projector.process_batch() == 0  # nothing new: no write, nothing counted
        db.close()


def spy_on_reads(app: ValuetrailApplication, db: ViewDatabase) -> list[Sequence[str]]:
    """Record the topics of every read of the log (raw on PostgreSQL, by the recorder on SQLite)."""
    calls: list[Sequence[str]] = []
    recorder_select = app.recorder.select_notifications
    raw_select = db.notifications

    def select(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("topics", ()))
        return recorder_select(*args, **kwargs)

    def raw(*args: Any, **kwargs: Any) -> Any:
        notifications = raw_select(*args, **kwargs)
        if notifications is not None:
            calls.append(kwargs.get("topics") or ())
        return notifications

    app.recorder.select_notifications = select  # type: ignore[method-assign]
    db.notifications = raw  # type: ignore[method-assign]
    return calls


def test_a_view_of_some_topics_counts_events_not_positions_across_a_gap(
    fresh_postgres_url: str,
) -> None:
    with opened(fresh_postgres_url, create_tables=True) as app:
        setup = build(app)
        table, schema = events_table(app)
        with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
            # Numbers a rolled-back write would have used: positions never filled.
            conn.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'notification_id'))"
                " FROM generate_series(1, 25)",
                (f'"{schema}"."{table}"',),
            )
        propose(app, setup.portfolio_id, "After the gap")
        db = ViewDatabase.from_url(fresh_postgres_url)
        projector = Projector(app, db, DecisionsView())
        projector.setup()

        total = projector.catch_up(1)

        assert total == topic_counts(app).total() < app.head_position()
        assert projector.position() == app.head_position()
        assert proposed(db) == 2
        db.close()


def test_an_event_committed_while_a_view_reads_its_topics_is_not_skipped(
    fresh_postgres_url: str,
) -> None:
    with (
        opened(fresh_postgres_url, create_tables=True) as app,
        opened(fresh_postgres_url) as writer,
    ):
        setup = build(app)
        db = ViewDatabase.from_url(fresh_postgres_url)
        projector = Projector(app, db, DecisionsView())
        projector.setup()
        # Another worker commits a matching event just before and just after each read.
        racing = racing_writes(db, lambda n: propose(writer, setup.portfolio_id, f"Race {n}"))

        projector.catch_up(50)
        projector.catch_up(50)

        assert racing() >= 2
        with db.read() as cursor:
            cursor.execute("SELECT initiative_id FROM vt_decision_initiative")
            seen = {UUID(str(row[0])) for row in cursor.fetchall()}
        assert len(seen) == 1 + racing()
        assert projector.position() == app.head_position()
        db.close()


def racing_writes(db: ViewDatabase, write: Callable[[int], None]) -> Callable[[], int]:
    """Make `write` run just before and just after the next two reads of some topics."""
    original = db.notifications
    writes = 0

    def select(*args: Any, **kwargs: Any) -> Any:
        nonlocal writes
        if kwargs.get("topics") and writes < 4:
            write(writes)
            notifications = original(*args, **kwargs)
            write(writes + 1)
            writes += 2
            return notifications
        return original(*args, **kwargs)

    db.notifications = select  # type: ignore[method-assign]
    return lambda: writes


def test_several_views_rebuilt_together_leave_each_at_the_head(db_url: str, tmp_path: Path) -> None:
    with opened(db_url, create_tables=True) as app:
        setup = build(app)
        propose(app, setup.portfolio_id, "Second")
        db = ViewDatabase.from_url(db_url)
        projectors = build_projectors(app, db)
        for projector in projectors.values():
            projector.catch_up()
        before = dump(db, projectors)

        events = rebuild_views(app, db, [p.view for p in projectors.values()], batch_size=2)

        assert events == topic_counts(app).total()
        assert dump(db, projectors) == before
        db.close()


def test_views_rebuilt_in_two_processes_equal_views_built_in_one(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "audit.pem"
    with opened(fresh_postgres_url, create_tables=True) as app:
        history = History(app, random.Random(7))
        for _ in range(60):
            history.step()
        db = ViewDatabase.from_url(fresh_postgres_url)
        projectors = fresh_projectors(app, db, key)
        rebuild_views(app, db, [p.view for p in projectors.values()])
        in_one = dump(db, projectors)
        names = list(projectors)

        events = rebuild_in_processes(fresh_postgres_url, str(key), names, processes=2)

        assert events == topic_counts(app).total()
        assert dump(db, projectors) == in_one
        db.close()


def test_the_costliest_view_gets_a_process_of_its_own() -> None:
    names = ["portfolio_value", "measurement_series", "decision_trail", "audit_chain"]

    assert shared(names, 2) == [
        ["portfolio_value"],
        ["measurement_series", "decision_trail", "audit_chain"],
    ]
    assert shared(names, 1) == [names]
    assert shared(["decision_trail"], 2) == [["decision_trail"]]
    assert processes_for("sqlite:///var/v.db", 10**6, 4) == 1
    assert processes_for("postgresql://localhost/v", 1000, 4) == 1


class Idle(View):
    """A view of no topics at all: it is told of no event, yet keeps up with the log."""

    name = "idle"
    topics: frozenset[str] | None = frozenset()

    def __init__(self) -> None:
        self.told: list[int] = []

    def apply(self, cursor: Cursor, batch: Sequence[Envelope]) -> None:
        self.told += [envelope.position for envelope in batch]


def test_a_view_of_no_topics_is_told_of_no_event_and_still_reaches_the_head(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app:
        build(app)
        db = ViewDatabase.from_url(db_url)
        view = Idle()
        projector = Projector(app, db, view)
        projector.setup()

        assert projector.catch_up(3) == topic_counts(app).total()
        assert projector.position() == app.head_position()
        assert rebuild_views(app, db, [view], batch_size=3) == topic_counts(app).total()
        assert view.told == []
        db.close()


def test_a_running_view_applies_a_stream_of_single_writes_in_batches(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app:
        setup = build(app)
        db = ViewDatabase.from_url(db_url)
        projector = Projector(app, db, DecisionsView(), gather=0.3)
        projector.setup()
        projector.catch_up()
        batches: list[int] = []
        stop_observing = observe_batches(lambda _view, events, _position: batches.append(events))
        stop = threading.Event()
        runner = threading.Thread(target=projector.run, args=(stop,), kwargs={"idle_wait": 0.05})
        runner.start()
        try:
            for n in range(12):  # a write every ~60 ms, each waking the view
                propose(app, setup.portfolio_id, f"Pilot {n}")
                time.sleep(0.05)
            deadline = time.monotonic() + 10
            while projector.position() < app.head_position() and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            stop.set()
            runner.join(10)
            stop_observing()

        assert projector.position() == app.head_position()
        assert proposed(db) == 13
        # One batch per event would be 12; gathering for 0.3 s leaves a handful.
        assert 1 <= len(batches) <= 6, batches
        db.close()
