"""The value view reads summed actuals and valued forecasts that the projection keeps.

`vt_measured` holds each benefit's actuals summed over every month after each change, and each
benefit version carries its forecast valued under the portfolio's terms. These tests cover the
cases the random histories of test_value_as_of.py do not reach: an actual observed in a month
after the as-of month, a stored forecast value whose terms do not match, and a view built
before either was kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.months import add_months, month_of
from domain.values import Meta
from persistence import store_env
from projections.catalog import build_projectors
from projections.codec import dumps, loads
from projections.db import ViewDatabase
from projections.portfolio_value import recorded as value_module
from projections.portfolio_value.value import portfolio_value
from projections.portfolio_value.writer import PortfolioValueView
from projections.runner import Projector
from projections.view import tracked_position
from tests.integration.reference import api_body, reference_value

BOARD = Meta(actor="board", request_id="req-board")


@dataclass
class World:
    app: ValuetrailApplication
    db: ViewDatabase
    portfolio: UUID
    benefit: UUID

    def project(self) -> None:
        for projector in build_projectors(self.app, self.db).values():
            projector.catch_up()

    def value(self, at: datetime) -> dict[str, object]:
        view = portfolio_value(self.db, self.portfolio, as_of=at)
        assert view is not None
        return api_body(view)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    app = ValuetrailApplication(env=store_env(db_url, create_tables=True))
    db = ViewDatabase.from_url(db_url)
    this_month = month_of(datetime.now(UTC).date())
    portfolio = app.create_portfolio(
        name="P", currency="GBP", discount_rate="0.035", base_month=this_month, meta=BOARD
    ).value.id
    initiative = app.propose_initiative(
        portfolio_id=portfolio,
        kind="project",
        name="I",
        sponsor="CFO",
        start_month=add_months(this_month, -3),
        end_month=add_months(this_month, 12),
        confidence="0.8",
        meta=BOARD,
    ).value.id
    benefit = app.identify_benefit(
        initiative_id=initiative,
        title="Processing days",
        category="quantitative",
        owner="Owner",
        measure={
            "name": "days",
            "unit": "days",
            "kind": "level",
            "direction": "decrease",
            "value_per_unit": "1500",
        },
        baseline={"value": "20", "as_of": date(2025, 1, 1)},
        meta=BOARD,
    ).value.id
    periods = {add_months(this_month, k): Decimal(18 - k) for k in range(-2, 6)}
    app.revise_benefit_forecast(benefit, periods=periods, reason="plan", meta=BOARD)
    try:
        yield World(app, db, portfolio, benefit)
    finally:
        db.close()
        app.close()


def observe(world: World, value: str, observed_on: date) -> None:
    """Record a level on a day, as a feed would (the use case refuses days ahead of today)."""
    benefit: Benefit = world.app.repository.get(world.benefit)
    benefit.record_measurement(
        measurement_id=uuid4(),
        value=value,
        observed_on=observed_on,
        source="feed",
        external_id=None,
        meta=BOARD,
    )
    world.app.save(benefit)


def test_an_actual_observed_after_the_as_of_month_is_not_yet_realised(world: World) -> None:
    today = datetime.now(UTC).date()
    observe(world, "17", today)
    next_month = add_months(month_of(today), 1)
    observe(world, "12", date(int(next_month[:4]), int(next_month[5:]), 2))
    world.project()
    at = datetime.now(UTC)

    body = world.value(at)

    assert body == reference_value(world.app, world.portfolio, at)
    # Only this month's level counts: (20 - 17) days saved at 1,500 each.
    assert body["totals"]["realised_to_date"] == "4500.00"  # type: ignore[index]


def test_a_forecast_valued_under_other_terms_is_valued_again(world: World) -> None:
    observe(world, "17", datetime.now(UTC).date())
    world.project()
    at = datetime.now(UTC)
    with world.db.transaction() as cursor:  # as if valued under another discount rate
        cursor.execute("SELECT aggregate_id, version, facts FROM vt_state WHERE kind = 'benefit'")
        for aggregate_id, version, text in cursor.fetchall():
            facts = loads(text)
            facts["forecast_money"]["terms"][1] = "0.99"
            facts["forecast_money"]["pv"] = "1"
            cursor.execute(
                "UPDATE vt_state SET facts = ? WHERE aggregate_id = ? AND version = ?",
                (dumps(facts), aggregate_id, version),
            )

    assert world.value(at) == reference_value(world.app, world.portfolio, at)


def test_a_view_built_before_forecasts_were_valued_is_rebuilt(world: World) -> None:
    observe(world, "17", datetime.now(UTC).date())
    world.project()
    at = datetime.now(UTC)
    expected = world.value(at)
    with world.db.transaction() as cursor:  # how a benefit row looked before this release
        cursor.execute("DELETE FROM vt_measured")
        cursor.execute(
            "UPDATE vt_state SET facts = ? WHERE kind = 'benefit'", ('{"forecast": {}}',)
        )

    projector = Projector(world.app, world.db, PortfolioValueView(world.app))
    projector.setup()

    assert projector.position() == 0
    with world.db.read() as cursor:
        assert tracked_position(cursor, "portfolio_value") == 0
    projector.catch_up()
    assert world.value(at) == expected == reference_value(world.app, world.portfolio, at)


def test_a_read_with_a_tiny_cache_of_versions_answers_the_same(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    observe(world, "17", datetime.now(UTC).date())
    world.project()
    at = datetime.now(UTC)
    expected = world.value(at)

    monkeypatch.setattr(value_module, "_VERSIONS", value_module._Versions(size=1))

    assert world.value(at) == expected == reference_value(world.app, world.portfolio, at)
    assert len(value_module._VERSIONS._rows) <= 1
