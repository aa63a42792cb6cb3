"""Initiatives, decisions and their history."""

from __future__ import annotations

from service.blueprint import Blueprint

blp = Blueprint(
    "initiatives",
    __name__,
    url_prefix="/api/v1",
    description="Initiatives, decisions and their history",
)
