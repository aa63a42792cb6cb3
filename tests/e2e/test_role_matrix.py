"""Who may call what (DESIGN §5.1, §5.2): every route, every role, every way to be turned away.

The expected policy is written out here, route by route, from DESIGN §5.2: managers write
portfolios, goals, capacity, initiatives, benefits, forecasts, decisions, lessons and plans B;
ingest keys (and managers) write measurements, corrections, spend and batches; only admins manage
API keys; every key reads, except under `/audit`, which only auditors read, and the portfolio
analytics, which ingest keys may not read. Admins may do everything. A route the table does not
name fails `test_the_policy_table_names_every_route`, so a new route cannot ship without a
decided policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import flask
import pytest
from werkzeug.test import TestResponse

from tests.e2e.conftest import (
    API,
    PROBLEM_JSON,
    ROLES,
    Api,
    SmallWorld,
    bearer,
    benefit_body,
    build_app,
    decision,
    measurement_body,
    proposal,
)

ANYONE = frozenset(ROLES)
MANAGERS = frozenset({"admin", "manager"})
INGESTERS = frozenset({"admin", "manager", "ingest"})
ADMINS = frozenset({"admin"})
AUDITORS = frozenset({"admin", "auditor"})
ANALYSTS = frozenset({"admin", "manager", "auditor"})

PORTFOLIO = {"name": "Ops", "currency": "EUR", "discount_rate": "0.035", "base_month": "2025-01"}
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class Call:
    """A valid request to a route and the status it earns a caller who may make it."""

    status: int = 200
    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # path ids other than the world's
    mimetype: str = "application/json"


@dataclass(frozen=True)
class Route:
    """The roles a route admits, and how to call it successfully."""

    roles: frozenset[str]
    call: Callable[[Api, SmallWorld], Call] = lambda _api, _world: Call()


def _fresh_goal(api: Api, world: SmallWorld) -> Call:
    goal = api.create(f"/portfolios/{world.portfolio_id}/goals", {"title": "G", "weight": "1"})
    return Call(204, ids={"goal_id": str(goal["goal_id"])})


def _fresh_benefit_closed(api: Api, world: SmallWorld) -> Call:
    benefit_id = api.benefit(world.initiative_id)
    return Call(200, {"reason": "delivered"}, ids={"benefit_id": benefit_id})


def _fresh_key_revoked(api: Api, _world: SmallWorld) -> Call:
    return Call(200, {"reason": "rotated"}, ids={"key_id": api.api_key(name="to-revoke")})


SCENARIO = {"name": "Downturn", "cut_pct": "20", "reason": "what if"}


def _stored_scenario(api: Api, world: SmallWorld) -> Call:
    stored = api.create(f"/portfolios/{world.portfolio_id}/scenarios", SCENARIO)
    return Call(200, ids={"scenario_id": str(stored["scenario_id"])})


POLICY: dict[tuple[str, str], Route] = {
    # -- portfolios, goals, capacity
    ("GET", "/portfolios"): Route(ANYONE),
    ("POST", "/portfolios"): Route(MANAGERS, lambda a, w: Call(201, PORTFOLIO)),
    ("GET", "/portfolios/<uuid:portfolio_id>"): Route(ANYONE),
    ("POST", "/portfolios/<uuid:portfolio_id>/goals"): Route(
        MANAGERS, lambda a, w: Call(201, {"title": "Greener estate", "weight": "1.5"})
    ),
    ("GET", "/portfolios/<uuid:portfolio_id>/goals/<uuid:goal_id>"): Route(ANYONE),
    ("PATCH", "/portfolios/<uuid:portfolio_id>/goals/<uuid:goal_id>"): Route(
        MANAGERS, lambda a, w: Call(200, {"weight": "3", "reason": "board priorities"})
    ),
    ("DELETE", "/portfolios/<uuid:portfolio_id>/goals/<uuid:goal_id>"): Route(
        MANAGERS, _fresh_goal
    ),
    ("PUT", "/portfolios/<uuid:portfolio_id>/capacity"): Route(
        MANAGERS,
        lambda a, w: Call(
            200, {"budget": {"2025-01": "1000"}, "people": {"analyst": "2"}, "reason": "plan"}
        ),
    ),
    # -- initiatives, forecasts, decisions, lessons, plan B
    ("GET", "/initiatives"): Route(
        ANYONE, lambda a, w: Call(query={"portfolio_id": w.portfolio_id})
    ),
    ("POST", "/initiatives"): Route(MANAGERS, lambda a, w: Call(201, proposal(w.portfolio_id))),
    ("GET", "/initiatives/<uuid:initiative_id>"): Route(ANYONE),
    ("PATCH", "/initiatives/<uuid:initiative_id>"): Route(
        MANAGERS, lambda a, w: Call(200, {"description": "Wider scope", "reason": "re-plan"})
    ),
    ("PUT", "/initiatives/<uuid:initiative_id>/cost-forecast"): Route(
        MANAGERS, lambda a, w: Call(200, {"periods": {"2025-03": "500"}, "reason": "quote"})
    ),
    ("POST", "/initiatives/<uuid:initiative_id>/spend"): Route(
        INGESTERS,
        lambda a, w: Call(201, {"month": "2025-03", "amount": "120.50", "source": "ledger"}),
    ),
    ("POST", "/initiatives/<uuid:initiative_id>/confidence"): Route(
        MANAGERS, lambda a, w: Call(200, {"confidence": "0.7", "reason": "supplier risk"})
    ),
    ("POST", "/initiatives/<uuid:initiative_id>/leader"): Route(
        MANAGERS, lambda a, w: Call(200, {"leader": "Grace", "reason": "handover"})
    ),
    ("GET", "/initiatives/<uuid:initiative_id>/decisions"): Route(ANYONE),
    # `continue` keeps an active initiative active, so every allowed caller can record one.
    ("POST", "/initiatives/<uuid:initiative_id>/decisions"): Route(
        MANAGERS, lambda a, w: Call(201, decision("continue"))
    ),
    ("POST", "/initiatives/<uuid:initiative_id>/lessons"): Route(
        MANAGERS, lambda a, w: Call(201, {"text": "Pilot first", "category": "delivery"})
    ),
    ("PUT", "/initiatives/<uuid:initiative_id>/contingency"): Route(
        MANAGERS, lambda a, w: Call(200, {"plan": "Use the old portal", "trigger": "slip"})
    ),
    ("GET", "/initiatives/<uuid:initiative_id>/history"): Route(ANYONE),
    # -- benefits, forecasts, attribution
    ("GET", "/benefits"): Route(
        ANYONE, lambda a, w: Call(query={"initiative_id": w.initiative_id})
    ),
    ("POST", "/benefits"): Route(MANAGERS, lambda a, w: Call(201, benefit_body(w.initiative_id))),
    ("GET", "/benefits/<uuid:benefit_id>"): Route(ANYONE),
    ("PUT", "/benefits/<uuid:benefit_id>/forecast"): Route(
        MANAGERS, lambda a, w: Call(200, {"periods": {"2025-06": "100"}, "reason": "model"})
    ),
    ("PUT", "/benefits/<uuid:benefit_id>/attribution"): Route(
        MANAGERS,
        lambda a, w: Call(
            200,
            {"contributions": [{"initiative_id": w.initiative_id, "share": "1"}], "reason": "r"},
        ),
    ),
    ("POST", "/benefits/<uuid:benefit_id>/owner"): Route(
        MANAGERS, lambda a, w: Call(200, {"owner": "CFO", "reason": "reorganisation"})
    ),
    ("POST", "/benefits/<uuid:benefit_id>/baseline"): Route(
        MANAGERS,
        lambda a, w: Call(200, {"value": "5", "as_of": "2025-01-01", "reason": "audit"}),
    ),
    ("POST", "/benefits/<uuid:benefit_id>/target"): Route(
        MANAGERS,
        lambda a, w: Call(200, {"value": "2000", "by_month": "2026-06", "reason": "stretch"}),
    ),
    ("POST", "/benefits/<uuid:benefit_id>/close"): Route(MANAGERS, _fresh_benefit_closed),
    # -- measurements, corrections, batches
    ("GET", "/benefits/<uuid:benefit_id>/measurements"): Route(ANYONE),
    ("POST", "/benefits/<uuid:benefit_id>/measurements"): Route(
        INGESTERS, lambda a, w: Call(201, measurement_body())
    ),
    ("GET", "/benefits/<uuid:benefit_id>/measurements/<uuid:measurement_id>"): Route(ANYONE),
    (
        "POST",
        "/benefits/<uuid:benefit_id>/measurements/<uuid:measurement_id>/corrections",
    ): Route(INGESTERS, lambda a, w: Call(201, {"value": "91", "reason": "late invoice"})),
    ("POST", "/measurements/batch"): Route(
        INGESTERS,
        lambda a, w: Call(201, {"items": [measurement_body(benefit_id=w.benefit_id)]}),
    ),
    # -- value
    ("GET", "/portfolios/<uuid:portfolio_id>/value"): Route(ANYONE),
    # -- analytics: every key but ingest reads them
    ("GET", "/portfolios/<uuid:portfolio_id>/goals/coverage"): Route(ANALYSTS),
    ("GET", "/portfolios/<uuid:portfolio_id>/priorities"): Route(ANALYSTS),
    ("GET", "/portfolios/<uuid:portfolio_id>/capacity"): Route(ANALYSTS),
    ("GET", "/portfolios/<uuid:portfolio_id>/forecast-accuracy"): Route(ANALYSTS),
    ("GET", "/portfolios/<uuid:portfolio_id>/lessons"): Route(ANALYSTS),
    ("POST", "/portfolios/<uuid:portfolio_id>/optimise"): Route(
        ANALYSTS, lambda a, w: Call(200, {"frontier_points": 2})
    ),
    ("POST", "/portfolios/<uuid:portfolio_id>/scenarios"): Route(
        MANAGERS, lambda a, w: Call(201, SCENARIO)
    ),
    ("GET", "/portfolios/<uuid:portfolio_id>/scenarios"): Route(ANALYSTS),
    ("GET", "/portfolios/<uuid:portfolio_id>/scenarios/<uuid:scenario_id>"): Route(
        ANALYSTS, _stored_scenario
    ),
    # -- audit
    ("GET", "/audit/decisions"): Route(AUDITORS),
    ("GET", "/audit/decisions/<uuid:decision_id>/context"): Route(AUDITORS),
    ("GET", "/audit/events"): Route(AUDITORS),
    ("GET", "/audit/verify"): Route(AUDITORS),
    ("GET", "/audit/export"): Route(AUDITORS, lambda a, w: Call(mimetype="application/x-ndjson")),
    ("GET", "/audit/public-key"): Route(
        AUDITORS, lambda a, w: Call(mimetype="application/x-pem-file")
    ),
    ("GET", "/audit/tree-heads"): Route(AUDITORS),
    ("GET", "/audit/tree-heads/latest"): Route(AUDITORS),
    ("GET", "/audit/proof/inclusion"): Route(
        AUDITORS, lambda a, w: Call(query={"position": "1", "tree_size": "1"})
    ),
    ("GET", "/audit/proof/consistency"): Route(
        AUDITORS, lambda a, w: Call(query={"first": "1", "second": "1"})
    ),
    # -- API keys
    ("GET", "/api-keys"): Route(ADMINS),
    ("POST", "/api-keys"): Route(ADMINS, lambda a, w: Call(201, {"name": "n", "role": "ingest"})),
    ("GET", "/api-keys/<uuid:key_id>"): Route(ADMINS),
    ("DELETE", "/api-keys/<uuid:key_id>"): Route(ADMINS, _fresh_key_revoked),
}

# Ways to be refused before anything else is looked at: each must answer 401.
UNAUTHENTICATED = ("no token", "garbled token", "empty bearer", "basic scheme", "revoked admin")
CALLERS = (*ROLES, *UNAUTHENTICATED)


@dataclass(frozen=True)
class Matrix:
    """A shared app with a small world, and the headers of every kind of caller."""

    api: Api
    world: SmallWorld
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    api = Api(build_app(tmp_path_factory.mktemp("role-matrix")))
    headers = {role: bearer(api.token(role)) for role in ROLES}
    headers["no token"] = {}
    headers["garbled token"] = {"Authorization": "Bearer !!!"}
    headers["empty bearer"] = {"Authorization": "Bearer "}
    headers["basic scheme"] = {"Authorization": "Basic abc"}
    headers["revoked admin"] = bearer(api.revoked_token("admin"))
    return Matrix(api, api.small_world(), headers)


def fill(rule: str, ids: dict[str, str]) -> str:
    """A concrete path for a route rule, taking each `<converter:name>` from `ids`."""
    return _PARAMETER.sub(lambda match: ids[match.group(1)], rule)


def world_ids(world: SmallWorld) -> dict[str, str]:
    return {
        "portfolio_id": world.portfolio_id,
        "goal_id": world.goal_id,
        "initiative_id": world.initiative_id,
        "benefit_id": world.benefit_id,
        "measurement_id": world.measurement_id,
        "decision_id": world.decision_id,
        "key_id": world.key_id,
    }


def send(matrix: Matrix, method: str, rule: str, caller: str) -> tuple[TestResponse, Call]:
    call = POLICY[(method, rule)].call(matrix.api, matrix.world)
    path = fill(rule, {**world_ids(matrix.world), **call.ids})
    response = matrix.api.client.open(
        API + path,
        method=method,
        headers=matrix.headers[caller],
        json=call.body,
        query_string=call.query,
    )
    return response, call


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def assert_unauthenticated(response: TestResponse) -> None:
    assert_problem(response, 401)
    assert "Bearer" in response.headers.get("WWW-Authenticate", "")


def api_routes(app: flask.Flask) -> dict[tuple[str, str], Any]:
    """Every (method, rule under /api/v1) of the app, with the view method that serves it."""
    found: dict[tuple[str, str], Any] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/"):
            continue
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            view = getattr(view_class, method.lower(), None) if view_class else None
            found[(method, rule.rule.removeprefix(API))] = view or app.view_functions[rule.endpoint]
    return found


def test_the_policy_table_names_every_route(matrix: Matrix) -> None:
    routes = api_routes(matrix.api.app)

    assert sorted(routes.keys() - POLICY.keys()) == [], "routes with no policy in this table"
    assert sorted(POLICY.keys() - routes.keys()) == [], "policies for routes that do not exist"


def test_every_route_declares_the_policy_of_the_table(matrix: Matrix) -> None:
    found = {
        route: getattr(view, "_valuetrail_roles", None)
        for route, view in api_routes(matrix.api.app).items()
    }

    assert sorted(route for route, roles in found.items() if roles is None) == [], (
        "routes with no @require(...) policy"
    )
    declared: dict[tuple[str, str], frozenset[str]] = {
        route: frozenset(roles) for route, roles in found.items() if roles is not None
    }
    wrong = {
        f"{method} {rule}": (sorted(declared[(method, rule)]), sorted(route.roles))
        for (method, rule), route in POLICY.items()
        if declared.get((method, rule)) != route.roles
    }
    assert wrong == {}, "declared vs expected roles"
    assert all("admin" in roles for roles in declared.values())


def test_every_route_turns_away_a_caller_without_a_token(matrix: Matrix) -> None:
    """Walks the app's own URL map, so a route missing from the table is still checked."""
    for method, rule in api_routes(matrix.api.app):
        path = _PARAMETER.sub(lambda _match: str(uuid4()), rule)
        response = matrix.api.client.open(API + path, method=method, json={})

        assert response.status_code == 401, f"{method} {rule}"
        assert_unauthenticated(response)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "rule"), sorted(POLICY), ids=lambda value: str(value))
