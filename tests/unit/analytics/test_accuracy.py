"""Forecast accuracy (Q6/Q7): promise at invest against outcome, groups, reference class."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.analytics.accuracy import (
    Invested,
    PromisedBenefit,
    Proposal,
    forecast_accuracy,
    percentile,
    track,
)
from domain.valuation import BenefitFacts
from tests.unit.builders import benefit_facts

D = Decimal


def _facts(owner: UUID, **changes: object) -> BenefitFacts:
    forecast = {f"2025-{m:02d}": D(100) for m in range(1, 13)}
    return benefit_facts(**{"initiative_id": owner, "forecast": forecast, **changes})


def _invested(ratio: str, kind: str = "project", cost: str = "1", **changes: object) -> Invested:
    """Invested in January 2025; three months of flow actuals at `ratio` of the forecast."""
    ident = uuid4()
    actuals = {f"2025-{m:02d}": D(100) * D(ratio) for m in (1, 2, 3)}
    fields: dict[str, object] = {
        "initiative_id": ident,
        "name": f"{kind} {ratio}",
        "kind": kind,
        "sponsor": "COO",
        "leader": "Ada",
        "invested_on": date(2025, 1, 15),
        "cost_forecast": {f"2025-{m:02d}": D(50) for m in range(1, 13)},
        "spend": {f"2025-{m:02d}": D(50) * D(cost) for m in (1, 2, 3)},
        "benefits": (PromisedBenefit(_facts(ident), actuals),),
    }
    fields.update(changes)
    return Invested(**fields)  # type: ignore[arg-type]


def test_promise_and_outcome_over_the_months_before_the_as_of_month() -> None:
    found = track(_invested("0.8", cost="1.2"), currency="GBP", as_of_month="2025-04")
    assert found.months == 3
    assert (found.forecast_at_invest, found.realised) == (D(300), D(240))
    assert found.accuracy_ratio == D("0.8") and found.optimism_pct == D(20)
    assert (found.cost_forecast_at_invest, found.spend) == (D(150), D(180))
    assert found.cost_ratio == D("1.2") and found.cost_overrun_pct == D(20)


def test_shares_at_invest_count_and_a_level_reading_carries_forward() -> None:
    ident = uuid4()
    level = _facts(
        ident,
        kind="level",
        unit="points",
        value_per_unit=D(10),
        baseline=D(50),
        forecast={"2025-01": D(60), "2025-02": D(60), "2025-03": D(60)},
        shares={ident: D("0.5"), uuid4(): D("0.5")},
    )
    # Read 55 in January only: February and March carry it forward (+5 points a month).
    benefit = PromisedBenefit(level, {"2025-01": D(55), "2025-06": D(70)})
    found = track(
        _invested("1", initiative_id=ident, benefits=(benefit,)),
        currency="GBP",
        as_of_month="2025-04",
    )
    assert found.forecast_at_invest == D("0.5") * 3 * 10 * 10
    assert found.realised == D("0.5") * 3 * 5 * 10


def test_nothing_forecast_gives_no_ratio_and_no_months_before_the_invest_month() -> None:
    nothing = track(
        _invested("1", cost_forecast={}, benefits=()), currency="GBP", as_of_month="2025-04"
    )
    assert nothing.accuracy_ratio is None and nothing.optimism_pct is None
    assert nothing.cost_ratio is None and nothing.cost_overrun_pct is None
    early = track(_invested("1"), currency="GBP", as_of_month="2025-01")
    assert early.months == 0 and early.forecast_at_invest == 0


def test_percentiles_interpolate_linearly_as_numpy_does() -> None:
    values = [D("0.5"), D("0.8"), D("1.0")]
    assert percentile(values, 20) == D("0.62")
    assert percentile(values, 80) == D("0.92")
    assert percentile([D("0.7")], 20) == D("0.7")


def test_groups_give_median_and_p80_and_leave_out_what_cannot_be_judged() -> None:
    invested = [
        _invested("0.5", cost="1.5"),
        _invested("0.8", cost="1.0"),
        _invested("1.0", cost="1.1"),
        _invested("0.9", kind="service", sponsor="CFO", leader=None),
        # Not judged: invested this month, so no month to compare yet.
        _invested("0.1", kind="product", invested_on=date(2025, 4, 2)),
    ]
    found = forecast_accuracy(invested, [], currency="GBP", as_of_month="2025-04")
    [project, service] = found.by_kind
    assert (project.key, project.n, project.median_ratio, project.p80_ratio) == (
        "project",
        3,
        D("0.8"),
        D("0.62"),
    )
    assert (project.median_cost_ratio, project.p80_cost_ratio) == (D("1.1"), D("1.34"))
    assert (service.key, service.n, service.median_ratio) == ("service", 1, D("0.9"))
    assert [(g.key, g.n) for g in found.by_sponsor] == [("CFO", 1), ("COO", 3)]
    assert [(g.key, g.n) for g in found.by_leader] == [("Ada", 3)]
    assert len(found.initiatives) == 5


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("project", (D("0.8"), D("1.1"))), ("service", (D("0.85"), D("1.05")))],
)
def test_proposals_take_their_kinds_medians_or_all_kinds_when_their_kind_has_fewer_than_3(
    kind: str, expected: tuple[Decimal, Decimal]
) -> None:
    invested = [
        _invested("0.5", cost="1.5"),
        _invested("0.8", cost="1.0"),
        _invested("1.0", cost="1.1"),
        _invested("0.9", kind="service", cost="1"),
    ]
    proposal = Proposal(uuid4(), "New", kind, D(1000), D(400))
    [adjusted] = forecast_accuracy(
        invested, [proposal], currency="GBP", as_of_month="2025-04"
    ).proposals
    assert (adjusted.reference_ratio, adjusted.reference_cost_ratio) == expected
    assert adjusted.adjusted_pv_benefits == D(1000) * expected[0]
    assert adjusted.adjusted_pv_costs == D(400) * expected[1]


def test_fewer_than_three_ratios_overall_gives_no_reference_class() -> None:
    proposal = Proposal(uuid4(), "New", "project", D(1000), D(400))
    found = forecast_accuracy(
        [_invested("0.5"), _invested("0.7")], [proposal], currency="GBP", as_of_month="2025-04"
    )
    [adjusted] = found.proposals
    assert adjusted.reference_ratio is None and adjusted.adjusted_pv_benefits is None
    assert adjusted.reference_cost_ratio is None and adjusted.adjusted_pv_costs is None
