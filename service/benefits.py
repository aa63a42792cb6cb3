"""Benefits, forecasts and attribution."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import flask
from flask.views import MethodView

from domain.application import Idempotency, Written
from domain.benefit import Benefit
from projections.portfolio_value.lists import STATES_VIEW, benefit_ids
from service.auth import ANY, MANAGE, require
from service.blueprint import Blueprint
from service.http import Answer, expected_version, meta, resource, write
from service.paging import after_cursor, keyset_page
from service.reads import fresh, views
from service.schemas.benefits import (
    BenefitAttributionRequest,
    BenefitBaselineRequest,
    BenefitCloseRequest,
    BenefitCreate,
    BenefitForecastRequest,
    BenefitList,
    BenefitListArgs,
    BenefitOwnerRequest,
    BenefitResponse,
    BenefitTargetRequest,
)
from service.schemas.common import AsOfArgs
from service.state import application

blp = Blueprint(
    "benefits", __name__, url_prefix="/api/v1", description="Benefits, forecasts and attribution"
)


def unattributed_share(b: Benefit) -> D:
    """The part of a benefit no initiative claims (none given: the accountable one has it all)."""
    if not b.contributions:
        return D(0)
    return D(1) - sum((D(c["share"]) for c in b.contributions), D(0))


def benefit_data(b: Benefit) -> dict[str, Any]:
    """A benefit aggregate as `BenefitResponse` dumps it."""
    return {
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


def _url(benefit_id: UUID) -> str:
    return flask.url_for("benefits.BenefitItem", benefit_id=benefit_id)


def _change(
    run: Callable[[Idempotency | None, int | None], Written[Benefit]],
) -> Answer | flask.Response:
    """Answer a state change of one benefit, honouring If-Match and Idempotency-Key."""
    return write(lambda once: run(once, expected_version()), benefit_data)


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
            benefit_data,
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
        items = [benefit_data(b) for b in found if initiative_id in b.attributed_to]
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
        return resource(benefit_data(b), b.version)


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
