"""Measurements (DESIGN §2.3): once per source and external id, whole batches, Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.application import AlreadyHandledError, IdempotentRequest, ValuetrailApplication
from domain.errors import IdempotencyKeyReuseError, RuleViolationError, ValidationError
from tests.unit.benefit_world import MEASURED, World, item
from tests.unit.builders import BOARD, FEED, benefit

D = Decimal


@pytest.fixture
def world() -> World:
    return World()


# ------------------------------------------------------------------------ idempotent measurements


def test_the_same_source_and_external_id_is_stored_once(world: World) -> None:
    first = world.measure("100", date(2025, 3, 5), external_id="inv-1")
    again = world.measure("100", date(2025, 3, 5), external_id="inv-1")
    assert (first.created, again.created) == (True, False)
    assert again.measurement["measurement_id"] == first.measurement["measurement_id"]
    assert world.topics(world.benefit_id).count(MEASURED) == 1
    assert world.app.get_benefit(world.benefit_id).actuals == {"2025-03": D(100)}


def test_the_same_external_id_from_another_source_is_another_measurement(world: World) -> None:
    first = world.measure("100", date(2025, 3, 5), source="ledger", external_id="inv-1")
    other = world.measure("100", date(2025, 3, 5), source="crm", external_id="inv-1")
    assert (first.created, other.created) == (True, True)
    assert other.measurement["measurement_id"] != first.measurement["measurement_id"]
    assert world.topics(world.benefit_id).count(MEASURED) == 2
    assert world.app.get_benefit(world.benefit_id).actuals == {"2025-03": D(200)}


def test_measurements_without_external_id_are_each_stored(world: World) -> None:
    world.measure("1", date(2025, 3, 5))
    world.measure("1", date(2025, 3, 5))
    assert world.topics(world.benefit_id).count(MEASURED) == 2


def test_a_batch_is_stored_whole(world: World) -> None:
    other = benefit(world.app, world.b)
    outcome = world.app.record_measurements(
        [item(world.benefit_id, "a-1"), item(other, "b-1", "4")], meta=FEED
    ).value
    assert (outcome.created, outcome.duplicates) == (2, 0)
    assert [r["benefit_id"] for r in outcome.results] == [world.benefit_id, other]
    assert world.app.get_benefit(world.benefit_id).actuals == {"2025-03": D(10)}
    assert world.app.get_benefit(other).actuals == {"2025-03": D(4)}


@pytest.mark.parametrize(
    ("bad_item", "field"),
    [
        (lambda w: item(uuid4(), "x-1"), "items.1.benefit_id"),
        (
            lambda w: item(w.benefit_id, "x-1", observed_on=date.today() + timedelta(days=10)),
            "items.1.observed_on",
        ),
        (lambda w: item(w.benefit_id, "x-1", "ten"), "items.1.value"),
    ],
    ids=["unknown benefit", "future date", "not a number"],
)
def test_one_bad_item_stores_nothing_of_the_batch(
    world: World, bad_item: Callable[[World], dict[str, Any]], field: str
) -> None:
    stored = world.app.head_position()
    version = world.app.get_benefit(world.benefit_id).version
    with pytest.raises(ValidationError) as caught:
        world.app.record_measurements(
            [item(world.benefit_id, "ok-1"), bad_item(world), item(world.benefit_id, "ok-2")],
            meta=FEED,
        )
    assert list(caught.value.errors) == [field]
    assert world.app.head_position() == stored
    assert world.app.get_benefit(world.benefit_id).version == version
    assert MEASURED not in world.topics(world.benefit_id)


def test_the_same_key_twice_in_a_batch_is_created_then_duplicate(world: World) -> None:
    outcome = world.app.record_measurements(
        [item(world.benefit_id, "inv-9"), item(world.benefit_id, "inv-9")], meta=FEED
    ).value
    assert [r["outcome"] for r in outcome.results] == ["created", "duplicate"]
    assert outcome.results[0]["measurement_id"] == outcome.results[1]["measurement_id"]
    assert (outcome.created, outcome.duplicates) == (1, 1)
    assert world.topics(world.benefit_id).count(MEASURED) == 1


def test_a_batch_repeated_is_all_duplicates(world: World) -> None:
    items = [item(world.benefit_id, "r-1"), item(world.benefit_id, "r-2")]
    world.app.record_measurements(items, meta=FEED)
    stored = world.app.head_position()
    again = world.app.record_measurements(items, meta=FEED).value
    assert (again.created, again.duplicates) == (0, 2)
    assert world.app.head_position() == stored


def test_a_closed_benefit_takes_no_more_measurements(world: World) -> None:
    world.app.close_benefit(world.benefit_id, reason="Realised in full", meta=BOARD)
    stored = world.app.head_position()
    with pytest.raises(RuleViolationError):
        world.measure("1", date(2025, 3, 5))
    with pytest.raises(ValidationError) as caught:
        world.app.record_measurements([item(world.benefit_id, "late-1")], meta=FEED)
    assert "items.0.benefit_id" in caught.value.errors
    assert world.app.head_position() == stored


# ------------------------------------------------------------------------ Idempotency-Key


def measurement_request(
    key: str, fingerprint: str, scope: str = "key-finance"
) -> IdempotentRequest:
    def respond(outcome: Any) -> tuple[int, dict[str, Any]]:
        return 201, {"measurement_id": str(outcome.measurement["measurement_id"])}

    return IdempotentRequest(scope=scope, key=key, fingerprint=fingerprint, respond=respond)


def record_once(app: ValuetrailApplication, benefit_id: UUID, once: IdempotentRequest) -> None:
    app.record_measurement(
        benefit_id,
        value="10",
        observed_on=date(2025, 3, 5),
        source="ledger",
        meta=FEED,
        once=once,
    )


def test_a_retried_request_replays_the_first_response(world: World) -> None:
    once = measurement_request("retry-1", "body-sha-1")
    assert world.app.replay(once) is None
    record_once(world.app, world.benefit_id, once)
    first = world.app.replay(once)
    assert first is not None
    assert first.status == 201
    (measurement_id,) = [
        e.measurement_id  # type: ignore[attr-defined]
        for e in world.app.history(world.benefit_id)
        if type(e).TOPIC == MEASURED  # type: ignore[attr-defined]
    ]
    assert first.body == {"measurement_id": str(measurement_id)}
    assert world.app.replay(measurement_request("retry-1", "body-sha-1")) == first


def test_a_retry_that_races_past_the_replay_check_stores_nothing(world: World) -> None:
    once = measurement_request("retry-2", "body-sha-2")
    record_once(world.app, world.benefit_id, once)
    stored = world.app.head_position()
    with pytest.raises(AlreadyHandledError) as caught:
        record_once(world.app, world.benefit_id, once)
    assert caught.value.replay == world.app.replay(once)
    assert world.app.head_position() == stored
    assert world.topics(world.benefit_id).count(MEASURED) == 1


def test_an_idempotency_key_reused_for_another_body_is_refused(world: World) -> None:
    record_once(world.app, world.benefit_id, measurement_request("retry-3", "body-sha-3"))
    with pytest.raises(IdempotencyKeyReuseError):
        world.app.replay(measurement_request("retry-3", "another-body"))


def test_idempotency_keys_are_scoped_to_the_calling_api_key(world: World) -> None:
    record_once(world.app, world.benefit_id, measurement_request("shared", "body-a", "key-one"))
    assert world.app.replay(measurement_request("shared", "body-b", "key-two")) is None


def test_a_benefit_aggregate_records_who_measured(world: World) -> None:
    world.measure("1", date(2025, 3, 5))
    recorded: Any = world.app.history(world.benefit_id)[-1]
    assert type(recorded).TOPIC == MEASURED
    assert (recorded.actor, recorded.request_id) == (FEED.actor, FEED.request_id)
