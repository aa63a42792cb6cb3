"""Properties the value rules must keep for any portfolio, not just the worked examples."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from uuid import UUID, uuid4

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.months import add_months
from domain.valuation import (
    BenefitFacts,
    InitiativeFacts,
    PortfolioTerms,
    benefit_value,
    initiative_value,
    monetary_series,
    present_value,
    unattributed_pv_benefits,
)

D = Decimal
BASE = "2025-01"
# Relative to the size of the flows involved; computing at 40 digits leaves far less error.
TOLERANCE = D("1e-18")
PROPERTY = settings(max_examples=100, deadline=None)

months = st.integers(min_value=-24, max_value=120).map(lambda i: add_months(BASE, i))
amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2)
positive = st.decimals(min_value=D("0.01"), max_value=10**6, places=2)
cashflows = st.dictionaries(months, amounts, max_size=24)
rates = st.decimals(min_value=0, max_value=D("0.2"), places=4)


@st.composite
def terms(draw: st.DrawFn) -> PortfolioTerms:
    """Portfolio terms with any sensible discount rate."""
    return PortfolioTerms(currency="GBP", discount_rate=draw(rates), base_month=BASE)


@st.composite
def monetary_benefits(draw: st.DrawFn, quantities: st.SearchStrategy[Decimal]) -> BenefitFacts:
    """A benefit with a money value: a flow, or a level whose forecast improves by `quantities`."""
    kind = draw(st.sampled_from(["flow", "level"]))
    direction = draw(st.sampled_from(["increase", "decrease"]))
    baseline = draw(st.decimals(min_value=-1000, max_value=1000, places=1))
    improvements = draw(st.dictionaries(months, quantities, min_size=1, max_size=24))
    forecast = improvements
    if kind == "level":
        sign = 1 if direction == "increase" else -1
        forecast = {m: baseline + sign * gain for m, gain in improvements.items()}
    return BenefitFacts(
        benefit_id=uuid4(),
        initiative_id=uuid4(),
        category=draw(st.sampled_from(["cashable", "non_cashable", "quantitative"])),
        disbenefit=False,
        unit=draw(st.sampled_from(["GBP", "hours"])),
        kind=kind,
        direction=direction,
        value_per_unit=draw(st.decimals(min_value=D("0.01"), max_value=1000, places=2)),
        baseline=baseline,
        target=None,
        forecast=forecast,
        actuals={},
        shares={},
    )


@st.composite
def share_splits(draw: st.DrawFn) -> list[Decimal]:
    """Between one and five shares in (0, 1] whose sum is at most 1."""
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=5)))
    bounds = [0, *cuts]
    return [D(hi - lo) / 10_000 for lo, hi in pairwise(bounds)]


def owner(initiative_id: UUID, costs: dict[str, Decimal] | None = None) -> InitiativeFacts:
    """A certain, active initiative with the given cost forecast."""
    return InitiativeFacts(
        initiative_id=initiative_id,
        confidence=D(1),
        cost_forecast=costs or {},
        spend_to_date=D(0),
        status="active",
    )


def scale(flows: dict[str, Decimal], t: PortfolioTerms) -> Decimal:
    """The present value of the flows' magnitudes: what a relative tolerance is relative to."""
    return present_value({m: abs(v) for m, v in flows.items()}, t)


@PROPERTY
@given(cashflows, cashflows, terms())
def test_present_value_is_additive(
    a: dict[str, Decimal], b: dict[str, Decimal], t: PortfolioTerms
) -> None:
    both = {m: a.get(m, D(0)) + b.get(m, D(0)) for m in a.keys() | b.keys()}
    difference = present_value(both, t) - (present_value(a, t) + present_value(b, t))
    assert abs(difference) <= TOLERANCE * (scale(a, t) + scale(b, t)) + TOLERANCE


@PROPERTY
@given(cashflows, st.decimals(min_value=-1000, max_value=1000, places=4), terms())
def test_present_value_is_homogeneous(a: dict[str, Decimal], k: Decimal, t: PortfolioTerms) -> None:
    scaled = {m: k * v for m, v in a.items()}
    difference = present_value(scaled, t) - k * present_value(a, t)
    assert abs(difference) <= TOLERANCE * (abs(k) + 1) * (scale(a, t) + 1)


@PROPERTY
@given(monetary_benefits(amounts), share_splits(), terms())
def test_split_benefit_never_totals_more_than_its_whole(
    benefit: BenefitFacts, shares: list[Decimal], t: PortfolioTerms
) -> None:
    contributors = {uuid4(): share for share in shares}
    benefit = replace(benefit, shares=contributors)
    whole = present_value(monetary_series(benefit, benefit.forecast, "GBP"), t)
    attributed = [initiative_value(owner(i), [benefit], t, BASE).pv_benefits for i in contributors]
    total = sum(attributed, D(0))
    slack = TOLERANCE * (scale(monetary_series(benefit, benefit.forecast, "GBP"), t) + 1)
    assert abs(total) <= abs(whole) + slack
    assert abs(total - whole * sum(shares, D(0))) <= slack
    # What no initiative claims is reported separately, and the two make up the whole.
    assert abs(total + unattributed_pv_benefits(benefit, t) - whole) <= slack


@PROPERTY
@given(monetary_benefits(positive), cashflows, terms())
def test_disbenefit_lowers_value(
    benefit: BenefitFacts, costs: dict[str, Decimal], t: PortfolioTerms
) -> None:
    initiative = owner(benefit.initiative_id, costs)
    as_benefit = initiative_value(initiative, [benefit], t, BASE)
    as_disbenefit = initiative_value(initiative, [replace(benefit, disbenefit=True)], t, BASE)
    assert as_disbenefit.npv < as_benefit.npv
    assert as_disbenefit.risk_adjusted_npv < as_benefit.risk_adjusted_npv


@PROPERTY
@given(monetary_benefits(amounts), months, st.booleans(), share_splits(), terms())
def test_measured_exactly_on_forecast_is_fully_realised(
    benefit: BenefitFacts, as_of: str, disbenefit: bool, shares: list[Decimal], t: PortfolioTerms
) -> None:
    actuals = {m: v for m, v in benefit.forecast.items() if m <= as_of}
    benefit = replace(benefit, actuals=actuals, disbenefit=disbenefit)
    assume(benefit_value(benefit, t, as_of).forecast_to_date != 0)
    assert benefit_value(benefit, t, as_of).realisation_pct == 100

    contributor = uuid4()
    shared = replace(benefit, shares={contributor: shares[0]})
    assert initiative_value(owner(contributor), [shared], t, as_of).realisation_pct == 100
