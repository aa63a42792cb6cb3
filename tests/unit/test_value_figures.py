"""The value rules of DESIGN §3 for initiatives and portfolios, checked against worked examples."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from domain.valuation import (
    initiative_value,
    monetary_series,
    money,
    percent,
    portfolio_totals,
    present_value,
    rag,
    ratio,
    realisation_pct,
    vfm_band,
)
from tests.unit.valuation_examples import FLAT, TERMS, benefit, initiative

D = Decimal


# ------------------------------------------------------------------------------ one initiative


def test_initiative_figures_worked_example() -> None:
    # pv_b = 1000/1.035 = 966.18..., pv_c = 500; confidence 0.8 -> 0.8*966.18 - 500 = 272.95.
    b = benefit(forecast={"2026-01": D(1000)})
    owner = initiative(b.initiative_id, costs={"2025-01": D(500)}, confidence=D("0.8"))
    figures = initiative_value(owner, [b], TERMS, "2025-01")
    assert money(figures.pv_benefits) == "966.18"
    assert money(figures.npv) == "466.18"
    assert ratio(figures.bcr) == "1.93"
    assert ratio(figures.roi) == "0.93"
    assert figures.vfm_band == "medium"
    assert money(figures.risk_adjusted_npv) == "272.95"


def test_stopped_initiative_splits_forgone_and_avoided_at_the_stop_month() -> None:
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    b = benefit(forecast=dict.fromkeys(months, D(50)), actuals={"2025-05": D(20)})
    costs = dict.fromkeys(months, D(100))
    stopped = initiative(b.initiative_id, costs=costs, status="stopped", stopped_month="2025-03")
    figures = initiative_value(stopped, [b], FLAT, "2025-05")
    # Jan-Mar stay in the figures; Apr-Jun are forgone (benefits) and avoided (costs).
    assert (figures.pv_benefits, figures.forgone_pv_benefits) == (D(150), D(150))
    assert (figures.pv_costs, figures.avoided_pv_costs) == (D(300), D(300))
    # Benefits forecast after the stop are no longer expected; what was measured still counts.
    assert (figures.forecast_to_date, figures.realised_to_date) == (D(150), D(20))

    discounted = initiative_value(stopped, [b], TERMS, "2025-05")
    whole = present_value(monetary_series(b, b.forecast, "GBP"), TERMS)
    # The split loses nothing (beyond the last of 40 significant digits).
    assert abs(discounted.pv_benefits + discounted.forgone_pv_benefits - whole) < D("1e-20")


def test_stop_month_is_ignored_unless_the_initiative_is_stopped() -> None:
    b = benefit(forecast={"2025-01": D(50), "2025-06": D(50)})
    owner = initiative(b.initiative_id, status="active", stopped_month="2025-03")
    figures = initiative_value(owner, [b], FLAT, "2025-06")
    assert (figures.pv_benefits, figures.forgone_pv_benefits) == (D(100), D(0))


def test_no_costs_means_no_ratios() -> None:
    b = benefit(forecast={"2025-01": D(100)})
    figures = initiative_value(initiative(b.initiative_id), [b], FLAT, "2025-01")
    assert (figures.npv, figures.bcr, figures.roi, figures.vfm_band) == (D(100), None, None, None)


def test_nothing_forecast_to_date_means_no_realisation_or_rag() -> None:
    assert realisation_pct(D(10), D(0)) is None
    b = benefit(forecast={"2026-01": D(100)})
    figures = initiative_value(initiative(b.initiative_id), [b], FLAT, "2025-06")
    assert (figures.realisation_pct, figures.rag) == (None, None)


# ------------------------------------------------------------------------------ bands and RAG


@pytest.mark.parametrize(
    ("bcr", "band"),
    [
        ("-1", "poor"),
        ("0.99", "poor"),
        ("1", "low"),
        ("1.49", "low"),
        ("1.5", "medium"),
        ("1.99", "medium"),
        ("2", "high"),
        ("3.99", "high"),
        ("4", "very_high"),
        ("40", "very_high"),
    ],
)
def test_vfm_band_boundaries(bcr: str, band: str) -> None:
    assert vfm_band(D(bcr)) == band


def test_vfm_band_of_no_ratio_is_none() -> None:
    assert vfm_band(None) is None


@pytest.mark.parametrize(
    ("pct", "status"),
    [("100", "green"), ("90", "green"), ("89.99", "amber"), ("75", "amber"), ("74.99", "red")],
)
def test_rag_boundaries_with_default_thresholds(pct: str, status: str) -> None:
    assert rag(D(pct)) == status


@pytest.mark.parametrize(
    ("pct", "status"),
    [("80", "green"), ("79.9", "amber"), ("50", "amber"), ("49.9", "red")],
)
def test_rag_boundaries_with_portfolio_thresholds(pct: str, status: str) -> None:
    assert rag(D(pct), green=D(80), amber=D(50)) == status


def test_initiative_rag_follows_portfolio_thresholds() -> None:
    lenient = replace(FLAT, rag_green=D(80), rag_amber=D(50))
    b = benefit(forecast={"2025-01": D(100)}, actuals={"2025-01": D(80)})
    owner = initiative(b.initiative_id)
    assert initiative_value(owner, [b], FLAT, "2025-01").rag == "amber"
    assert initiative_value(owner, [b], lenient, "2025-01").rag == "green"


def test_rag_of_no_percentage_is_none() -> None:
    assert rag(None) is None


# ------------------------------------------------------------------------------ portfolio


def test_portfolio_totals_recompute_ratios_from_sums() -> None:
    # Worked by hand (discount rate 0, everything in the base month, as of the base month):
    #   A: benefits 100, costs 50,  confidence 0.5, realised 100 -> bcr 2.00, realisation 100 %,
    #      risk-adjusted npv 0.5*100 - 50 = 0
    #   B: benefits 900, costs 900, confidence 0.9, realised 450 -> bcr 1.00, realisation 50 %,
    #      risk-adjusted npv 0.9*900 - 900 = -90
    #   totals: pv_b 1000, pv_c 950, npv 50, bcr 1000/950 = 1.05 (low), roi 50/950 = 0.05,
    #           realisation 550/1000 = 55.0 % (red), risk-adjusted npv 0 + -90 = -90.
    #   Averaging instead would give bcr 1.50 (medium) and realisation 75 % (amber): both wrong.
    a = benefit(forecast={"2025-01": D(100)}, actuals={"2025-01": D(100)})
    b = benefit(forecast={"2025-01": D(900)}, actuals={"2025-01": D(450)})
    ia = initiative(a.initiative_id, costs={"2025-01": D(50)}, confidence=D("0.5"))
    ib = initiative(b.initiative_id, costs={"2025-01": D(900)}, confidence=D("0.9"))
    fa = initiative_value(ia, [a, b], FLAT, "2025-01")
    fb = initiative_value(ib, [a, b], FLAT, "2025-01")
    assert (fa.bcr, fa.realisation_pct, fa.risk_adjusted_npv) == (D(2), D(100), D(0))
    assert (fb.bcr, fb.realisation_pct, fb.risk_adjusted_npv) == (D(1), D(50), D(-90))

    totals = portfolio_totals([fa, fb], FLAT)
    assert (totals.pv_benefits, totals.pv_costs, totals.npv) == (D(1000), D(950), D(50))
    assert (ratio(totals.bcr), ratio(totals.roi), totals.vfm_band) == ("1.05", "0.05", "low")
    assert (totals.realised_to_date, totals.forecast_to_date) == (D(550), D(1000))
    assert (totals.realisation_pct, totals.rag) == (D(55), "red")
    assert totals.risk_adjusted_npv == D(-90)


def test_portfolio_totals_of_nothing_are_zero() -> None:
    totals = portfolio_totals([], TERMS)
    assert (totals.pv_benefits, totals.npv, totals.bcr, totals.rag) == (D(0), D(0), None, None)


# ------------------------------------------------------------------------------ presentation


def test_presentation_rounds_half_up_only_at_the_edge() -> None:
    assert money(D("2.675")) == "2.68"
    assert money(D("2.665")) == "2.67"
    assert money(D("-0.004")) == "0.00"
    assert money(D(1000)) == "1000.00"
    assert percent(D("69.95")) == "70.0"
    assert percent(D("22.5")) == "22.5"
    assert ratio(D(1) / D(3)) == "0.33"
    assert money(None) is None and percent(None) is None and ratio(None) is None
