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
from uuid import UUID

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
from tests.integration.builders import Setup, build, fold_benefit, opened

pytestmark = pytest.mark.postgres

WORKERS = 8
MEASUREMENT = "valuetrail.benefit.MeasurementRecorded.v1"
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one racing worker got: a result or the exception it raised."""

    result: T | None = None
    error: Exception | None = None


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
        except Exception as error:  # whatever escapes is the finding, so keep it
            return Outcome(error=error)

    with ExitStack() as stack:
        # One connection each (two spare): eight default pools would take 40 of the server's
        # 100 slots before the first write, and the server is shared with other test runs.
        apps = [
            stack.enter_context(opened(url, POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="2"))
            for _ in range(WORKERS)
        ]
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
    assert topics(app, s.benefit_id).count(MEASUREMENT) == 1
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

    def post(worker: ValuetrailApplication, n: int) -> list[Outcome[UUID]]:
        posted: list[Outcome[UUID]] = []
        for k in range(per_worker):
            try:
                written = worker.record_measurement(
                    s.benefit_id,
                    value="2",
                    observed_on=date(2024, 1 + k % 12, 1 + n),
                    source="crm",
                    external_id=f"w{n}-{k}",
                    meta=meta(n),
                )
            except ConcurrencyError as error:
                posted.append(Outcome(error=error))
            else:
                posted.append(Outcome(result=written.value.measurement["measurement_id"]))
        return posted

    outcomes = race(url, post)

    assert [o.error for o in outcomes] == [None] * WORKERS
    posted = [p for o in outcomes for p in o.result or []]
    stored_ids = {p.result for p in posted if p.result is not None}
    rejected = [p.error for p in posted if p.error is not None]
    # Whatever a worker was told is exactly what is stored: nothing lost, nothing doubled.
    recorded: list[Any] = [e for e in app.history(s.benefit_id) if topic_of(e) == MEASUREMENT]
    assert {e.measurement_id for e in recorded} == stored_ids
    assert len(recorded) == len(stored_ids) == WORKERS * per_worker - len(rejected)
    with opened(url) as fresh:
        benefit = fresh.get_benefit(s.benefit_id)
        assert benefit.measurement_count == len(recorded)
        assert sum(benefit.actuals.values()) == 2 * len(recorded)
        assert benefit == fold_benefit(fresh, s.benefit_id)
    # DESIGN 2.3: commuting writes are retried transparently and never surface as a 409.
    assert not rejected, f"{len(rejected)} of {WORKERS * per_worker} measurements were refused"
    assert len(recorded) == WORKERS * per_worker


@pytest.mark.parametrize("kind", ["spend", "proposal"])
def test_other_commuting_writes_from_racing_workers_all_land(
    store: tuple[ValuetrailApplication, Setup, str], kind: str
) -> None:
    app, s, url = store
    per_worker = 10

    def write(worker: ValuetrailApplication, n: int, k: int) -> None:
        if kind == "spend":
            worker.record_spend(
                s.initiative_id,
                month="2024-02",
                amount="3",
                source="erp",
                external_id=f"w{n}-{k}",
                meta=meta(n),
            )
        else:
            worker.propose_initiative(
                portfolio_id=s.portfolio_id,
                kind="project",
                name=f"Idea {n}-{k}",
                sponsor="CFO",
                start_month="2024-01",
                end_month="2024-12",
                confidence="0.5",
                meta=meta(n),
            )

    def post(worker: ValuetrailApplication, n: int) -> int:
        refused = 0
        for k in range(per_worker):
            try:
                write(worker, n, k)
            except ConcurrencyError:
                refused += 1
        return refused

    outcomes = race(url, post)

    assert [o.error for o in outcomes] == [None] * WORKERS
    refused = sum(o.result or 0 for o in outcomes)
    accepted = WORKERS * per_worker - refused
    if kind == "spend":
        assert app.get_initiative(s.initiative_id).spend_to_date == 3 * accepted
    else:
        assert len(app.list_initiatives(s.portfolio_id)) == 1 + accepted
    assert not refused, f"{refused} of {WORKERS * per_worker} racing {kind} writes were refused"


def test_racing_decisions_keep_the_status_history_legal(
    store: tuple[ValuetrailApplication, Setup, str],
) -> None:
    app, s, url = store
    choices = ["invest", "continue", "suspend", "delay", "continue", "invest", "suspend", "stop"]
    today = utc_now().date()

    def decide(worker: ValuetrailApplication, n: int) -> list[Outcome[Written[dict[str, Any]]]]:
        # Each worker tries three decisions in a row, so later rounds race on a moved status.
        tried: list[Outcome[Written[dict[str, Any]]]] = []
        for decision in (choices[n], choices[(n + 3) % WORKERS], choices[(n + 5) % WORKERS]):
            try:
                written = worker.record_decision(
                    s.initiative_id,
                    decision=decision,
                    rationale=f"worker {n} says {decision}",
                    decided_by="Board",
                    decided_on=today,
                    delay_until=add_months(current_month(), 2) if decision == "delay" else None,
                    meta=meta(n),
                )
            except (ConcurrencyError, InvalidTransitionError) as error:
                tried.append(Outcome(error=error))
            else:
                tried.append(Outcome(result=written))
        return tried

    outcomes = race(url, decide)

    assert [o.error for o in outcomes] == [None] * WORKERS, "only domain errors may reach callers"
    tried = [t for o in outcomes for t in o.result or []]
    succeeded = [t.result for t in tried if t.result is not None]
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
    assert topics(app, s.benefit_id).count(MEASUREMENT) == 1
    assert app.get_benefit(s.benefit_id).measurement_count == 1


def test_racing_batches_over_the_same_benefits_store_each_measurement_once(
    store: tuple[ValuetrailApplication, Setup, str],
) -> None:
    app, s, url = store
    second = app.identify_benefit(
        initiative_id=s.initiative_id,
        title="Fewer complaints",
        category="non_cashable",
        owner="Head of service",
        measure={"name": "complaints", "unit": "count", "kind": "flow", "direction": "decrease"},
        baseline={"value": "0", "as_of": date(2024, 1, 1)},
        meta=meta(0),
    ).value.id
    per_batch = 60

    def post(worker: ValuetrailApplication, n: int) -> Written[Any]:
        # Half of each batch is shared with the next worker's: those keys race between batches.
        keys = [f"w{n}-{k}" for k in range(per_batch // 2)]
        keys += [f"shared-{(n + 1) % WORKERS}-{k}" for k in range(per_batch // 4)]
        keys += [f"shared-{n}-{k}" for k in range(per_batch // 4)]
        # A shared key carries the same figures from every worker (its number picks them).
        numbers = [int(key.rsplit("-", 1)[1]) for key in keys]
        items = [
            {
                "benefit_id": s.benefit_id if number % 2 else second,
                "value": "1",
                "observed_on": date(2024, 1 + number % 12, 1),
                "source": "feed",
                "external_id": key,
            }
            for number, key in zip(numbers, keys, strict=True)
        ]
        return worker.record_measurements(items, meta=meta(n))

    outcomes = race(url, post)

    assert [o.error for o in outcomes] == [None] * WORKERS
    created = sum(o.result.value.created for o in outcomes if o.result is not None)
    recorded: list[Any] = [
        e for b in (s.benefit_id, second) for e in app.history(b) if topic_of(e) == MEASUREMENT
    ]
    unique = WORKERS * (per_batch // 2) + WORKERS * (per_batch // 4)
    assert created == len(recorded) == unique
    assert len({e.measurement_id for e in recorded}) == unique
    with opened(url) as fresh:
        for benefit_id in (s.benefit_id, second):
            assert fresh.get_benefit(benefit_id) == fold_benefit(fresh, benefit_id)
