"""The value rules of DESIGN §3 for discounting and benefits, checked against worked examples."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import ValidationError
from domain.valuation import (
    benefit_value,
    discount_factor,
    effective_shares,
    initiative_value,
    is_monetary,
    monetary_series,
    money,
    month_index,
    present_value,
    progress_pct,
    rag,
    unattributed_pv_benefits,
)
from tests.unit.valuation_examples import FLAT, TERMS, benefit, initiative

D = Decimal


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
