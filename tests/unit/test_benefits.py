"""Benefits (DESIGN §2.3): attribution, measurements, corrections, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.application import (
    AlreadyHandledError,
    IdempotentRequest,
    MeasurementOutcome,
    ValuetrailApplication,
)
from domain.errors import (
    IdempotencyKeyReuseError,
    NotFoundError,
    RuleViolationError,
    ValidationError,
)
from domain.facts import benefit_facts
from domain.valuation import effective_shares
from tests.unit.builders import (
    BOARD,
    FEED,
    SATISFACTION,
    benefit,
    initiative,
    new_app,
    portfolio,
)

D = Decimal
MEASURED = "valuetrail.benefit.MeasurementRecorded.v1"
CORRECTED = "valuetrail.benefit.MeasurementCorrected.v1"


class World:
    """A portfolio with three initiatives; `a` is accountable for `benefit_id`."""

    def __init__(self) -> None:
        self.app = new_app()
        self.portfolio_id = portfolio(self.app)
        self.a = initiative(self.app, self.portfolio_id, name="Portal")
        self.b = initiative(self.app, self.portfolio_id, name="Chatbot")
        self.c = initiative(self.app, self.portfolio_id, name="Training")
        self.benefit_id = benefit(self.app, self.a)

    def topics(self, aggregate_id: UUID) -> list[str]:
        return [type(e).TOPIC for e in self.app.history(aggregate_id)]  # type: ignore[attr-defined]

    def measure(
        self,
        value: str,
        observed_on: date,
        *,
        benefit_id: UUID | None = None,
        source: str = "ledger",
        external_id: str | None = None,
    ) -> MeasurementOutcome:
        return self.app.record_measurement(
            benefit_id or self.benefit_id,
            value=value,
            observed_on=observed_on,
            source=source,
            external_id=external_id,
            meta=FEED,
        ).value


@pytest.fixture
def world() -> World:
    return World()


def item(benefit_id: UUID, external_id: str, value: str = "10", **changes: Any) -> dict[str, Any]:
    return {
        "benefit_id": benefit_id,
        "value": value,
        "observed_on": date(2025, 3, 1),
        "source": "ledger",
        "external_id": external_id,
        **changes,
    }


# ------------------------------------------------------------------------ attribution

BadContributions = Callable[[World], list[dict[str, Any]]]
BAD_CONTRIBUTIONS: list[tuple[str, BadContributions, str]] = [
    ("zero share", lambda w: [{"initiative_id": w.b, "share": "0"}], "contributions.0.share"),
    (
        "negative share",
        lambda w: [{"initiative_id": w.b, "share": "-0.2"}],
        "contributions.0.share",
    ),
    (
        "share above one",
        lambda w: [{"initiative_id": w.b, "share": "1.01"}],
        "contributions.0.share",
    ),
    (
        "shares sum above one",
        lambda w: [
            {"initiative_id": w.a, "share": "0.5"},
            {"initiative_id": w.b, "share": "0.3"},
            {"initiative_id": w.c, "share": "0.3"},
        ],
        "contributions",
    ),
    (
        "initiative twice",
        lambda w: [{"initiative_id": w.b, "share": "0.3"}, {"initiative_id": w.b, "share": "0.3"}],
        "contributions.1.initiative_id",
    ),
    (
        "unknown initiative",
        lambda w: [{"initiative_id": uuid4(), "share": "0.5"}],
        "contributions",
    ),
]


@pytest.mark.parametrize(
    ("contributions", "field"),
    [(bad, field) for _, bad, field in BAD_CONTRIBUTIONS],
    ids=[name for name, _, _ in BAD_CONTRIBUTIONS],
)
def test_changing_attribution_rejects_double_counting_and_stores_nothing(
    world: World, contributions: BadContributions, field: str
) -> None:
    before = world.app.get_benefit(world.benefit_id)
    history = world.topics(world.benefit_id)
    stored = world.app.head_position()
    with pytest.raises(ValidationError) as caught:
        world.app.change_attribution(
            world.benefit_id, contributions=contributions(world), reason="Re-split", meta=BOARD
        )
    assert field in caught.value.errors
    assert world.app.get_benefit(world.benefit_id).version == before.version
    assert world.topics(world.benefit_id) == history
    assert world.app.head_position() == stored
    assert [b.id for b in world.app.benefits_of(world.a)] == [world.benefit_id]


@pytest.mark.parametrize(
    ("contributions", "field"),
    [(bad, field) for _, bad, field in BAD_CONTRIBUTIONS],
    ids=[name for name, _, _ in BAD_CONTRIBUTIONS],
)
def test_identifying_a_double_counted_benefit_stores_nothing(
    world: World, contributions: BadContributions, field: str
) -> None:
    stored = world.app.head_position()
    with pytest.raises(ValidationError) as caught:
        benefit(world.app, world.b, contributions=contributions(world))
    assert field in caught.value.errors
    assert world.app.head_position() == stored
    assert world.app.benefits_of(world.b) == []


def test_shares_summing_to_exactly_one_are_accepted(world: World) -> None:
    world.app.change_attribution(
        world.benefit_id,
        contributions=[
            {"initiative_id": world.a, "share": "0.5"},
            {"initiative_id": world.b, "share": "0.25"},
            {"initiative_id": world.c, "share": "0.25"},
        ],
        reason="Shared",
        meta=BOARD,
    )
    facts = benefit_facts(world.app.get_benefit(world.benefit_id))
    assert effective_shares(facts) == {world.a: D("0.5"), world.b: D("0.25"), world.c: D("0.25")}


def test_without_contributions_the_accountable_initiative_has_the_whole_benefit(
    world: World,
) -> None:
    stored = world.app.get_benefit(world.benefit_id)
    assert stored.attributed_to == [world.a]
    assert effective_shares(benefit_facts(stored)) == {world.a: D(1)}
    assert [b.id for b in world.app.benefits_of(world.a)] == [world.benefit_id]
    assert world.app.benefits_of(world.b) == []


def test_changing_attribution_moves_the_benefit_between_initiatives(world: World) -> None:
    world.app.change_attribution(
        world.benefit_id,
        contributions=[
            {"initiative_id": world.b, "share": "0.6"},
            {"initiative_id": world.c, "share": "0.4"},
        ],
        reason="Portal descoped",
        meta=BOARD,
    )
    assert world.app.benefits_of(world.a) == []
    assert [b.id for b in world.app.benefits_of(world.b)] == [world.benefit_id]
    assert [b.id for b in world.app.benefits_of(world.c)] == [world.benefit_id]

    world.app.change_attribution(
        world.benefit_id,
        contributions=[{"initiative_id": world.a, "share": "1"}],
        reason="Portal back in scope",
        meta=BOARD,
    )
    assert [b.id for b in world.app.benefits_of(world.a)] == [world.benefit_id]
    assert world.app.benefits_of(world.b) == []
    assert world.app.benefits_of(world.c) == []


# ------------------------------------------------------------------------ corrections


def test_a_correction_never_edits_the_original_measurement(world: World) -> None:
    first = world.measure("100", date(2025, 3, 5), external_id="inv-1")
    measurement_id = first.measurement["measurement_id"]
    corrected = world.app.correct_measurement(
        world.benefit_id, measurement_id, value="80", reason="Credit note", meta=BOARD
    ).value
    assert (corrected["value"], corrected["previous_value"]) == (D(80), D(100))

    events: list[Any] = list(world.app.history(world.benefit_id))
    assert [type(e).TOPIC for e in events[-2:]] == [MEASURED, CORRECTED]
    original, correction = events[-2:]
    assert original.measurement_id == measurement_id
    assert original.value == D(100)
    assert correction.measurement_id == measurement_id
    assert correction.value == D(80)
    # The measurement as first recorded is still readable as such.
    assert world.app.get_measurement(world.benefit_id, measurement_id)["value"] == D(100)
    assert world.app.get_benefit(world.benefit_id).actuals == {"2025-03": D(80)}


def test_correcting_an_unknown_measurement_is_not_found_and_stores_nothing(world: World) -> None:
    stored = world.app.head_position()
    with pytest.raises(NotFoundError):
        world.app.correct_measurement(
            world.benefit_id, uuid4(), value="1", reason="Typo", meta=BOARD
        )
    assert world.app.head_position() == stored


def test_a_measurement_of_another_benefit_cannot_be_corrected_here(world: World) -> None:
    other = benefit(world.app, world.b)
    recorded = world.measure("5", date(2025, 3, 5), benefit_id=other)
    stored = world.app.head_position()
    with pytest.raises(NotFoundError):
        world.app.correct_measurement(
            world.benefit_id,
            recorded.measurement["measurement_id"],
            value="1",
            reason="Wrong benefit",
            meta=BOARD,
        )
    assert world.app.head_position() == stored


def test_flow_actuals_add_up_per_month_and_follow_corrections(world: World) -> None:
    first = world.measure("100", date(2025, 3, 5))
    world.measure("50", date(2025, 3, 20))
    world.measure("7.25", date(2025, 4, 1))
    assert world.app.get_benefit(world.benefit_id).actuals == {
        "2025-03": D(150),
        "2025-04": D("7.25"),
    }
    measurement_id = first.measurement["measurement_id"]
    world.app.correct_measurement(
        world.benefit_id, measurement_id, value="90", reason="Refund", meta=BOARD
    )
    world.app.correct_measurement(
        world.benefit_id, measurement_id, value="95", reason="Partial refund only", meta=BOARD
    )
    assert world.app.get_benefit(world.benefit_id).actuals == {
        "2025-03": D(145),
        "2025-04": D("7.25"),
    }


def test_a_level_month_stands_at_its_latest_observation(world: World) -> None:
    level = benefit(world.app, world.a, measure=SATISFACTION)
    late = world.measure("70", date(2025, 3, 28), benefit_id=level)
    early = world.measure("60", date(2025, 3, 2), benefit_id=level)  # posted late, observed early
    world.measure("65", date(2025, 4, 3), benefit_id=level)
    assert world.app.get_benefit(level).actuals == {"2025-03": D(70), "2025-04": D(65)}

    # Correcting an observation that no longer stands for its month changes nothing...
    world.app.correct_measurement(
        level, early.measurement["measurement_id"], value="61", reason="Rounding", meta=BOARD
    )
    assert world.app.get_benefit(level).actuals["2025-03"] == D(70)
    # ...correcting the one that does, changes the month.
    world.app.correct_measurement(
        level, late.measurement["measurement_id"], value="72", reason="Late survey", meta=BOARD
    )
    assert world.app.get_benefit(level).actuals["2025-03"] == D(72)


def test_a_benefit_with_many_measurements_loads_the_same_as_its_full_history(
    world: World,
) -> None:
    items = [
        item(world.benefit_id, f"line-{n}", "1.5", observed_on=date(2025, 1, 1) + timedelta(n))
        for n in range(130)
    ]
    world.app.record_measurements(items, meta=FEED)
    loaded = world.app.get_benefit(world.benefit_id)  # from the latest snapshot
    replayed = world.app.get_benefit(world.benefit_id, as_of=datetime.now(UTC))  # every event
    assert loaded.version == replayed.version == 130
    assert loaded.actuals == replayed.actuals
    assert sum(loaded.actuals.values()) == D("195.0")
    assert loaded.measurement_count == 130


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
