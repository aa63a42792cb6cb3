"""Schemas of portfolios, their goals and capacity: request bodies, queries and answers."""

from __future__ import annotations

import marshmallow as ma

from service.schemas.common import (
    Decimal,
    FreshArgs,
    Instant,
    Month,
    PageArgs,
    month_map,
    reason,
    role_map,
)


class PortfolioCreate(ma.Schema):
    """Body of POST /portfolios."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    currency = ma.fields.String(
        required=True, validate=ma.validate.Length(equal=3), metadata={"example": "GBP"}
    )
    discount_rate = Decimal(required=True, metadata={"example": "0.035"})
    base_month = Month(required=True)
    rag_green = Decimal(load_default=None)
    rag_amber = Decimal(load_default=None)


class GoalCreate(ma.Schema):
    """Body of POST /portfolios/{id}/goals."""

    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    description = ma.fields.String(load_default="")
    weight = Decimal(required=True)


class GoalRevise(ma.Schema):
    """Body of PATCH /portfolios/{id}/goals/{goal_id}."""

    title = ma.fields.String(validate=ma.validate.Length(min=1, max=500))
    description = ma.fields.String()
    weight = Decimal()
    reason = reason()


class GoalRetire(ma.Schema):
    """Optional body of DELETE /portfolios/{id}/goals/{goal_id}."""

    reason = ma.fields.String(load_default="retired", validate=ma.validate.Length(min=1))


class CapacityPut(ma.Schema):
    """Body of PUT /portfolios/{id}/capacity."""

    budget = month_map(required=True)
    people = role_map(load_default=dict)
    reason = reason()


class PortfolioListArgs(PageArgs, FreshArgs):
    """Query of GET /portfolios."""

    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})


class GoalResponse(ma.Schema):
    """A strategic goal."""

    goal_id = ma.fields.UUID()
    title = ma.fields.String()
    description = ma.fields.String()
    weight = Decimal()
    retired = ma.fields.Boolean()


class PortfolioResponse(ma.Schema):
    """A portfolio as it stands (or stood)."""

    id = ma.fields.UUID()
    version = ma.fields.Integer()
    name = ma.fields.String()
    currency = ma.fields.String()
    discount_rate = Decimal()
    base_month = ma.fields.String()
    rag_green = Decimal()
    rag_amber = Decimal()
    goals = ma.fields.List(ma.fields.Nested(GoalResponse))
    capacity = ma.fields.Dict()
    created_on = ma.fields.AwareDateTime()
    modified_on = ma.fields.AwareDateTime()


class PortfolioList(ma.Schema):
    """A page of portfolios."""

    items = ma.fields.List(ma.fields.Nested(PortfolioResponse))
    next_cursor = ma.fields.String(allow_none=True)
