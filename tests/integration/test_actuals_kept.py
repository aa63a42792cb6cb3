"""Forecast accuracy keeps the value view's monthly actuals per process and reads only the rows
stored since: its answers stay those of a read that starts afresh, as rows arrive, as a
correction replaces a month's value, and when the view is emptied and built again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.analytics.accuracy import Accuracy
from domain.months import add_months
from projections.portfolio_value.accuracy_feed import accuracy_as_of
from projections.portfolio_value.actuals import forget_kept_actuals
from projections.portfolio_value.writer import PortfolioValueView
from projections.runner import Projector
from tests.integration.analytics_world import BOARD, NOW, World, built_world, first_day

#: The portal's share of the savings benefit; four months of 800 measured before the tests.
SHARE = Decimal("0.6")
MEASURED = 4 * 800


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    yield from built_world(db_url)


def _read(world: World, at: datetime, *, afresh: bool = False) -> Accuracy:
    if afresh:
        forget_kept_actuals()
    found = accuracy_as_of(world.db, world.portfolio, at)
    assert found is not None
    return found


def _realised(found: Accuracy, initiative: UUID) -> Decimal:
    [track] = [t for t in found.initiatives if t.initiative_id == initiative]
    return track.realised


def test_rows_stored_after_a_read_are_read_by_the_next(world: World) -> None:
    first = world.project()
    kept_first = _read(world, first, afresh=True)
    extra = world.app.record_measurement(
        world.savings,
        value="150",
        observed_on=first_day(add_months(NOW, -1)) + timedelta(days=9),
        source="ledger",
        meta=BOARD,
    ).value.measurement["measurement_id"]
    measured = world.project()
    kept_measured = _read(world, measured)
    world.app.correct_measurement(
        world.savings, UUID(str(extra)), value="50", reason="typo", meta=BOARD
    )
    corrected = world.project()
    kept_corrected = _read(world, corrected)
    # Each instant as recorded then, from the kept rows and from a read that starts afresh.
    for at, kept, realised in (
        (first, kept_first, MEASURED),
        (measured, kept_measured, MEASURED + 150),
        (corrected, kept_corrected, MEASURED + 50),
    ):
        assert _realised(kept, world.portal) == SHARE * realised
        assert _read(world, at) == kept
        assert _read(world, at, afresh=True) == kept


def test_a_view_emptied_and_built_again_is_read_afresh(world: World) -> None:
    at = world.project()
    built = _read(world, at, afresh=True)
    assert _realised(built, world.portal) == SHARE * MEASURED
    with world.db.transaction() as cursor:
        cursor.execute("DELETE FROM vt_actual")
    # The kept rows are gone with the view's: none are counted while it is being rebuilt.
    emptied = _read(world, at)
    assert _realised(emptied, world.portal) == 0
    assert emptied == _read(world, at, afresh=True)
    projector = Projector(world.app, world.db, PortfolioValueView(world.app))
    projector.setup()
    projector.catch_up()
    assert _read(world, at) == built
