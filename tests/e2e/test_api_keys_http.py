"""API keys over HTTP: issue, list, read, revoke, and what each key may then do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

from service.app import create_app

ADMIN = {"Authorization": "Bearer admin-token"}
API = "/api/v1"
PORTFOLIO = {"name": "Keys", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[flask.Flask]:
    app = create_app(
        {
            "db": "sqlite:///" + str(tmp_path / "valuetrail.db"),
            "admin_key": "admin-token",
            "create_tables": True,
        }
    )
    yield app
    app.extensions["valuetrail"].close()


@pytest.fixture
def client(app: flask.Flask) -> FlaskClient:
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(client: FlaskClient, name: str, role: str) -> dict[str, Any]:
    response = client.post(f"{API}/api-keys", json={"name": name, "role": role}, headers=ADMIN)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["status"] == 401


def test_issue_returns_the_key_with_its_token_and_location(client: FlaskClient) -> None:
    response = client.post(
        f"{API}/api-keys", json={"name": "finance-feed", "role": "ingest"}, headers=ADMIN
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "finance-feed"
    assert body["role"] == "ingest"
    assert body["revoked"] is False
    assert body["created_at"].endswith("+00:00")
    assert body["token"]
    assert response.headers["Location"].endswith(f"/api/v1/api-keys/{body['id']}")
    assert int(response.headers["X-Log-Position"]) > 0
    assert client.get(f"{API}/portfolios", headers=bearer(body["token"])).status_code == 200


def test_token_and_hash_never_appear_in_reads(client: FlaskClient) -> None:
    issued = issue(client, "dashboard", "auditor")

    listed = client.get(f"{API}/api-keys", headers=ADMIN)
    one = client.get(f"{API}/api-keys/{issued['id']}", headers=ADMIN)

    assert listed.status_code == 200
    assert one.status_code == 200
    assert one.headers["ETag"] == f'"v{issued["version"]}"'
    for text in (listed.get_data(as_text=True), one.get_data(as_text=True)):
        assert issued["token"] not in text
        assert "token" not in text
        assert "sha256" not in text
    names = [item["name"] for item in listed.get_json()["items"]]
    assert names == ["bootstrap-admin", "dashboard"]
    assert one.get_json()["role"] == "auditor"


def test_list_is_paginated_by_cursor(client: FlaskClient) -> None:
    for n in range(3):
        issue(client, f"key-{n}", "manager")

    first = client.get(f"{API}/api-keys?limit=2", headers=ADMIN)
    cursor = first.get_json()["next_cursor"]
    second = client.get(f"{API}/api-keys?limit=2&cursor={cursor}", headers=ADMIN)

    assert 'rel="next"' in first.headers["Link"]
    names = [i["name"] for i in first.get_json()["items"] + second.get_json()["items"]]
    assert names == ["bootstrap-admin", "key-0", "key-1", "key-2"]
    assert second.get_json()["next_cursor"] is None


def test_revoked_key_stops_working_at_once(client: FlaskClient) -> None:
    issued = issue(client, "leaver", "manager")
    assert (
        client.post(
            f"{API}/portfolios", json=PORTFOLIO, headers=bearer(issued["token"])
        ).status_code
        == 201
    )

    revoked = client.delete(
        f"{API}/api-keys/{issued['id']}", json={"reason": "left the team"}, headers=ADMIN
    )

    assert revoked.status_code == 200
    body = revoked.get_json()
    assert body["revoked"] is True
    assert body["revoked_reason"] == "left the team"
    assert body["revoked_at"] >= body["created_at"]
    assert "token" not in body
    assert "X-Log-Position" in revoked.headers
    assert_unauthenticated(client.get(f"{API}/portfolios", headers=bearer(issued["token"])))
    after = client.get(f"{API}/api-keys/{issued['id']}", headers=ADMIN).get_json()
    assert after["revoked"] is True


def test_revoke_without_a_body_records_a_default_reason(client: FlaskClient) -> None:
    issued = issue(client, "temp", "ingest")

    response = client.delete(f"{API}/api-keys/{issued['id']}", headers=ADMIN)

    assert response.status_code == 200
    assert response.get_json()["revoked_reason"] == "revoked"


def test_revoking_twice_is_a_conflict(client: FlaskClient) -> None:
    issued = issue(client, "temp", "ingest")
    client.delete(f"{API}/api-keys/{issued['id']}", headers=ADMIN)

    again = client.delete(f"{API}/api-keys/{issued['id']}", headers=ADMIN)

    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"


def test_unknown_key_is_404(client: FlaskClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"{API}/api-keys/{missing}", headers=ADMIN).status_code == 404
    assert client.delete(f"{API}/api-keys/{missing}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("role", ["manager", "ingest", "auditor"])
def test_only_admins_manage_keys(client: FlaskClient, role: str) -> None:
    issued = issue(client, f"a-{role}", role)
    headers = bearer(issued["token"])

    responses = [
        client.get(f"{API}/api-keys", headers=headers),
        client.get(f"{API}/api-keys/{issued['id']}", headers=headers),
        client.post(f"{API}/api-keys", json={"name": "x", "role": "admin"}, headers=headers),
        client.delete(f"{API}/api-keys/{issued['id']}", headers=headers),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert all(r.mimetype == "application/problem+json" for r in responses)
    assert (
        client.get(f"{API}/api-keys/{issued['id']}", headers=ADMIN).get_json()["revoked"] is False
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},
        {"role": "admin"},
        {"name": "", "role": "admin"},
        {"name": "x", "role": "root"},
    ],
)
def test_invalid_key_requests_are_422(client: FlaskClient, body: dict[str, str]) -> None:
    response = client.post(f"{API}/api-keys", json=body, headers=ADMIN)

    assert response.status_code == 422
    assert response.get_json()["errors"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token-we-issued"},
        {"Authorization": "Bearer \u00ff\u00fe garbled"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "unknown", "garbled", "basic", "empty"],
)
def test_without_a_valid_token_every_route_is_401(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    assert_unauthenticated(client.get(f"{API}/api-keys", headers=headers))
    assert_unauthenticated(client.get(f"{API}/portfolios", headers=headers))
    assert_unauthenticated(
        client.post(f"{API}/api-keys", json={"name": "x", "role": "admin"}, headers=headers)
    )


def test_openapi_documents_the_key_routes(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]

    assert set(paths["/api/v1/api-keys"]) >= {"get", "post"}
    assert set(paths["/api/v1/api-keys/{key_id}"]) >= {"get", "delete"}
