"""Small random portfolios and a brute-force reference for the optimiser and scenario tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from uuid import UUID

from hypothesis import strategies as st

from domain.analytics.inputs import BenefitInput, CandidateInput, GoalInput, PortfolioInput
from domain.analytics.remaining import Remaining
from domain.months import add_months, months_between

FROM = "2026-01"
MONTHS = [add_months(FROM, k) for k in range(6)]
STATUSES = ["proposed", "active", "delayed", "suspended"]
GOALS = [UUID(int=501), UUID(int=502)]


@st.composite
def initiatives(draw: st.DrawFn, count: int, *, others: bool = True) -> list[CandidateInput]:
    """`count` initiatives over six months; later ones may depend on earlier ones."""
    made: list[CandidateInput] = []
    ids = draw(st.lists(st.integers(1, 999), min_size=count, max_size=count, unique=True))
    for n, ident in enumerate(ids):
        pool = STATUSES + (["completed", "stopped"] if others else [])
        status = draw(st.sampled_from(pool))
        first = draw(st.integers(0, 4))
        last = draw(st.integers(first, 5))
        span = MONTHS[first : last + 1]
        costs = {m: Decimal(draw(st.integers(0, 40))) for m in span}
        gains = {m: Decimal(draw(st.integers(0, 90))) for m in MONTHS[first:]}
        earlier = [c.initiative_id for c in made]
        deps = draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True)) if earlier else []
        goal = draw(st.sampled_from([*GOALS, None]))
        dis = draw(st.booleans()) and n % 4 == 3
        benefit = BenefitInput(UUID(int=10_000 + n), "b", goal, dis, Decimal(1), gains)
        made.append(
            CandidateInput(
                initiative_id=UUID(int=ident),
                name=f"I{ident}",
                status=status,
                start_month=span[0],
                end_month=span[-1],
                mandatory=draw(st.integers(0, 19)) == 0,
                confidence=Decimal(draw(st.sampled_from(["0.5", "0.8", "1"]))),
                depends_on=tuple(deps) if draw(st.booleans()) else (),
                people_demand={"dev": Decimal(draw(st.integers(0, 3)))},
                cost_forecast=costs,
                benefits=(benefit,),
            )
        )
    return made


def portfolio(items: Sequence[CandidateInput], **changes: object) -> PortfolioInput:
    """A portfolio at 3.5 % from the first month, holding these initiatives."""
    fields: dict[str, object] = {
        "discount_rate": Decimal("0.035"),
        "base_month": FROM,
        "initiatives": tuple(items),
        "goals": (
            GoalInput(GOALS[0], "Grow", Decimal(2)),
            GoalInput(GOALS[1], "Save", Decimal(1)),
        ),
    }
    fields.update(changes)
    return PortfolioInput(**fields)  # type: ignore[arg-type]


def _fits(
    total: Decimal | None,
    by_month: Mapping[str, Decimal],
    people: Mapping[str, Decimal],
    plan: Mapping[UUID, tuple[Remaining, int]],
) -> bool:
    if total is not None and sum(f.cost() for f, _ in plan.values()) > total:
        return False
    spent: dict[str, Decimal] = {}
    staff: dict[tuple[str, str], Decimal] = {}
    for figures, shift in plan.values():
        for month, amount in figures.cost_by_month(shift).items():
            spent[month] = spent.get(month, Decimal(0)) + amount
        for month, demand in figures.people_by_month(shift).items():
            for role, fte in demand.items():
                staff[month, role] = staff.get((month, role), Decimal(0)) + fte
    if any(
        m in by_month and months_between(FROM, m) >= 0 and v > by_month[m] for m, v in spent.items()
    ):
        return False
    return all(v <= people[r] for (_, r), v in staff.items() if r in people)


def best_plans(
    port: PortfolioInput,
    *,
    objective: str = "risk_adjusted_npv",
    total: Decimal | None = None,
    by_month: Mapping[str, Decimal] | None = None,
    people: Mapping[str, Decimal] | None = None,
    force_in: Sequence[UUID] = (),
    force_out: Sequence[UUID] = (),
    delays: Sequence[int] = (0,),
) -> Iterator[tuple[Decimal, dict[UUID, int]]]:
    """Every plan {id: start delay} that keeps §5.3's rules, with its value (brute force)."""
    everyone = port.by_id()
    cands = [c for c in port.initiatives if c.is_candidate]
    figures = {c.initiative_id: Remaining.of(c, port, FROM, objective) for c in cands}

    def choices(c: CandidateInput) -> list[int | None]:
        shifts: list[int | None] = list(sorted(set(delays))) if c.is_proposal else [0]
        if c.initiative_id in force_out:
            return [None]
        if c.mandatory or c.initiative_id in force_in:
            return shifts
        return [None, *shifts]

    def start(c: CandidateInput, shift: int) -> str:
        return add_months(c.start_month, shift)

    def walk(k: int, plan: dict[UUID, int]) -> Iterator[dict[UUID, int]]:
        if k == len(cands):
            yield dict(plan)
            return
        c = cands[k]
        for shift in choices(c):
            if shift is not None:
                ok = True
                for dep in c.depends_on:
                    other = everyone[dep]
                    if other.status == "completed":
                        continue
                    ok = ok and other.is_candidate and dep in plan
                    ok = ok and months_between(start(other, plan[dep]), start(c, shift)) >= 0
                if not ok:
                    continue
                plan[c.initiative_id] = shift
            if shift is None or _fits(
                total, by_month or {}, people or {}, {i: (figures[i], s) for i, s in plan.items()}
            ):
                yield from walk(k + 1, plan)
            plan.pop(c.initiative_id, None)

    for plan in walk(0, {}):
        yield sum((figures[i].value(s) for i, s in plan.items()), Decimal(0)), plan
