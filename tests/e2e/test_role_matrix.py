"""Who may call what (DESIGN §5.1, §5.2): every route, every role, every way to be turned away.

The expected policy is the table in `tests.e2e.role_policy`, written out route by route from
DESIGN §5.2. A route the table does not name fails `test_the_policy_table_names_every_route`, so
a new route cannot ship without a decided policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import flask
import pytest
from werkzeug.test import TestResponse

from tests.e2e.conftest import API, PROBLEM_JSON, ROLES, Api, SmallWorld, bearer, build_app
from tests.e2e.role_policy import ANYONE, POLICY, PORTFOLIO, Call

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")

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
