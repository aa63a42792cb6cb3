"""Small builders shared by the integration tests: a portfolio with one initiative and benefit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.values import Meta
from persistence import store_env

BOARD = Meta(actor="board", request_id="req-board")
FINANCE = Meta(actor="finance-feed", request_id="req-finance")
FIRST_DAY = date(2024, 1, 1)


@dataclass(frozen=True)
class Setup:
    """Ids of a portfolio, one of its goals, an initiative and the benefit it is accountable for."""

    portfolio_id: UUID
    goal_id: UUID
    initiative_id: UUID
    benefit_id: UUID


def build(app: ValuetrailApplication) -> Setup:
    """A portfolio with a goal, a proposed project and a cashable flow benefit serving the goal."""
    portfolio = app.create_portfolio(
        name="Digital services",
        currency="GBP",
        discount_rate="0.035",
        base_month="2024-01",
        meta=BOARD,
    ).value
    goal = app.add_goal(
        portfolio.id,
        title="Cut cost to serve",
        description="Fewer calls, more self-service",
        weight="2",
        meta=BOARD,
    ).value
    initiative = app.propose_initiative(
        portfolio_id=portfolio.id,
        kind="project",
        name="Self-service portal",
        sponsor="COO",
        leader="Ada",
        start_month="2024-01",
        end_month="2025-12",
        confidence="0.8",
        meta=BOARD,
    ).value
    benefit = app.identify_benefit(
        initiative_id=initiative.id,
        title="Call centre savings",
        category="cashable",
        owner="Head of contact centre",
        goal_id=goal["goal_id"],
        measure={"name": "savings", "unit": "GBP", "kind": "flow", "direction": "increase"},
        baseline={"value": "0", "as_of": FIRST_DAY},
        target={"value": "120000", "by_month": "2025-12"},
        meta=BOARD,
    ).value
    return Setup(portfolio.id, goal["goal_id"], initiative.id, benefit.id)


def measurement_items(
    benefit_id: UUID, count: int, *, start: int = 0, prefix: str = "m"
) -> list[dict[str, Any]]:
    """`count` distinct measurements of 1.50 each, one per day from FIRST_DAY + start days."""
    return [
        {
            "benefit_id": benefit_id,
            "value": "1.50",
            "observed_on": FIRST_DAY + timedelta(days=(start + n) % 600),
            "source": "ledger",
            "external_id": f"{prefix}-{start + n}",
        }
        for n in range(count)
    ]


def fold_benefit(app: ValuetrailApplication, ident: UUID) -> Benefit:
    """A benefit folded from every stored event, ignoring snapshots."""
    aggregate: Any = None
    for stored in app.events.get(ident):
        event: Any = stored
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Benefit)
    return aggregate


@contextmanager
def opened(
    url: str, *, create_tables: bool = False, **overrides: str
) -> Iterator[ValuetrailApplication]:
    """An application on the store at `url`, closed afterwards (like one worker process)."""
    env = store_env(url, create_tables=create_tables) | overrides
    app = ValuetrailApplication(env=env)
    try:
        yield app
    finally:
        app.close()
