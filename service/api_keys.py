"""API keys."""

from __future__ import annotations

from service.blueprint import Blueprint

blp = Blueprint("api_keys", __name__, url_prefix="/api/v1", description="API keys")
