"""Builders shared by the unit tests: an in-memory application and small, valid aggregates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.initiative import Initiative
from domain.valuation import BenefitFacts
from domain.values import Meta
from persistence import MEMORY_MODULE

BOARD = Meta(actor="board", request_id="req-board")
FEED = Meta(actor="finance-feed", request_id="req-feed")
BASE_MONTH = "2025-01"
FIRST_DAY = date(2025, 1, 1)
SAVINGS = {"name": "savings", "unit": "GBP", "kind": "flow", "direction": "increase"}
SATISFACTION = {"name": "satisfaction", "unit": "points", "kind": "level", "direction": "increase"}


def new_app() -> ValuetrailApplication:
    """A valuetrail application over the in-memory event store."""
    return ValuetrailApplication(env={"PERSISTENCE_MODULE": MEMORY_MODULE})


def portfolio(app: ValuetrailApplication, *, rate: str = "0.035", meta: Meta = BOARD) -> UUID:
    """A GBP portfolio valued from January 2025."""
    return app.create_portfolio(
        name="Digital services",
        currency="GBP",
        discount_rate=rate,
        base_month=BASE_MONTH,
        meta=meta,
    ).value.id


def initiative(
    app: ValuetrailApplication,
    portfolio_id: UUID,
    *,
    name: str = "Self-service portal",
    kind: str = "project",
    parent_id: UUID | None = None,
    depends_on: Sequence[UUID] = (),
    meta: Meta = BOARD,
) -> UUID:
    """A proposed initiative running through 2025."""
    return app.propose_initiative(
        portfolio_id=portfolio_id,
        kind=kind,
        name=name,
        sponsor="COO",
        leader="Ada",
        start_month="2025-01",
        end_month="2025-12",
        confidence="0.8",
        parent_id=parent_id,
        depends_on=depends_on,
        meta=meta,
    ).value.id


def benefit(
    app: ValuetrailApplication,
    initiative_id: UUID,
    *,
    measure: Mapping[str, Any] = SAVINGS,
    contributions: Sequence[Mapping[str, Any]] = (),
    meta: Meta = BOARD,
) -> UUID:
    """A cashable benefit the initiative is accountable for (flow savings in GBP by default)."""
    return app.identify_benefit(
        initiative_id=initiative_id,
        title="Call centre savings",
        category="cashable",
        owner="Head of contact centre",
        measure=measure,
        baseline={"value": "0", "as_of": FIRST_DAY},
        contributions=contributions,
        meta=meta,
    ).value.id


def bare_initiative(portfolio_id: UUID | None = None) -> Initiative:
    """An Initiative aggregate built directly, without an application."""
    return Initiative.propose(
        portfolio_id=portfolio_id or UUID(int=1),
        kind="project",
        parent_id=None,
        name="Self-service portal",
        description="",
        sponsor="COO",
        leader=None,
        start_month="2025-01",
        end_month="2025-12",
        confidence="0.8",
        mandatory=False,
        depends_on=[],
        people_demand={},
        meta=BOARD,
    )


def bare_benefit(measure: Mapping[str, Any] = SAVINGS) -> Benefit:
    """A Benefit aggregate built directly, without an application."""
    return Benefit.identify(
        portfolio_id=UUID(int=1),
        initiative_id=UUID(int=2),
        title="Call centre savings",
        description="",
        category="cashable",
        disbenefit=False,
        owner="Head of contact centre",
        goal_id=None,
        measure=measure,
        baseline={"value": "0", "as_of": FIRST_DAY},
        target=None,
        contributions=[],
        meta=BOARD,
    )


def decide(
    initiative: Initiative,
    decision: str,
    *,
    decided_on: date = date(2025, 3, 15),
    delay_until: str | None = None,
    rationale: str = "The board reviewed the business case",
) -> UUID:
    """Record a decision on an aggregate directly (delay gets a valid delay_until by default)."""
    if decision == "delay" and delay_until is None:
        delay_until = "2025-09"
    return initiative.record_decision(
        decision=decision,
        rationale=rationale,
        reason_code=None,
        decided_by="Investment board",
        decided_on=decided_on,
        conditions=None,
        delay_until=delay_until,
        next_review_on=None,
        evidence_refs=[],
        scenario_id=None,
        evidence={},
        log_position=0,
        meta=BOARD,
    )


def stored_count(app: ValuetrailApplication) -> int:
    """How many events the store holds."""
    return app.head_position()


def benefit_facts(**changes: object) -> BenefitFacts:
    """A cashable flow benefit in GBP, accountable initiative only, unless changed."""
    base = BenefitFacts(
        benefit_id=uuid4(),
        initiative_id=uuid4(),
        category="cashable",
        disbenefit=False,
        unit="GBP",
        kind="flow",
        direction="increase",
        value_per_unit=None,
        baseline=Decimal(0),
        target=None,
        forecast={},
        actuals={},
        shares={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]
