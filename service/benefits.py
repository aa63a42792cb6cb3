"""Benefits, forecasts and attribution."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import flask
import marshmallow as ma
from flask.views import MethodView

from domain.application import Idempotency, Written
from domain.benefit import Benefit
from domain.values import BENEFIT_CATEGORIES, DIRECTIONS, MEASURE_KINDS
from projections.portfolio_value.lists import STATES_VIEW, benefit_ids
from service.auth import ANY, MANAGE, require
from service.blueprint import Blueprint
from service.http import PageArgs, expected_version, meta, resource, write
from service.reads import FreshArgs, after_cursor, fresh, keyset_page, views
from service.schemas.common import (
    AsOfArgs,
    Day,
    Decimal,
    Instant,
    Month,
    month_map,
    reason,
    schema,
)
from service.state import application

blp = Blueprint(
    "benefits", __name__, url_prefix="/api/v1", description="Benefits, forecasts and attribution"
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


def unattributed_share(b: Benefit) -> D:
    """The part of a benefit no initiative claims (none given: the accountable one has it all)."""
    if not b.contributions:
        return D(0)
    return D(1) - sum((D(c["share"]) for c in b.contributions), D(0))


def benefit_view(b: Benefit) -> dict[str, Any]:
    """Dump a benefit aggregate."""
    return dict(
        schema(BenefitResponse).dump(
            {
                "id": b.id,
                "version": b.version,
                "portfolio_id": b.portfolio_id,
                "initiative_id": b.initiative_id,
                "title": b.title,
                "description": b.description,
                "category": b.category,
                "disbenefit": b.disbenefit,
                "owner": b.owner,
                "goal_id": b.goal_id,
                "measure": b.measure,
                "baseline": b.baseline,
                "target": b.target,
                "contributions": b.contributions,
                "unattributed_share": unattributed_share(b),
                "status": b.status,
                "forecast": {"periods": b.forecast, "revision": b.forecast_revision},
                "measurement_count": b.measurement_count,
                "actuals": dict(sorted(b.actuals.items())),
                "created_on": b.created_on,
                "modified_on": b.modified_on,
            }
        )
    )


def _url(benefit_id: UUID) -> str:
    return flask.url_for("benefits.BenefitItem", benefit_id=benefit_id)


def _change(
    run: Callable[[Idempotency | None, int | None], Written[Benefit]],
) -> flask.Response:
    """Answer a state change of one benefit, honouring If-Match and Idempotency-Key."""
    return write(lambda once: run(once, expected_version()), benefit_view)


@blp.route("/benefits")
class Benefits(MethodView):
    """Identify and list benefits."""

    @blp.arguments(BenefitCreate)
    @blp.response(201, BenefitResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any]) -> Any:
        """Identify a benefit an initiative is accountable for."""
        return write(
            lambda once: application().identify_benefit(**data, meta=meta(), once=once),
            benefit_view,
            status=201,
            location=lambda b: _url(b.id),
        )

    @blp.arguments(BenefitListArgs, location="query")
    @blp.response(200, BenefitList)
    @require(ANY)
    def get(self, args: dict[str, Any]) -> Any:
        """List the benefits that attribute a share to an initiative, oldest first."""
        fresh([STATES_VIEW], args.get("min_position"))
        initiative_id, as_of = args["initiative_id"], args.get("as_of")
        page = benefit_ids(
            views(), initiative_id, as_of=as_of, after=after_cursor(args), limit=args["limit"]
        )
        found = [application().get_benefit(b, as_of=as_of) for b in page.ids]
        # Now (no as_of) the aggregate may be newer than a lagging view: keep the filter true.
        items = [benefit_view(b) for b in found if initiative_id in b.attributed_to]
        return keyset_page(items, page.next_after)


@blp.route("/benefits/<uuid:benefit_id>")
class BenefitItem(MethodView):
    """One benefit."""

    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, BenefitResponse)
    @require(ANY)
    def get(self, args: dict[str, Any], benefit_id: UUID) -> Any:
        """Read a benefit now, or as recorded at `as_of`."""
        b = application().get_benefit(benefit_id, as_of=args.get("as_of"))
        return resource(benefit_view(b), b.version)


@blp.route("/benefits/<uuid:benefit_id>/forecast")
class Forecast(MethodView):
    """The benefit forecast."""

    @blp.arguments(BenefitForecastRequest)
    @blp.response(200, BenefitResponse)
    @require(MANAGE)
    def put(self, data: dict[str, Any], benefit_id: UUID) -> Any:
        """Record a new forecast revision {month: value}."""
        return _change(
            lambda _once, version: application().revise_benefit_forecast(
                benefit_id, **data, meta=meta(), expected_version=version
            )
        )


@blp.route("/benefits/<uuid:benefit_id>/attribution")
class Attribution(MethodView):
    """Who claims which share of the benefit."""

    @blp.arguments(BenefitAttributionRequest)
    @blp.response(200, BenefitResponse)
    @require(MANAGE)
    def put(self, data: dict[str, Any], benefit_id: UUID) -> Any:
        """Replace the contributions; shares must sum to at most 1."""
        return _change(
            lambda _once, version: application().change_attribution(
                benefit_id, **data, meta=meta(), expected_version=version
            )
        )


@blp.route("/benefits/<uuid:benefit_id>/owner")
class Owner(MethodView):
    """Owner handover."""

    @blp.arguments(BenefitOwnerRequest)
    @blp.response(200, BenefitResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], benefit_id: UUID) -> Any:
        """Hand the benefit to a new owner."""
        return _change(
            lambda once, version: application().change_owner(
                benefit_id, **data, meta=meta(), expected_version=version, once=once
            )
        )


@blp.route("/benefits/<uuid:benefit_id>/baseline")
class Baseline(MethodView):
    """Baseline revision."""

    @blp.arguments(BenefitBaselineRequest)
    @blp.response(200, BenefitResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], benefit_id: UUID) -> Any:
        """Record a corrected baseline."""
        return _change(
            lambda once, version: application().revise_baseline(
                benefit_id, **data, meta=meta(), expected_version=version, once=once
            )
        )


@blp.route("/benefits/<uuid:benefit_id>/target")
class Target(MethodView):
    """Target revision."""

    @blp.arguments(BenefitTargetRequest)
    @blp.response(200, BenefitResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], benefit_id: UUID) -> Any:
        """Record a new target."""
        return _change(
            lambda once, version: application().revise_target(
                benefit_id, **data, meta=meta(), expected_version=version, once=once
            )
        )


@blp.route("/benefits/<uuid:benefit_id>/close")
class Closure(MethodView):
    """Closing a benefit."""

    @blp.arguments(BenefitCloseRequest)
    @blp.response(200, BenefitResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], benefit_id: UUID) -> Any:
        """Close the benefit: no more forecasts or measurements."""
        return _change(
            lambda once, version: application().close_benefit(
                benefit_id, **data, meta=meta(), expected_version=version, once=once
            )
        )
