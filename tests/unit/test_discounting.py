"""Discount factors for a run of months: the same d(m) as the design's formula, month by month."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from domain.errors import ValidationError
from domain.valuation import discount_factor, discount_factors
from domain.valuation.terms import _CONTEXT

RATES = ["0", "0.035", "0.1", "-0.5", "2.75"]


def direct(month_idx: int, rate: Decimal) -> Decimal:
    """d(m) = (1 + r) ** (-m / 12), computed afresh in the valuation context."""
    with localcontext(_CONTEXT):
        return (Decimal(1) + rate) ** (Decimal(-month_idx) / Decimal(12))


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("first", [-30, -1, 0, 1, 11, 12, 25])
def test_each_factor_equals_the_formula_to_the_last_digit(rate: str, first: int) -> None:
    factors = discount_factors(Decimal(rate), first, 40)
    assert len(factors) == 40
    for k, factor in enumerate(factors):
        assert factor == direct(first + k, Decimal(rate))
        assert str(factor) == str(discount_factor(first + k, Decimal(rate)))


def test_at_rate_zero_and_month_zero_a_factor_is_one() -> None:
    assert discount_factors(Decimal(0), -5, 10) == (Decimal(1),) * 10
    assert discount_factors(Decimal("0.035"), 0, 1) == (Decimal(1),)
    assert discount_factors(Decimal("0.035"), 0, 0) == ()


def test_a_rate_of_minus_one_or_less_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValidationError) as caught:
            discount_factors(Decimal(-1), 0, 3)
        assert "discount_rate" in caught.value.errors
