"""The auditor's resources: decision trail, decision context and the event feed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import flask
import marshmallow as ma
from flask.views import MethodView

from domain.errors import NotFoundError
from domain.values import DECISIONS
from projections.audit_chain.reads import chain_hashes
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.decision_trail.trail import TrailFilter, decision_by_id, decisions
from projections.decision_trail.writer import DecisionsView
from projections.portfolio_value.writer import PortfolioValueView
from service.audit_context import cited_scenario, decision_context
from service.auth import AUDIT, require
from service.benefits import BenefitResponse, benefit_view
from service.blueprint import Blueprint
from service.http import PageArgs, json_response
from service.initiatives import (
    DecisionEvidence,
    DecisionResponse,
    InitiativeResponse,
    initiative_view,
)
from service.jsonio import to_jsonable
from service.reads import (
    FreshArgs,
    after_cursor,
    fresh,
    keyset_page,
    next_url,
    position_field,
    views,
)
from service.schemas.common import Instant, schema
from service.state import application

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1",
    description="Decision trail, event feed and tamper evidence (auditor, admin)",
)

TRAIL_VIEWS = (DecisionsView.name, AUDIT_CHAIN)
CSV = "text/csv"
NDJSON = "application/x-ndjson"
PEM = "application/x-pem-file"
TEXT = {"type": "string"}
# Stored-event members the feed's envelope already carries (or that only the store needs).
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


# -- schemas ---------------------------------------------------------------------------------


class TrailArgs(PageArgs, FreshArgs):
    """Query of GET /audit/decisions."""

    portfolio_id = ma.fields.UUID()
    initiative_id = ma.fields.UUID()
    decision = ma.fields.String(validate=ma.validate.OneOf(DECISIONS))
    from_ = ma.fields.Date(data_key="from", metadata={"description": "decided on or after"})
    to = ma.fields.Date(metadata={"description": "decided on or before"})
    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and end < start:
            raise ma.ValidationError("must not be before from", "to")


class AuditDecision(DecisionResponse):
    """A decision of the trail: the decision object plus the log position of its event."""

    position = ma.fields.Integer(metadata={"description": "log position of the decision event"})


class AuditDecisionList(ma.Schema):
    """A page of the decision trail, in log order."""

    items = ma.fields.List(ma.fields.Nested(AuditDecision))
    next_cursor = ma.fields.String(allow_none=True)


class DecisionFigures(DecisionEvidence):
    """Evidence figures recomputed from the state recorded just before the decision."""

    class Meta:
        exclude = ("log_position",)


class DecisionContextResponse(ma.Schema):
    """GET /audit/decisions/{decision_id}/context."""

    decision = ma.fields.Nested(AuditDecision)
    as_of = ma.fields.AwareDateTime(metadata={"description": "1 µs before the decision"})
    initiative = ma.fields.Nested(InitiativeResponse)
    benefits = ma.fields.List(ma.fields.Nested(BenefitResponse))
    figures = ma.fields.Nested(DecisionFigures)
    matches_evidence = ma.fields.Boolean(
        metadata={"description": "whether the figures equal the decision's stored evidence"}
    )
    scenario = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "the stored scenario the decision cites, exactly as stored"},
    )


class EventArgs(FreshArgs):
    """Query of GET /audit/events."""

    after = position_field(
        load_default=0,
        metadata={"description": "log position to start after (the previous next_cursor)"},
    )
    cursor = ma.fields.String(
        validate=ma.validate.Regexp(r"^[0-9]{1,18}$"),
        metadata={"description": "next_cursor of the previous page (same as after)"},
    )
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class AuditEvent(ma.Schema):
    """One stored event of the global log."""

    position = ma.fields.Integer()
    originator_id = ma.fields.UUID()
    version = ma.fields.Integer()
    type = ma.fields.String(metadata={"example": "DecisionRecorded"})
    topic = ma.fields.String(metadata={"example": "valuetrail.initiative.DecisionRecorded.v1"})
    recorded_at = ma.fields.AwareDateTime()
    actor = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()
    chain_hash = ma.fields.String(
        allow_none=True, metadata={"description": "hex SHA-256 chain hash; null until sealed"}
    )


class AuditEventList(ma.Schema):
    """A page of the event log."""

    events = ma.fields.List(ma.fields.Nested(AuditEvent))
    next_cursor = ma.fields.String(allow_none=True)


# -- presentation ----------------------------------------------------------------------------


def trail_view(record: dict[str, Any]) -> dict[str, Any]:
    """Dump a decision of the trail."""
    return dict(schema(AuditDecision).dump(record))


def csv_rows(items: list[dict[str, Any]]) -> Iterator[str]:
    """The trail as CSV: one row per decision, evidence members as `evidence_<name>` columns."""
    columns = [name for name in AuditDecision().fields if name != "evidence"]
    evidence = [f"evidence_{name}" for name in DecisionEvidence().fields]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns + evidence)
    for item in items:
        values = [item.get(name) for name in columns]
        values += [item["evidence"].get(name.removeprefix("evidence_")) for name in evidence]
        writer.writerow([_cell(value) for value in values])
    yield buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def event_view(notification: Any, chain: str | None) -> dict[str, Any]:
    """One stored event as the feed shows it."""
    event: Any = application().mapper.to_domain_event(notification)
    data = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    return {
        "position": notification.id,
        "originator_id": event.originator_id,
        "version": event.originator_version,
        "type": type(event).__name__,
        "topic": notification.topic,
        "recorded_at": event.timestamp,
        "actor": getattr(event, "actor", None),
        "data": json.loads(json.dumps(data, default=to_jsonable)),
        "chain_hash": chain,
    }


# -- views -----------------------------------------------------------------------------------


@blp.route("/audit/decisions")
class Trail(MethodView):
    """Every decision, with its rationale and evidence."""

    @blp.arguments(TrailArgs, location="query")
    @blp.response(200, AuditDecisionList)
    @blp.alt_response(
        200, schema=TEXT, content_type=CSV, description="JSON, or CSV with Accept: text/csv"
    )
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """The decision trail in log order; `Accept: text/csv` answers every match as CSV."""
        fresh(TRAIL_VIEWS, args.get("min_position"))
        which = TrailFilter(
            portfolio_id=args.get("portfolio_id"),
            initiative_id=args.get("initiative_id"),
            decision=args.get("decision"),
            decided_from=args.get("from_"),
            decided_to=args.get("to"),
            as_of=args.get("as_of"),
        )
        accepted = flask.request.accept_mimetypes.best_match(["application/json", CSV])
        if accepted == CSV:
            found, _ = decisions(views(), which, limit=None)
            rows = csv_rows([trail_view(d) for d in found])
            response = flask.Response(rows, mimetype=CSV)
            response.headers["Content-Disposition"] = 'attachment; filename="decisions.csv"'
            return response
        found, next_after = decisions(views(), which, after=after_cursor(args), limit=args["limit"])
        return keyset_page([trail_view(d) for d in found], next_after)


@blp.route("/audit/decisions/<uuid:decision_id>/context")
class Context(MethodView):
    """What the board knew when it decided."""

    @blp.arguments(FreshArgs, location="query")
    @blp.response(200, DecisionContextResponse)
    @require(AUDIT)
    def get(self, args: dict[str, Any], decision_id: UUID) -> Any:
        """The initiative and its benefits as recorded just before the decision, and its figures."""
        # The value view keeps the scenarios a decision may cite.
        fresh((*TRAIL_VIEWS, PortfolioValueView.name), args.get("min_position"))
        record = decision_by_id(views(), decision_id)
        if record is None:
            raise NotFoundError("decision", decision_id)
        context = decision_context(application(), record)
        figures = dict(schema(DecisionFigures).dump(context.figures))
        stored = dict(schema(DecisionFigures).dump(record["evidence"]))
        return json_response(
            {
                "decision": trail_view(record),
                "as_of": context.as_of.isoformat(),
                "initiative": initiative_view(context.initiative),
                "benefits": [benefit_view(b) for b in context.benefits],
                "figures": figures,
                "matches_evidence": figures == stored,
                "scenario": cited_scenario(views(), record),
            }
        )


@blp.route("/audit/events")
class Events(MethodView):
    """The global event log in order, with each event's sealed chain hash."""

    @blp.arguments(EventArgs, location="query")
    @blp.response(200, AuditEventList)
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """Events after a position, oldest first; `chain_hash` is null until sealed."""
        fresh([AUDIT_CHAIN], args.get("min_position"))
        after = int(args["cursor"]) if args.get("cursor") else int(args["after"])
        limit = int(args["limit"])
        found = application().recorder.select_notifications(start=after + 1, limit=limit + 1)
        page = found[:limit]
        hashes = chain_hashes(views(), page[0].id, page[-1].id) if page else {}
        events = [event_view(n, hashes.get(n.id)) for n in page]
        next_cursor = str(page[-1].id) if len(found) > limit else None
        headers = {}
        if next_cursor is not None:
            link = next_url(after=next_cursor)
            headers["Link"] = f'<{link}>; rel="next"'
        return json_response({"events": events, "next_cursor": next_cursor}, headers=headers)
