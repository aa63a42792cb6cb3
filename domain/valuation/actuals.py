"""What was measured of a benefit up to a month, and the money it realised."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext

from domain.valuation.discounting import _ordinal
from domain.valuation.series import is_monetary
from domain.valuation.terms import _CONTEXT, ONE, ZERO, BenefitFacts


@dataclass(frozen=True)
class Measured:
    """What was measured of a benefit in the months up to some month.

    `total` is the Σ of the monthly actuals in those months (flow amounts, or each month's
    level), `months` how many months have an actual, and `last` the actual of the latest such
    month (None when there is none). Everything the value rules need of actuals follows from
    these three, so a projection can sum them in its store instead of listing every month.
    """

    total: Decimal
    months: int
    last: Decimal | None


def measured(actuals: Mapping[str, Decimal], until: str) -> Measured:
    """Sum monthly actuals over the months up to `until`."""
    end = _ordinal(until)
    months = [m for m in sorted(actuals) if _ordinal(m) <= end]
    with localcontext(_CONTEXT):
        total = ZERO
        for month in months:
            total += actuals[month]
    return Measured(total, len(months), actuals[months[-1]] if months else None)


def realised_money(benefit: BenefitFacts, seen: Measured, currency: str) -> Decimal:
    """Money realised by what was measured: Σ over months of the actual's money value.

    A flow's money is its amount times the value per unit; a level's is its improvement on the
    baseline times the value per unit, so n months of levels summing to L are worth
    (L - n * baseline), or (n * baseline - L) for a measure meant to decrease.
    """
    if seen.months == 0 or not is_monetary(benefit, currency):
        return ZERO
    vpu = ONE if benefit.value_per_unit is None else benefit.value_per_unit
    sign = -ONE if benefit.disbenefit else ONE
    with localcontext(_CONTEXT):
        amount = seen.total
        if benefit.kind == "level":
            base = seen.months * benefit.baseline
            amount = amount - base if benefit.direction == "increase" else base - amount
        return sign * amount * vpu
