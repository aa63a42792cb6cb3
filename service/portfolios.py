"""Portfolios, their strategic goals and capacity."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import flask
from flask.views import MethodView

from domain.portfolio import Portfolio
from projections.portfolio_value.lists import STATES_VIEW, portfolio_ids
from service.auth import ANY, MANAGE, require
from service.blueprint import Blueprint
from service.errors import ApiProblem
from service.http import expected_version, meta, resource, write
from service.paging import after_cursor, keyset_page
from service.reads import fresh, views
from service.schemas.common import AsOfArgs
from service.schemas.portfolios import (
    CapacityPut,
    GoalCreate,
    GoalResponse,
    GoalRetire,
    GoalRevise,
    PortfolioCreate,
    PortfolioList,
    PortfolioListArgs,
    PortfolioResponse,
)
from service.state import application

blp = Blueprint("portfolios", __name__, url_prefix="/api/v1", description="Portfolios and goals")


def portfolio_data(p: Portfolio) -> dict[str, Any]:
    """A portfolio aggregate as `PortfolioResponse` dumps it."""
    return {
        "id": p.id,
        "version": p.version,
        "name": p.name,
        "currency": p.currency,
        "discount_rate": p.discount_rate,
        "base_month": p.base_month,
        "rag_green": p.rag_green,
        "rag_amber": p.rag_amber,
        "goals": list(p.goals.values()),
        "capacity": {
            "budget": {m: str(v) for m, v in p.budget.items()},
            "people": {r: str(v) for r, v in p.people.items()},
        },
        "created_on": p.created_on,
        "modified_on": p.modified_on,
    }


def _url(portfolio_id: UUID) -> str:
    return flask.url_for("portfolios.PortfolioItem", portfolio_id=portfolio_id)


@blp.route("/portfolios")
class Portfolios(MethodView):
    """Create and list portfolios."""

    @blp.arguments(PortfolioCreate)
    @blp.response(201, PortfolioResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a portfolio."""
        terms = {k: v for k, v in data.items() if v is not None}
        return write(
            lambda once: application().create_portfolio(**terms, meta=meta(), once=once),
            portfolio_data,
            status=201,
            location=lambda p: _url(p.id),
        )

    @blp.arguments(PortfolioListArgs, location="query")
    @blp.response(200, PortfolioList)
    @require(ANY)
    def get(self, args: dict[str, Any]) -> Any:
        """List portfolios, oldest first (as recorded at `as_of`)."""
        fresh([STATES_VIEW], args.get("min_position"))
        as_of = args.get("as_of")
        page = portfolio_ids(views(), as_of=as_of, after=after_cursor(args), limit=args["limit"])
        items = [portfolio_data(application().get_portfolio(p, as_of=as_of)) for p in page.ids]
        return keyset_page(items, page.next_after)


@blp.route("/portfolios/<uuid:portfolio_id>")
class PortfolioItem(MethodView):
    """One portfolio."""

    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, PortfolioResponse)
    @require(ANY)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """Read a portfolio now, or as recorded at `as_of`."""
        p = application().get_portfolio(portfolio_id, as_of=args.get("as_of"))
        return resource(portfolio_data(p), p.version)


@blp.route("/portfolios/<uuid:portfolio_id>/goals")
class Goals(MethodView):
    """Strategic goals of a portfolio."""

    @blp.arguments(GoalCreate)
    @blp.response(201, GoalResponse)
    @require(MANAGE)
    def post(self, data: dict[str, Any], portfolio_id: UUID) -> Any:
        """Add a strategic goal."""
        return write(
            lambda once: application().add_goal(
                portfolio_id, **data, meta=meta(), expected_version=expected_version(), once=once
            ),
            status=201,
            location=lambda goal: flask.url_for(
                "portfolios.GoalItem", portfolio_id=portfolio_id, goal_id=goal["goal_id"]
            ),
        )


@blp.route("/portfolios/<uuid:portfolio_id>/goals/<uuid:goal_id>")
class GoalItem(MethodView):
    """One strategic goal."""

    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, GoalResponse)
    @require(ANY)
    def get(self, args: dict[str, Any], portfolio_id: UUID, goal_id: UUID) -> Any:
        """Read a goal."""
        p = application().get_portfolio(portfolio_id, as_of=args.get("as_of"))
        goal = p.goals.get(goal_id)
        if goal is None:
            raise ApiProblem(404, f"goal {goal_id} not found", slug="not-found")
        return goal

    @blp.arguments(GoalRevise)
    @blp.response(200, GoalResponse)
    @require(MANAGE)
    def patch(self, data: dict[str, Any], portfolio_id: UUID, goal_id: UUID) -> Any:
        """Revise a goal's title, description or weight."""
        return write(
            lambda once: application().revise_goal(
                portfolio_id, goal_id, **data, meta=meta(), expected_version=expected_version()
            ),
        )

    @blp.arguments(GoalRetire(), required=False)
    @blp.response(204)
    @require(MANAGE)
    def delete(self, data: dict[str, Any], portfolio_id: UUID, goal_id: UUID) -> Any:
        """Retire a goal (it stays in history)."""
        written = application().retire_goal(
            portfolio_id,
            goal_id,
            reason=(data or {}).get("reason", "retired"),
            meta=meta(),
            expected_version=expected_version(),
        )
        return None, 204, {"X-Log-Position": str(written.log_position)}


@blp.route("/portfolios/<uuid:portfolio_id>/capacity")
class Capacity(MethodView):
    """Budget by month and people by role."""

    @blp.arguments(CapacityPut)
    @blp.response(200, PortfolioResponse)
    @require(MANAGE)
    def put(self, data: dict[str, Any], portfolio_id: UUID) -> Any:
        """Replace the portfolio's capacity."""
        return write(
            lambda once: application().set_capacity(
                portfolio_id, **data, meta=meta(), expected_version=expected_version()
            ),
            portfolio_data,
        )
