"""The value rules of DESIGN §3, checked against worked examples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.errors import ValidationError
from domain.valuation import (
    BenefitFacts,
    InitiativeFacts,
    PortfolioTerms,
    benefit_value,
    discount_factor,
    effective_shares,
    initiative_value,
    is_monetary,
    monetary_series,
    money,
    month_index,
    percent,
    portfolio_totals,
    present_value,
    progress_pct,
    rag,
    ratio,
    realisation_pct,
    unattributed_pv_benefits,
    vfm_band,
)
from tests.unit.builders import benefit_facts

D = Decimal
TERMS = PortfolioTerms(currency="GBP", discount_rate=D("0.035"), base_month="2025-01")
# A zero discount rate makes present values plain sums, so examples can be checked by hand.
FLAT = PortfolioTerms(currency="GBP", discount_rate=D("0"), base_month="2025-01")
CERTAIN = D(1)


def benefit(**changes: object) -> BenefitFacts:
    """A cashable flow benefit in GBP, accountable initiative only, unless changed."""
    return benefit_facts(**changes)


def initiative(
    initiative_id: UUID | None = None,
    *,
    costs: Mapping[str, Decimal] | None = None,
    confidence: Decimal = CERTAIN,
    status: str = "active",
    stopped_month: str | None = None,
) -> InitiativeFacts:
    """An initiative with the given cost forecast and nothing spent."""
    return InitiativeFacts(
        initiative_id=initiative_id or uuid4(),
        confidence=confidence,
        cost_forecast=costs or {},
        spend_to_date=D(0),
        status=status,
        stopped_month=stopped_month,
    )


# ------------------------------------------------------------------------------ discounting

DISCOUNT_VECTOR = [
    "1000.00",
    "966.18",
    "933.51",
    "901.94",
    "871.44",
    "841.97",
    "813.50",
    "785.99",
    "759.41",
    "733.73",
    "708.92",
]


@pytest.mark.parametrize(("years", "expected"), list(enumerate(DISCOUNT_VECTOR)))
def test_discount_vector_from_the_design(years: int, expected: str) -> None:
    assert money(D(1000) * discount_factor(12 * years, D("0.035"))) == expected


def test_present_value_of_yearly_payments_matches_the_vector() -> None:
    flows = {f"{2025 + y}-01": D(1000) for y in range(11)}
    expected = sum((D(v) for v in DISCOUNT_VECTOR), D(0))
    assert abs(present_value(flows, TERMS) - expected) < D("0.01") * 11


def test_month_index_counts_from_base_month_and_may_be_negative() -> None:
    assert month_index("2025-01", "2025-01") == 0
    assert month_index("2026-03", "2025-01") == 14
    assert month_index("2024-07", "2025-01") == -6
    # Money before the base month is compounded forward, worth more than its face value.
    assert discount_factor(-6, D("0.035")) > 1 > discount_factor(6, D("0.035"))


def test_present_value_window_is_after_exclusive_until_inclusive() -> None:
    flows = {"2025-01": D(1), "2025-02": D(10), "2025-03": D(100)}
    assert present_value(flows, FLAT, after="2025-01") == D(110)
    assert present_value(flows, FLAT, until="2025-02") == D(11)
    assert present_value(flows, FLAT, after="2025-01", until="2025-02") == D(10)


def test_malformed_month_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        present_value({"2025-13": D(1)}, TERMS)


# ------------------------------------------------------------------------------ money per month


def test_flow_in_currency_counts_at_face_value() -> None:
    b = benefit(forecast={"2025-01": D("120.50")})
    assert monetary_series(b, b.forecast, "GBP") == {"2025-01": D("120.50")}


def test_flow_is_quantity_times_value_per_unit() -> None:
    b = benefit(unit="hours", value_per_unit=D(20), forecast={"2025-01": D(10), "2025-02": D(5)})
    assert monetary_series(b, b.forecast, "GBP") == {"2025-01": D(200), "2025-02": D(100)}


def test_level_is_improvement_over_baseline_times_value_per_unit() -> None:
    b = benefit(
        kind="level",
        unit="customers",
        value_per_unit=D(2),
        baseline=D(100),
        forecast={"2025-01": D(120), "2025-02": D(150)},
    )
    # Each month's level stands for that month: (120-100)*2 and (150-100)*2.
    assert monetary_series(b, b.forecast, "GBP") == {"2025-01": D(40), "2025-02": D(100)}


def test_decrease_direction_counts_a_fall_below_baseline_as_improvement() -> None:
    b = benefit(
        kind="level",
        direction="decrease",
        unit="minutes",
        value_per_unit=D(10),
        baseline=D(50),
        forecast={"2025-01": D(40), "2025-02": D(55)},
    )
    assert monetary_series(b, b.forecast, "GBP") == {"2025-01": D(100), "2025-02": D(-50)}


def test_disbenefit_magnitudes_count_negative() -> None:
    b = benefit(disbenefit=True, forecast={"2025-01": D(100)})
    assert monetary_series(b, b.forecast, "GBP") == {"2025-01": D(-100)}
    owner = initiative(b.initiative_id, costs={"2025-01": D(50)})
    figures = initiative_value(owner, [b], FLAT, "2025-01")
    assert (figures.pv_benefits, figures.npv) == (D(-100), D(-150))


@pytest.mark.parametrize(
    "changes",
    [
        {"category": "qualitative", "value_per_unit": D(5)},
        {"unit": "satisfaction score"},
        {"unit": "EUR"},
    ],
    ids=["qualitative", "unpriced-unit", "other-currency"],
)
def test_benefit_without_money_value_has_progress_only(changes: dict[str, object]) -> None:
    b = benefit(
        kind="level",
        baseline=D(0),
        target=D(10),
        forecast={"2025-01": D(8)},
        actuals={"2025-01": D(9)},
        **changes,
    )
    assert not is_monetary(b, "GBP")
    assert monetary_series(b, b.forecast, "GBP") == {}
    value = benefit_value(b, TERMS, "2025-06")
    assert value.monetary is False
    assert (value.pv_benefits, value.realised_to_date, value.realisation_pct) == (D(0), D(0), None)
    assert value.progress_pct == D(90)
    assert value.rag == "green"
    owner = initiative(b.initiative_id)
    assert initiative_value(owner, [b], TERMS, "2025-06").pv_benefits == 0


def test_currency_unit_is_matched_case_insensitively() -> None:
    assert is_monetary(benefit(unit="gbp"), "GBP")


def test_unknown_measure_kind_is_rejected() -> None:
    with pytest.raises(ValidationError):
        monetary_series(benefit(kind="stock"), {"2025-01": D(1)}, "GBP")


# ------------------------------------------------------------------------------ one benefit


def test_level_progress_vector_from_the_design() -> None:
    assert progress_pct(D(700_000), D(0), D(1_000_000)) == D(70)
    assert rag(progress_pct(D(700_000), D(0), D(1_000_000))) == "red"


def test_progress_works_for_a_decrease_and_is_none_without_a_range() -> None:
    assert progress_pct(D(40), D(50), D(30)) == D(50)
    assert progress_pct(D(40), D(50), D(50)) is None


def test_benefit_value_uses_latest_level_up_to_as_of() -> None:
    b = benefit(
        kind="level",
        unit="users",
        baseline=D(0),
        target=D(1_000_000),
        actuals={"2025-01": D(300_000), "2025-03": D(700_000), "2025-09": D(990_000)},
    )
    value = benefit_value(b, TERMS, "2025-06")
    assert value.latest == D(700_000)
    assert value.progress_pct == D(70)
    assert value.rag == "red"


def test_benefit_value_realisation_of_a_flow_and_its_cumulative_latest() -> None:
    b = benefit(
        target=D(1000),
        forecast={"2025-01": D(100), "2025-02": D(100), "2025-03": D(100)},
        actuals={"2025-01": D(90), "2025-02": D(80), "2025-03": D(500)},
    )
    value = benefit_value(b, FLAT, "2025-02")
    assert (value.realised_to_date, value.forecast_to_date) == (D(170), D(200))
    assert value.realisation_pct == D(85)
    assert value.latest == D(170)
    assert value.progress_pct == D(17)
    # Realisation against plan rules the RAG when there is one: 85 % is amber, not red.
    assert value.rag == "amber"
    assert value.pv_benefits == D(300)


# ------------------------------------------------------------------------------ attribution


def test_shares_weight_the_benefit_and_the_remainder_is_unattributed() -> None:
    a, b_id, accountable = uuid4(), uuid4(), uuid4()
    shared = benefit(
        initiative_id=accountable,
        forecast={"2025-01": D(1000)},
        shares={a: D("0.6"), b_id: D("0.3")},
    )
    pv = {
        i: initiative_value(initiative(i), [shared], FLAT, "2025-01").pv_benefits for i in (a, b_id)
    }
    assert pv == {a: D(600), b_id: D(300)}
    # Listing shares replaces the default: the accountable initiative claims only what it is given.
    assert initiative_value(initiative(accountable), [shared], FLAT, "2025-01").pv_benefits == 0
    assert unattributed_pv_benefits(shared, FLAT) == D(100)
    value = benefit_value(shared, FLAT, "2025-01")
    assert (value.pv_benefits, value.unattributed_share) == (D(1000), D("0.1"))


def test_without_contributions_the_accountable_initiative_has_all_of_it() -> None:
    b = benefit(forecast={"2025-01": D(1000)})
    assert effective_shares(b) == {b.initiative_id: D(1)}
    assert unattributed_pv_benefits(b, FLAT) == 0


def test_benefit_of_another_initiative_contributes_nothing() -> None:
    b = benefit(forecast={"2025-01": D(1000)}, actuals={"2025-01": D(1000)})
    figures = initiative_value(initiative(), [b], FLAT, "2025-01")
    assert (figures.pv_benefits, figures.realised_to_date, figures.forecast_to_date) == (D(0),) * 3


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
