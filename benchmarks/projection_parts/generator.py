"""The projections benchmark's log, written through the application's use cases month by month."""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from benchmarks.projection_parts.history import (
    ARCHETYPES,
    BOARD,
    FEED,
    GOALS,
    OPS,
    PMO,
    History,
    Planned,
    Sizes,
    day_of,
    month_add,
    months_back,
)
from domain.application import ValuetrailApplication

GENERATOR_THREADS = 3  # threads writing a month's measurement batches, spend or forecasts


class Generator:
    """Writes the benchmark's history through the application's use cases, month by month."""

    def __init__(self, app: ValuetrailApplication, sizes: Sizes, seed: int = 7) -> None:
        self.app = app
        self.sizes = sizes
        self.random = random.Random(seed)
        self.months = months_back(sizes.months, datetime.now(UTC).date())
        self.history = History()
        self.status: dict[UUID, str] = {}
        self.goals: list[UUID] = []
        self.lock = threading.Lock()

    def noise(self, spread: float = 0.15) -> Decimal:
        """A factor near 1."""
        return Decimal(str(round(1 + self.random.uniform(-spread, spread), 3)))

    def call(self, *use_case: Any, **kwargs: Any) -> Any:
        """Run a use case (optionally preceded by the name to count it under), counting it."""
        name, func, *args = use_case if isinstance(use_case[0], str) else ("", *use_case)
        with self.lock:
            self.history.calls[name or func.__name__] += 1
        return func(*args, **kwargs)

    def later(self, *use_case: Any, **kwargs: Any) -> Callable[[], Any]:
        """A use case call to run with others (`concurrently`)."""
        return functools.partial(self.call, *use_case, **kwargs)

    def concurrently(self, calls: list[Callable[[], Any]]) -> None:
        """Run calls on disjoint aggregates in GENERATOR_THREADS threads; the first error raises.

        The client mostly waits on the store's round trips, so a few threads overlap them.
        """
        with ThreadPoolExecutor(GENERATOR_THREADS) as pool:
            for _ in pool.map(lambda c: c(), calls):
                pass

    def run(self) -> History:
        """The whole history: the valued portfolio month by month, then the top-up."""
        started = time.perf_counter()
        self.history.started = datetime.now(UTC)
        self.portfolio()
        for k in range(len(self.months)):
            self.month(k)
        self.history.finished = datetime.now(UTC)
        self.top_up()
        self.history.seconds = time.perf_counter() - started
        self.history.head = self.app.head_position()
        return self.history

    # -- the valued portfolio ------------------------------------------------------------------

    def portfolio(self) -> None:
        first = self.months[0]
        portfolio = self.call(
            self.app.create_portfolio,
            name="Benchmark transformation portfolio",
            currency="GBP",
            discount_rate="0.035",
            base_month=first,
            meta=PMO,
        ).value
        self.history.portfolio_id = portfolio.id
        for title, weight in GOALS:
            goal = self.call(
                self.app.add_goal,
                portfolio.id,
                title=title,
                description=f"{title}.",
                weight=weight,
                meta=BOARD,
            ).value
            self.goals.append(goal["goal_id"])
        per = self.sizes.benefits // self.sizes.initiatives
        for n in range(self.sizes.initiatives):
            initiative_id = self.initiative(n)
            for b in range(per):
                self.benefit(n * per + b, initiative_id)
            self.decide(initiative_id, "invest", 0, "Business case approved at gateway 2.")

    def initiative(self, n: int) -> UUID:
        assert self.history.portfolio_id is not None
        first = self.months[0]
        programme = n % 25 == 0
        parent = None
        if not programme:
            parent = self.history.initiatives[(n // 25) * 25] if n % 3 == 0 else None
        start = month_add(first, n % 6)
        end = month_add(first, 36 + n % 24)
        initiative = self.call(
            self.app.propose_initiative,
            portfolio_id=self.history.portfolio_id,
            kind="programme" if programme else "project",
            name=f"Initiative {n:03d}",
            sponsor=f"Director {n % 17}",
            leader=f"Lead {n % 41}",
            start_month=start,
            end_month=end,
            confidence=str(round(self.random.uniform(0.5, 0.95), 2)),
            parent_id=parent,
            meta=PMO,
        ).value
        self.history.initiatives.append(initiative.id)
        rate = Decimal(self.random.randrange(20, 400)) * 1000
        periods = {
            month_add(start, k): rate for k in range(max(0, 12 * (int(end[:4]) - int(start[:4]))))
        }
        self.call(
            self.app.revise_cost_forecast,
            initiative.id,
            periods=periods,
            reason="Business case cost profile.",
            meta=PMO,
        )
        self.status[initiative.id] = "proposed"
        return UUID(str(initiative.id))

    def benefit(self, number: int, initiative_id: UUID) -> None:
        category, measure, scale = ARCHETYPES[number % len(ARCHETYPES)]
        contributions: list[dict[str, Any]] = []
        if number % 10 == 9 and len(self.history.initiatives) > 1:
            other = self.history.initiatives[-2]
            contributions = [
                {"initiative_id": initiative_id, "share": "0.6"},
                {"initiative_id": other, "share": "0.4"},
            ]
        level = measure["kind"] == "level"
        benefit = self.call(
            self.app.identify_benefit,
            initiative_id=initiative_id,
            title=f"Benefit {number:04d}",
            category=category,
            owner=f"Owner {number % 97}",
            goal_id=self.goals[number % len(self.goals)],
            measure=measure,
            disbenefit=number % 20 == 19,
            baseline={"value": str(scale) if level else "0", "as_of": day_of(self.months[0])},
            target={"value": str(scale * 2), "by_month": self.months[-1]},
            contributions=contributions,
            meta=PMO,
        ).value
        planned = Planned(benefit.id, number, Decimal(scale) * self.noise(0.3), measure["kind"])
        self.history.benefits.append(planned)
        self.forecast(planned, 0, "Benefits profile from the business case.")()

    def forecast(self, planned: Planned, from_month: int, reason: str) -> Callable[[], Any]:
        """A benefit forecast revision: 48 months from `from_month`, to run later."""
        periods = {
            month_add(self.months[0], k): (planned.scale * self.noise()).quantize(Decimal("0.01"))
            for k in range(from_month, from_month + 48)
        }
        return self.later(
            self.app.revise_benefit_forecast,
            planned.benefit_id,
            periods=periods,
            reason=reason,
            meta=PMO,
        )

    def decide(self, initiative_id: UUID, decision: str, k: int, rationale: str) -> None:
        recorded = self.call(
            self.app.record_decision,
            initiative_id,
            decision=decision,
            rationale=rationale,
            decided_by="Investment board",
            decided_on=day_of(self.months[k], 20),
            evidence_refs=[f"board-pack-{self.months[k]}.pdf"],
            meta=BOARD,
        ).value
        self.status[initiative_id] = recorded["to_status"]

    def month(self, k: int) -> None:
        """Everything that happens in month k: measurements, spend, revisions, decisions."""
        month = self.months[k]
        items = [
            {
                "benefit_id": b.benefit_id,
                "value": (b.scale * self.noise()).quantize(Decimal("0.01")),
                "observed_on": day_of(month, 1 + b.number % 28),
                "source": "finance-feed",
                "external_id": f"feed-{b.number}-{month}",
            }
            for b in self.history.benefits
        ]
        self.concurrently(
            [
                self.later(
                    self.app.record_measurements,
                    items[start : start + self.sizes.batch],
                    meta=FEED,
                )
                for start in range(0, len(items), self.sizes.batch)
            ]
        )
        if k % 3 == 2:
            self.spend(k)
        if k >= 12:
            self.concurrently(
                [
                    self.forecast(b, k, f"Quarterly benefits review {month}.")
                    for b in self.history.benefits
                    if b.number % 12 == k % 12
                ]
            )
        initiatives = self.history.initiatives
        if k in (12, 24):
            for n, ident in enumerate(initiatives):
                if n % 4 == k // 12 and self.status[ident] == "active":
                    self.decide(ident, "continue", k, "Annual review: on track, continue.")
        if k == 18:
            for n, ident in enumerate(initiatives):
                if n % 2 == 0:
                    self.call(
                        self.app.revise_cost_forecast,
                        ident,
                        periods={month_add(month, j): Decimal(90_000) for j in range(24)},
                        reason="Re-plan after the mid-point review.",
                        meta=PMO,
                    )
        if k == len(self.months) - 6:
            for n, ident in enumerate(initiatives):
                if n % 20 == 7 and self.status[ident] == "active":
                    self.decide(ident, "stop", k, "Benefits no longer credible; stop.")

    def spend(self, k: int) -> None:
        """The quarter's spend from the ledger, for every active initiative."""
        month = self.months[k]
        calls = []
        for ident in self.history.initiatives:
            if self.status[ident] != "active":
                continue
            amount = (Decimal(250_000) * self.noise(0.2)).quantize(Decimal("0.01"))
            calls.append(
                self.later(
                    self.app.record_spend,
                    ident,
                    month=month,
                    amount=amount,
                    source="ledger",
                    external_id=f"ledger-{ident}-{month}",
                    meta=FEED,
                )
            )
        self.concurrently(calls)

    # -- the top-up ----------------------------------------------------------------------------

    def top_up(self) -> None:
        """Another portfolio's daily operational measurements, until the log has `events`."""
        head = self.app.head_position()
        if head >= self.sizes.events:
            return
        portfolio = self.app.create_portfolio(
            name="Operations portfolio",
            currency="GBP",
            discount_rate="0.035",
            base_month=self.months[0],
            meta=PMO,
        ).value
        initiative = self.app.propose_initiative(
            portfolio_id=portfolio.id,
            kind="project",
            name="Service operations",
            sponsor="COO",
            start_month=self.months[0],
            end_month=month_add(self.months[-1], 12),
            confidence="0.9",
            meta=PMO,
        ).value
        benefits = [
            self.app.identify_benefit(
                initiative_id=initiative.id,
                title=f"Operational KPI {n}",
                category="quantitative",
                owner="Ops",
                measure={"name": f"kpi {n}", "unit": "tickets", "kind": "flow"},
                baseline={"value": "0", "as_of": day_of(self.months[0])},
                meta=OPS,
            ).value.id
            for n in range(50)
        ]
        self.history.calls["top-up setup"] += 52
        day = 0
        while (left := self.sizes.events - self.app.head_position()) > 0:
            count = min(self.sizes.batch, max(1, left // 2))
            items = []
            for _ in range(count):
                benefit = benefits[day % len(benefits)]
                observed = date.fromordinal(day_of(self.months[0], 1).toordinal() + day // 50)
                items.append(
                    {
                        "benefit_id": benefit,
                        "value": Decimal(self.random.randrange(10, 500)),
                        "observed_on": observed,
                        "source": "ops-feed",
                        "external_id": f"ops-{day}",
                    }
                )
                day += 1
            self.call(
                "record_measurements (top-up)",
                self.app.record_measurements,
                items,
                meta=OPS,
            )
