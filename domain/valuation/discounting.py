"""Months and discounting: how much a month's amount is worth at the portfolio's base month."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from functools import lru_cache

from domain.errors import ValidationError
from domain.months import check_month, parse_month
from domain.valuation.terms import _CONTEXT, ONE, ZERO, PortfolioTerms


@lru_cache(maxsize=4096)
def _ordinal(month: str) -> int:
    """Months since year 0 of a `YYYY-MM` month (validated); cached as the same months recur."""
    year, mon = parse_month(month)
    return year * 12 + mon - 1


#: `check_month`, cached: the same few months are checked for every benefit of a valuation.
_checked = lru_cache(maxsize=1024)(check_month)


def month_index(month: str, base_month: str) -> int:
    """Months from `base_month` to `month` (negative when `month` is earlier)."""
    return _ordinal(month) - _ordinal(base_month)


@lru_cache(maxsize=8192)
def _discount_factor(month_idx: int, rate: Decimal) -> Decimal:
    with localcontext(_CONTEXT):
        # An integral exponent (whole years) is exact; otherwise Decimal's power is correctly
        # rounded to the context precision.
        return (ONE + rate) ** (Decimal(-month_idx) / Decimal(12))


def _check_rate(rate: Decimal) -> None:
    if not rate > Decimal(-1):
        raise ValidationError(f"discount rate {rate} must be greater than -1", "discount_rate")


def discount_factor(month_idx: int, rate: Decimal) -> Decimal:
    """`(1 + rate) ** (-month_idx / 12)`: the present value of 1 paid `month_idx` months out."""
    _check_rate(rate)
    return _discount_factor(month_idx, rate)


@lru_cache(maxsize=4096)
def _discount_factors(rate: Decimal, first: int, count: int) -> tuple[Decimal, ...]:
    return tuple(_discount_factor(first + k, rate) for k in range(count))


def discount_factors(rate: Decimal, first: int, count: int) -> tuple[Decimal, ...]:
    """`discount_factor` of the `count` month indices from `first` on, in order.

    Kept per (rate, first, count): the analytics value every candidate's remaining months from
    the same month on, so one tuple serves a whole read and a month's factor is not looked up
    once per month of every series.
    """
    _check_rate(rate)
    return _discount_factors(rate, first, count)


def present_value(
    cashflows: Mapping[str, Decimal],
    terms: PortfolioTerms,
    *,
    after: str | None = None,
    until: str | None = None,
) -> Decimal:
    """Σ amount * d(m) over the months `after < month <= until` (either bound optional)."""
    rate = terms.discount_rate
    _check_rate(rate)
    base = _ordinal(terms.base_month)
    low = None if after is None else _ordinal(after)
    high = None if until is None else _ordinal(until)
    with localcontext(_CONTEXT):
        total = ZERO
        for month in sorted(cashflows):
            ordinal = _ordinal(month)
            if (low is None or ordinal > low) and (high is None or ordinal <= high):
                total += cashflows[month] * _discount_factor(ordinal - base, rate)
        return total


def _earlier(month: str, other: str | None) -> str:
    """The earlier of two months, `other` being optional."""
    if other is None or _ordinal(month) <= _ordinal(other):
        return month
    return other
