"""RFC 9457 problem+json for every error, mapped in one place."""

from __future__ import annotations

import logging
from typing import Any

import flask
from eventsourcing.persistence import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from domain.errors import (
    AuthenticationError,
    ConcurrencyError,
    DomainError,
    ExternalIdConflictError,
    IdempotencyKeyReuseError,
    InvalidTransitionError,
    NotFoundError,
    RuleViolationError,
    StoreUnavailableError,
    ValidationError,
    VersionMismatchError,
)

log = logging.getLogger("valuetrail.errors")
PROBLEM_JSON = "application/problem+json"


class ApiProblem(Exception):
    """An HTTP error raised from a view, rendered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        slug: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.slug = slug
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> flask.Response:
    """Build a problem+json response."""
    from http import HTTPStatus

    body: dict[str, Any] = {
        "type": f"urn:valuetrail:problem:{slug}" if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    if flask.has_request_context() and "request_id" in flask.g:
        body["request_id"] = flask.g.request_id
    body.update(extra or {})
    response = flask.current_app.response_class(
        flask.json.dumps(body), status=status, mimetype=PROBLEM_JSON
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests messages by location and field; clients want {field: [messages]}."""
    result: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key)
            if not prefix and name in ("json", "query", "headers", "view_args", "path"):
                result.update(_flatten(value, ""))
                continue
            result.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        result[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for index, item in enumerate(messages):
            result.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        result[prefix or "_schema"] = [str(messages)]
    return result


def domain_problem(error: DomainError) -> flask.Response:
    """Map a domain error to its HTTP status."""
    if isinstance(error, ValidationError):
        return problem(
            422, "the request has invalid values", slug="validation-error", errors=error.errors
        )
    if isinstance(error, NotFoundError):
        as_of = flask.request.args.get("as_of") if flask.has_request_context() else None
        if as_of:
            # Transaction time: a resource created after the instant asked about is not there.
            detail = (
                f"{error.kind} {error.ident} had not been recorded as of {as_of}: it did not"
                " exist yet then, or does not exist at all"
            )
            return problem(404, detail, slug="not-found")
        return problem(404, error.message, slug="not-found")
    if isinstance(error, VersionMismatchError):
        return problem(412, error.message, slug="version-mismatch")
    if isinstance(error, IdempotencyKeyReuseError):
        return problem(422, error.message, slug="idempotency-key-reused")
    if isinstance(error, InvalidTransitionError):
        return problem(
            409,
            error.message,
            slug="invalid-transition",
            extra={"current_status": error.current, "allowed_decisions": error.allowed},
        )
    if isinstance(error, ExternalIdConflictError):
        return _external_id_conflict(error)
    if isinstance(error, ConcurrencyError):
        return problem(409, error.message, slug="conflict")
    if isinstance(error, RuleViolationError):
        return problem(409, error.message, slug="rule-violation")
    if isinstance(error, AuthenticationError):
        return problem(
            401, error.message, slug="unauthenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(error, StoreUnavailableError):
        return problem(503, error.message, slug="store-unavailable", headers={"Retry-After": "5"})
    return problem(400, error.message)


def _external_id_conflict(error: ExternalIdConflictError) -> flask.Response:
    """409 with the stored figures, and how to change them (a correction, or a new line)."""
    stored = error.stored
    if error.kind == "measurement":
        advice = (
            "to change its value, post a correction to /api/v1/benefits/"
            f"{stored.get('benefit_id')}/measurements/{stored.get('measurement_id')}/corrections"
        )
    else:
        advice = "to change it, record the difference as spend with a new external_id"
    where = "" if error.index is None else f"items.{error.index}: "
    extra: dict[str, Any] = {"stored": stored, "differs": error.differs}
    if error.index is not None:
        extra["index"] = error.index
    return problem(
        409, f"{where}{error.message}; {advice}", slug="external-id-conflict", extra=extra
    )


def register_error_handlers(app: flask.Flask) -> None:
    """Every error leaves as problem+json; never a stack trace."""

    @app.errorhandler(ApiProblem)
    def _api_problem(error: ApiProblem) -> flask.Response:
        return problem(
            error.status,
            error.detail,
            title=error.title,
            slug=error.slug,
            errors=error.errors,
            headers=error.headers,
            extra=error.extra,
        )

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> flask.Response:
        return domain_problem(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> flask.Response:
        status = error.code or 500
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        if status == 422 and messages:
            return problem(
                422,
                "the request has invalid values",
                slug="validation-error",
                errors=_flatten(messages),
                headers=headers,
            )
        if status == 400 and messages:
            return problem(400, "the request body is not valid JSON", slug="malformed-json")
        if status == 413:
            # The rest of the body is never read: the connection cannot carry another request.
            headers["Connection"] = "close"
        detail = {
            404: f"no resource at {flask.request.path}",
            405: f"{flask.request.method} is not allowed on {flask.request.path}",
            413: "the request body is larger than the limit",
        }.get(status, error.description or "")
        return problem(status, detail, headers=headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _store_down(error: Exception) -> flask.Response:
        log.error("event store unavailable: %s", error)
        return problem(
            503,
            "the event store is unavailable; retry shortly",
            slug="store-unavailable",
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> flask.Response:
        log.exception("unhandled error")
        return problem(500, "an unexpected error occurred; it has been logged")
