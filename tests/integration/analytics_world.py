"""A small portfolio with its views, for the tests of what the analytics read.

Two invested initiatives (one later stopped) and a mandatory proposal that depends on the
first, benefits with forecasts, goals (one retired, one idle), capacity, four months of
measurements and spend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.months import add_months, month_of, parse_month
from domain.values import Meta
from persistence import store_env
from projections.catalog import build_projectors
from projections.db import ViewDatabase

BOARD = Meta(actor="board", request_id="req-board")
NOW = month_of(datetime.now(UTC).date())
SAVINGS = {"name": "savings", "unit": "GBP", "kind": "flow", "direction": "increase"}


def first_day(month: str) -> date:
    year, mon = parse_month(month)
    return date(year, mon, 1)


@dataclass
class World:
    app: ValuetrailApplication
    db: ViewDatabase
    portfolio: UUID
    portal: UUID
    archive: UUID
    proposal: UUID
    savings: UUID
    goal: UUID

    def project(self) -> datetime:
        for projector in build_projectors(self.app, self.db).values():
            projector.catch_up()
        return datetime.now(UTC)


def built_world(db_url: str) -> Iterator[World]:
    """The world on a fresh store at `db_url` (a test module's `world` fixture yields from it)."""
    app = ValuetrailApplication(env=store_env(db_url, create_tables=True))
    db = ViewDatabase.from_url(db_url)
    portfolio = app.create_portfolio(
        name="P", currency="GBP", discount_rate="0.035", base_month=add_months(NOW, -12), meta=BOARD
    ).value.id
    growth = app.add_goal(portfolio, title="Growth", description="", weight="2", meta=BOARD)
    old = app.add_goal(portfolio, title="Old", description="", weight="1", meta=BOARD)
    app.add_goal(portfolio, title="Idle", description="", weight="1", meta=BOARD)

    def propose(name: str, **extra: object) -> UUID:
        return app.propose_initiative(
            portfolio_id=portfolio,
            kind="project",
            name=name,
            sponsor="COO",
            leader="Ada",
            start_month=add_months(NOW, -6),
            end_month=add_months(NOW, 12),
            confidence="0.8",
            meta=BOARD,
            **extra,  # type: ignore[arg-type]
        ).value.id

    portal = propose("Portal", people_demand={"developer": "2"})
    archive = propose("Archive")
    proposal = propose("New app", depends_on=[portal], mandatory=True)
    months = [add_months(NOW, k) for k in range(-6, 13)]

    def identify(initiative: UUID, title: str, goal: object, **extra: object) -> UUID:
        return app.identify_benefit(
            initiative_id=initiative,
            title=title,
            category="cashable",
            owner="Ops",
            measure=SAVINGS,
            baseline={"value": "0", "as_of": first_day(NOW)},
            goal_id=goal,  # type: ignore[arg-type]
            meta=BOARD,
            **extra,  # type: ignore[arg-type]
        ).value.id

    savings = identify(
        portal,
        "Call savings",
        growth.value["goal_id"],
        contributions=[
            {"initiative_id": portal, "share": "0.6"},
            {"initiative_id": archive, "share": "0.3"},
        ],
    )
    for initiative, goal in ((archive, old.value["goal_id"]), (proposal, None)):
        benefit = identify(initiative, "Other savings", goal)
        app.revise_benefit_forecast(
            benefit, periods={m: "500" for m in months}, reason="plan", meta=BOARD
        )
    app.revise_benefit_forecast(
        savings, periods={m: "1000" for m in months}, reason="plan", meta=BOARD
    )
    for initiative in (portal, archive, proposal):
        app.revise_cost_forecast(
            initiative, periods={m: "300" for m in months}, reason="plan", meta=BOARD
        )
    invested = first_day(add_months(NOW, -4))
    for initiative in (portal, archive):
        app.record_decision(
            initiative,
            decision="invest",
            rationale="go",
            decided_by="Board",
            decided_on=invested,
            meta=BOARD,
        )
    app.record_decision(
        archive,
        decision="stop",
        rationale="no longer needed",
        decided_by="Board",
        decided_on=first_day(add_months(NOW, -1)),
        meta=BOARD,
    )
    app.retire_goal(portfolio, old.value["goal_id"], reason="done", meta=BOARD)
    app.set_capacity(
        portfolio,
        budget={m: "700" for m in months},
        people={"developer": "1"},
        reason="plan",
        meta=BOARD,
    )
    for k in range(-4, 0):
        month = add_months(NOW, k)
        app.record_measurement(
            savings,
            value="800",
            observed_on=first_day(month) + timedelta(days=3),
            source="ledger",
            meta=BOARD,
        )
        app.record_spend(portal, month=month, amount="360", source="ledger", meta=BOARD)
    yield World(app, db, portfolio, portal, archive, proposal, savings, growth.value["goal_id"])
    app.close()
