"""Capacity and leaders (Q3/Q4): money and people by month against capacity."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from domain.analytics.capacity import capacity
from domain.analytics.inputs import CandidateInput

D = Decimal


def _demand(status: str, **changes: object) -> CandidateInput:
    fields: dict[str, object] = {
        "initiative_id": uuid4(),
        "name": f"{status} initiative",
        "status": status,
        "leader": "Ada",
        "start_month": "2025-01",
        "end_month": "2025-03",
        "cost_forecast": {"2025-01": D(100), "2025-02": D(100), "2025-03": D(100)},
        "people_demand": {"developer": D(2)},
    }
    fields.update(changes)
    return CandidateInput(**fields)  # type: ignore[arg-type]


def test_committed_proposed_and_headroom_by_month_from_the_from_month() -> None:
    demands = [
        _demand("active"),
        _demand("proposed", cost_forecast={"2025-03": D(50), "2025-04": D(70)}),
        _demand("delayed", cost_forecast={"2025-02": D(5)}, people_demand={}),
        _demand("suspended"),  # uses nothing
        _demand("completed"),
    ]
    found = capacity(
        demands,
        {"2025-02": D(120), "2025-03": D(120)},
        {"developer": D(3)},
        from_month="2025-02",
        leader_limit=3,
    )
    rows = [(b.month, b.capacity, b.committed, b.proposed, b.headroom) for b in found.budget]
    assert rows == [
        ("2025-02", D(120), D(100), D(5), D(20)),
        ("2025-03", D(120), D(100), D(50), D(20)),
        # No budget that month: no limit, so no headroom to speak of.
        ("2025-04", None, D(0), D(70), None),
    ]
    people = [
        (p.month, p.committed, p.proposed, p.over_allocated, p.over_allocated_if_all_proposed)
        for p in found.people
    ]
    assert people == [
        ("2025-02", D(2), D(2), False, True),
        ("2025-03", D(2), D(2), False, True),
        ("2025-04", D(0), D(0), False, False),
    ]


def test_people_over_allocated_and_roles_without_capacity_are_unlimited() -> None:
    demands = [
        _demand("active", people_demand={"developer": D(2), "analyst": D(1)}),
        _demand("active", people_demand={"developer": D("1.5")}, start_month="2025-03"),
    ]
    found = capacity(demands, {}, {"developer": D(3)}, from_month="2025-01", leader_limit=3)
    march = {p.role: p for p in found.people if p.month == "2025-03"}
    assert march["developer"].committed == D("3.5") and march["developer"].over_allocated
    assert march["analyst"].capacity is None and not march["analyst"].over_allocated
    january = {p.role: p for p in found.people if p.month == "2025-01"}
    assert january["developer"].committed == D(2) and not january["developer"].over_allocated


def test_leaders_of_more_active_initiatives_than_the_limit_are_stretched() -> None:
    demands = [_demand("active", leader="Ada") for _ in range(3)]
    demands += [_demand("active", leader="Grace"), _demand("proposed", leader="Grace")]
    demands += [_demand("proposed", leader=None, name="Unled"), _demand("stopped", leader=None)]
    found = capacity(demands, {}, {}, from_month="2025-01", leader_limit=2)
    assert [(x.leader, x.count, x.stretched) for x in found.leaders] == [
        ("Ada", 3, True),
        ("Grace", 1, False),
    ]
    assert sorted(found.leaders[0].initiatives, key=str) == found.leaders[0].initiatives
    # Only candidates need a leader: a stopped initiative does not.
    assert [d.name for d in found.without_leader] == ["Unled"]


def test_nothing_after_the_from_month_gives_no_months() -> None:
    found = capacity(
        [_demand("active")], {"2024-12": D(1)}, {}, from_month="2026-01", leader_limit=3
    )
    assert found.budget == [] and found.people == []
