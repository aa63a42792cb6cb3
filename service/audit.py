"""The auditor's resources: decision trail, decision context and the event feed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import flask
from flask.views import MethodView

from domain.errors import NotFoundError
from projections.audit_chain.reads import chain_hashes
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.decision_trail.trail import TrailFilter, decision_by_id, decisions
from projections.decision_trail.writer import DecisionsView
from projections.portfolio_value.writer import PortfolioValueView
from service.audit_context import cited_scenario, decision_context
from service.auth import AUDIT, require
from service.benefits import benefit_data
from service.blueprint import Blueprint
from service.initiatives import initiative_data
from service.jsonio import to_jsonable
from service.paging import after_cursor, cursor_page, keyset_page
from service.reads import fresh, views
from service.schemas.audit import (
    AuditDecision,
    AuditDecisionList,
    AuditEventList,
    DecisionContextResponse,
    DecisionFigures,
    EventArgs,
    TrailArgs,
)
from service.schemas.common import FreshArgs, schema
from service.schemas.initiatives import DecisionEvidence
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


# -- presentation ----------------------------------------------------------------------------


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


def event_data(notification: Any, chain: str | None) -> dict[str, Any]:
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
            trail = schema(AuditDecision)
            rows = csv_rows([trail.dump(d) for d in found])
            response = flask.Response(rows, mimetype=CSV)
            response.headers["Content-Disposition"] = 'attachment; filename="decisions.csv"'
            return response
        found, next_after = decisions(views(), which, after=after_cursor(args), limit=args["limit"])
        return keyset_page(found, next_after)


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
        return {
            "decision": record,
            "as_of": context.as_of,
            "initiative": initiative_data(context.initiative),
            "benefits": [benefit_data(b) for b in context.benefits],
            "figures": context.figures,
            "matches_evidence": figures == stored,
            "scenario": cited_scenario(views(), record),
        }


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
        events = [event_data(n, hashes.get(n.id)) for n in page]
        next_cursor = str(page[-1].id) if len(found) > limit else None
        # The link carries the position as `after`; a `cursor` kept beside it would win.
        return cursor_page(events, next_cursor, key="events", link_param="after", drop=("cursor",))
