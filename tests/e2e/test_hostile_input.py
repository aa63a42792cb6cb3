"""Input that once got past validation, on SQLite and PostgreSQL alike: control characters, paging
beyond any position, a min_position no write answered, months and decimals in other digits."""

from __future__ import annotations

import time
from typing import Any

import pytest

from service.app import create_app
from tests.e2e.conftest import ADMIN_TOKEN, Api, SmallWorld, decision, measurement_body

FORGED_CURSOR = "azk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"  # "k" and 23 nines: past any 64-bit position


@pytest.fixture
def both(db_url: str) -> tuple[Api, SmallWorld]:
    """An app over SQLite or PostgreSQL, with one of everything."""
    api = Api(create_app({"db": db_url, "admin_key": ADMIN_TOKEN, "create_tables": True}))
    return api, api.small_world()


def _invalid(response: Any, field: str | None) -> dict[str, Any]:
    """The problem of a 422 that names `field` (or some field, when None)."""
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["errors"], body
    assert field is None or field in body["errors"], body
    return body


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/benefits/{b}/measurements", measurement_body(source="meter\x00"), "source"),
        ("/benefits/{b}/measurements", measurement_body(external_id="m\x00-1"), "external_id"),
        (
            "/measurements/batch",
            {"items": [{**measurement_body(external_id="x\x01"), "benefit_id": "{b}"}]},
            "items.0.external_id",
        ),
        (
            "/initiatives/{i}/spend",
            {"month": "2025-02", "amount": "5", "source": "ledger", "external_id": "s\x00"},
            "external_id",
        ),
        ("/portfolios/{p}/goals", {"title": "Cheaper\x1b[31m", "weight": "1"}, "title"),
        ("/initiatives/{i}/lessons", {"text": "ok", "category": "deli\x00very"}, "category"),
    ],
)
def test_control_characters_in_any_text_field_are_refused_naming_it(
    both: tuple[Api, SmallWorld], path: str, body: dict[str, Any], field: str
) -> None:
    api, world = both
    ids = {"{b}": world.benefit_id, "{i}": world.initiative_id, "{p}": world.portfolio_id}
    for placeholder, ident in ids.items():
        path = path.replace(placeholder, ident)
        if "items" in body:
            body = {"items": [{**i, "benefit_id": world.benefit_id} for i in body["items"]]}
    before = api.call("GET", f"/initiatives/{world.initiative_id}/history").get_json()

    _invalid(api.call("POST", path, json=body), field)

    after = api.call("GET", f"/initiatives/{world.initiative_id}/history").get_json()
    assert after == before
    value = api.call("GET", f"/portfolios/{world.portfolio_id}/value")
    assert value.status_code == 200


def test_a_control_character_in_the_query_is_refused(both: tuple[Api, SmallWorld]) -> None:
    api, _world = both
    response = api.call("GET", "/initiatives", query_string={"status": "active\x00"})
    _invalid(response, "status")


def test_tab_and_line_breaks_are_ordinary_text(both: tuple[Api, SmallWorld]) -> None:
    api, world = both
    body = {"text": "first\tsecond\r\nthird", "category": "delivery"}
    response = api.call("POST", f"/initiatives/{world.initiative_id}/lessons", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/audit/events", {"after": "9223372036854775807"}, "after"),
        ("/audit/events", {"after": "99999999999999999999999"}, "after"),
        ("/audit/events", {"after": "-1"}, "after"),
        ("/audit/events", {"limit": "0"}, "limit"),
        ("/audit/events", {"limit": "1000001"}, "limit"),
        ("/portfolios", {"cursor": FORGED_CURSOR}, "cursor"),
        ("/portfolios", {"limit": "-5"}, "limit"),
        ("/benefits/{b}/measurements", {"cursor": FORGED_CURSOR}, "cursor"),
        ("/audit/decisions", {"cursor": FORGED_CURSOR}, "cursor"),
        ("/initiatives", {"portfolio_id": "{p}", "cursor": "not base64 at all!"}, "cursor"),
        ("/portfolios/{p}/value", {"min_position": "9223372036854775807"}, "min_position"),
    ],
)
def test_paging_beyond_any_position_is_422(
    both: tuple[Api, SmallWorld], path: str, query: dict[str, str], field: str
) -> None:
    api, world = both
    path = path.replace("{b}", world.benefit_id).replace("{p}", world.portfolio_id)
    query = {k: v.replace("{p}", world.portfolio_id) for k, v in query.items()}
    _invalid(api.call("GET", path, query_string=query), field)


