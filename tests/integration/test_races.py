"""Racing writers on PostgreSQL: separate application instances (like gunicorn workers) at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

import pytest

from domain.application import (
    AlreadyHandledError,
    IdempotentRequest,
    MeasurementOutcome,
    Replay,
    ValuetrailApplication,
    Written,
    topic_of,
)
from domain.errors import ConcurrencyError, InvalidTransitionError
from domain.initiative import TRANSITIONS
from domain.months import add_months, current_month, utc_now
from domain.values import Meta
from tests.integration.builders import Setup, build, opened

pytestmark = pytest.mark.postgres

WORKERS = 8
MEASUREMENT_RECORDED = "valuetrail.benefit.MeasurementRecorded.v1"
DECISION_RECORDED = "valuetrail.initiative.DecisionRecorded.v1"
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one racing worker got: a result or the exception it raised."""

    result: T | None = None
    error: BaseException | None = None


@pytest.fixture
def store(fresh_postgres_url: str) -> Iterator[tuple[ValuetrailApplication, Setup, str]]:
    """A fresh PostgreSQL store with tables, one application on it, and a portfolio set up."""
    with opened(fresh_postgres_url, create_tables=True) as app:
        yield app, build(app), fresh_postgres_url


def race(url: str, work: Callable[[ValuetrailApplication, int], T]) -> list[Outcome[T]]:
    """Run `work` in WORKERS threads, each with its own application, released at once."""
    barrier = threading.Barrier(WORKERS)

    def worker(app: ValuetrailApplication, n: int) -> Outcome[T]:
        barrier.wait(timeout=30)
        try:
            return Outcome(result=work(app, n))
        except BaseException as error:  # noqa: BLE001 - the test inspects whatever escaped
            return Outcome(error=error)

    with ExitStack() as stack:
        apps = [stack.enter_context(opened(url)) for _ in range(WORKERS)]
        # Warm each pool so connecting is not what decides who wins.
        for app in apps:
            app.head_position()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [pool.submit(worker, app, n) for n, app in enumerate(apps)]
            return [f.result(timeout=120) for f in futures]


def meta(n: int) -> Meta:
    """Who a racing worker writes as."""
    return Meta(actor=f"worker-{n}", request_id=f"req-{n}")


def topics(app: ValuetrailApplication, ident: Any) -> list[str]:
    """Topics of an aggregate's events, oldest first."""
    return [topic_of(e) for e in app.history(ident)]


def test_the_same_measurement_posted_by_racing_workers_is_stored_once(
    store: tuple[ValuetrailApplication, Setup, str],
) -> None:
    app, s, url = store

    def post(worker: ValuetrailApplication, n: int) -> Written[MeasurementOutcome]:
        return worker.record_measurement(
            s.benefit_id,
            value="42.50",
            observed_on=date(2024, 5, 31),
            source="crm",
            external_id="invoice-7",
            meta=meta(n),
        )

    outcomes = race(url, post)

    assert [o.error for o in outcomes] == [None] * WORKERS
    written = [o.result for o in outcomes if o.result is not None]
    assert topics(app, s.benefit_id).count(MEASUREMENT_RECORDED) == 1
    assert len({w.value.measurement["measurement_id"] for w in written}) == 1
    assert sum(w.value.created for w in written) == 1
    benefit = app.get_benefit(s.benefit_id)
    assert benefit.measurement_count == 1
    assert benefit.actuals == {"2024-05": Decimal("42.50")}


def test_different_measurements_from_racing_workers_are_all_stored(
    store: tuple[ValuetrailApplication, Setup, str],
) -> None:
    app, s, url = store
    per_worker = 25

    def post(worker: ValuetrailApplication, n: int) -> list[Any]:
        return [
            worker.record_measurement(
                s.benefit_id,
                value="2",
                observed_on=date(2024, 1 + k % 12, 1 + n),
                source="crm",
                external_id=f"w{n}-{k}",
                meta=meta(n),
            ).value.measurement["measurement_id"]
            for k in range(per_worker)
        ]

    outcomes = race(url, post)

    assert [o.error for o in outcomes] == [None] * WORKERS
    ids = [i for o in outcomes for i in o.result or []]
    assert len(set(ids)) == WORKERS * per_worker
    assert topics(app, s.benefit_id).count(MEASUREMENT_RECORDED) == WORKERS * per_worker
    with opened(url) as fresh:
        benefit = fresh.get_benefit(s.benefit_id)
        assert benefit.measurement_count == WORKERS * per_worker
        assert sum(benefit.actuals.values()) == 2 * WORKERS * per_worker


def test_racing_decisions_keep_the_status_history_legal(
    store: tuple[ValuetrailApplication, Setup, str],
) -> None:
    app, s, url = store
    choices = ["invest", "delay", "stop", "continue", "suspend", "invest", "continue", "delay"]
    today = utc_now().date()

    def decide(worker: ValuetrailApplication, n: int) -> Written[dict[str, Any]]:
        decision = choices[n]
        return worker.record_decision(
            s.initiative_id,
            decision=decision,
            rationale=f"worker {n} says {decision}",
            decided_by="Board",
            decided_on=today,
            delay_until=add_months(current_month(), 2) if decision == "delay" else None,
            meta=meta(n),
        )

    outcomes = race(url, decide)

    for outcome in outcomes:
        if outcome.error is not None:
            assert isinstance(outcome.error, ConcurrencyError | InvalidTransitionError), repr(
                outcome.error
            )
    succeeded = [o.result for o in outcomes if o.result is not None]
    assert succeeded, "some worker must win"
    decisions: list[Any] = app.decisions(s.initiative_id)
    assert len(decisions) == len(succeeded)
    status = "proposed"
    for event in decisions:
        assert event.from_status == status
        assert TRANSITIONS[event.from_status][event.decision] == event.to_status
        status = event.to_status
    assert app.get_initiative(s.initiative_id).status == status
    assert {w.value["decision_id"] for w in succeeded} == {e.decision_id for e in decisions}


def test_racing_retries_of_one_idempotency_key_store_one_measurement(
    store: tuple[ValuetrailApplication, Setup, str],
) -> None:
    app, s, url = store

    def respond(outcome: MeasurementOutcome) -> tuple[int, dict[str, Any]]:
        m = outcome.measurement
        return 201, {"measurement_id": str(m["measurement_id"]), "value": str(m["value"])}

    once = IdempotentRequest(
        scope="api-key-finance", key="retry-1", fingerprint="sha256:body", respond=respond
    )

    def post(worker: ValuetrailApplication, n: int) -> Written[MeasurementOutcome]:
        return worker.record_measurement(
            s.benefit_id,
            value="9.99",
            observed_on=date(2024, 6, 1),
            source="crm",
            meta=meta(n),
            once=once,
        )

    outcomes = race(url, post)

    written = [o.result for o in outcomes if o.result is not None]
    replayed = [o.error for o in outcomes if isinstance(o.error, AlreadyHandledError)]
    assert [o.error for o in outcomes if not isinstance(o.error, AlreadyHandledError | None)] == []
    assert len(written) == 1
    assert len(written) + len(replayed) == WORKERS
    status, body = respond(written[0].value)
    assert all(e.replay == Replay(status, body) for e in replayed)
    assert app.replay(once) == Replay(status, body)
    assert topics(app, s.benefit_id).count(MEASUREMENT_RECORDED) == 1
    assert app.get_benefit(s.benefit_id).measurement_count == 1

