"""Initiatives, decisions and their history."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import flask
from flask.views import MethodView

from domain.application import decision_record
from domain.initiative import Initiative
from projections.portfolio_value.lists import STATES_VIEW, initiative_ids
from service.auth import ANY, INGEST, MANAGE, require
from service.blueprint import Blueprint
from service.http import expected_version, meta, resource, write
from service.jsonio import to_jsonable
from service.paging import after_cursor, keyset_page, paginate
from service.reads import fresh, views
from service.schemas.common import AsOfArgs
from service.schemas.initiatives import (
    ConfidenceAssess,
    ContingencyPut,
    CostForecastPut,
    DecisionList,
    DecisionListArgs,
    DecisionRequest,
    DecisionResponse,
    HistoryResponse,
    InitiativeCreate,
    InitiativeList,
    InitiativeListArgs,
    InitiativeResponse,
    InitiativeRevise,
    LeaderAssign,
    LessonCreate,
    LessonResponse,
    SpendCreate,
    SpendResponse,
)
from service.state import application

blp = Blueprint(
    "initiatives",
    __name__,
    url_prefix="/api/v1",
    description="Initiatives, decisions and their history",
)

# Event fields that the history envelope already carries (or that only the store needs).
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "request_id"}
)


# -- presentation --------------------------------------------------------------------------


def initiative_data(i: Initiative) -> dict[str, Any]:
    """An initiative aggregate as `InitiativeResponse` dumps it."""
    return {
        "id": i.id,
        "version": i.version,
        "portfolio_id": i.portfolio_id,
        "kind": i.kind,
        "parent_id": i.parent_id,
        "name": i.name,
        "description": i.description,
        "sponsor": i.sponsor,
        "leader": i.leader,
        "start_month": i.start_month,
        "end_month": i.end_month,
        "confidence": i.confidence,
        "mandatory": i.mandatory,
        "depends_on": i.depends_on,
        "people_demand": i.people_demand,
        "status": i.status,
        "cost_forecast": {"periods": i.cost_forecast, "revision": i.cost_forecast_revision},
        "spend_to_date": i.spend_to_date,
        "spend_by_month": i.spend_by_month,
        "lessons": i.lessons,
        "contingency": i.contingency,
        "stopped_month": i.stopped_month,
        "created_on": i.created_on,
        "modified_on": i.modified_on,
    }


def history_data(event: Any) -> dict[str, Any]:
    """One event as the history shows it: the envelope plus the event's own fields."""
    data = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    return {
        "version": event.originator_version,
        "type": type(event).__name__,
        "recorded_at": event.timestamp,
        "actor": getattr(event, "actor", None),
        "request_id": getattr(event, "request_id", None),
        "data": json.loads(json.dumps(data, default=to_jsonable)),
    }


def _url(initiative_id: UUID) -> str:
    return flask.url_for("initiatives.InitiativeItem", initiative_id=initiative_id)


# -- views ---------------------------------------------------------------------------------


@blp.route("/initiatives")
class Initiatives(MethodView):
    """Propose and list initiatives."""

    @blp.arguments(InitiativeCreate)
    @blp.response(201, InitiativeResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any]) -> Any:
        """Propose an initiative."""
        return write(
            lambda once: application().propose_initiative(**data, meta=meta(), once=once),
            initiative_data,
            status=201,
            location=lambda i: _url(i.id),
        )

    @blp.arguments(InitiativeListArgs, location="query")
    @blp.response(200, InitiativeList)
    @require(ANY)
    def get(self, args: dict[str, Any]) -> Any:
        """List a portfolio's initiatives, oldest first, optionally of one status."""
        fresh([STATES_VIEW], args.get("min_position"))
        status, as_of = args.get("status"), args.get("as_of")
        page = initiative_ids(
            views(),
            args["portfolio_id"],
            status=status,
            as_of=as_of,
            after=after_cursor(args),
            limit=args["limit"],
        )
        found = [application().get_initiative(i, as_of=as_of) for i in page.ids]
        # Now (no as_of) the aggregate may be newer than a lagging view: keep the filter true.
        items = [initiative_data(i) for i in found if status is None or i.status == status]
        return keyset_page(items, page.next_after)


