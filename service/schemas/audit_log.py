"""Schemas of the tamper-evident log: signed tree heads, proofs and their queries."""

from __future__ import annotations

import marshmallow as ma

MAX_INT = 2**63 - 1


class VerifyResponse(ma.Schema):
    """The log recomputed from the stored events and checked against every signed head."""

    verified = ma.fields.Boolean()
    events_checked = ma.fields.Integer(metadata={"description": "events the latest head covers"})
    tree_size = ma.fields.Integer(metadata={"description": "size of the latest signed head"})
    root_hash = ma.fields.String(allow_none=True, metadata={"description": "its root, hex"})
    sealed_position = ma.fields.Integer(metadata={"description": "its last event's position"})
    log_head_position = ma.fields.Integer(metadata={"description": "the newest event's position"})
    unsealed = ma.fields.Integer(metadata={"description": "events no signed head covers yet"})
    first_bad_position = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    head_position = ma.fields.Integer(
        metadata={"description": "as sealed_position (kept from the linear chain's answer)"}
    )
    head_hash = ma.fields.String(
        allow_none=True,
        metadata={"description": "the linear chain_hash at head_position (kept likewise)"},
    )


class TreeHeadResponse(ma.Schema):
    """A signed tree head (Ed25519 over `valuetrail-tree-head:v1:…`, docs/AUDITING.md §8.3)."""

    tree_size = ma.fields.Integer()
    root_hash = ma.fields.String(metadata={"description": "RFC 6962 root, lowercase hex"})
    position = ma.fields.Integer(metadata={"description": "log position of the last event"})
    signed_at = ma.fields.String(metadata={"description": "RFC 3339 UTC"})
    signature = ma.fields.String(metadata={"description": "standard base64"})


class LatestHeadResponse(TreeHeadResponse):
    """The latest signed head, with the log's id."""

    log_id = ma.fields.String(metadata={"description": "hex SHA-256 of the key's DER SPKI"})


class TreeHeadList(ma.Schema):
    """A page of signed heads, oldest first."""

    items = ma.fields.List(ma.fields.Nested(TreeHeadResponse))
    next_cursor = ma.fields.String(allow_none=True)


class HeadArgs(ma.Schema):
    """Query of GET /audit/tree-heads."""

    after = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=MAX_INT),
        metadata={"description": "the seq of the head to start after"},
    )
    cursor = ma.fields.String(metadata={"description": "next_cursor of the previous page"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class InclusionArgs(ma.Schema):
    """Query of GET /audit/proof/inclusion."""

    position = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=MAX_INT))
    tree_size = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_INT))


class InclusionResponse(ma.Schema):
    """RFC 9162 §2.1.3 inclusion proof."""

    leaf_index = ma.fields.Integer()
    tree_size = ma.fields.Integer()
    leaf = ma.fields.String(metadata={"description": "the event's leaf (§8.1), hex"})
    audit_path = ma.fields.List(ma.fields.String(), metadata={"description": "hex, deepest first"})


class ConsistencyArgs(ma.Schema):
    """Query of GET /audit/proof/consistency."""

    first = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_INT))
    second = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_INT))


class ConsistencyResponse(ma.Schema):
    """RFC 9162 §2.1.4 consistency proof."""

    first = ma.fields.Integer()
    second = ma.fields.Integer()
    proof = ma.fields.List(ma.fields.String(), metadata={"description": "hex"})
