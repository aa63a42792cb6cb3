"""Schemas of optimise and downturn scenarios (DESIGN §5.3): requests checked, answers shown."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from service.schemas.analytics import OBJECTIVES, AnalyticsArgs
from service.schemas.common import (
    Decimal,
    FreshArgs,
    Month,
    month_map,
    non_blank,
    reason,
    role_map,
)

MAX_FRONTIER_POINTS = 50


def _money(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(metadata={"example": "1000.00", **kwargs})


def _maybe(example: str) -> ma.fields.String:
    return ma.fields.String(allow_none=True, metadata={"example": example})


def _not_negative(values: dict[str, Any]) -> None:
    if any(v < 0 for v in values.values()):
        raise ma.ValidationError("must not be negative")


class BudgetSpec(ma.Schema):
    """`{"total": amount}` or `{"by_month": {month: amount}}`."""

    total = Decimal(validate=ma.validate.Range(min=0))
    by_month = month_map(validate=[ma.validate.Length(min=1), _not_negative])

    @ma.validates_schema
    def _one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("total" in data) == ("by_month" in data):
            raise ma.ValidationError("give either total or by_month", "budget")


class OptimiseRequest(ma.Schema):
    """Body of POST /portfolios/{id}/optimise."""

    objective = ma.fields.String(
        load_default="risk_adjusted_npv", validate=ma.validate.OneOf(OBJECTIVES)
    )
    from_month = Month()
    budget = ma.fields.Nested(
        BudgetSpec, metadata={"description": "default: the capacity budget by month"}
    )
    people = role_map(
        validate=_not_negative, metadata={"description": "default: the capacity people"}
    )
    force_in = ma.fields.List(ma.fields.UUID(), load_default=list)
    force_out = ma.fields.List(ma.fields.UUID(), load_default=list)
    frontier_points = ma.fields.Integer(
        load_default=10, validate=ma.validate.Range(min=0, max=MAX_FRONTIER_POINTS)
    )
    start_delays = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=0, max=120)),
        load_default=lambda: [0],
        validate=ma.validate.Length(min=1, max=24),
        metadata={"description": "months a proposal may be pushed back, e.g. [0, 3, 6, 12]"},
    )
    reference_class = ma.fields.Boolean(load_default=False)


class SelectedItem(ma.Schema):
    """A selected initiative, when it starts and why."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    value = _money()
    remaining_cost = _money()
    start_delay = ma.fields.Integer()
    reason_code = ma.fields.String(
        metadata={"enum": ["mandatory", "forced_in", "dependency", "optimal"]}
    )
    reason = ma.fields.String()


class ExcludedItem(ma.Schema):
    """An excluded initiative and why."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    value = _money()
    remaining_cost = _money()
    reason_code = ma.fields.String(
        metadata={"enum": ["forced_out", "dependency", "no_value", "capacity"]}
    )
    reason = ma.fields.String()


class BindingItem(ma.Schema):
    """A limit some excluded item would break if it were added alone."""

    constraint = ma.fields.String(metadata={"enum": ["budget", "people"]})
    month = ma.fields.String(allow_none=True)
    role = ma.fields.String(allow_none=True)
    used = ma.fields.String()
    limit = ma.fields.String()


class ForcingItem(ma.Schema):
    """What one force costs."""

    initiative_id = ma.fields.UUID()
    forced = ma.fields.String(metadata={"enum": ["in", "out"]})
    value_lost = _money()


class FrontierItem(ma.Schema):
    """The optimum at one budget (value null when the forced set does not fit)."""

    budget = _money()
    value = _maybe("1000.00")
    selected = ma.fields.Integer()


class OptimiseResponse(ma.Schema):
    """POST /portfolios/{id}/optimise."""

    objective = ma.fields.String()
    from_month = ma.fields.String()
    status = ma.fields.String(metadata={"example": "optimal"})
    solver = ma.fields.String(metadata={"example": "highs"})
    value = _money()
    value_available = _money()
    value_captured_pct = _maybe("87.5")
    selected = ma.fields.List(ma.fields.Nested(SelectedItem))
    excluded = ma.fields.List(ma.fields.Nested(ExcludedItem))
    binding_constraints = ma.fields.List(ma.fields.Nested(BindingItem))
    forcing_cost = ma.fields.List(ma.fields.Nested(ForcingItem))
    frontier = ma.fields.List(ma.fields.Nested(FrontierItem))


# -- scenarios ---------------------------------------------------------------------------------


class ScenarioRequest(ma.Schema):
    """Body of POST /portfolios/{id}/scenarios: a budget cut in a window."""

    name = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=200), non_blank])
    kind = ma.fields.String(load_default="budget_cut", validate=ma.validate.OneOf(["budget_cut"]))
    cut_pct = Decimal(validate=ma.validate.Range(min=0, max=100))
    new_budget = Decimal(validate=ma.validate.Range(min=0))
    from_month = Month()
    window_months = ma.fields.Integer(load_default=12, validate=ma.validate.Range(min=1, max=120))
    defer_months = ma.fields.Integer(load_default=12, validate=ma.validate.Range(min=1, max=120))
    defer_cost_pct = Decimal(load_default=0, validate=ma.validate.Range(min=0, max=1000))
    reason = reason()

    @ma.validates_schema
    def _one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("cut_pct" in data) == ("new_budget" in data):
            raise ma.ValidationError("give either cut_pct or new_budget", "cut_pct")


class ScenarioArgs(FreshArgs):
    """Query of POST /portfolios/{id}/scenarios and /optimise."""


class ScenarioListArgs(AnalyticsArgs):
    """Query of GET /portfolios/{id}/scenarios."""

    cursor = ma.fields.String(metadata={"description": "opaque cursor from next_cursor"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


class ScenarioLineResponse(ma.Schema):
    """One candidate's action and what it saves and forgoes."""

    initiative_id = ma.fields.UUID()
    name = ma.fields.String()
    status = ma.fields.String()
    action = ma.fields.String(metadata={"enum": ["continue", "suspend", "delay", "stop"]})
    decision = ma.fields.String(allow_none=True)
    cost_in_window = _money()
    cost_saved = _money()
    benefits_forgone_pv = _money()
    value = _money()
    reason = ma.fields.String()


class Window(ma.Schema):
    """The months the cut applies to."""

    from_month = ma.fields.String()
    to_month = ma.fields.String()


class ScenarioTotals(ma.Schema):
    """What the whole scenario saves, forgoes and keeps."""

    cost_saved = _money()
    benefits_forgone_pv = _money()
    value_kept_pct = _maybe("92.5")


class ScenarioResponse(ma.Schema):
    """A stored scenario exactly as the board saw it."""

    scenario_id = ma.fields.UUID()
    portfolio_id = ma.fields.UUID()
    name = ma.fields.String()
    kind = ma.fields.String()
    parameters = ma.fields.Dict()
    recorded_at = ma.fields.AwareDateTime()
    log_position = ma.fields.Integer()
    computed_at_position = ma.fields.Integer()
    window = ma.fields.Nested(Window)
    budget_before = _money()
    budget_after = _money()
    initiatives = ma.fields.List(ma.fields.Nested(ScenarioLineResponse))
    totals = ma.fields.Nested(ScenarioTotals)


class ScenarioList(ma.Schema):
    """A page of a portfolio's scenarios, oldest first."""

    items = ma.fields.List(ma.fields.Nested(ScenarioResponse))
    next_cursor = ma.fields.String(allow_none=True)
