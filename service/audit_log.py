"""The transparency log over HTTP (DESIGN §5.5): verify, signed heads, proofs, export, key."""

from __future__ import annotations

from typing import Any

import flask
from flask.views import MethodView

from projections.audit.heads import log_id, public_key_pem
from projections.audit.state import halted_reason
from projections.audit_chain.reads import (
    LogReport,
    OutOfRange,
    chain_hashes,
    consistency_proof,
    export_lines,
    inclusion_proof,
    verify_store,
)
from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.audit_chain.store import head_page, latest_head
from service.auth import AUDIT, require
from service.blueprint import Blueprint
from service.errors import ApiProblem
from service.paging import after_cursor, keyset_page, unknown_cursor
from service.reads import fresh, signing_key, views
from service.schemas.audit_log import (
    MAX_INT,
    ConsistencyArgs,
    ConsistencyResponse,
    HeadArgs,
    InclusionArgs,
    InclusionResponse,
    LatestHeadResponse,
    TreeHeadList,
    VerifyResponse,
)
from service.schemas.common import FreshArgs
from service.state import application, settings

blp = Blueprint(
    "audit-log",
    __name__,
    url_prefix="/api/v1",
    description="The tamper-evident log: signed tree heads, proofs and export (auditor, admin)",
)

NDJSON = "application/x-ndjson"
PEM = "application/x-pem-file"
TEXT = {"type": "string"}


# -- helpers ---------------------------------------------------------------------------------


def _halted() -> str | None:
    """Why the sealer stopped, if it did: answered at once, without waiting for it."""
    return halted_reason(settings().audit_state)


def _sealed(min_position: int | None = None) -> None:
    """The sealer caught up (inline) or waited for (`min_position`), unless it halted."""
    if _halted() is None:
        fresh([AUDIT_CHAIN], min_position)


def _out_of_range(error: OutOfRange) -> ApiProblem:
    return ApiProblem(422, str(error), slug="validation-error", errors={error.field: [str(error)]})


# -- views -----------------------------------------------------------------------------------


@blp.route("/audit/verify")
class Verify(MethodView):
    """Recompute the log and check every signed head."""

    @blp.arguments(FreshArgs, location="query")
    @blp.response(200, VerifyResponse)
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """Recompute every leaf and head; say why and where if anything differs."""
        halted = _halted()
        if halted is None:
            fresh([AUDIT_CHAIN], args.get("min_position"))
            halted = _halted()
        if halted is not None:
            head = application().head_position()
            report = LogReport(False, log_head_position=head, reason=f"the sealer halted: {halted}")
            return _with_chain_head(report)
        public = signing_key().public_key()
        report = verify_store(application(), views(), public, settings().audit_state)
        return _with_chain_head(report)


def _with_chain_head(report: LogReport) -> dict[str, Any]:
    """The report, plus the linear chain's head as the first release answered it, so clients
    that read `head_position` and `head_hash` keep working."""
    position = report.sealed_position
    hashes = chain_hashes(views(), position, position) if position else {}
    return {**report.as_dict(), "head_position": position, "head_hash": hashes.get(position)}


@blp.route("/audit/tree-heads")
class TreeHeads(MethodView):
    """Every signed tree head."""

    @blp.arguments(HeadArgs, location="query")
    @blp.response(200, TreeHeadList)
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """Signed heads, oldest first, a page at a time."""
        _sealed()
        after = after_cursor(args) if args.get("cursor") else int(args["after"])
        if after > MAX_INT:
            raise unknown_cursor()
        limit = int(args["limit"])
        with views().read() as cursor:
            found = head_page(cursor, after, limit + 1)
        page = found[:limit]
        next_after = page[-1][0] if len(found) > limit else None
        return keyset_page([head for _seq, head in page], next_after)


@blp.route("/audit/tree-heads/latest")
class LatestHead(MethodView):
    """The newest signed head."""

    @blp.arguments(FreshArgs, location="query")
    @blp.response(200, LatestHeadResponse)
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """The latest signed head and the log's id."""
        _sealed(args.get("min_position"))
        with views().read() as cursor:
            found = latest_head(cursor)
        if found is None:
            raise ApiProblem(404, "no tree head has been signed yet", slug="not-found")
        return {**found[1].as_dict(), "log_id": log_id(signing_key())}


@blp.route("/audit/proof/inclusion")
class Inclusion(MethodView):
    """Proof that an event is in a signed tree."""

    @blp.arguments(InclusionArgs, location="query")
    @blp.response(200, InclusionResponse)
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """The audit path of the event at `position` in the tree of `tree_size` events."""
        _sealed()
        try:
            return inclusion_proof(views(), args["position"], args["tree_size"])
        except OutOfRange as error:
            raise _out_of_range(error) from None


@blp.route("/audit/proof/consistency")
class Consistency(MethodView):
    """Proof that one signed tree extends another."""

    @blp.arguments(ConsistencyArgs, location="query")
    @blp.response(200, ConsistencyResponse)
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """The hashes showing the tree of `first` events is a prefix of that of `second`."""
        _sealed()
        try:
            return consistency_proof(views(), args["first"], args["second"])
        except OutOfRange as error:
            raise _out_of_range(error) from None


@blp.route("/audit/export")
class Export(MethodView):
    """Every sealed event, then every signed head and re-seal statement."""

    @blp.arguments(FreshArgs, location="query")
    @blp.response(200, TEXT, content_type=NDJSON, description="JSON Lines, streamed")
    @require(AUDIT)
    def get(self, args: dict[str, Any]) -> Any:
        """Stream the export (JSON Lines) that `valuetrail audit verify` checks offline."""
        _sealed(args.get("min_position"))
        # The lines need no request context: it is gone by the time the stream is read.
        response = flask.Response(export_lines(application(), views()), mimetype=NDJSON)
        response.headers["Content-Disposition"] = 'attachment; filename="valuetrail-audit.jsonl"'
        return response


@blp.route("/audit/public-key")
class PublicKey(MethodView):
    """The key that signs tree heads."""

    @blp.response(
        200,
        TEXT,
        content_type=PEM,
        description="Ed25519 public key, PEM",
        headers={"X-Log-Id": {"description": "the log's id", "schema": {"type": "string"}}},
    )
    @require(AUDIT)
    def get(self) -> Any:
        """The Ed25519 public key (PEM, SubjectPublicKeyInfo); its log id in `X-Log-Id`."""
        key = signing_key()
        response = flask.Response(public_key_pem(key), mimetype=PEM)
        response.headers["X-Log-Id"] = log_id(key)
        return response
