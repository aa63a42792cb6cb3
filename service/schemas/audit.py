"""Schemas of the auditor's resources: the decision trail, decision context and the event feed."""

from __future__ import annotations

import marshmallow as ma

from domain.values import DECISIONS
from service.schemas.benefits import BenefitResponse
from service.schemas.common import DateRangeArgs, FreshArgs, Instant, PageArgs, position_field
from service.schemas.initiatives import DecisionEvidence, DecisionResponse, InitiativeResponse


class TrailArgs(PageArgs, FreshArgs, DateRangeArgs):
    """Query of GET /audit/decisions."""

    portfolio_id = ma.fields.UUID()
    initiative_id = ma.fields.UUID()
    decision = ma.fields.String(validate=ma.validate.OneOf(DECISIONS))
    from_ = ma.fields.Date(data_key="from", metadata={"description": "decided on or after"})
    to = ma.fields.Date(metadata={"description": "decided on or before"})
    as_of = Instant(metadata={"description": "RFC 3339 instant: answer as recorded then"})


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
