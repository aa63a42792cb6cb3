"""The schema of an RFC 9457 problem, every error response's body."""

from __future__ import annotations

import marshmallow as ma


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem; some problems carry more members (allowed_decisions, …)."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, metadata={"example": "urn:valuetrail:problem:conflict"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), required=False
    )
    request_id = ma.fields.String()
