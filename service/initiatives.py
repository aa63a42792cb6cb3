"""Initiatives, decisions and their history."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any
from uuid import UUID

import flask
import marshmallow as ma
from flask.views import MethodView

from domain.application import decision_record
from domain.initiative import STATUSES, Initiative
from domain.valuation import money, percent, ratio
from domain.values import DECISIONS, INITIATIVE_KINDS
from projections.portfolio_value.lists import STATES_VIEW, initiative_ids
from service.auth import ANY, INGEST, MANAGE, require
from service.blueprint import Blueprint
from service.http import PageArgs, expected_version, json_response, meta, paginate, resource, write
from service.jsonio import to_jsonable
from service.reads import FreshArgs, after_cursor, fresh, keyset_page, views
from service.schemas.common import (
    AsOfArgs,
    Day,
    Decimal,
    Instant,
    Month,
    month_map,
    reason,
    role_map,
    schema,
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


def _name(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(min=1, max=300), **kwargs)


# -- requests ------------------------------------------------------------------------------


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


# -- responses -----------------------------------------------------------------------------


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


# -- presentation --------------------------------------------------------------------------


def initiative_view(i: Initiative) -> dict[str, Any]:
    """Dump an initiative aggregate."""
    return dict(
        schema(InitiativeResponse).dump(
            {
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
        )
    )


def decision_view(record: dict[str, Any]) -> dict[str, Any]:
    """Dump a decision record (see `domain.application.decision_record`)."""
    return dict(schema(DecisionResponse).dump(record))


def history_view(event: Any) -> dict[str, Any]:
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
            initiative_view,
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
        items = [initiative_view(i) for i in found if status is None or i.status == status]
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
        return resource(initiative_view(i), i.version)

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
            initiative_view,
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
            initiative_view,
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
            lambda spend: dict(schema(SpendResponse).dump(spend)),
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
            initiative_view,
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
            initiative_view,
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
            decision_view,
            status=201,
            location=lambda _: flask.url_for("initiatives.Decisions", initiative_id=initiative_id),
        )

    @blp.arguments(DecisionListArgs, location="query")
    @blp.response(200, DecisionList)
    @require(ANY)
    def get(self, args: dict[str, Any], initiative_id: UUID) -> Any:
        """List the initiative's decisions, oldest first."""
        events = application().decisions(initiative_id, as_of=args.get("as_of"))
        return paginate([decision_view(decision_record(e)) for e in events], args)


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
            lambda lesson: dict(schema(LessonResponse).dump(lesson)),
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
            initiative_view,
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
        return json_response({"events": [history_view(e) for e in events]})