@blp.route("/initiatives/<uuid:initiative_id>")
class InitiativeItem(MethodView):
    """One initiative."""

    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, InitiativeResponse)
    @require(ANY)
    def get(self, args: dict[str, Any], initiative_id: UUID) -> Any:
        """Read an initiative now, or as recorded at `as_of`."""
        i = application().get_initiative(initiative_id, as_of=args.get("as_of"))
        return resource(initiative_data(i), i.version)

    @blp.arguments(InitiativeRevise)
    @blp.response(200, InitiativeResponse)
    @require(MANAGE)
    def patch(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Revise details: name, description, months, dependencies, people, mandatory."""
        changes = {k: v for k, v in data.items() if k != "reason"}
        return write(
            lambda once: application().revise_initiative(
                initiative_id,
                changes=changes,
                reason=data["reason"],
                meta=meta(),
                expected_version=expected_version(),
            ),
            initiative_data,
        )


@blp.route("/initiatives/<uuid:initiative_id>/cost-forecast")
class CostForecast(MethodView):
    """The initiative's cost forecast."""

    @blp.arguments(CostForecastPut)
    @blp.response(200, InitiativeResponse)
    @require(MANAGE)
    def put(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Record a new cost forecast revision."""
        return write(
            lambda once: application().revise_cost_forecast(
                initiative_id, **data, meta=meta(), expected_version=expected_version()
            ),
            initiative_data,
        )


@blp.route("/initiatives/<uuid:initiative_id>/spend")
class Spend(MethodView):
    """Actual spend."""

    @blp.arguments(SpendCreate)
    @blp.response(201, SpendResponse)
    @blp.alt_response(200, schema=SpendResponse, description="already recorded: the original")
    @require(INGEST)
    def post(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Record actual spend; the same (source, external_id) is stored once."""
        return write(
            lambda once: application().record_spend(initiative_id, **data, meta=meta(), once=once),
            location=lambda _: _url(initiative_id),
            status_of=lambda spend: 201 if spend["created"] else 200,
        )


@blp.route("/initiatives/<uuid:initiative_id>/confidence")
class Confidence(MethodView):
    """Probability of delivering."""

    @blp.arguments(ConfidenceAssess)
    @blp.response(200, InitiativeResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Record a new confidence with its reason."""
        return write(
            lambda once: application().assess_confidence(
                initiative_id,
                **data,
                meta=meta(),
                expected_version=expected_version(),
                once=once,
            ),
            initiative_data,
        )


@blp.route("/initiatives/<uuid:initiative_id>/leader")
class Leader(MethodView):
    """Who leads the initiative."""

    @blp.arguments(LeaderAssign)
    @blp.response(200, InitiativeResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Hand the initiative to a new leader."""
        return write(
            lambda once: application().assign_leader(
                initiative_id,
                **data,
                meta=meta(),
                expected_version=expected_version(),
                once=once,
            ),
            initiative_data,
        )


@blp.route("/initiatives/<uuid:initiative_id>/decisions")
class Decisions(MethodView):
    """Board decisions on an initiative."""

    @blp.arguments(DecisionRequest)
    @blp.response(201, DecisionResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Record a decision; the evidence is captured by the server at this moment."""
        return write(
            lambda once: application().record_decision(
                initiative_id, **data, meta=meta(), expected_version=expected_version(), once=once
            ),
            status=201,
            location=lambda _: flask.url_for("initiatives.Decisions", initiative_id=initiative_id),
        )

    @blp.arguments(DecisionListArgs, location="query")
    @blp.response(200, DecisionList)
    @require(ANY)
    def get(self, args: dict[str, Any], initiative_id: UUID) -> Any:
        """List the initiative's decisions, oldest first."""
        events = application().decisions(initiative_id, as_of=args.get("as_of"))
        return paginate([decision_record(e) for e in events], args)


@blp.route("/initiatives/<uuid:initiative_id>/lessons")
class Lessons(MethodView):
    """Lessons learned."""

    @blp.arguments(LessonCreate)
    @blp.response(201, LessonResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Record a lesson learned."""
        return write(
            lambda once: application().record_lesson(initiative_id, **data, meta=meta(), once=once),
            status=201,
            location=lambda _: _url(initiative_id),
        )


@blp.route("/initiatives/<uuid:initiative_id>/contingency")
class Contingency(MethodView):
    """Plan B."""

    @blp.arguments(ContingencyPut)
    @blp.response(200, InitiativeResponse)
    @require(MANAGE)
    def put(self, data: dict[str, Any], initiative_id: UUID) -> Any:
        """Set the contingency plan and its trigger."""
        return write(
            lambda once: application().set_contingency_plan(
                initiative_id, **data, meta=meta(), expected_version=expected_version()
            ),
            initiative_data,
        )


@blp.route("/initiatives/<uuid:initiative_id>/history")
class History(MethodView):
    """Every event of an initiative."""

    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, HistoryResponse)
    @require(ANY)
    def get(self, args: dict[str, Any], initiative_id: UUID) -> Any:
        """Every event of the initiative, oldest first (only those recorded by `as_of`)."""
        as_of = args.get("as_of")
        application().get_initiative(initiative_id, as_of=as_of)  # 404 unless an initiative
        events = application().history(initiative_id, as_of=as_of)
        return {"events": [history_data(e) for e in events]}
