"""Who may call what (DESIGN §5.1, §5.2), written out route by route: the role matrix's table.

The policy comes from DESIGN §5.2: managers write portfolios, goals, capacity, initiatives,
benefits, forecasts, decisions, lessons and plans B; ingest keys (and managers) write
measurements, corrections, spend and batches; only admins manage API keys; every key reads,
except under `/audit`, which only auditors read, and the portfolio analytics, which ingest keys
may not read. Admins may do everything. Each route also says how to call it successfully.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.conftest import (
    ROLES,
    Api,
    SmallWorld,
    benefit_body,
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
