"""Schemas of benefits, forecasts and attribution: request bodies, queries and answers."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from domain.values import BENEFIT_CATEGORIES, DIRECTIONS, MEASURE_KINDS
from service.schemas.common import (
    Day,
    Decimal,
    FreshArgs,
    Instant,
    Month,
    PageArgs,
    month_map,
    reason,
)


class BenefitMeasure(ma.Schema):
    """How a benefit is measured."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    unit = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(MEASURE_KINDS))
    direction = ma.fields.String(load_default="increase", validate=ma.validate.OneOf(DIRECTIONS))
    value_per_unit = Decimal(load_default=None, allow_none=True)


class BenefitBaseline(ma.Schema):
    """Where the measure stood before the initiative."""

    value = Decimal(required=True)
    as_of = Day(required=True)


class BenefitTarget(ma.Schema):
    """The value promised, and by when."""

    value = Decimal(required=True)
    by_month = Month(required=True)


class BenefitContribution(ma.Schema):
    """One initiative's share of a benefit."""

    initiative_id = ma.fields.UUID(required=True)
    share = Decimal(required=True, metadata={"example": "0.5", "description": "in (0, 1]"})


def contribution_list(**kwargs: Any) -> ma.fields.List[Any]:
    """A list of contributions whose shares sum to at most 1."""
    return ma.fields.List(ma.fields.Nested(BenefitContribution), **kwargs)


class BenefitCreate(ma.Schema):
    """Body of POST /benefits."""

    initiative_id = ma.fields.UUID(required=True)
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    description = ma.fields.String(load_default="")
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(BENEFIT_CATEGORIES))
    disbenefit = ma.fields.Boolean(load_default=False)
    owner = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    goal_id = ma.fields.UUID(load_default=None, allow_none=True)
    measure = ma.fields.Nested(BenefitMeasure, required=True)
    baseline = ma.fields.Nested(BenefitBaseline, required=True)
    target = ma.fields.Nested(BenefitTarget, load_default=None, allow_none=True)
    contributions = contribution_list(load_default=list)


class BenefitForecastRequest(ma.Schema):
    """Body of PUT /benefits/{id}/forecast."""

    periods = month_map(required=True)
    reason = reason()


class BenefitAttributionRequest(ma.Schema):
    """Body of PUT /benefits/{id}/attribution."""

    contributions = contribution_list(required=True)
    reason = reason()


class BenefitOwnerRequest(ma.Schema):
    """Body of POST /benefits/{id}/owner."""

    owner = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    reason = reason()


class BenefitBaselineRequest(BenefitBaseline):
    """Body of POST /benefits/{id}/baseline."""

    reason = reason()


class BenefitTargetRequest(BenefitTarget):
    """Body of POST /benefits/{id}/target."""

    reason = reason()


class BenefitCloseRequest(ma.Schema):
    """Body of POST /benefits/{id}/close."""

    reason = reason()


class BenefitListArgs(PageArgs, FreshArgs):
    """Query of GET /benefits."""

    initiative_id = ma.fields.UUID(required=True)
    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})


class BenefitForecast(ma.Schema):
    """The forecast in force and its revision number."""

    periods = ma.fields.Dict(keys=ma.fields.String(), values=Decimal())
    revision = ma.fields.Integer()


class BenefitResponse(ma.Schema):
    """A benefit as it stands (or stood)."""

    id = ma.fields.UUID()
    version = ma.fields.Integer()
    portfolio_id = ma.fields.UUID()
    initiative_id = ma.fields.UUID()
    title = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String()
    disbenefit = ma.fields.Boolean()
    owner = ma.fields.String()
    goal_id = ma.fields.UUID(allow_none=True)
    measure = ma.fields.Nested(BenefitMeasure)
    baseline = ma.fields.Nested(BenefitBaseline)
    target = ma.fields.Nested(BenefitTarget, allow_none=True)
    contributions = contribution_list()
    unattributed_share = Decimal(
        metadata={"description": "1 minus the contributed shares (0 when none are given)"}
    )
    status = ma.fields.String()
    forecast = ma.fields.Nested(BenefitForecast)
    measurement_count = ma.fields.Integer()
    actuals = ma.fields.Dict(keys=ma.fields.String(), values=Decimal())
    created_on = ma.fields.AwareDateTime()
    modified_on = ma.fields.AwareDateTime()


class BenefitList(ma.Schema):
    """A page of benefits."""

    items = ma.fields.List(ma.fields.Nested(BenefitResponse))
    next_cursor = ma.fields.String(allow_none=True)
