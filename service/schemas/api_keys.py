"""Schemas of API keys: request bodies and answers."""

from __future__ import annotations

import marshmallow as ma

from domain.api_key import ROLES


class ApiKeyCreate(ma.Schema):
    """Body of POST /api-keys."""

    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"example": "finance-ingest"},
    )
    role = ma.fields.String(
        required=True, validate=ma.validate.OneOf(ROLES), metadata={"example": "ingest"}
    )


class ApiKeyRevoke(ma.Schema):
    """Optional body of DELETE /api-keys/{id}."""

    reason = ma.fields.String(
        load_default="revoked", validate=ma.validate.Length(min=1, max=10_000)
    )


class ApiKeyResponse(ma.Schema):
    """An API key as stored: never its token, never its hash."""

    id = ma.fields.UUID()
    version = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    revoked = ma.fields.Boolean()
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_reason = ma.fields.String(allow_none=True)


class ApiKeyIssued(ApiKeyResponse):
    """A newly issued key with its token: the only time the token is shown."""

    token = ma.fields.String(metadata={"description": "the bearer token; shown only here"})


class ApiKeyList(ma.Schema):
    """A page of API keys."""

    items = ma.fields.List(ma.fields.Nested(ApiKeyResponse))
    next_cursor = ma.fields.String(allow_none=True)
