"""Every error is RFC 9457 problem+json with the status DESIGN §5.1 names; never a 500 or trace."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from werkzeug.test import TestResponse

from tests.e2e.bad_requests import BAD_REQUESTS, JSON, MIB, PORTFOLIO, literal, send
from tests.e2e.conftest import PROBLEM_JSON, Api, SmallWorld, build_app, decision, expect, proposal


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Api, SmallWorld]:
    """One app and world for the requests that change nothing."""
    api = Api(build_app(tmp_path_factory.mktemp("http-errors")))
    return api, api.small_world()


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The problem+json body of a response that must have this status, without a trace."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == PROBLEM_JSON
    assert "Traceback" not in text
    assert 'File "' not in text
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"] == "about:blank" or body["type"].startswith("urn:valuetrail:problem:")
    return body


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_a_bad_request_is_refused_with_the_right_problem(
    shared: tuple[Api, SmallWorld], name: str
) -> None:
    api, world = shared
    bad = BAD_REQUESTS[name]

    body = assert_problem(send(api, world, bad), bad.status)

    if bad.status == 422:
        assert body["type"] == "urn:valuetrail:problem:validation-error"
        errors = body["errors"]
        for name_ in bad.fields:
            assert name_ in errors, errors
            assert errors[name_], errors
            assert all(isinstance(message, str) and message for message in errors[name_])
    else:
        assert "errors" not in body


def test_malformed_json_is_named_as_such(shared: tuple[Api, SmallWorld]) -> None:
    api, world = shared

    body = assert_problem(send(api, world, BAD_REQUESTS["truncated JSON"]), 400)

    assert body["type"] == "urn:valuetrail:problem:malformed-json"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/portfolios", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("PUT", "/portfolios/{portfolio_id}", {"GET", "HEAD", "OPTIONS"}),
        ("GET", "/measurements/batch", {"OPTIONS", "POST"}),
        ("POST", "/benefits/{benefit_id}", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_a_method_the_route_lacks_is_405_with_allow(
    shared: tuple[Api, SmallWorld], method: str, path: str, allowed: set[str]
) -> None:
    api, world = shared
    url = path.format(portfolio_id=world.portfolio_id, benefit_id=world.benefit_id)

    response = api.call(method, url, json={})

    assert_problem(response, 405)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed


def test_an_illegal_decision_is_409_naming_the_allowed_ones(api: Api) -> None:
    initiative_id = api.initiative(api.portfolio())
    url = f"/initiatives/{initiative_id}/decisions"

    body = assert_problem(api.call("POST", url, json=decision("complete")), 409)

    assert body["type"] == "urn:valuetrail:problem:invalid-transition"
    assert body["current_status"] == "proposed"
    assert body["allowed_decisions"] == ["invest", "delay", "stop"]
    assert all(allowed in body["detail"] for allowed in ("invest", "delay", "stop"))
    assert expect(api.call("GET", url), 200)["items"] == []


def test_a_stopped_initiative_takes_no_further_decision(api: Api) -> None:
    initiative_id = api.initiative(api.portfolio())
    url = f"/initiatives/{initiative_id}/decisions"
    expect(api.call("POST", url, json=decision("stop")), 201)

    body = assert_problem(api.call("POST", url, json=decision("resume")), 409)

    assert body["current_status"] == "stopped"
    assert body["allowed_decisions"] == []


def test_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    url = f"/initiatives/{api.initiative(api.portfolio())}"
    etag = api.call("GET", url).headers["ETag"]
    first = api.call(
        "POST",
        url + "/confidence",
        json={"confidence": "0.6", "reason": "a"},
        headers={"If-Match": etag},
    )
    assert first.status_code == 200, first.get_data(as_text=True)

    stale = api.call(
        "POST",
        url + "/confidence",
        json={"confidence": "0.1", "reason": "b"},
        headers={"If-Match": etag},
    )

    body = assert_problem(stale, 412)
    assert body["type"] == "urn:valuetrail:problem:version-mismatch"
    now = api.call("GET", url)
    assert now.get_json()["confidence"] == "0.6"
    assert now.headers["ETag"] != etag


def test_an_if_match_that_is_no_etag_of_ours_is_412(api: Api) -> None:
    url = f"/initiatives/{api.initiative(api.portfolio())}/leader"

    response = api.call(
        "POST", url, json={"leader": "Ada", "reason": "r"}, headers={"If-Match": "yesterday"}
    )

    assert_problem(response, 412)


def test_a_body_just_under_the_limit_is_read(api: Api) -> None:
    padded = '{"name": "P"' + " " * (MIB - 100) + "}"

    response = api.call("POST", "/portfolios", data=padded, content_type=JSON)

    assert_problem(response, 422)  # read and validated, not refused as too large


def test_a_json_number_is_kept_as_the_exact_decimal_it_spells(api: Api) -> None:
    text = literal(proposal(api.portfolio(), confidence="@"), "0.85")

    created = expect(api.call("POST", "/initiatives", data=text, content_type=JSON), 201)

    assert created["confidence"] == "0.85"
    assert expect(api.call("GET", f"/initiatives/{created['id']}"), 200)["confidence"] == "0.85"


def test_a_long_decimal_keeps_every_digit(api: Api) -> None:
    initiative_id = api.initiative(api.portfolio())
    text = (
        '{"periods": {"2025-01": 123456789012345678901234.123456789, "2025-02": 0.1},'
        ' "reason": "quote"}'
    )

    revised = api.call(
        "PUT", f"/initiatives/{initiative_id}/cost-forecast", data=text, content_type=JSON
    )

    periods = {"2025-01": "123456789012345678901234.123456789", "2025-02": "0.1"}
    assert expect(revised, 200)["cost_forecast"]["periods"] == periods
    read = expect(api.call("GET", f"/initiatives/{initiative_id}"), 200)
    assert read["cost_forecast"] == {"periods": periods, "revision": 1}


def test_a_validation_error_names_every_bad_field_at_once(api: Api) -> None:
    body = {**proposal(str(uuid4())), "confidence": "high", "start_month": "2025-13", "x": 1}

    problem = assert_problem(api.call("POST", "/initiatives", json=body), 422)

    assert set(problem["errors"]) == {"confidence", "start_month", "x"}


# -- inputs that once reached the store or the value rules: each is a clean 4xx ------------


def test_json_nested_too_deep_is_400(api: Api) -> None:
    text = "[" * 100_000 + "]" * 100_000

    assert_problem(api.call("POST", "/portfolios", data=text, content_type=JSON), 400)


def test_a_number_with_thousands_of_digits_is_refused(api: Api) -> None:
    text = literal({**PORTFOLIO, "discount_rate": "@"}, "1" + "0" * 5000)

    response = api.call("POST", "/portfolios", data=text, content_type=JSON)

    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)


def test_a_lone_surrogate_in_a_string_is_refused(api: Api) -> None:
    text = json.dumps({**PORTFOLIO, "name": "\ud800"})  # ASCII text with the escape \ud800

    response = api.call("POST", "/portfolios", data=text, content_type=JSON)

    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_instant_beyond_the_calendar_in_utc_is_refused(
    shared: tuple[Api, SmallWorld], as_of: str
) -> None:
    api, world = shared

    response = api.call("GET", f"/portfolios/{world.portfolio_id}", query_string={"as_of": as_of})

    assert_problem(response, 422)


def test_a_decimal_beyond_what_valuation_can_compute_is_refused(api: Api) -> None:
    initiative_id = api.initiative(api.portfolio())
    text = '{"periods": {"2024-12": "1E+1000000"}, "reason": "typo"}'

    revised = api.call(
        "PUT", f"/initiatives/{initiative_id}/cost-forecast", data=text, content_type=JSON
    )
    decided = api.call("POST", f"/initiatives/{initiative_id}/decisions", json=decision("invest"))

    assert revised.status_code == 422
    assert decided.status_code == 201


def test_a_cursor_for_a_negative_offset_is_refused(api: Api) -> None:
    api.portfolio("first")
    api.portfolio("second")

    response = api.call("GET", "/portfolios", query_string={"cursor": "LTE="})

    assert_problem(response, 422)
