"""Schemas of the portfolio value view: its query and its answer as documented."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from service.schemas.common import AsOfArgs, FreshArgs


def _money(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(metadata={"example": "1000.00", **kwargs})


def _maybe(example: str) -> ma.fields.String:
    return ma.fields.String(allow_none=True, metadata={"example": example})


class ValueArgs(AsOfArgs, FreshArgs):
    """Query of GET /portfolios/{id}/value."""


class ValueFiguresResponse(ma.Schema):
    """The value figures of DESIGN §3: money 2 dp, ratios 2 dp, percentages 1 dp, as strings."""

    pv_benefits = _money()
    pv_costs = _money()
    npv = _money()
    bcr = _maybe("1.35")
    roi = _maybe("0.35")
    risk_adjusted_npv = _money()
    vfm_band = ma.fields.String(
        allow_none=True, metadata={"enum": ["poor", "low", "medium", "high", "very_high", None]}
    )
    realised_to_date = _money()
    forecast_to_date = _money()
    realisation_pct = _maybe("92.5")
    rag = ma.fields.String(allow_none=True, metadata={"enum": ["green", "amber", "red", None]})
    spend_to_date = _money()
    forgone_pv_benefits = _money(description="stopped initiatives: benefits after the stop")
    avoided_pv_costs = _money(description="stopped initiatives: costs after the stop")


class ValueTotalsResponse(ValueFiguresResponse):
    """Portfolio totals: sums over initiatives, ratios recomputed from the sums."""

    unattributed_pv_benefits = _money(description="benefit value no initiative claims")


class InitiativeNamed(ma.Schema):
    """Which initiative a row of figures is, and where it stands."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()
    confidence = ma.fields.String(metadata={"example": "0.8"})


# The bases in this order put the initiative's own fields first, then its figures (marshmallow
# gathers inherited fields from the last base to the first).
class InitiativeValueResponse(ValueFiguresResponse, InitiativeNamed):
    """One initiative: who it is, then its attributed figures."""


class GoalValueResponse(ma.Schema):
    """The benefits serving one live strategic goal."""

    goal_id = ma.fields.UUID()
    title = ma.fields.String()
    weight = ma.fields.String(metadata={"example": "2"})
    pv_benefits = _money()
    realised_to_date = _money()


class PortfolioValueResponse(ma.Schema):
    """GET /portfolios/{id}/value."""

    portfolio_id = ma.fields.UUID()
    as_of = ma.fields.AwareDateTime(metadata={"description": "the instant answered for"})
    currency = ma.fields.String(metadata={"example": "GBP"})
    totals = ma.fields.Nested(ValueTotalsResponse)
    initiatives = ma.fields.List(ma.fields.Nested(InitiativeValueResponse))
    goals = ma.fields.List(ma.fields.Nested(GoalValueResponse))
