"""Figures by name: the one dict of value figures that decision evidence stores, the audit
context shows and the value view answers (rounded)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import fields
from decimal import Decimal
from typing import Any

from domain.valuation.figures import ValueFigures
from domain.valuation.presentation import money, percent, ratio

#: How the API rounds each figure of `ValueFigures` (`vfm_band` and `rag` are labels).
_ROUNDING: dict[str, Callable[[Decimal | None], str | None]] = {
    "pv_benefits": money,
    "pv_costs": money,
    "npv": money,
    "bcr": ratio,
    "roi": ratio,
    "risk_adjusted_npv": money,
    "realised_to_date": money,
    "forecast_to_date": money,
    "realisation_pct": percent,
    "spend_to_date": money,
    "forgone_pv_benefits": money,
    "avoided_pv_costs": money,
}
#: The figures a decision's evidence records (DESIGN §2.2).
EVIDENCE_FIGURES = frozenset(
    {
        "pv_benefits",
        "pv_costs",
        "npv",
        "bcr",
        "roi",
        "risk_adjusted_npv",
        "vfm_band",
        "realised_to_date",
        "forecast_to_date",
        "realisation_pct",
        "spend_to_date",
    }
)
_FIGURE_NAMES = tuple(f.name for f in fields(ValueFigures))


def figures_dict(
    figures: ValueFigures, *, rounded: bool = False, only: Collection[str] | None = None
) -> dict[str, Any]:
    """Figures by name, in the order of `ValueFigures` (every one, or those named in `only`).

    Exact by default, as decision evidence stores them: Decimals as computed, except that a zero
    computed from products (0E+33) is a plain 0. `rounded`: as the API answers them, money and
    ratios to 2 decimal places and percentages to 1, as strings.
    """
    found: dict[str, Any] = {}
    for name in _FIGURE_NAMES:
        if only is not None and name not in only:
            continue
        value = getattr(figures, name)
        rounding = _ROUNDING.get(name)
        if rounding is None:
            found[name] = value
        elif rounded:
            found[name] = rounding(value)
        else:
            found[name] = Decimal(0) if value is not None and value.is_zero() else value
    return found
