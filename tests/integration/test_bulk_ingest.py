"""Batches on SQLite and PostgreSQL: one query for many receipts or benefits gives the same
answers as one read each, and batches over the same benefits take turns on PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from uuid import uuid4

import pytest

from domain.application import ValuetrailApplication, topic_of
from domain.benefit import Benefit
from domain.receipt import receipt_id
from tests.integration.builders import FINANCE, build, fold_benefit, measurement_items, opened

MEASUREMENT = "valuetrail.benefit.MeasurementRecorded.v1"


def test_batches_from_two_workers_leave_each_benefit_as_its_full_fold(db_url: str) -> None:
    with opened(db_url, create_tables=True) as one, opened(db_url) as two:
        s = build(one)
        # Each worker's cache falls behind the other's writes and catches up in one query.
        for round_ in range(4):
            for n, worker in enumerate((one, two)):
                start = 50 * (2 * round_ + n)
                items = measurement_items(s.benefit_id, 50, start=start)
                written = worker.record_measurements(items, meta=FINANCE)
                assert written.value.created == 50
                assert written.log_position == worker.head_position()
                saved = list(worker.iter_log(after=written.log_position - 100, limit=200))
                assert [n.id for n in saved] == list(range(saved[0].id, written.log_position + 1))
                assert {n.topic for n in saved} == {MEASUREMENT, "valuetrail.receipt.Issued.v1"}
        for worker in (one, two):
            found = worker._find_many(Benefit, [s.benefit_id, uuid4()])
            assert list(found) == [s.benefit_id]
            assert found[s.benefit_id] == fold_benefit(worker, s.benefit_id)
            assert worker.get_benefit(s.benefit_id).measurement_count == 400


def test_a_batch_finds_every_stored_key_with_one_lookup(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app:
        s = build(app)
        app.record_measurements(measurement_items(s.benefit_id, 30), meta=FINANCE)
        keys = [receipt_id("measurement", s.benefit_id, "ledger", f"m-{n}") for n in range(40)]

        found = app._find_receipts(keys)

        assert set(found) == set(keys[:30])
        assert all(found[k].data["measurement_id"] == k for k in keys[:30])
        again = app.record_measurements(measurement_items(s.benefit_id, 40), meta=FINANCE)
        assert (again.value.created, again.value.duplicates) == (10, 30)
        recorded = [e for e in app.history(s.benefit_id) if topic_of(e) == MEASUREMENT]
        assert len(recorded) == 40


@pytest.mark.postgres
def test_writers_of_the_same_benefits_take_turns_on_postgres(fresh_postgres_url: str) -> None:
    with opened(fresh_postgres_url, create_tables=True) as one, opened(fresh_postgres_url) as two:
        shared, other = uuid4(), uuid4()
        entered = threading.Event()
        order: list[str] = []

        def second() -> None:
            with two.recorder.turns([other, shared]) as held:
                order.append(f"second held={held}")

        with one.recorder.turns([shared]) as held:
            assert held
            waiter = threading.Thread(target=second)
            waiter.start()
            entered.wait(0.5)
            time.sleep(0.3)
            order.append("first done")
        waiter.join(timeout=10)

        assert order == ["first done", "second held=True"]
        with one.recorder.turns([other]) as held:  # released: free again at once
            assert held


def test_turns_elsewhere_run_unlocked(tmp_path: Path) -> None:
    with opened(f"sqlite:///{tmp_path}/v.db", create_tables=True) as app:
        assert isinstance(app, ValuetrailApplication)
        with app.recorder.turns([uuid4()]) as held:
            assert held is False


def test_turns_on_nothing_take_no_lock(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app, app.recorder.turns([]) as held:
        assert held is False


@pytest.mark.postgres
def test_a_pool_of_one_connection_writes_batches_unlocked(fresh_postgres_url: str) -> None:
    with opened(fresh_postgres_url, create_tables=True) as setup:
        s = build(setup)
    with opened(fresh_postgres_url, POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="0") as app:
        with app.recorder.turns([s.benefit_id]) as held:
            assert held is False  # the lock would take the only connection the write needs
        items = measurement_items(s.benefit_id, 20)
        assert app.record_measurements(items, meta=FINANCE).value.created == 20
