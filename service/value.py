"""The portfolio value view (DESIGN §3, §5.6), as recorded now or at an instant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from domain.errors import NotFoundError
from domain.months import ensure_utc
from domain.valuation import figures_dict, money
from projections.catalog import VALUE_VIEWS
from projections.portfolio_value import value as recorded_value
from projections.portfolio_value.value import portfolio_value
from service.auth import ANY, require
from service.blueprint import Blueprint
from service.reads import fresh, views
from service.schemas.value import PortfolioValueResponse, ValueArgs

blp = Blueprint(
    "value", __name__, url_prefix="/api/v1", description="Portfolio value, as recorded at a moment"
)


def value_body(value: recorded_value.PortfolioValue) -> dict[str, Any]:
    """The value view as the API answers it: the figures rounded as DESIGN §3 says
    (`domain.valuation.figures_dict`), money and ratios as strings."""
    totals = figures_dict(value.totals, rounded=True)
    return {
        "portfolio_id": value.portfolio_id,
        "as_of": value.as_of,
        "currency": value.currency,
        "totals": {**totals, "unattributed_pv_benefits": money(value.unattributed_pv_benefits)},
        "initiatives": [
            {
                "initiative_id": i.initiative_id,
                "name": i.name,
                "kind": i.kind,
                "status": i.status,
                "confidence": i.confidence,
                **figures_dict(i.figures, rounded=True),
            }
            for i in value.initiatives
        ],
        "goals": [
            {
                "goal_id": g.goal_id,
                "title": g.title,
                "weight": g.weight,
                "pv_benefits": money(g.pv_benefits),
                "realised_to_date": money(g.realised_to_date),
            }
            for g in value.goals
        ],
    }


@blp.route("/portfolios/<uuid:portfolio_id>/value")
class PortfolioValue(MethodView):
    """What a portfolio is worth, and what it has realised."""

    @blp.arguments(ValueArgs, location="query")
    @blp.response(200, PortfolioValueResponse)
    @require(ANY)
    def get(self, args: dict[str, Any], portfolio_id: UUID) -> Any:
        """The value view of a portfolio now, or as recorded at `as_of`."""
        as_of = args.get("as_of")
        fresh(VALUE_VIEWS, args.get("min_position"))
        value = portfolio_value(views(), portfolio_id, None if as_of is None else ensure_utc(as_of))
        if value is None:
            raise NotFoundError("portfolio", portfolio_id)
        return value_body(value)
