"""Benefits, forecasts and attribution."""

from __future__ import annotations

from service.blueprint import Blueprint

blp = Blueprint(
    "benefits", __name__, url_prefix="/api/v1", description="Benefits, forecasts and attribution"
)
