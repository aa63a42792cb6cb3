"""The figures of one benefit, of one initiative, and the totals of a portfolio."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from uuid import UUID

from domain.valuation.discounting import _checked, _earlier, present_value
from domain.valuation.forecasts import BenefitMoney, _money, forecast_money
from domain.valuation.ratings import progress_pct, rag, realisation_pct, vfm_band
from domain.valuation.series import _unattributed_share, effective_shares, is_monetary
from domain.valuation.terms import _CONTEXT, ZERO, BenefitFacts, InitiativeFacts, PortfolioTerms


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


# ------------------------------------------------------------------------------ benefits


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
