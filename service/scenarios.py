"""Optimise and downturn scenarios (DESIGN §5.3): the exact best set, and cuts stored as evidence.

`POST …/optimise` computes and stores nothing. `POST …/scenarios` computes a downturn from the
portfolio as the value view holds it and stores it as `Portfolio.ScenarioEvaluated`; reading it
back returns what was stored, never a recomputation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import flask
from flask.views import MethodView

from domain.analytics.inputs import PortfolioInput, with_reference_class
from domain.analytics.optimise import OptimiseRequest, optimise
from domain.analytics.scenarios import DownturnRequest, downturn
from domain.application import ScenarioRecord, Written
from domain.errors import NotFoundError
from domain.months import ensure_utc
from projections.codec import dumps, loads
from projections.portfolio_value.analytics import Snapshot, portfolio_input
from projections.portfolio_value.scenarios import scenario_body, scenario_by_id, scenarios
from projections.view import instant_text
from service.analytics import ANALYTICS_VIEWS, from_month, read_snapshot, reference_class
from service.auth import ANALYSE, MANAGE, require
from service.blueprint import Blueprint
from service.http import meta, write
from service.jsonio import json_response
from service.paging import after_cursor, keyset_page
from service.reads import fresh, views
from service.scenario_bodies import downturn_result, optimum_body, scenario_parameters
from service.schemas.analytics import AnalyticsArgs
from service.schemas.scenarios import (
    OptimiseRequest as OptimiseBody,
)
from service.schemas.scenarios import (
    OptimiseResponse,
    ScenarioArgs,
    ScenarioList,
    ScenarioListArgs,
    ScenarioRequest,
    ScenarioResponse,
)
from service.state import application

blp = Blueprint(
    "scenarios",
    __name__,
    url_prefix="/api/v1",
    description="The best set under budget and people, and downturn scenarios",
)


def _track_record(portfolio: PortfolioInput, snap: Snapshot) -> PortfolioInput:
    """The portfolio with the organisation's own reference class applied to every proposal."""
    reference = reference_class(snap)
    return replace(
        portfolio,
        initiatives=tuple(
            with_reference_class(c, *reference.ratios(c.kind)) for c in portfolio.initiatives
        ),
    )


@blp.route("/portfolios/<uuid:portfolio_id>/optimise")
class Optimise(MethodView):
    """Q3 and "is the timing right?"."""

    @blp.arguments(ScenarioArgs, location="query")
    @blp.arguments(OptimiseBody)
    @blp.response(200, OptimiseResponse)
    @require(ANALYSE)
    def post(self, args: dict[str, Any], body: dict[str, Any], portfolio_id: UUID) -> Any:
        """The exact best set (and start months) under budget and people; stores nothing."""
        snap = read_snapshot(portfolio_id, {"min_position": args.get("min_position")})
        month = from_month(snap, body)
        portfolio = portfolio_input(snap, month)
        if body["reference_class"]:
            portfolio = _track_record(portfolio, snap)
        budget = body.get("budget") or {}
        request = OptimiseRequest(
            from_month=month,
            objective=body["objective"],
            budget_total=budget.get("total"),
            budget_by_month=budget.get("by_month"),
            people=body.get("people"),
            force_in=tuple(body["force_in"]),
            force_out=tuple(body["force_out"]),
            frontier_points=body["frontier_points"],
            start_delays=tuple(body["start_delays"]),
        )
        return json_response(optimum_body(optimise(portfolio, request)))


def _stored(portfolio_id: UUID, scenario: ScenarioRecord) -> dict[str, Any]:
    """A scenario as its event records it, as the board will read it back. Known before the
    save, so an idempotent request's response is recorded with the event."""
    record = {"kind": scenario.kind, "parameters": scenario.parameters, "result": scenario.result}
    # Through the view's own encoding, so the answer is the bytes a later read returns.
    record = loads(dumps(record))
    stamp = instant_text(scenario.recorded_at)
    return scenario_body(str(scenario.scenario_id), str(portfolio_id), record, stamp, 0)


