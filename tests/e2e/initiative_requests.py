"""Requests about initiatives sent as the bootstrap admin: bodies, URLs and the new resources."""

from __future__ import annotations

from typing import Any

import flask
from flask.testing import FlaskClient

from domain.application import ValuetrailApplication
from domain.values import Meta
from tests.e2e import conftest

ADMIN = {"Authorization": "Bearer admin-token"}


def key_for(app: flask.Flask, role: str) -> dict[str, str]:
    """Authorization headers of a new key with this role."""
    vt: ValuetrailApplication = app.extensions["valuetrail"]
    _, token = vt.issue_api_key(name=f"{role}-key", role=role, meta=Meta()).value
    return {"Authorization": f"Bearer {token}"}


def ok(response: Any, status: int) -> Any:
    """The JSON body of a response that must have this status."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def new_portfolio(client: FlaskClient) -> str:
    body = {"name": "Digital", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"}
    return str(ok(client.post("/api/v1/portfolios", json=body, headers=ADMIN), 201)["id"])


def proposal(portfolio_id: str, **extra: Any) -> dict[str, Any]:
    """A valid body of POST /initiatives, for a project that ends in 2025-12."""
    return conftest.proposal(portfolio_id, **{"end_month": "2025-12", **extra})


def new_initiative(client: FlaskClient, **extra: Any) -> dict[str, Any]:
    body = proposal(new_portfolio(client), **extra)
    return dict(ok(client.post("/api/v1/initiatives", json=body, headers=ADMIN), 201))


def url(initiative: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/initiatives/{initiative['id']}{tail}"