def test_each_caller_gets_exactly_the_status_its_role_earns(
    matrix: Matrix, method: str, rule: str, caller: str
) -> None:
    response, call = send(matrix, method, rule, caller)

    if caller in UNAUTHENTICATED:
        assert_unauthenticated(response)
    elif caller in POLICY[(method, rule)].roles:
        assert response.status_code == call.status, response.get_data(as_text=True)
        assert response.mimetype == call.mimetype or response.status_code == 204
    else:
        body = assert_problem(response, 403)
        assert caller in body["detail"]
        assert "WWW-Authenticate" not in response.headers


WRITES = sorted(route for route in POLICY if route[0] in {"POST", "PUT", "PATCH", "DELETE"})
BAD_BODIES: dict[str, dict[str, Any]] = {
    "invalid body": {"json": {"unknown": "field", "value": "abc"}},
    "malformed JSON": {"data": "{not json", "content_type": "application/json"},
    "not JSON at all": {"data": "hello", "content_type": "text/plain"},
}


@pytest.mark.parametrize("bad", sorted(BAD_BODIES))
@pytest.mark.parametrize(("method", "rule"), WRITES, ids=lambda value: str(value))
def test_who_may_not_write_learns_nothing_from_validation(
    matrix: Matrix, method: str, rule: str, bad: str
) -> None:
    path = fill(rule, world_ids(matrix.world))
    client = matrix.api.client

    anonymous = client.open(API + path, method=method, **BAD_BODIES[bad])
    assert_unauthenticated(anonymous)
    outsiders = sorted(ANYONE - POLICY[(method, rule)].roles)
    for role in outsiders:
        refused = client.open(
            API + path, method=method, headers=matrix.headers[role], **BAD_BODIES[bad]
        )
        assert_problem(refused, 403)


def test_a_revoked_key_stops_working_at_once(tmp_path: Path) -> None:
    api = Api(build_app(tmp_path))
    key = api.create("/api-keys", {"name": "feed", "role": "manager"})
    token = key["token"]
    assert api.client.get(f"{API}/portfolios", headers=bearer(token)).status_code == 200

    revoked = api.call("DELETE", f"/api-keys/{key['id']}")

    assert revoked.status_code == 200
    assert_unauthenticated(api.client.get(f"{API}/portfolios", headers=bearer(token)))
    assert_unauthenticated(
        api.client.post(f"{API}/portfolios", json=PORTFOLIO, headers=bearer(token))
    )
