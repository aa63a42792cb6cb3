"""What the board knew: an initiative and its benefits as recorded just before a decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.facts import decision_evidence
from domain.initiative import Initiative
from domain.months import month_of
from projections.db import ViewDatabase
from projections.portfolio_value.scenarios import scenario_by_id


@dataclass(frozen=True)
class DecisionContext:
    """The state a decision was taken on, and its figures recomputed from that state."""

    as_of: datetime
    initiative: Initiative
    benefits: list[Benefit]
    figures: dict[str, Any]


def decision_context(app: ValuetrailApplication, decision: dict[str, Any]) -> DecisionContext:
    """Rebuild the initiative, its benefits and their value one microsecond before a decision.

    The figures use the value rules of `domain.valuation` for the month the evidence was
    captured in, so they can be compared member by member with the decision's stored evidence.
    """
    recorded_at: datetime = decision["recorded_at"]
    before = recorded_at - timedelta(microseconds=1)
    initiative = app.get_initiative(UUID(str(decision["initiative_id"])), as_of=before)
    benefits = app.benefits_of(initiative.id, as_of=before)
    portfolio = app.get_portfolio(initiative.portfolio_id, as_of=before)
    month = str(decision["evidence"].get("as_of_month") or month_of(recorded_at.date()))
    figures = decision_evidence(initiative, benefits, portfolio, month)
    return DecisionContext(before, initiative, benefits, figures)


def cited_scenario(db: ViewDatabase, decision: dict[str, Any]) -> dict[str, Any] | None:
    """The stored scenario a decision cites, exactly as stored (None when it cites none)."""
    scenario_id = decision.get("scenario_id")
    if scenario_id is None:
        return None
    return scenario_by_id(db, UUID(str(scenario_id)))
