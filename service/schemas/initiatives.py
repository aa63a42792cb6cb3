"""Schemas of initiatives, decisions and their history: request bodies, queries and answers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import marshmallow as ma

from domain.initiative import STATUSES
from domain.valuation import money, percent, ratio
from domain.values import DECISIONS, INITIATIVE_KINDS
from service.schemas.common import (
    Day,
    Decimal,
    FreshArgs,
    Instant,
    Month,
    PageArgs,
    month_map,
    reason,
    role_map,
)


def _name(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(min=1, max=300), **kwargs)


class InitiativeCreate(ma.Schema):
    """Body of POST /initiatives."""

    portfolio_id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(INITIATIVE_KINDS))
    parent_id = ma.fields.UUID(load_default=None, allow_none=True)
    name = _name(required=True)
    description = ma.fields.String(load_default="")
    sponsor = _name(required=True)
    leader = _name(load_default=None, allow_none=True)
    start_month = Month(required=True)
    end_month = Month(required=True)
    confidence = Decimal(required=True, metadata={"example": "0.8"})
    mandatory = ma.fields.Boolean(load_default=False)
    depends_on = ma.fields.List(ma.fields.UUID(), load_default=list)
    people_demand = role_map(load_default=dict)


class InitiativeRevise(ma.Schema):
    """Body of PATCH /initiatives/{id}: the fields to change and why."""

    name = _name()
    description = ma.fields.String()
    start_month = Month()
    end_month = Month()
    depends_on = ma.fields.List(ma.fields.UUID())
    people_demand = role_map()
    mandatory = ma.fields.Boolean()
    reason = reason()


class InitiativeListArgs(PageArgs, FreshArgs):
    """Query of GET /initiatives."""

    portfolio_id = ma.fields.UUID(required=True)
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})


class DecisionListArgs(PageArgs):
    """Query of GET /initiatives/{id}/decisions."""

    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})


class CostForecastPut(ma.Schema):
    """Body of PUT /initiatives/{id}/cost-forecast."""

    periods = month_map(required=True)
    reason = reason()


class SpendCreate(ma.Schema):
    """Body of POST /initiatives/{id}/spend."""

    month = Month(required=True)
    amount = Decimal(required=True)
    source = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    external_id = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=500)
    )


class ConfidenceAssess(ma.Schema):
    """Body of POST /initiatives/{id}/confidence."""

    confidence = Decimal(required=True, metadata={"example": "0.7"})
    reason = reason()


class LeaderAssign(ma.Schema):
    """Body of POST /initiatives/{id}/leader."""

    leader = _name(required=True)
    reason = reason()


class DecisionRequest(ma.Schema):
    """Body of POST /initiatives/{id}/decisions (the evidence is captured by the server)."""

    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(DECISIONS))
    rationale = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10_000))
    reason_code = ma.fields.String(load_default=None, allow_none=True)
    decided_by = _name(required=True)
    decided_on = Day(required=True)
    conditions = ma.fields.String(load_default=None, allow_none=True)
    delay_until = Month(load_default=None, allow_none=True)
    next_review_on = Day(load_default=None, allow_none=True)
    evidence_refs = ma.fields.List(ma.fields.String(), load_default=list)
    scenario_id = ma.fields.UUID(load_default=None, allow_none=True)


class LessonCreate(ma.Schema):
    """Body of POST /initiatives/{id}/lessons."""

    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10_000))
    category = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class ContingencyPut(ma.Schema):
    """Body of PUT /initiatives/{id}/contingency."""

    plan = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10_000))
    trigger = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=10_000))


class Figure(ma.fields.String):
    """A value figure presented by one of the valuation formatters (money, ratio, percent)."""

    def __init__(self, present: Callable[[D | None], str | None], **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)
        self.present = present

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return self.present(None if value is None else D(value))


class LessonResponse(ma.Schema):
    """A lesson learned."""

    lesson_id = ma.fields.UUID()
    text = ma.fields.String()
    category = ma.fields.String()


class ContingencyResponse(ma.Schema):
    """Plan B and what triggers it."""

    plan = ma.fields.String()
    trigger = ma.fields.String()


class CostForecastResponse(ma.Schema):
    """The cost forecast in force and its revision number."""

    periods = ma.fields.Dict(keys=ma.fields.String(), values=Decimal())
    revision = ma.fields.Integer()


class InitiativeResponse(ma.Schema):
    """An initiative as it stands (or stood)."""

    id = ma.fields.UUID()
    version = ma.fields.Integer()
    portfolio_id = ma.fields.UUID()
    kind = ma.fields.String()
    parent_id = ma.fields.UUID(allow_none=True)
    name = ma.fields.String()
    description = ma.fields.String()
    sponsor = ma.fields.String()
    leader = ma.fields.String(allow_none=True)
    start_month = ma.fields.String()
    end_month = ma.fields.String()
    confidence = Decimal()
    mandatory = ma.fields.Boolean()
    depends_on = ma.fields.List(ma.fields.UUID())
    people_demand = ma.fields.Dict(keys=ma.fields.String(), values=Decimal())
    status = ma.fields.String()
    cost_forecast = ma.fields.Nested(CostForecastResponse)
    spend_to_date = Decimal()
    spend_by_month = ma.fields.Dict(keys=ma.fields.String(), values=Decimal())
    lessons = ma.fields.List(ma.fields.Nested(LessonResponse))
    contingency = ma.fields.Nested(ContingencyResponse, allow_none=True)
    stopped_month = ma.fields.String(allow_none=True)
    created_on = ma.fields.AwareDateTime()
    modified_on = ma.fields.AwareDateTime()


class InitiativeList(ma.Schema):
    """A page of initiatives."""

    items = ma.fields.List(ma.fields.Nested(InitiativeResponse))
    next_cursor = ma.fields.String(allow_none=True)


class SpendResponse(ma.Schema):
    """Actual spend as recorded."""

    spend_id = ma.fields.UUID()
    initiative_id = ma.fields.UUID()
    month = ma.fields.String()
    amount = Decimal()
    source = ma.fields.String()
    external_id = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.AwareDateTime()


class DecisionEvidence(ma.Schema):
    """What the board knew: the initiative's figures when the decision was recorded."""

    pv_benefits = Figure(money)
    pv_costs = Figure(money)
    npv = Figure(money)
    bcr = Figure(ratio)
    roi = Figure(ratio)
    risk_adjusted_npv = Figure(money)
    vfm_band = ma.fields.String(allow_none=True)
    realised_to_date = Figure(money)
    forecast_to_date = Figure(money)
    realisation_pct = Figure(percent)
    spend_to_date = Figure(money)
    confidence = Decimal()
    status = ma.fields.String()
    cost_forecast_revision = ma.fields.Integer()
    benefit_forecast_revisions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    as_of_month = ma.fields.String()
    log_position = ma.fields.Integer()


