"""Presentation: figures as strings, rounded half-up only here, at the edge."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, Overflow

# Quantizing a large figure to cents needs more digits than the computing context allows.
_PRESENT_CONTEXT = Context(prec=80, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])


_PLACES = {places: Decimal(1).scaleb(-places) for places in (1, 2)}


def _fixed(value: Decimal | None, places: int) -> str | None:
    if value is None:
        return None
    rounded = value.quantize(_PLACES[places], rounding=ROUND_HALF_UP, context=_PRESENT_CONTEXT)
    if rounded.is_zero():
        rounded = rounded.copy_abs()  # never show "-0.00"
    return f"{rounded:f}"


def money(value: Decimal | None) -> str | None:
    """A money figure as a string with 2 decimal places, rounded half-up."""
    return _fixed(value, 2)


def percent(value: Decimal | None) -> str | None:
    """A percentage as a string with 1 decimal place, rounded half-up."""
    return _fixed(value, 1)


def ratio(value: Decimal | None) -> str | None:
    """A ratio (bcr, roi) as a string with 2 decimal places, rounded half-up."""
    return _fixed(value, 2)
