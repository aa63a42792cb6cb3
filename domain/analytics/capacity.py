"""Q3/Q4: budget and people against capacity by month, and leaders stretched (DESIGN §5.3).

Committed demand is that of active initiatives, proposed demand that of proposals (proposed or
delayed); suspended initiatives use nothing. A month or role with no capacity recorded has no
limit, so it is never over-allocated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from domain.analytics.inputs import CANDIDATE_STATUSES, PROPOSAL_STATUSES, CandidateInput
from domain.months import add_months, months_between

ZERO = Decimal(0)


@dataclass(frozen=True)
class BudgetMonth:
    """Money in one month: capacity (None: no budget set), committed, proposed, headroom."""

    month: str
    capacity: Decimal | None
    committed: Decimal
    proposed: Decimal
    headroom: Decimal | None


@dataclass(frozen=True)
class PeopleMonth:
    """One role in one month, in full-time equivalents."""

    month: str
    role: str
    capacity: Decimal | None
    committed: Decimal
    proposed: Decimal
    over_allocated: bool
    over_allocated_if_all_proposed: bool


@dataclass(frozen=True)
class Leader:
    """A leader and the active initiatives they lead."""

    leader: str
    initiatives: list[UUID]
    count: int
    stretched: bool


@dataclass(frozen=True)
class Capacity:
    """The answer to Q3/Q4."""

    budget: list[BudgetMonth]
    people: list[PeopleMonth]
    leaders: list[Leader]
    without_leader: list[CandidateInput]


def _side(status: str) -> str | None:
    if status == "active":
        return "committed"
    return "proposed" if status in PROPOSAL_STATUSES else None


def _people_months(demand: CandidateInput, from_month: str) -> list[str]:
    """The months of its people demand: max(start_month, from_month) to end_month."""
    start = demand.start_month if months_between(from_month, demand.start_month) > 0 else from_month
    return [add_months(start, k) for k in range(months_between(start, demand.end_month) + 1)]


def _sums() -> dict[str, Decimal]:
    return {"committed": ZERO, "proposed": ZERO}


def capacity(
    demands: Sequence[CandidateInput],
    budget: Mapping[str, Decimal],
    people: Mapping[str, Decimal],
    *,
    from_month: str,
    leader_limit: int,
) -> Capacity:
    """Budget and people by month from `from_month` on, leaders, and candidates with no leader."""
    money: dict[str, dict[str, Decimal]] = {}
    staff: dict[tuple[str, str], dict[str, Decimal]] = {}
    last = None
    for demand in demands:
        side = _side(demand.status)
        if side is None:
            continue
        for month, amount in demand.cost_forecast.items():
            if month >= from_month:
                money.setdefault(month, _sums())[side] += amount
                last = max(last or month, month)
        if demand.people_demand:
            for month in _people_months(demand, from_month):
                for role, fte in demand.people_demand.items():
                    staff.setdefault((month, role), _sums())[side] += fte
                last = max(last or month, month)
    for month in budget:
        if month >= from_month:
            last = max(last or month, month)
    months = [] if last is None else _span(from_month, last)
    roles = sorted(set(people) | {role for _, role in staff})
    return Capacity(
        budget=[_budget_month(m, budget.get(m), money.get(m, _sums())) for m in months],
        people=[
            _people_month(m, r, people.get(r), staff.get((m, r), _sums()))
            for m in months
            for r in roles
        ],
        leaders=_leaders(demands, leader_limit),
        without_leader=sorted(
            (d for d in demands if d.status in CANDIDATE_STATUSES and not d.leader),
            key=lambda d: (d.name, str(d.initiative_id)),
        ),
    )


def _span(first: str, last: str) -> list[str]:
    return [add_months(first, k) for k in range(months_between(first, last) + 1)]


def _budget_month(month: str, limit: Decimal | None, sums: dict[str, Decimal]) -> BudgetMonth:
    committed = sums["committed"]
    headroom = None if limit is None else limit - committed
    return BudgetMonth(month, limit, committed, sums["proposed"], headroom)


def _people_month(
    month: str, role: str, limit: Decimal | None, sums: dict[str, Decimal]
) -> PeopleMonth:
    committed, proposed = sums["committed"], sums["proposed"]
    return PeopleMonth(
        month=month,
        role=role,
        capacity=limit,
        committed=committed,
        proposed=proposed,
        over_allocated=limit is not None and committed > limit,
        over_allocated_if_all_proposed=limit is not None and committed + proposed > limit,
    )


def _leaders(demands: Sequence[CandidateInput], limit: int) -> list[Leader]:
    """Leaders of active initiatives, busiest first, then by name."""
    led: dict[str, list[UUID]] = {}
    for demand in demands:
        if demand.status == "active" and demand.leader:
            led.setdefault(demand.leader, []).append(demand.initiative_id)
    leaders = [
        Leader(name, sorted(ids, key=str), len(ids), len(ids) > limit) for name, ids in led.items()
    ]
    leaders.sort(key=lambda leader: (-leader.count, leader.leader))
    return leaders
