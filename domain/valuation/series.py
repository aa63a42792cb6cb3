"""A benefit in money: its value per month, its attribution shares and running totals."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, localcontext
from uuid import UUID

from domain.errors import ValidationError
from domain.valuation.discounting import _ordinal
from domain.valuation.terms import _CONTEXT, CATEGORIES, DIRECTIONS, KINDS, ONE, ZERO, BenefitFacts


def _check_benefit(benefit: BenefitFacts) -> None:
    if benefit.category not in CATEGORIES:
        raise ValidationError(f"unknown benefit category {benefit.category!r}", "category")
    if benefit.kind not in KINDS:
        raise ValidationError(f"unknown measure kind {benefit.kind!r}", "kind")
    if benefit.direction not in DIRECTIONS:
        raise ValidationError(f"unknown measure direction {benefit.direction!r}", "direction")


def _is_currency(unit: str, currency: str) -> bool:
    return unit.strip().upper() == currency.strip().upper()


def is_monetary(benefit: BenefitFacts, currency: str) -> bool:
    """Whether the benefit has a money value: not qualitative, and priced or counted in currency."""
    _check_benefit(benefit)
    if benefit.category == "qualitative":
        return False
    return benefit.value_per_unit is not None or _is_currency(benefit.unit, currency)


def _improvement(benefit: BenefitFacts, level: Decimal) -> Decimal:
    if benefit.direction == "increase":
        return level - benefit.baseline
    return benefit.baseline - level


def _in_money(benefit: BenefitFacts, amounts: Iterable[Decimal]) -> list[Decimal]:
    """Each amount in money (the benefit has a money value)."""
    vpu = ONE if benefit.value_per_unit is None else benefit.value_per_unit
    sign = -ONE if benefit.disbenefit else ONE
    with localcontext(_CONTEXT):
        if benefit.kind == "level":
            return [sign * _improvement(benefit, amount) * vpu for amount in amounts]
        return [sign * amount * vpu for amount in amounts]


def monetary_series(
    benefit: BenefitFacts, values: Mapping[str, Decimal], currency: str
) -> dict[str, Decimal]:
    """Money per month of a benefit's forecast or actuals; `{}` when it has no money value."""
    if not is_monetary(benefit, currency):
        return {}
    months = sorted(values)
    for month in months:
        _ordinal(month)  # reject a malformed month here, not deep inside a total
    return dict(zip(months, _in_money(benefit, [values[m] for m in months]), strict=True))


def monetary_total(benefit: BenefitFacts, amounts: Sequence[Decimal], currency: str) -> Decimal:
    """Σ of `monetary_series` over a series' amounts, given in month order without their months."""
    if not is_monetary(benefit, currency):
        return ZERO
    return sum(_in_money(benefit, amounts), ZERO)


def effective_shares(benefit: BenefitFacts) -> dict[UUID, Decimal]:
    """Initiative id → attribution share; the accountable initiative has 1 when none are given."""
    if not benefit.shares:
        return {benefit.initiative_id: ONE}
    return dict(benefit.shares)


def _unattributed_share(benefit: BenefitFacts) -> Decimal:
    if not benefit.shares:  # all of it is the accountable initiative's
        return ZERO
    with localcontext(_CONTEXT):
        return ONE - sum(effective_shares(benefit).values(), ZERO)


class Running:
    """Running totals of a monthly series: the Σ over the months up to any month.

    Totals are summed in month order, so the total up to a month is the same whether it is
    computed on demand or stored as text and read back (as the projection does for forecasts).
    """

    __slots__ = ("months", "totals")

    def __init__(self, months: list[str], totals: Sequence[Decimal | str]) -> None:
        self.months = months  # `YYYY-MM`, ascending: text order is month order
        self.totals = totals

    @classmethod
    def of(cls, values: Mapping[str, Decimal]) -> Running:
        """Running totals of a month → amount mapping (months already validated)."""
        months = sorted(values)
        totals = []
        with localcontext(_CONTEXT):
            total = ZERO
            for month in months:
                total += values[month]
                totals.append(total)
        return cls(months, totals)

    def upto(self, until: str) -> Decimal:
        """Σ over the months up to and including `until` (a valid `YYYY-MM`)."""
        index = bisect_right(self.months, until)
        if not index:
            return ZERO
        total = self.totals[index - 1]
        return total if isinstance(total, Decimal) else Decimal(total)

    def text(self) -> str:
        """The totals as `month total month total ...` text (`from_text` reads it back)."""
        return " ".join(f"{m} {t}" for m, t in zip(self.months, self.totals, strict=True))

    @classmethod
    def from_text(cls, text: str) -> Running:
        """Running totals stored by `text`; each total becomes a Decimal only when asked for."""
        parts = text.split()
        return cls(parts[0::2], parts[1::2])
