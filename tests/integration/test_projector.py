"""The projector on SQLite and PostgreSQL: incremental views equal a rebuild row for row, a crash
mid-batch counts nothing twice, and a standby takes over."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psycopg
import pytest

from domain.application import ValuetrailApplication
from projections.audit.heads import TreeHead, load_or_create_signing_key
from projections.audit_chain.store import signed_items
from projections.catalog import audit_views, build_views
from projections.db import ViewDatabase
from tests.integration.builders import BOARD, FINANCE, build, measurement_items, opened
from tests.integration.processes import Running, environment, eventually, projector_command
from tests.integration.use_case_history import History
from tests.integration.view_tables import (
    CORRECTED,
    DECIDED,
    MEASURED,
    SPENT,
    assert_nothing_counted_twice,
    assert_rebuild_equals,
    fresh_projectors,
    positions,
    topic_counts,
)

# -- (a) incremental equals rebuilt ----------------------------------------------------------


def test_views_built_in_small_batches_between_writes_equal_a_rebuild(
    db_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "audit.pem"
    rng = random.Random(20260501)
    with opened(db_url, create_tables=True) as app:
        db = ViewDatabase.from_url(db_url)
        projectors = fresh_projectors(app, db, key)
        history = History(app, rng)
        for _ in range(220):
            history.step()
            for projector in projectors.values():
                chance = rng.random()
                if chance < 0.2:
                    projector.catch_up(7)
                elif chance < 0.5:
                    projector.process_batch(7)
        history.stop_one()  # at least one stopped initiative, valued as forgone/avoided
        for projector in projectors.values():
            projector.catch_up(7)

        counts = topic_counts(app)
        assert {MEASURED, CORRECTED, DECIDED, SPENT} <= set(counts)
        assert "valuetrail.benefit.AttributionChanged.v1" in counts
        tables = assert_rebuild_equals(app, db, key)
        assert all(tables.values()), [name for name, rows in tables.items() if not rows]
        assert_nothing_counted_twice(tables, counts)
        assert {position for _, position in tables["vt_tracking"]} == {app.head_position()}
        stopped = [row for row in tables["vt_decision"] if row[3] == "stop"]
        assert stopped
        public = load_or_create_signing_key(str(key)).public_key()
        with db.read() as cursor:
            heads = [head for _seq, head in signed_items(cursor) if isinstance(head, TreeHead)]
        assert len(heads) > 1
        assert all(head.verify(public) for head in heads)
        db.close()


# -- (b) a crash mid-catch-up ----------------------------------------------------------------


def long_log(app: ValuetrailApplication, batches: int) -> None:
    """A few thousand events: measurements in batches over three benefits, some corrected."""
    setup = build(app)
    app.record_decision(
        setup.initiative_id,
        decision="invest",
        rationale="Strong case",
        decided_by="Investment board",
        decided_on=date(2024, 1, 15),
        meta=BOARD,
    )
    for n in range(batches):
        outcome = app.record_measurements(
            measurement_items(setup.benefit_id, 50, start=n * 50), meta=FINANCE
        ).value
        if n % 5 == 0:
            first = outcome.results[0]["measurement_id"]
            app.correct_measurement(
                setup.benefit_id, first, value="2.25", reason="Ledger fix", meta=FINANCE
            )


@pytest.mark.slow
def test_a_projector_killed_mid_catch_up_resumes_without_counting_anything_twice(
    db_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    key = tmp_path / "audit.pem"
    with opened(db_url, create_tables=True) as app:
        long_log(app, batches=30)
        head = app.head_position()
        views = set(build_views(app, audit_views(str(key))))
    db = ViewDatabase.from_url(db_url)

    first = spawn(
        projector_command(),
        environment(db_url, tmp_path, VALUETRAIL_PROJECTOR_BATCH="10"),
        "first",
    )
    eventually(
        lambda: 0 < positions(db).get("measurement_series", 0) < head,
        "the first projector to be part-way through the log",
    )
    first.process.kill()
    first.process.wait(timeout=10)
    assert "Traceback" not in first.output()
    killed_at = positions(db)
    assert 0 < killed_at["measurement_series"] < head, killed_at

    second = spawn(projector_command(), environment(db_url, tmp_path), "second")
    eventually(
        lambda: positions(db) == dict.fromkeys(views, head),
        "the restarted projector to reach the head",
        timeout=30,
    )
    assert second.stop() == 0, second.output()
    assert "Traceback" not in second.output()

    with opened(db_url) as app:
        tables = assert_rebuild_equals(app, db, key)
        assert_nothing_counted_twice(tables, topic_counts(app))
    db.close()


# -- (c) standby -----------------------------------------------------------------------------


def advisory_locks(url: str) -> int:
    """Advisory locks granted in this database (one per active view)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.slow
def test_a_standby_projector_takes_over_when_the_active_one_dies(
    fresh_postgres_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    url = fresh_postgres_url
    with opened(url, create_tables=True) as app:
        setup = build(app)
        views = set(build_views(app, audit_views(str(tmp_path / "audit.pem"))))
        env = environment(url, tmp_path)
        active = spawn(projector_command(), env, "active")
        eventually(lambda: active.active_views() == views, "the first projector to be active")
        assert "Traceback" not in active.output()
        standby = spawn(projector_command(), env, "standby")
        eventually(lambda: "starting" in standby.output(), "the standby to start")
        time.sleep(1.5)  # more than a standby's retry interval

        assert standby.active_views() == set()
        assert advisory_locks(url) == len(views)

        active.process.kill()
        active.process.wait(timeout=10)
        written = app.record_measurements(
            measurement_items(setup.benefit_id, 20), meta=FINANCE
        ).log_position

        db = ViewDatabase.from_url(url)
        eventually(lambda: standby.active_views() == views, "the standby to take over")
        eventually(lambda: set(positions(db).values()) == {written}, "the standby to catch up")
        assert advisory_locks(url) == len(views)
        assert standby.stop() == 0, standby.output()
        assert advisory_locks(url) == 0
        tables = assert_rebuild_equals(app, db, tmp_path / "audit.pem")
        assert_nothing_counted_twice(tables, topic_counts(app))
        db.close()


@pytest.mark.slow
def test_the_projector_carries_on_after_its_database_connections_are_cut(
    fresh_postgres_url: str, tmp_path: Path, spawn: Callable[..., Running]
) -> None:
    url = fresh_postgres_url
    with opened(url, create_tables=True) as app:
        setup = build(app)
        head = app.head_position()
        views = set(build_views(app, audit_views(str(tmp_path / "audit.pem"))))
    db = ViewDatabase.from_url(url)
    projector = spawn(projector_command(), environment(url, tmp_path), "projector")
    eventually(lambda: positions(db) == dict.fromkeys(views, head), "the projector to catch up")
    db.close()

    # What a database restart or a failover does to every session: the store's pool, the
    # views' pools, the LISTEN connections and the lock sessions all go at once.
    with psycopg.connect(url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert cut is not None and cut[0] >= len(views)
    with opened(url) as app:
        written = app.record_measurements(
            measurement_items(setup.benefit_id, 10), meta=FINANCE
        ).log_position

        db = ViewDatabase.from_url(url)
        eventually(
            lambda: positions(db) == dict.fromkeys(views, written),
            "the projector to reconnect and catch up",
            timeout=30,
        )
        assert projector.process.poll() is None
        assert projector.stop() == 0, projector.output()
        tables = assert_rebuild_equals(app, db, tmp_path / "audit.pem")
        assert_nothing_counted_twice(tables, topic_counts(app))
        db.close()
