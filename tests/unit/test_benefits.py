"""Benefits (DESIGN §2.3): attribution, corrections and the actuals measurements add up to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.errors import NotFoundError, ValidationError
from domain.facts import benefit_facts
from domain.valuation import effective_shares
from tests.unit.benefit_world import CORRECTED, MEASURED, World, item
from tests.unit.builders import BOARD, FEED, SATISFACTION, benefit

D = Decimal


@pytest.fixture
def world() -> World:
    return World()


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
