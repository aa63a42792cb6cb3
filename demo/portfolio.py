"""The demo portfolio: created once (idempotently), with its goals and its capacity."""

from __future__ import annotations

from decimal import Decimal

from demo.playback import Playback, in_month
from demo.story import CapacityRevision
from domain.application import IdempotentRequest

SCOPE = "valuetrail-demo"


def create_portfolio(run: Playback) -> None:
    """The portfolio, its goals and its first capacity; a second creation is refused as done."""
    story = run.story
    once = IdempotentRequest(
        scope=SCOPE,
        key=story.name,
        fingerprint="demo-v1",
        respond=lambda p: (201, {"portfolio_id": str(p.id)}),
    )
    portfolio = run.app.create_portfolio(
        name=story.name,
        currency=story.currency,
        discount_rate=story.discount_rate,
        base_month=run.base,
        meta=run.meta(),
        once=once,
    ).value
    run.portfolio_id = portfolio.id
    for goal in story.goals:
        added = run.app.add_goal(
            portfolio.id,
            title=goal.title,
            description=goal.description,
            weight=goal.weight,
            meta=run.meta(),
        ).value
        run.goals[goal.key] = added["goal_id"]
    set_capacity(run, None)


def revise_capacity(run: Playback, k: int) -> None:
    """The capacity revisions of month k."""
    for revision in in_month(run.story.capacity.revisions, k):
        set_capacity(run, revision)


def set_capacity(run: Playback, revision: CapacityRevision | None) -> None:
    """The budget profile over the horizon (scaled by a revision's factor) and the headcount."""
    capacity = run.story.capacity
    budget: dict[str, object] = {}
    for k in range(run.story.horizon_months):
        factor = Decimal(1)
        if revision is not None and k >= revision.from_month:
            factor = revision.budget_factor
        budget[run.month(k)] = capacity.budget_by_year[k // 12] * factor
    run.app.set_capacity(
        run.portfolio,
        budget=budget,
        people=dict(capacity.people),
        reason=capacity.reason if revision is None else revision.reason,
        meta=run.meta(),
    )
