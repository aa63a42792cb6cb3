"""Ratings of figures: value-for-money band, RAG, progress and realisation percentages."""

from __future__ import annotations

from decimal import Decimal, localcontext

from domain.valuation.terms import _CONTEXT, DEFAULT_RAG_AMBER, DEFAULT_RAG_GREEN, HUNDRED, ONE


def vfm_band(bcr: Decimal | None) -> str | None:
    """Value-for-money band of a benefit-cost ratio: poor, low, medium, high or very_high."""
    if bcr is None:
        return None
    for limit, band in ((ONE, "poor"), (Decimal("1.5"), "low"), (Decimal(2), "medium")):
        if bcr < limit:
            return band
    return "high" if bcr < Decimal(4) else "very_high"


def rag(
    pct: Decimal | None,
    *,
    green: Decimal = DEFAULT_RAG_GREEN,
    amber: Decimal = DEFAULT_RAG_AMBER,
) -> str | None:
    """RAG of a percentage: green at or above `green`, amber at or above `amber`, else red."""
    if pct is None:
        return None
    if pct >= green:
        return "green"
    return "amber" if pct >= amber else "red"


def progress_pct(latest: Decimal, baseline: Decimal, target: Decimal) -> Decimal | None:
    """100 * (latest - baseline) / (target - baseline); None when target equals baseline."""
    if target == baseline:
        return None
    with localcontext(_CONTEXT):
        return HUNDRED * (latest - baseline) / (target - baseline)


def realisation_pct(realised: Decimal, forecast: Decimal) -> Decimal | None:
    """100 * realised / forecast; None when nothing was forecast."""
    if forecast == 0:
        return None
    with localcontext(_CONTEXT):
        return HUNDRED * realised / forecast