class DecisionResponse(ma.Schema):
    """A recorded decision with its evidence."""

    decision_id = ma.fields.UUID()
    initiative_id = ma.fields.UUID()
    decision = ma.fields.String()
    from_status = ma.fields.String()
    to_status = ma.fields.String()
    rationale = ma.fields.String()
    reason_code = ma.fields.String(allow_none=True)
    decided_by = ma.fields.String()
    decided_on = ma.fields.Date()
    recorded_at = ma.fields.AwareDateTime()
    actor = ma.fields.String()
    log_position = ma.fields.Integer()
    evidence = ma.fields.Nested(DecisionEvidence)
    conditions = ma.fields.String(allow_none=True)
    delay_until = ma.fields.String(allow_none=True)
    next_review_on = ma.fields.Date(allow_none=True)
    evidence_refs = ma.fields.List(ma.fields.String())
    scenario_id = ma.fields.UUID(allow_none=True)
    request_id = ma.fields.String()


class DecisionList(ma.Schema):
    """A page of decisions, oldest first."""

    items = ma.fields.List(ma.fields.Nested(DecisionResponse))
    next_cursor = ma.fields.String(allow_none=True)


class HistoryEvent(ma.Schema):
    """One stored event of an initiative."""

    version = ma.fields.Integer()
    type = ma.fields.String(metadata={"example": "DecisionRecorded"})
    recorded_at = ma.fields.AwareDateTime()
    actor = ma.fields.String()
    request_id = ma.fields.String()
    data = ma.fields.Dict()


class HistoryResponse(ma.Schema):
    """Every event of an initiative, oldest first."""

    events = ma.fields.List(ma.fields.Nested(HistoryEvent))
