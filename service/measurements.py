"""Measurements, corrections and batches."""

from __future__ import annotations

from service.blueprint import Blueprint

blp = Blueprint(
    "measurements",
    __name__,
    url_prefix="/api/v1",
    description="Measurements, corrections and batches",
)
