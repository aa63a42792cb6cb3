"""The portfolio value view (DESIGN §3, §5.6), as recorded now or at an instant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from domain.errors import NotFoundError
from domain.months import ensure_utc
from projections.catalog import VALUE_VIEWS
from projections.portfolio_value.value import portfolio_value
from service.auth import ANY, require
from service.blueprint import Blueprint
from service.jsonio import json_response
from service.reads import fresh, views
from service.schemas.value import PortfolioValueResponse, ValueArgs

blp = Blueprint(
    "value", __name__, url_prefix="/api/v1", description="Portfolio value, as recorded at a moment"
)


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
        return json_response(value.body)
