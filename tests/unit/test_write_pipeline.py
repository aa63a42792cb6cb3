"""The application over its ports: the store is chosen by configuration, every save is seen by
the after-save hook, and an idempotent request is a port any caller can implement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Recording

from domain.application import (
    AlreadyHandledError,
    Claim,
    IdempotentRequest,
    Replay,
    ValuetrailApplication,
    ValuetrailRecorder,
)
from domain.application.records import check_same_figures
from domain.errors import ValidationError
from persistence import MEMORY_MODULE, POSTGRES_MODULE, SQLITE_MODULE, store_env
from tests.unit.builders import FEED, benefit, initiative, new_app, portfolio

DECIDED = "valuetrail.initiative.DecisionRecorded.v1"
MEASURED = "valuetrail.benefit.MeasurementRecorded.v1"


def test_a_store_module_that_builds_no_valuetrail_recorder_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"'eventsourcing\.popo'.*persistence\.memory"):
        ValuetrailApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_each_database_url_chooses_valuetrails_own_store_module() -> None:
    assert store_env("sqlite:///var/v.db")["PERSISTENCE_MODULE"] == SQLITE_MODULE
    assert store_env("postgresql://u@h/db")["PERSISTENCE_MODULE"] == POSTGRES_MODULE
    assert isinstance(new_app().recorder, ValuetrailRecorder)
    assert type(new_app().recorder).__module__ == MEMORY_MODULE


def test_every_save_is_told_to_the_after_save_listeners() -> None:
    app = new_app()
    seen: list[str] = []

    def listen(recordings: list[Recording[Any]]) -> None:
        seen.extend(r.notification.topic for r in recordings)

    app.on_saved(listen)
    benefit_id = benefit(app, initiative(app, portfolio(app)))
    app.record_measurement(
        benefit_id, value="5", observed_on=date(2025, 2, 1), source="ledger", meta=FEED
    )
    assert len(seen) == app.head_position()
    assert seen.count(MEASURED) == 1


def test_the_memory_store_reads_many_aggregates_as_it_reads_each() -> None:
    app = new_app()
    ids = [portfolio(app), portfolio(app), uuid4()]
    each = [e for i in sorted(ids) for e in app.recorder.select_events(i)]
    assert app.recorder.events_of(ids) == each
    after = {ids[0]: 0, ids[1]: 5, ids[2]: 0}
    newer = app.recorder.events_after(after)
    assert newer == [e for e in app.recorder.select_events(ids[0]) if e.originator_version > 0]
    with app.recorder.turns(ids) as held:
        assert held is False


class Answer:
    """A caller's own implementation of the idempotency port (no closure handed over)."""

    def __init__(self, key: str) -> None:
        self.claim = Claim("scope-1", key, "sha256:body")

    def record(self, result: Any) -> Replay:
        return Replay(202, {"portfolio": str(result.id)})


def test_any_implementation_of_the_idempotency_port_is_recorded_and_replayed() -> None:
    app = new_app()
    once = Answer("create-1")
    created = app.create_portfolio(
        name="Ops", currency="EUR", discount_rate="0.03", base_month="2025-01", meta=FEED, once=once
    )
    assert app.replay(once) == Replay(202, {"portfolio": str(created.value.id)})
    same = IdempotentRequest("scope-1", "create-1", "sha256:body", lambda r: (0, {}))
    assert app.replay(same) == app.replay(once)
    with pytest.raises(AlreadyHandledError) as caught:
        app.create_portfolio(
            name="Ops",
            currency="EUR",
            discount_rate="0.03",
            base_month="2025-01",
            meta=FEED,
            once=once,
        )
    assert caught.value.replay == Replay(202, {"portfolio": str(created.value.id)})


def test_a_repeated_figure_that_is_not_a_number_is_refused_under_its_own_field() -> None:
    stored = {"month": "2025-02", "amount": Decimal("500")}
    with pytest.raises(ValidationError) as refused:
        check_same_figures(
            "spend", stored, {"month": "2025-02", "amount": "5 00"}, ("month", "amount")
        )
    assert set(refused.value.errors) == {"amount"}