def test_a_min_position_beyond_the_head_is_422_at_once_and_the_head_itself_is_served(
    both: tuple[Api, SmallWorld],
) -> None:
    api, world = both
    written = api.call(
        "POST", f"/benefits/{world.benefit_id}/measurements", json=measurement_body()
    )
    head = int(written.headers["X-Log-Position"])
    path = f"/portfolios/{world.portfolio_id}/value"

    started = time.monotonic()
    body = _invalid(api.call("GET", path, query_string={"min_position": str(head + 1)}), None)
    assert time.monotonic() - started < 2
    assert str(head) in body["errors"]["min_position"][0]

    ok = api.call("GET", path, query_string={"min_position": str(head)})
    assert ok.status_code == 200


@pytest.mark.parametrize("month", ["２０２５-01", "2025-١٢", "2025-1", "2025-013", " 2025-01"])
def test_a_month_in_other_digits_is_refused_and_counts_nothing(
    both: tuple[Api, SmallWorld], month: str
) -> None:
    api, world = both
    path = f"/initiatives/{world.initiative_id}/cost-forecast"
    before = api.call("GET", f"/portfolios/{world.portfolio_id}/value").get_json()

    response = api.call(
        "PUT", path, json={"periods": {"2025-01": "100", month: "100"}, "reason": "plan"}
    )

    body = _invalid(response, None)
    assert any(month in name for name in body["errors"]), body["errors"]
    after = api.call("GET", f"/portfolios/{world.portfolio_id}/value").get_json()
    assert after["totals"]["pv_costs"] == before["totals"]["pv_costs"]


@pytest.mark.parametrize("value", ["１２", "1e3", "1_000", " 12", "+12", ".5", "12.", "٣"])
def test_a_decimal_string_in_any_other_spelling_is_refused(
    both: tuple[Api, SmallWorld], value: str
) -> None:
    api, world = both
    body = measurement_body(value=value)
    response = api.call("POST", f"/benefits/{world.benefit_id}/measurements", json=body)
    _invalid(response, "value")


def test_a_decimal_as_a_json_number_in_exponent_form_still_counts(
    both: tuple[Api, SmallWorld],
) -> None:
    api, world = both
    raw = '{"value": 1.5e2, "observed_on": "2025-01-31", "source": "ledger", "external_id": "e"}'
    response = api.call(
        "POST",
        f"/benefits/{world.benefit_id}/measurements",
        data=raw,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["value"] in ("1.5E+2", "150")


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
def test_decided_on_outside_the_years_months_name_is_refused_by_its_own_name(
    both: tuple[Api, SmallWorld], day: str
) -> None:
    api, world = both
    initiative_id = api.initiative(world.portfolio_id, name="Bounds")
    for kind, extra in (("invest", {}), ("delay", {"delay_until": "2030-01"}), ("stop", {})):
        body = decision(kind, decided_on=day, **extra)
        response = api.call("POST", f"/initiatives/{initiative_id}/decisions", json=body)
        assert _invalid(response, "decided_on")["errors"].keys() == {"decided_on"}


def test_a_spend_line_repeated_with_another_amount_is_409_with_the_stored_one(
    both: tuple[Api, SmallWorld],
) -> None:
    api, world = both
    path = f"/initiatives/{world.initiative_id}/spend"
    body = {"month": "2025-02", "amount": "500", "source": "ledger", "external_id": "inv-7"}
    first = api.call("POST", path, json=body)
    assert first.status_code == 201

    same = api.call("POST", path, json={**body, "amount": "500.00"})
    other = api.call("POST", path, json={**body, "amount": "650"})

    assert same.status_code == 200
    assert other.status_code == 409, other.get_data(as_text=True)
    problem = other.get_json()
    assert problem["differs"] == ["amount"]
    assert problem["stored"]["amount"] == "500"
    assert problem["stored"]["spend_id"] == first.get_json()["spend_id"]
    value = api.call("GET", f"/portfolios/{world.portfolio_id}/value").get_json()
    assert value["totals"]["spend_to_date"] == "500.00"


def test_an_as_of_before_the_resource_existed_says_so(both: tuple[Api, SmallWorld]) -> None:
    api, world = both
    early = {"as_of": "2000-01-01T00:00:00Z"}
    for path in (
        f"/portfolios/{world.portfolio_id}",
        f"/initiatives/{world.initiative_id}",
        f"/benefits/{world.benefit_id}",
    ):
        response = api.call("GET", path, query_string=early)
        assert response.status_code == 404
        assert "as of 2000-01-01T00:00:00Z" in response.get_json()["detail"]
        assert "did not exist yet" in response.get_json()["detail"]