@blp.route("/portfolios/<uuid:portfolio_id>/scenarios")
class Scenarios(MethodView):
    """Q5: what could we stop, suspend or delay in a downturn?"""

    @blp.arguments(ScenarioArgs, location="query")
    @blp.arguments(ScenarioRequest)
    @blp.response(201, ScenarioResponse)
    @require(MANAGE)
    def post(self, args: dict[str, Any], body: dict[str, Any], portfolio_id: UUID) -> Any:
        """Evaluate a budget cut exactly and store it as evidence a decision can cite."""
        snap = read_snapshot(portfolio_id, {"min_position": args.get("min_position")})
        request = DownturnRequest(
            from_month=from_month(snap, body),
            cut_pct=body.get("cut_pct"),
            new_budget=body.get("new_budget"),
            window_months=body["window_months"],
            defer_months=body["defer_months"],
            defer_cost_pct=body["defer_cost_pct"],
        )
        # Computed before anything is written: a rejected request stores nothing.
        result = downturn_result(
            downturn(portfolio_input(snap, request.from_month), request), snap.position
        )
        parameters = scenario_parameters(body, request.from_month)

        def finish(
            stored: dict[str, Any], position: int, written: Written[Any] | None
        ) -> dict[str, Any]:
            if written is not None:  # the position of the scenario's own event
                return {**stored, "log_position": written.positions[portfolio_id]}
            # A replay, as the board reads it back: the view, caught up to now, holds it.
            fresh(ANALYTICS_VIEWS, position)
            found = scenario_by_id(views(), UUID(stored["scenario_id"]))
            return {**stored, "log_position": position} if found is None else found

        return write(
            lambda once: application().record_scenario(
                portfolio_id,
                kind=body["kind"],
                parameters=parameters,
                result=result,
                meta=meta(),
                once=once,
            ),
            lambda scenario: _stored(portfolio_id, scenario),
            status=201,
            location=lambda scenario: flask.url_for(
                "scenarios.ScenarioItem",
                portfolio_id=portfolio_id,
                scenario_id=scenario.scenario_id,
            ),
            ready=True,
            finish=finish,
        )

    @blp.arguments(ScenarioListArgs, location="query")
    @blp.response(200, ScenarioList)
    @require(ANALYSE)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """The portfolio's scenarios as stored, oldest first (those recorded by `as_of`)."""
        as_of = _as_of(args)
        fresh(ANALYTICS_VIEWS, args.get("min_position"))
        application().get_portfolio(portfolio_id, as_of=as_of)
        found, next_after = scenarios(
            views(), portfolio_id, as_of=as_of, after=after_cursor(args), limit=args["limit"]
        )
        # The items are the bodies as the view stored them (instants as text): sent as stored.
        body, headers = keyset_page(found, next_after)
        return json_response(body, headers=headers)


def _as_of(args: dict[str, Any]) -> datetime | None:
    as_of = args.get("as_of")
    return None if as_of is None else ensure_utc(as_of)


@blp.route("/portfolios/<uuid:portfolio_id>/scenarios/<uuid:scenario_id>")
class ScenarioItem(MethodView):
    """One stored scenario."""

    @blp.arguments(AnalyticsArgs, location="query")
    @blp.response(200, ScenarioResponse)
    @require(ANALYSE)
    def get(self, args: dict[str, Any], portfolio_id: UUID, scenario_id: UUID) -> Any:
        """The scenario exactly as stored (404 when `as_of` is before it was recorded)."""
        fresh(ANALYTICS_VIEWS, args.get("min_position"))
        found = scenario_by_id(views(), scenario_id, as_of=_as_of(args) or datetime.now(UTC))
        if found is None or found["portfolio_id"] != str(portfolio_id):
            raise NotFoundError("scenario", scenario_id)
        return json_response(found)
