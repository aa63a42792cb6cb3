"""A benefit's money figures as at a month: its forecast's present value and what it realised."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.valuation.actuals import Measured, measured, realised_money
from domain.valuation.discounting import _checked, present_value
from domain.valuation.series import Running, monetary_series
from domain.valuation.terms import BenefitFacts, PortfolioTerms


class BenefitMoney:
    """A benefit's money figures as at one month, worked out once and shared by every rule.

    The value view rates each benefit for its initiatives, its goal and the unattributed total;
    they all start from these figures, so they are computed once per benefit and valuation (the
    forecast's once per recorded benefit version, by the projection).
    """

    __slots__ = ("_forecast", "_planned", "_series", "latest", "month", "pv_benefits", "realised")

    def __init__(
        self,
        *,
        month: str,
        pv_benefits: Decimal,
        planned: Running,
        realised: Decimal,
        latest: Decimal | None,
        forecast: Callable[[], Mapping[str, Decimal]],
    ) -> None:
        self.month = month
        self.pv_benefits = pv_benefits
        self.realised = realised
        self.latest = latest
        self._planned = planned
        self._forecast = forecast
        self._series: Mapping[str, Decimal] | None = None

    def planned(self, until: str) -> Decimal:
        """Money forecast for the months up to `until` (a valid `YYYY-MM`)."""
        return self._planned.upto(until)

    def forecast(self) -> Mapping[str, Decimal]:
        """The forecast in money per month (worked out on first use)."""
        if self._series is None:
            self._series = self._forecast()
        return self._series


@dataclass(frozen=True)
class ForecastMoney:
    """What a benefit's forecast is worth under some terms: its PV and running totals."""

    pv_benefits: Decimal
    planned: Running


def forecast_money(benefit: BenefitFacts, terms: PortfolioTerms) -> ForecastMoney:
    """The present value and running totals of a benefit's forecast in money."""
    series = monetary_series(benefit, benefit.forecast, terms.currency)
    return ForecastMoney(present_value(series, terms), Running.of(series))


def benefit_money(
    benefit: BenefitFacts,
    terms: PortfolioTerms,
    as_of_month: str,
    *,
    forecast: ForecastMoney | None = None,
    seen: Measured | None = None,
) -> BenefitMoney:
    """The money figures of a benefit as at `as_of_month`.

    `forecast` is its forecast valued before under these terms, and `seen` its actuals summed
    up to `as_of_month`, when the caller has them; otherwise both come from `benefit`.
    """
    _checked(as_of_month, "as_of_month")

    def series() -> dict[str, Decimal]:
        return monetary_series(benefit, benefit.forecast, terms.currency)

    if forecast is None:
        money = series()
        forecast = ForecastMoney(present_value(money, terms), Running.of(money))
    if seen is None:
        seen = measured(benefit.actuals, as_of_month)
    latest = seen.last if benefit.kind == "level" else (seen.total if seen.months else None)
    return BenefitMoney(
        month=as_of_month,
        pv_benefits=forecast.pv_benefits,
        planned=forecast.planned,
        realised=realised_money(benefit, seen, terms.currency),
        latest=latest,
        forecast=series,
    )


def _money(
    benefit: BenefitFacts, terms: PortfolioTerms, as_of_month: str, money: BenefitMoney | None
) -> BenefitMoney:
    if money is None:
        return benefit_money(benefit, terms, as_of_month)
    if money.month != as_of_month:
        raise ValueError(f"money figures are as at {money.month}, not {as_of_month}")
    return money
