"""Value rules (DESIGN §3): present values, ratios, realisation and RAG as pure Decimal functions.

Everything here computes in `Decimal` under a private context of 40 significant digits and never
rounds; only the presentation helpers (`money`, `percent`, `ratio`) round, half-up.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import lru_cache
from typing import Any
from uuid import UUID

from domain.errors import ValidationError
from domain.months import check_month, parse_month

CATEGORIES = ("cashable", "non_cashable", "quantitative", "qualitative")
KINDS = ("flow", "level")
DIRECTIONS = ("increase", "decrease")
VFM_BANDS = ("poor", "low", "medium", "high", "very_high")
DEFAULT_RAG_GREEN = Decimal("90")
DEFAULT_RAG_AMBER = Decimal("75")

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)

# Well beyond the 28 digits of the default context, so that sums of many discounted months keep
# every cent exact and rounding happens only once, when a figure is presented.
_CONTEXT = Context(
    prec=40,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
# Quantizing a large figure to cents needs more digits than the computing context allows.
_PRESENT_CONTEXT = Context(prec=80, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])


@dataclass(frozen=True)
class PortfolioTerms:
    """The portfolio settings that every value rule depends on."""

    currency: str
    discount_rate: Decimal
    base_month: str
    rag_green: Decimal = DEFAULT_RAG_GREEN
    rag_amber: Decimal = DEFAULT_RAG_AMBER


@dataclass(frozen=True)
class BenefitFacts:
    """What the value rules need to know about one benefit."""

    benefit_id: UUID
    initiative_id: UUID
    category: str
    disbenefit: bool
    unit: str
    kind: str
    direction: str
    value_per_unit: Decimal | None
    baseline: Decimal
    target: Decimal | None
    forecast: Mapping[str, Decimal]
    actuals: Mapping[str, Decimal]
    shares: Mapping[UUID, Decimal]
    goal_id: UUID | None = None


@dataclass(frozen=True)
class InitiativeFacts:
    """What the value rules need to know about one initiative."""

    initiative_id: UUID
    confidence: Decimal
    cost_forecast: Mapping[str, Decimal]
    spend_to_date: Decimal
    status: str
    stopped_month: str | None = None


@dataclass(frozen=True)
class ValueFigures:
    """The value figures of one initiative, or the totals of a portfolio."""

    pv_benefits: Decimal
    pv_costs: Decimal
    npv: Decimal
    bcr: Decimal | None
    roi: Decimal | None
    risk_adjusted_npv: Decimal
    vfm_band: str | None
    realised_to_date: Decimal
    forecast_to_date: Decimal
    realisation_pct: Decimal | None
    rag: str | None
    spend_to_date: Decimal
    forgone_pv_benefits: Decimal
    avoided_pv_costs: Decimal


@dataclass(frozen=True)
class BenefitValue:
    """The value figures of one whole benefit, before it is divided among initiatives."""

    pv_benefits: Decimal
    realised_to_date: Decimal
    forecast_to_date: Decimal
    realisation_pct: Decimal | None
    progress_pct: Decimal | None
    latest: Decimal | None
    rag: str | None
    monetary: bool
    unattributed_share: Decimal


# ------------------------------------------------------------------------------ discounting


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


def discount_factor(month_idx: int, rate: Decimal) -> Decimal:
    """`(1 + rate) ** (-month_idx / 12)`: the present value of 1 paid `month_idx` months out."""
    if not rate > Decimal(-1):
        raise ValidationError(f"discount rate {rate} must be greater than -1", "discount_rate")
    return _discount_factor(month_idx, rate)


def present_value(
    cashflows: Mapping[str, Decimal],
    terms: PortfolioTerms,
    *,
    after: str | None = None,
    until: str | None = None,
) -> Decimal:
    """Σ amount * d(m) over the months `after < month <= until` (either bound optional)."""
    rate = terms.discount_rate
    if not rate > Decimal(-1):
        raise ValidationError(f"discount rate {rate} must be greater than -1", "discount_rate")
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


# ------------------------------------------------------------------------------ benefits


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


def monetary_series(
    benefit: BenefitFacts, values: Mapping[str, Decimal], currency: str
) -> dict[str, Decimal]:
    """Money per month of a benefit's forecast or actuals; `{}` when it has no money value."""
    if not is_monetary(benefit, currency):
        return {}
    vpu = ONE if benefit.value_per_unit is None else benefit.value_per_unit
    sign = -ONE if benefit.disbenefit else ONE
    series: dict[str, Decimal] = {}
    with localcontext(_CONTEXT):
        for month in sorted(values):
            _ordinal(month)  # reject a malformed month here, not deep inside a total
            amount = values[month]
            if benefit.kind == "level":
                amount = _improvement(benefit, amount)
            series[month] = sign * amount * vpu
    return series


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


def unattributed_pv_benefits(
    benefit: BenefitFacts, terms: PortfolioTerms, money: BenefitMoney | None = None
) -> Decimal:
    """The present value of the part of a benefit that no initiative claims."""
    if money is None:
        forecast = forecast_money(benefit, terms)
        whole = forecast.pv_benefits
    else:
        whole = money.pv_benefits
    with localcontext(_CONTEXT):
        return whole * _unattributed_share(benefit)


