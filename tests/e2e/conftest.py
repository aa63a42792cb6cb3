"""Shared HTTP fixtures: an app over a fresh SQLite store, keys per role, and a small world."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import flask
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from domain.application import ValuetrailApplication
from domain.values import Meta
from service.app import create_app

API = "/api/v1"
ADMIN_TOKEN = "admin-token"
ROLES = ("admin", "manager", "ingest", "auditor")
PROBLEM_JSON = "application/problem+json"
T = Meta("t", "r")


def build_app(folder: Path) -> flask.Flask:
    """An app over a fresh SQLite store in `folder`, with the bootstrap admin key `admin-token`."""
    return create_app(
        {
            "db": "sqlite:///" + str(folder / "valuetrail.db"),
            "admin_key": ADMIN_TOKEN,
            "create_tables": True,
        }
    )


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def expect(response: TestResponse, status: int) -> Any:
    """The JSON body of a response that must have this status."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@dataclass(frozen=True)
class SmallWorld:
    """Real ids of one of everything, for requests that need an existing resource."""

    portfolio_id: str
    goal_id: str
    initiative_id: str
    benefit_id: str
    measurement_id: str
    decision_id: str
    key_id: str


class Api:
    """A test client of a fresh app, with one key per role issued on first use."""

    def __init__(self, app: flask.Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.vt: ValuetrailApplication = app.extensions["valuetrail"]
        self._tokens = {"admin": ADMIN_TOKEN}

    def token(self, role: str) -> str:
        """A live token of this role."""
        if role not in self._tokens:
            _, token = self.vt.issue_api_key(name=f"{role}-key", role=role, meta=T).value
            self._tokens[role] = token
        return self._tokens[role]

    def revoked_token(self, role: str = "manager") -> str:
        """The token of a key of this role that has been revoked."""
        key, token = self.vt.issue_api_key(name=f"revoked-{role}", role=role, meta=T).value
        self.vt.revoke_api_key(key.id, reason="left the team", meta=T)
        return token

    def call(
        self,
        method: str,
        path: str,
        *,
        role: str | None = "admin",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        """Send a request as `role` (None: no Authorization header); `path` is under /api/v1."""
        sent = {**(bearer(self.token(role)) if role else {}), **(headers or {})}
        return self.client.open(API + path, method=method, headers=sent, **kwargs)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST as admin; the created resource (the call must answer 201)."""
        created: dict[str, Any] = expect(self.call("POST", path, json=body), 201)
        return created

    def portfolio(self, name: str = "Digital") -> str:
        """A new portfolio's id."""
        body = {"name": name, "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"}
        return str(self.create("/portfolios", body)["id"])

    def initiative(self, portfolio_id: str, name: str = "Self-service portal") -> str:
        """A new proposed initiative's id."""
        return str(self.create("/initiatives", proposal(portfolio_id, name=name))["id"])

    def invested_initiative(self, portfolio_id: str, name: str = "Self-service portal") -> str:
        """A new initiative the board has invested in (status active)."""
        initiative_id = self.initiative(portfolio_id, name)
        self.create(f"/initiatives/{initiative_id}/decisions", decision("invest"))
        return initiative_id

    def benefit(self, initiative_id: str, **changes: Any) -> str:
        """A new flow benefit's id."""
        return str(self.create("/benefits", benefit_body(initiative_id, **changes))["id"])

    def api_key(self, role: str = "ingest", name: str = "spare") -> str:
        """A new key's id (its token is not kept)."""
        return str(self.create("/api-keys", {"name": name, "role": role})["id"])

    def small_world(self) -> SmallWorld:
        """A portfolio with a goal, an active initiative, a measured benefit and a spare key."""
        portfolio_id = self.portfolio()
        goal = self.create(
            f"/portfolios/{portfolio_id}/goals", {"title": "Cheaper service", "weight": "2"}
        )
        initiative_id = self.initiative(portfolio_id)
        invested = self.create(f"/initiatives/{initiative_id}/decisions", decision("invest"))
        benefit_id = self.benefit(initiative_id, goal_id=goal["goal_id"])
        measurement = self.create(f"/benefits/{benefit_id}/measurements", measurement_body())
        return SmallWorld(
            portfolio_id=portfolio_id,
            goal_id=str(goal["goal_id"]),
            initiative_id=initiative_id,
            benefit_id=benefit_id,
            measurement_id=str(measurement["measurement_id"]),
            decision_id=str(invested["decision_id"]),
            key_id=self.api_key(),
        )


def proposal(portfolio_id: str, **changes: Any) -> dict[str, Any]:
    """A valid body of POST /initiatives."""
    return {
        "portfolio_id": portfolio_id,
        "kind": "project",
        "name": "Self-service portal",
        "sponsor": "COO",
        "start_month": "2025-01",
        "end_month": "2026-12",
        "confidence": "0.8",
        **changes,
    }


def decision(kind: str = "invest", **changes: Any) -> dict[str, Any]:
    """A valid body of POST /initiatives/{id}/decisions."""
    return {
        "decision": kind,
        "rationale": "Strong business case",
        "decided_by": "Investment board",
        "decided_on": "2025-02-10",
        **changes,
    }


def benefit_body(initiative_id: str, **changes: Any) -> dict[str, Any]:
    """A valid body of POST /benefits: a cashable flow benefit in the portfolio currency."""
    return {
        "initiative_id": initiative_id,
        "title": "Lower cost to serve",
        "category": "cashable",
        "owner": "Ops director",
        "measure": {"name": "saving", "unit": "GBP", "kind": "flow", "direction": "increase"},
        "baseline": {"value": "0", "as_of": "2025-01-01"},
        "target": {"value": "1200.50", "by_month": "2025-12"},
        **changes,
    }


def measurement_body(**changes: Any) -> dict[str, Any]:
    """A valid body of POST /benefits/{id}/measurements."""
    return {"value": "90", "observed_on": "2025-01-31", "source": "ledger", **changes}


@pytest.fixture
def api(tmp_path: Path) -> Api:
    """A test client of an app over a fresh SQLite store (admin token `admin-token`)."""
    return Api(build_app(tmp_path))


class World:
    """An app with a manager and an ingest key, a portfolio and two initiatives in it."""

    def __init__(self, tmp_path: Path) -> None:
        self.app: flask.Flask = create_app(
            {
                "db": "sqlite:///" + str(tmp_path / "t.db"),
                "admin_key": "admin-token",
                "create_tables": True,
            }
        )
        self.client: FlaskClient = self.app.test_client()
        self.vt: ValuetrailApplication = self.app.extensions["valuetrail"]
        self.manager = self.vt.issue_api_key(name="mgr", role="manager", meta=T).value[1]
        self.ingest = self.vt.issue_api_key(name="feed", role="ingest", meta=T).value[1]
        created = self.post(
            "/portfolios",
            {"name": "P", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"},
        )
        assert created.status_code == 201, created.get_json()
        self.portfolio_id = UUID(created.get_json()["id"])
        self.a = self.initiative("Portal")
        self.b = self.initiative("Chatbot")

    def initiative(self, name: str) -> UUID:
        return self.vt.propose_initiative(
            portfolio_id=self.portfolio_id,
            kind="project",
            name=name,
            sponsor="S",
            start_month="2025-01",
            end_month="2026-12",
            confidence="0.8",
            meta=T,
        ).value.id

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.manager}", **extra}

    def post(self, path: str, body: Any, token: str | None = None, **headers: str) -> Any:
        return self.client.post(API + path, json=body, headers=self.headers(token, **headers))

    def put(self, path: str, body: Any, token: str | None = None, **headers: str) -> Any:
        return self.client.put(API + path, json=body, headers=self.headers(token, **headers))

    def get(self, path: str, token: str | None = None, **query: str) -> Any:
        return self.client.get(API + path, headers=self.headers(token), query_string=query)

    def benefit_body(self, **changes: Any) -> dict[str, Any]:
        return {
            "initiative_id": str(self.a),
            "title": "Lower cost to serve",
            "description": "Fewer calls",
            "category": "cashable",
            "disbenefit": False,
            "owner": "Ops director",
            "measure": {"name": "saving", "unit": "GBP", "kind": "flow", "direction": "increase"},
            "baseline": {"value": "0", "as_of": "2025-01-01"},
            "target": {"value": "1200.50", "by_month": "2025-12"},
            **changes,
        }

    def benefit(self, **changes: Any) -> dict[str, Any]:
        response = self.post("/benefits", self.benefit_body(**changes))
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body


@pytest.fixture
def app(tmp_path: Path) -> flask.Flask:
    """An app over a fresh SQLite store with the bootstrap admin key `admin-token`."""
    return build_app(tmp_path)


@pytest.fixture
def client(app: flask.Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The command line's store: a SQLite URL under `tmp_path/var`, set in the environment."""
    url = "sqlite:///" + str(tmp_path / "var" / "valuetrail.db")
    monkeypatch.setenv("VALUETRAIL_DB", url)
    monkeypatch.setenv("VALUETRAIL_AUDIT_SIGNING_KEY", str(tmp_path / "var" / "audit.pem"))
    monkeypatch.setenv("VALUETRAIL_PROJECTOR_METRICS_PORT", "0")
    monkeypatch.delenv("VALUETRAIL_ADMIN_KEY", raising=False)
    return url
