"""The Flask app factory: the only way to build the HTTP service."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

import flask
import swagger_ui_bundle
from werkzeug.exceptions import RequestEntityTooLarge

from domain.application import ValuetrailApplication
from domain.values import UNSTORABLE_MESSAGE, UNSTORABLE_TEXT
from persistence import store_env
from projections.db import ViewDatabase
from service import (
    analytics,
    api_keys,
    audit,
    audit_log,
    benefits,
    initiatives,
    measurements,
    portfolios,
    scenarios,
    value,
)
from service.api import Api
from service.auth import enforce_roles
from service.config import Settings, ensure_sqlite_dir
from service.errors import ApiProblem, problem, register_error_handlers
from service.health import store_probe
from service.jsonio import JSONProvider
from service.logs import register_access_log
from service.metrics import instrument_application, register_metrics
from service.state import LazyApplication

log = logging.getLogger("valuetrail.app")

BLUEPRINTS = [
    portfolios.blp,
    value.blp,
    analytics.blp,
    scenarios.blp,
    initiatives.blp,
    benefits.blp,
    measurements.blp,
    audit.blp,
    audit_log.blp,
    api_keys.blp,
]
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def build_application(settings: Settings) -> ValuetrailApplication:
    """The event-sourced application for these settings."""
    ensure_sqlite_dir(settings.db)
    return ValuetrailApplication(env=store_env(settings.db, create_tables=settings.create_tables))


def _bootstrapped(settings: Settings) -> ValuetrailApplication:
    """Build the application and make sure the VALUETRAIL_ADMIN_KEY key exists."""
    application = build_application(settings)
    if settings.metrics:
        instrument_application(application)
    if settings.admin_key:
        application.ensure_admin_key(settings.admin_key)
    return application


def create_app(overrides: Mapping[str, Any] | None = None) -> flask.Flask:
    """Build the valuetrail WSGI app from the environment plus `overrides`."""
    settings = Settings.from_env().with_overrides(overrides)
    app = flask.Flask("valuetrail")
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="valuetrail",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": "Event-sourced Value Management Office API"},
            "security": [{"bearerAuth": []}],
        },
    )
    application = LazyApplication(lambda: _bootstrapped(settings))
    app.extensions["valuetrail"] = application
    app.extensions["valuetrail.settings"] = settings
    app.extensions["valuetrail.views"] = ViewDatabase.from_url(settings.db)

    api = Api(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "an API key token"}
    )
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    _register_hooks(app)
    _register_health(app)
    register_access_log(app, settings.log_format)
    if settings.metrics:
        register_metrics(app)
    return app


def _register_hooks(app: flask.Flask) -> None:
    @app.before_request
    def _start() -> None:
        incoming = flask.request.headers.get("X-Request-ID", "")
        ok = 0 < len(incoming) <= 200 and incoming.isprintable()
        flask.g.request_id = incoming if ok else uuid.uuid4().hex
        enforce_roles()
        _check_query()
        if flask.request.method in _BODY_METHODS and flask.request.content_length != 0:
            has_body = flask.request.content_length or flask.request.headers.get(
                "Transfer-Encoding"
            )
            if has_body and not flask.request.is_json:
                raise ApiProblem(
                    415, "send the body as application/json", slug="unsupported-media-type"
                )
            if flask.request.content_length is None and has_body:
                _read_chunked_body(app.config["MAX_CONTENT_LENGTH"])

    @app.after_request
    def _finish(response: flask.Response) -> flask.Response:
        response.headers["X-Request-ID"] = flask.g.get("request_id", "")
        return response

    @app.teardown_appcontext
    def _noop(_error: BaseException | None) -> None:
        return None


def _read_chunked_body(limit: int) -> None:
    """Read a body sent without a length (chunked) now, so one over the limit is 413 whole,
    never cut at the limit and parsed (a 400, or worse, a shorter document that parses)."""
    stream = flask.request.environ["wsgi.input"]
    data = bytearray()
    while len(data) <= limit:
        piece = stream.read(min(65536, limit + 1 - len(data)))
        if not piece:
            break
        data += piece
    if len(data) > limit:
        raise RequestEntityTooLarge()
    flask.request._cached_data = bytes(data)  # what get_data() answers from now on


def _check_query() -> None:
    """Refuse query text no store can hold (a NUL sent as %00, say) before any view reads it."""
    errors = {
        name: [UNSTORABLE_MESSAGE]
        for name, value in flask.request.args.items(multi=True)
        if UNSTORABLE_TEXT.search(name) or UNSTORABLE_TEXT.search(value)
    }
    if errors:
        raise ApiProblem(
            422, "the query holds control characters", slug="validation-error", errors=errors
        )


def _register_health(app: flask.Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Any:
        try:
            position = store_probe(app).head_position()
        except Exception as error:  # any failure to reach the store means not ready
            log.warning("store not reachable: %s", error)
            return problem(
                503,
                "the event store is not reachable",
                slug="store-unavailable",
                headers={"Retry-After": "5"},
            )
        return {"status": "ready", "head_position": position}

    @app.get("/docs/assets/<path:filename>")
    def docs_assets(filename: str) -> Any:
        return flask.send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
