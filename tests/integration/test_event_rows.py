"""`ViewDatabase.event_rows`: the raw log reader the audit verifier uses, on SQLite and PostgreSQL.

It reads eventsourcing's events table with plain SQL, so it must return exactly what the
recorder's own `select_notifications` returns: the same positions, originator ids (as raw
bytes), versions, topics and state bytes, in the same order, page after page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.application import ValuetrailApplication
from projections.audit.hashing import EventRow
from projections.db import ViewDatabase
from projections.log import event_row, events_table, stream_event_rows
from projections.wakeups import Wakeups, WokenViewDatabase
from tests.integration.builders import BOARD, FINANCE, build, measurement_items, opened


@pytest.fixture
def store(db_url: str) -> Iterator[tuple[ValuetrailApplication, ViewDatabase]]:
    """A store with a small varied history: a portfolio, goal, initiative, benefit, 30 measures."""
    with opened(db_url, create_tables=True) as app:
        setup = build(app)
        app.record_measurements(measurement_items(setup.benefit_id, 30), meta=FINANCE)
        app.record_measurement(
            setup.benefit_id,
            value="2.25",
            observed_on=measurement_items(setup.benefit_id, 1)[0]["observed_on"],
            source="manual",
            meta=BOARD,
        )
        db = ViewDatabase.from_url(db_url)
        try:
            yield app, db
        finally:
            db.close()


def recorded(app: ValuetrailApplication) -> list[EventRow]:
    """Every stored event as the recorder returns it, as event rows."""
    return [event_row(n) for n in app.recorder.select_notifications(start=1, limit=10_000)]


def test_event_rows_equal_the_recorders_notifications(
    store: tuple[ValuetrailApplication, ViewDatabase],
) -> None:
    app, db = store
    table, schema = events_table(app)
    expected = recorded(app)
    assert len(expected) > 60

    rows = db.event_rows(table, 0, 10_000, schema=schema)

    assert rows == expected
    for position, originator_id, version, topic, state in rows:
        assert type(position) is int and type(version) is int
        assert type(originator_id) is bytes and len(originator_id) == 16
        assert type(topic) is str and type(state) is bytes


def test_event_rows_page_from_a_position(store: tuple[ValuetrailApplication, ViewDatabase]) -> None:
    app, db = store
    table, schema = events_table(app)
    expected = recorded(app)
    middle = expected[len(expected) // 2][0]

    assert (
        db.event_rows(table, middle, 5, schema=schema)
        == [row for row in expected if row[0] > middle][:5]
    )
    assert db.event_rows(table, expected[-1][0], 5, schema=schema) == []
    assert list(stream_event_rows(app, db)) == expected
    assert list(stream_event_rows(app, db, up_to=middle)) == [r for r in expected if r[0] <= middle]


def test_the_projectors_woken_database_reads_the_same_rows(
    store: tuple[ValuetrailApplication, ViewDatabase],
) -> None:
    app, db = store
    table, schema = events_table(app)
    woken = WokenViewDatabase(db, Wakeups(db, "unused"))

    assert woken.event_rows(table, 0, 10_000, schema=schema) == recorded(app)
