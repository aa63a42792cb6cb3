"""Value rules (DESIGN §3): present values, ratios, realisation and RAG as pure Decimal functions.

Everything here computes in `Decimal` under a private context of 40 significant digits and never
rounds; only the presentation helpers (`money`, `percent`, `ratio`) round, half-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from uuid import UUID

from domain.errors import ValidationError
from domain.months import parse_month

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


def _in_window(month: str, after: str | None, until: str | None) -> bool:
    """Whether `after < month <= until`, an absent bound not limiting."""
    if after is not None and _ordinal(month) <= _ordinal(after):
        return False
    return until is None or _ordinal(month) <= _ordinal(until)


def present_value(
    cashflows: Mapping[str, Decimal],
    terms: PortfolioTerms,
    *,
    after: str | None = None,
    until: str | None = None,
) -> Decimal:
    """Σ amount * d(m) over the months `after < month <= until` (either bound optional)."""
    with localcontext(_CONTEXT):
        total = ZERO
        for month in sorted(cashflows):
            if _in_window(month, after, until):
                m = month_index(month, terms.base_month)
                total += cashflows[month] * discount_factor(m, terms.discount_rate)
        return total


def _earlier(month: str, other: str | None) -> str:
    """The earlier of two months, `other` being optional."""
    if other is None or _ordinal(month) <= _ordinal(other):
        return month
    return other


def _sum_window(values: Mapping[str, Decimal], after: str | None, until: str | None) -> Decimal:
    """Undiscounted Σ over the months `after < month <= until`."""
    with localcontext(_CONTEXT):
        total = ZERO
        for month in sorted(values):
            if _in_window(month, after, until):
                total += values[month]
        return total


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
    with localcontext(_CONTEXT):
        return ONE - sum(effective_shares(benefit).values(), ZERO)


def unattributed_pv_benefits(benefit: BenefitFacts, terms: PortfolioTerms) -> Decimal:
    """The present value of the part of a benefit that no initiative claims."""
    whole = present_value(monetary_series(benefit, benefit.forecast, terms.currency), terms)
    with localcontext(_CONTEXT):
        return whole * _unattributed_share(benefit)


def _latest(benefit: BenefitFacts, as_of_month: str) -> Decimal | None:
    """The latest level, or the cumulative flow, measured in months up to `as_of_month`."""
    months = [m for m in sorted(benefit.actuals) if _in_window(m, None, as_of_month)]
    if not months:
        return None
    if benefit.kind == "level":
        return benefit.actuals[months[-1]]
    return _sum_window(benefit.actuals, None, as_of_month)


def benefit_value(benefit: BenefitFacts, terms: PortfolioTerms, as_of_month: str) -> BenefitValue:
    """The figures of a whole benefit as at `as_of_month` (RAG from realisation, else progress)."""
    parse_month(as_of_month, "as_of_month")
    forecast = monetary_series(benefit, benefit.forecast, terms.currency)
    actuals = monetary_series(benefit, benefit.actuals, terms.currency)
    realised = _sum_window(actuals, None, as_of_month)
    planned = _sum_window(forecast, None, as_of_month)
    realisation = realisation_pct(realised, planned)
    latest = _latest(benefit, as_of_month)
    progress = None
    if latest is not None and benefit.target is not None:
        progress = progress_pct(latest, benefit.baseline, benefit.target)
    status = realisation if realisation is not None else progress
    return BenefitValue(
        pv_benefits=present_value(forecast, terms),
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
) -> ValueFigures:
    """An initiative's figures, counting each benefit with the share attributed to it."""
    parse_month(as_of_month, "as_of_month")
    # A stop decision cuts off everything forecast after the stop month: it is forgone/avoided,
    # and no longer expected, so it leaves forecast_to_date too. Actuals still count.
    stop = initiative.stopped_month if initiative.status == "stopped" else None
    if stop is not None:
        parse_month(stop, "stopped_month")
    pv_b = forgone = realised = planned = ZERO
    with localcontext(_CONTEXT):
        for benefit in benefits:
            share = effective_shares(benefit).get(initiative.initiative_id)
            if share is None:
                continue
            forecast = monetary_series(benefit, benefit.forecast, terms.currency)
            actuals = monetary_series(benefit, benefit.actuals, terms.currency)
            pv_b += share * present_value(forecast, terms, until=stop)
            if stop is not None:
                forgone += share * present_value(forecast, terms, after=stop)
            realised += share * _sum_window(actuals, None, as_of_month)
            planned += share * _sum_window(forecast, None, _earlier(as_of_month, stop))
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


def _fixed(value: Decimal | None, places: int) -> str | None:
    if value is None:
        return None
    with localcontext(_PRESENT_CONTEXT):
        rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
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