def benefit_value(
    benefit: BenefitFacts,
    terms: PortfolioTerms,
    as_of_month: str,
    money: BenefitMoney | None = None,
) -> BenefitValue:
    """The figures of a whole benefit as at `as_of_month` (RAG from realisation, else progress)."""
    money = _money(benefit, terms, as_of_month, money)
    realised = money.realised
    planned = money.planned(as_of_month)
    realisation = realisation_pct(realised, planned)
    latest = money.latest
    progress = None
    if latest is not None and benefit.target is not None:
        progress = progress_pct(latest, benefit.baseline, benefit.target)
    status = realisation if realisation is not None else progress
    return BenefitValue(
        pv_benefits=money.pv_benefits,
        realised_to_date=realised,
        forecast_to_date=planned,
        realisation_pct=realisation,
        progress_pct=progress,
        latest=latest,
        rag=rag(status, green=terms.rag_green, amber=terms.rag_amber),
        monetary=is_monetary(benefit, terms.currency),
        unattributed_share=_unattributed_share(benefit),
    )


# ------------------------------------------------------------------------------ initiatives


def _figures(
    *,
    pv_benefits: Decimal,
    pv_costs: Decimal,
    risk_adjusted_npv: Decimal,
    realised_to_date: Decimal,
    forecast_to_date: Decimal,
    spend_to_date: Decimal,
    forgone_pv_benefits: Decimal,
    avoided_pv_costs: Decimal,
    terms: PortfolioTerms,
) -> ValueFigures:
    """Derive npv, ratios, band and RAG from the summable figures."""
    with localcontext(_CONTEXT):
        npv = pv_benefits - pv_costs
        bcr = pv_benefits / pv_costs if pv_costs != 0 else None
        roi = npv / pv_costs if pv_costs != 0 else None
    realisation = realisation_pct(realised_to_date, forecast_to_date)
    return ValueFigures(
        pv_benefits=pv_benefits,
        pv_costs=pv_costs,
        npv=npv,
        bcr=bcr,
        roi=roi,
        risk_adjusted_npv=risk_adjusted_npv,
        vfm_band=vfm_band(bcr),
        realised_to_date=realised_to_date,
        forecast_to_date=forecast_to_date,
        realisation_pct=realisation,
        rag=rag(realisation, green=terms.rag_green, amber=terms.rag_amber),
        spend_to_date=spend_to_date,
        forgone_pv_benefits=forgone_pv_benefits,
        avoided_pv_costs=avoided_pv_costs,
    )


def initiative_value(
    initiative: InitiativeFacts,
    benefits: Sequence[BenefitFacts],
    terms: PortfolioTerms,
    as_of_month: str,
    money: Mapping[UUID, BenefitMoney] | None = None,
    pv_costs: Decimal | None = None,
) -> ValueFigures:
    """An initiative's figures, counting each benefit with the share attributed to it.

    `money` holds the benefits' money figures when the caller rates them for several purposes,
    and `pv_costs` the present value of the whole cost forecast under `terms` when the caller
    valued it before (a stopped initiative's costs are valued again around the stop).
    """
    _checked(as_of_month, "as_of_month")
    # A stop decision cuts off everything forecast after the stop month: it is forgone/avoided,
    # and no longer expected, so it leaves forecast_to_date too. Actuals still count.
    stop = initiative.stopped_month if initiative.status == "stopped" else None
    if stop is not None:
        _checked(stop, "stopped_month")
    pv_b = forgone = realised = planned = ZERO
    with localcontext(_CONTEXT):
        for benefit in benefits:
            share = effective_shares(benefit).get(initiative.initiative_id)
            if share is None:
                continue
            series = _money(
                benefit, terms, as_of_month, money[benefit.benefit_id] if money else None
            )
            if stop is None:
                pv_b += share * series.pv_benefits
            else:
                pv_b += share * present_value(series.forecast(), terms, until=stop)
                forgone += share * present_value(series.forecast(), terms, after=stop)
            realised += share * series.realised
            planned += share * series.planned(_earlier(as_of_month, stop))
        if stop is None and pv_costs is not None:
            pv_c = pv_costs
        else:
            pv_c = present_value(initiative.cost_forecast, terms, until=stop)
        avoided = ZERO
        if stop is not None:
            avoided = present_value(initiative.cost_forecast, terms, after=stop)
        risk_adjusted = initiative.confidence * pv_b - pv_c
    return _figures(
        pv_benefits=pv_b,
        pv_costs=pv_c,
        risk_adjusted_npv=risk_adjusted,
        realised_to_date=realised,
        forecast_to_date=planned,
        spend_to_date=initiative.spend_to_date,
        forgone_pv_benefits=forgone,
        avoided_pv_costs=avoided,
        terms=terms,
    )


def portfolio_totals(figures: Sequence[ValueFigures], terms: PortfolioTerms) -> ValueFigures:
    """Sum the initiatives' figures; ratios, band and RAG are recomputed from the sums."""
    with localcontext(_CONTEXT):
        return _figures(
            pv_benefits=sum((f.pv_benefits for f in figures), ZERO),
            pv_costs=sum((f.pv_costs for f in figures), ZERO),
            risk_adjusted_npv=sum((f.risk_adjusted_npv for f in figures), ZERO),
            realised_to_date=sum((f.realised_to_date for f in figures), ZERO),
            forecast_to_date=sum((f.forecast_to_date for f in figures), ZERO),
            spend_to_date=sum((f.spend_to_date for f in figures), ZERO),
            forgone_pv_benefits=sum((f.forgone_pv_benefits for f in figures), ZERO),
            avoided_pv_costs=sum((f.avoided_pv_costs for f in figures), ZERO),
            terms=terms,
        )


# ------------------------------------------------------------------------------ ratings


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


# ------------------------------------------------------------------------------ presentation


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
