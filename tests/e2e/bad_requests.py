"""Requests the API must refuse, each with the status DESIGN §5.1 names, and how to send one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from werkzeug.test import TestResponse

from tests.e2e.conftest import ADMIN_TOKEN, API, Api, SmallWorld, bearer, decision

JSON = "application/json"
PORTFOLIO = {"name": "Ops", "currency": "GBP", "discount_rate": "0.035", "base_month": "2025-01"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Bad:
    """A request that must be refused with `status` and, for 422, messages for `fields`."""

    method: str
    path: str  # under /api/v1 unless it starts with "//"; {portfolio_id} etc. come from the world
    status: int
    fields: tuple[str, ...] = ()
    json: Any = None
    data: str | bytes | None = None
    content_type: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def literal(body: dict[str, Any], number: str) -> str:
    """JSON text of `body` whose "@" placeholder is replaced by a bare number literal."""
    return json.dumps(body).replace('"@"', number)


def raw(text: str) -> dict[str, Any]:
    """Keyword arguments of a Bad whose body is this JSON text, sent as application/json."""
    return {"data": text, "content_type": JSON}


FORECAST = "/initiatives/{initiative_id}/cost-forecast"
DECISIONS = "/initiatives/{initiative_id}/decisions"

BAD_REQUESTS: dict[str, Bad] = {
    # 400: the body is not JSON at all
    "truncated JSON": Bad("POST", "/portfolios", 400, **raw('{"name": "P",')),
    "trailing comma": Bad("POST", "/portfolios", 400, **raw('{"name": "P",}')),
    "single quotes": Bad("POST", "/portfolios", 400, **raw("{'name': 'P'}")),
    "invalid UTF-8": Bad(
        "POST", "/portfolios", 400, data=b'{"name": "\xc3\x28"}', content_type=JSON
    ),
    "NaN literal": Bad(
        "POST", "/portfolios", 400, **raw('{"name": "P", "currency": "GBP", "discount_rate": NaN}')
    ),
    "Infinity literal": Bad(
        "PUT", FORECAST, 400, **raw('{"periods": {"2025-01": Infinity}, "reason": "r"}')
    ),
    "-Infinity literal": Bad(
        "PUT", FORECAST, 400, **raw('{"periods": {"2025-01": -Infinity}, "reason": "r"}')
    ),
    # 404: no such route, or no such resource
    "unknown route under the API": Bad("GET", "/nothing-here", 404),
    "unknown route outside the API": Bad("GET", "//nothing-here", 404),
    "id that is not a UUID": Bad("GET", "/portfolios/not-a-uuid", 404),
    "unknown portfolio": Bad("GET", f"/portfolios/{uuid4()}", 404),
    "unknown goal": Bad("GET", f"/portfolios/{{portfolio_id}}/goals/{uuid4()}", 404),
    "unknown initiative": Bad("GET", f"/initiatives/{uuid4()}", 404),
    "a portfolio id where an initiative's is expected": Bad(
        "GET", "/initiatives/{portfolio_id}/history", 404
    ),
    "unknown benefit": Bad("GET", f"/benefits/{uuid4()}", 404),
    "unknown measurement": Bad("GET", f"/benefits/{{benefit_id}}/measurements/{uuid4()}", 404),
    "unknown API key": Bad("GET", f"/api-keys/{uuid4()}", 404),
    "decision on an unknown initiative": Bad(
        "POST", f"/initiatives/{uuid4()}/decisions", 404, json=decision("invest")
    ),
    # 413, 415: the body is too big, or not JSON
    "body over 1 MiB": Bad("POST", "/portfolios", 413, **raw(" " * (MIB + 1))),
    "text/plain": Bad("POST", "/portfolios", 415, data="name=P", content_type="text/plain"),
    "a form": Bad(
        "POST", "/portfolios", 415, data="name=P", content_type="application/x-www-form-urlencoded"
    ),
    # 422: JSON, but not what the operation takes
    "unknown field": Bad("POST", "/portfolios", 422, ("colour",), json={**PORTFOLIO, "colour": 1}),
    "missing fields": Bad("POST", "/portfolios", 422, ("name", "base_month"), json={"x": None}),
    "limit=1.5": Bad("GET", "/portfolios", 422, ("limit",), query={"limit": "1.5"}),
    "limit=0": Bad("GET", "/portfolios", 422, ("limit",), query={"limit": "0"}),
    "limit=abc": Bad("GET", "/portfolios", 422, ("limit",), query={"limit": "abc"}),
    "unknown cursor": Bad("GET", "/portfolios", 422, ("cursor",), query={"cursor": "%%%"}),
    "decimal abc": Bad(
        "POST", "/portfolios", 422, ("discount_rate",), json={**PORTFOLIO, "discount_rate": "abc"}
    ),
    "decimal true": Bad(
        "POST", "/portfolios", 422, ("discount_rate",), json={**PORTFOLIO, "discount_rate": True}
    ),
    "decimal as the string NaN": Bad(
        "PUT", FORECAST, 422, ("periods.2025-01.value",), json={"periods": {"2025-01": "NaN"}}
    ),
    "month 2025-13": Bad(
        "POST", "/portfolios", 422, ("base_month",), json={**PORTFOLIO, "base_month": "2025-13"}
    ),
    "month 2025-13 as a forecast key": Bad(
        "PUT",
        FORECAST,
        422,
        ("periods.2025-13.key",),
        json={"periods": {"2025-13": "1"}, "reason": "r"},
    ),
    "date 2025-02-30": Bad(
        "POST", DECISIONS, 422, ("decided_on",), json=decision(decided_on="2025-02-30")
    ),
    "date 2025-02-30 in a query": Bad(
        "GET", "/benefits/{benefit_id}/measurements", 422, ("from",), query={"from": "2025-02-30"}
    ),
    "instant without an offset": Bad(
        "GET", "/portfolios/{portfolio_id}", 422, ("as_of",), query={"as_of": "2025-01-01T00:00"}
    ),
    "required query missing": Bad("GET", "/initiatives", 422, ("portfolio_id",)),
    "query id that is not a UUID": Bad(
        "GET", "/benefits", 422, ("initiative_id",), query={"initiative_id": "abc"}
    ),
    "unknown decision": Bad("POST", DECISIONS, 422, ("decision",), json=decision("pivot")),
    "Idempotency-Key too long": Bad(
        "POST",
        "/portfolios",
        422,
        ("Idempotency-Key",),
        json=PORTFOLIO,
        headers={"Idempotency-Key": "k" * 256},
    ),
    "a JSON array for an object": Bad("POST", "/portfolios", 422, ("_schema",), json=[PORTFOLIO]),
    "a JSON string for an object": Bad("POST", "/portfolios", 422, ("_schema",), **raw('"P"')),
    "a JSON number for an object": Bad("POST", "/portfolios", 422, ("_schema",), **raw("1")),
    "JSON null for an object": Bad("POST", "/portfolios", 422, ("_schema",), **raw("null")),
    "a string for a nested object": Bad(
        "POST", "/measurements/batch", 422, ("items.0._schema",), json={"items": ["m"]}
    ),
}


def send(api: Api, world: SmallWorld, bad: Bad) -> TestResponse:
    ids = {
        "portfolio_id": world.portfolio_id,
        "initiative_id": world.initiative_id,
        "benefit_id": world.benefit_id,
    }
    path = bad.path.format(**ids)
    return api.client.open(
        path[1:] if path.startswith("//") else API + path,
        method=bad.method,
        headers={**bearer(ADMIN_TOKEN), **bad.headers},
        json=bad.json,
        data=bad.data,
        content_type=bad.content_type,
        query_string=bad.query,
    )
