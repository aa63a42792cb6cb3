"""Logs: one line per request with its id, route, status, duration and actor; no secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flask
import pytest

from service.app import create_app
from service.config import Settings
from service.logs import configure, route_template
from tests.e2e.conftest import ADMIN_TOKEN, Api, bearer, measurement_body

SECRET_VALUE = "4242.4242"  # a measurement value: part of a body, so never logged


def build(tmp_path: Path, log_format: str) -> Api:
    return Api(
        create_app(
            {
                "db": f"sqlite:///{tmp_path / 'logs.db'}",
                "admin_key": ADMIN_TOKEN,
                "create_tables": True,
                "log_format": log_format,
            }
        )
    )


def access_lines(err: str) -> list[dict[str, Any]]:
    """The JSON access lines in captured stderr (every line must be JSON)."""
    entries = [json.loads(line) for line in err.splitlines() if line.strip()]
    return [e for e in entries if e["logger"] == "valuetrail.access"]


def test_json_lines_carry_request_id_route_status_duration_and_actor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = build(tmp_path, "json")
    try:
        ingest = api.token("ingest")
        world = api.small_world()
        capsys.readouterr()

        response = api.client.post(
            f"/api/v1/benefits/{world.benefit_id}/measurements",
            json=measurement_body(value=SECRET_VALUE),
            headers={**bearer(ingest), "X-Request-ID": "trace-abc-123"},
        )
        assert response.status_code == 201
        assert response.headers["X-Request-ID"] == "trace-abc-123"
        refused = api.client.get("/api/v1/portfolios", headers=bearer("not-a-real-token"))
        assert refused.status_code == 401
        generated = refused.headers["X-Request-ID"]

        err = capsys.readouterr().err
        lines = access_lines(err)
        assert len(lines) == 2
        created, unauthenticated = lines
        assert created["request_id"] == "trace-abc-123"
        assert created["method"] == "POST"
        assert created["route"] == "/api/v1/benefits/{benefit_id}/measurements"
        assert created["status"] == 201
        assert created["actor"] == "ingest-key"
        assert created["duration_ms"] > 0
        assert created["level"] == "INFO" and isinstance(created["pid"], int)
        assert unauthenticated["request_id"] == generated and len(generated) == 32
        assert unauthenticated["status"] == 401 and unauthenticated["actor"] == "anonymous"
        for secret in (ingest, ADMIN_TOKEN, "not-a-real-token", SECRET_VALUE, world.benefit_id):
            assert secret not in err
    finally:
        api.vt.close()


def test_text_lines_say_the_same_for_people(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = build(tmp_path, "text")
    try:
        capsys.readouterr()
        api.client.get("/api/v1/portfolios/not-a-uuid", headers={"X-Request-ID": "abc"})
        api.call("POST", "/portfolios", json={"name": "secret portfolio name"})

        first, second = capsys.readouterr().err.splitlines()
        assert "valuetrail.access: GET <unmatched> 404" in first
        assert first.endswith("actor=anonymous request_id=abc")
        assert "POST /api/v1/portfolios 422" in second and "actor=bootstrap-admin" in second
        assert "secret portfolio name" not in second and ADMIN_TOKEN not in second
    finally:
        api.vt.close()


def test_a_request_id_that_is_not_printable_or_too_long_is_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = build(tmp_path, "json")
    try:
        capsys.readouterr()
        for sent in ("x" * 201, "bad\x01id"):
            echoed = api.client.get("/healthz", headers={"X-Request-ID": sent}).headers[
                "X-Request-ID"
            ]
            assert echoed != sent and len(echoed) == 32
        ids = [line["request_id"] for line in access_lines(capsys.readouterr().err)]
        assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    finally:
        api.vt.close()


def test_lines_logged_inside_a_request_carry_its_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api = build(tmp_path, "json")
    try:

        @api.app.get("/_log_something")
        def log_something() -> Any:
            flask.current_app.logger.warning("something worth a warning")
            return {}

        capsys.readouterr()
        api.client.get("/_log_something", headers={"X-Request-ID": "req-7"})
        entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        warning = next(e for e in entries if e["level"] == "WARNING")
        assert warning["message"] == "something worth a warning"
        assert warning["request_id"] == "req-7"
    finally:
        api.vt.close()


def test_an_unknown_log_format_is_refused_at_start() -> None:
    assert Settings.from_env({"VALUETRAIL_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ValueError, match="VALUETRAIL_LOG_FORMAT"):
        Settings.from_env({"VALUETRAIL_LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match="VALUETRAIL_LOG_FORMAT"):
        configure("xml")


@pytest.mark.parametrize(
    ("rule", "template"),
    [
        ("/api/v1/initiatives/<uuid:initiative_id>", "/api/v1/initiatives/{initiative_id}"),
        ("/docs/assets/<path:filename>", "/docs/assets/{filename}"),
        ("/a/<b>/c/<int:d>", "/a/{b}/c/{d}"),
        ("/healthz", "/healthz"),
    ],
)
def test_route_templates_drop_converters(rule: str, template: str) -> None:
    assert route_template(rule) == template
