"""The analytics read the value view's rows as recorded: the same figures, the same instants.

Goal coverage adds up to the value view's pv_benefits; forecast accuracy keeps the promise in
force when the board invested, however the forecast is revised later; lessons, plans and
capacity come from what was recorded by the as-of instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.analytics.capacity import capacity
from domain.months import add_months
from domain.valuation import money
from projections.codec import dumps, loads
from projections.portfolio_value.accuracy_feed import accuracy_as_of, forecast_accuracy
from projections.portfolio_value.analytics import (
    coverage,
    plans,
    portfolio_input,
    recorded_lessons,
    snapshot,
)
from projections.portfolio_value.value import portfolio_value
from projections.portfolio_value.writer import PortfolioValueView
from projections.runner import Projector
from tests.integration.analytics_world import BOARD, NOW, World, built_world, first_day
from tests.integration.reference import api_body


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    yield from built_world(db_url)


def test_coverage_adds_up_to_the_value_views_pv_benefits(world: World) -> None:
    at = world.project()
    snap = snapshot(world.db, world.portfolio, at)
    assert snap is not None
    found = coverage(snap)
    value = portfolio_value(world.db, world.portfolio, at)
    assert value is not None
    total = sum(g.pv_benefits for g in found.goals) + sum(
        b.pv_benefits for b in found.benefits_without_goal
    )
    assert abs(total - value.totals.pv_benefits) < Decimal("1e-20")
    [growth] = found.goals
    assert growth.goal_id == world.goal
    assert {i.initiative_id for i in growth.initiatives} == {world.portal, world.archive}
    assert [g.title for g in found.unserved_goals] == ["Idle"]
    # The retired goal's benefit now serves no goal; so does the proposal's goal-less one.
    assert len(found.benefits_without_goal) == 2


def test_forecast_accuracy_keeps_the_promise_made_at_the_invest_decision(world: World) -> None:
    before = world.project()
    world.app.revise_benefit_forecast(
        world.savings,
        periods={add_months(NOW, k): "5000" for k in range(-6, 13)},
        reason="optimism",
        meta=BOARD,
    )
    world.app.revise_cost_forecast(
        world.portal, periods={add_months(NOW, -1): "1"}, reason="re-plan", meta=BOARD
    )
    after = world.project()
    for at in (before, after):
        snap = snapshot(world.db, world.portfolio, at)
        assert snap is not None
        found = {t.initiative_id: t for t in forecast_accuracy(world.db, snap).initiatives}
        portal = found[world.portal]
        # Four months since the invest month, at the 0.6 share in force then.
        assert portal.months == 4
        assert portal.forecast_at_invest == Decimal("0.6") * 4 * 1000
        assert portal.realised == Decimal("0.6") * 4 * 800
        assert portal.accuracy_ratio == Decimal("0.8")
        assert (portal.cost_forecast_at_invest, portal.spend) == (Decimal(1200), Decimal(1440))
        assert portal.cost_ratio == Decimal("1.2")
        assert set(found) == {world.portal, world.archive}


def test_as_of_before_the_invest_decision_has_no_track_and_before_the_portfolio_nothing(
    world: World,
) -> None:
    world.project()
    assert snapshot(world.db, world.portfolio, datetime(2000, 1, 1, tzinfo=UTC)) is None


def test_lessons_plans_and_capacity_come_from_the_recorded_rows(world: World) -> None:
    world.app.record_lesson(world.portal, text="Demo weekly", category="delivery", meta=BOARD)
    between = world.project()
    world.app.record_lesson(world.archive, text="Stop sooner", category="governance", meta=BOARD)
    world.app.set_contingency_plan(
        world.portal, plan="Keep the old site", trigger="Two missed releases", meta=BOARD
    )
    now = world.project()
    early = snapshot(world.db, world.portfolio, between)
    late = snapshot(world.db, world.portfolio, now)
    assert early is not None and late is not None
    assert [x.text for x in recorded_lessons(world.db, early)] == ["Demo weekly"]
    assert [(x.name, x.category) for x in recorded_lessons(world.db, late)] == [
        ("Portal", "delivery"),
        ("Archive", "governance"),
    ]
    assert [p.plan for p in plans(early) if p.initiative_id == world.portal] == [None]
    assert [p.plan for p in plans(late) if p.initiative_id == world.portal] == ["Keep the old site"]
    portfolio = portfolio_input(late)
    by_id = portfolio.by_id()
    assert by_id[world.proposal].depends_on == (world.portal,)
    assert by_id[world.proposal].mandatory
    assert by_id[world.portal].people_demand == {"developer": Decimal(2)}
    assert {b.share for b in by_id[world.portal].benefits} == {Decimal("0.6")}
    found = capacity(
        portfolio.initiatives, portfolio.budget, portfolio.people, from_month=NOW, leader_limit=3
    )
    first = found.budget[0]
    # Active: the portal (the archive is stopped); proposed: the new app.
    assert (first.month, first.committed, first.proposed) == (NOW, Decimal(300), Decimal(300))
    assert first.headroom == Decimal(400)
    assert found.people[0].over_allocated


def test_a_view_built_before_rows_carried_what_the_analytics_read_is_rebuilt(
    world: World,
) -> None:
    world.app.record_lesson(world.portal, text="Demo weekly", category="delivery", meta=BOARD)
    at = world.project()
    with world.db.transaction() as cursor:  # how the rows looked before the analytics
        cursor.execute(
            "SELECT aggregate_id, version, facts FROM vt_state WHERE kind = 'initiative'"
        )
        for aggregate_id, version, facts in cursor.fetchall():
            old = {k: v for k, v in loads(facts).items() if k not in ("people_demand", "leader")}
            cursor.execute(
                "UPDATE vt_state SET facts = ? WHERE aggregate_id = ? AND version = ?",
                (dumps(old), aggregate_id, version),
            )
        cursor.execute("DELETE FROM vt_lesson")

    projector = Projector(world.app, world.db, PortfolioValueView(world.app))
    projector.setup()

    assert projector.position() == 0
    projector.catch_up()
    snap = snapshot(world.db, world.portfolio, at)
    assert snap is not None
    portal = portfolio_input(snap).by_id()[world.portal]
    assert (portal.leader, portal.people_demand) == ("Ada", {"developer": Decimal(2)})
    assert [x.text for x in recorded_lessons(world.db, snap)] == ["Demo weekly"]


def test_forecast_accuracy_folds_a_months_amounts_and_corrections_as_recorded(
    world: World,
) -> None:
    last = add_months(NOW, -1)
    extra = world.app.record_measurement(
        world.savings,
        value="150",
        observed_on=first_day(last) + timedelta(days=9),
        source="ledger",
        meta=BOARD,
    ).value.measurement["measurement_id"]
    world.app.record_measurement(  # this month is not judged yet
        world.savings, value="9999", observed_on=first_day(NOW), source="ledger", meta=BOARD
    )
    before = world.project()
    world.app.correct_measurement(
        world.savings, UUID(str(extra)), value="50", reason="typo", meta=BOARD
    )
    after = world.project()
    for at, realised in ((before, 4 * 800 + 150), (after, 4 * 800 + 50)):
        snap = snapshot(world.db, world.portfolio, at)
        assert snap is not None
        found = {t.initiative_id: t for t in forecast_accuracy(world.db, snap).initiatives}
        assert found[world.portal].realised == Decimal("0.6") * realised


def test_a_view_built_before_monthly_actuals_were_kept_is_rebuilt(world: World) -> None:
    at = world.project()
    snap = snapshot(world.db, world.portfolio, at)
    assert snap is not None
    expected = forecast_accuracy(world.db, snap)
    with world.db.transaction() as cursor:  # how the view looked before vt_actual was kept
        cursor.execute("DELETE FROM vt_actual")

    projector = Projector(world.app, world.db, PortfolioValueView(world.app))
    projector.setup()

    assert projector.position() == 0
    projector.catch_up()
    assert forecast_accuracy(world.db, snap) == expected
    assert expected.initiatives[0].realised > 0


def test_forecast_accuracy_values_proposals_as_the_value_view_does_at_each_instant(
    world: World,
) -> None:
    before = world.project()
    (benefit,) = [b.id for b in world.app.benefits_of(world.proposal)]
    world.app.revise_benefit_forecast(
        benefit, periods={add_months(NOW, k): "900" for k in range(13)}, reason="more", meta=BOARD
    )
    world.app.revise_cost_forecast(
        world.proposal, periods={NOW: "5000"}, reason="re-plan", meta=BOARD
    )
    after = world.project()
    figures = []
    for at in (before, after):
        found = accuracy_as_of(world.db, world.portfolio, at)
        value = portfolio_value(world.db, world.portfolio, at)
        assert found is not None and value is not None
        [adjusted] = found.proposals
        proposal = adjusted.proposal
        [row] = [r for r in api_body(value)["initiatives"] if r["name"] == "New app"]
        assert proposal.initiative_id == world.proposal
        assert money(proposal.pv_benefits) == row["pv_benefits"]
        assert money(proposal.pv_costs) == row["pv_costs"]
        figures.append((proposal.pv_benefits, proposal.pv_costs))
    assert figures[0] != figures[1]
    assert accuracy_as_of(world.db, world.portfolio, datetime(2000, 1, 1, tzinfo=UTC)) is None
