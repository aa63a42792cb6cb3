"""A random, valid history written through the application's use cases, for the projector."""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Callable
from datetime import date, timedelta
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.errors import DomainError
from domain.initiative import allowed_decisions
from domain.months import add_months, month_of
from tests.integration.builders import BOARD, FINANCE


class History:
    """A random, valid history written through the application's use cases."""

    def __init__(self, app: ValuetrailApplication, rng: random.Random) -> None:
        self.app = app
        self.rng = rng
        self.portfolios: list[UUID] = []
        self.goals: dict[UUID, list[UUID]] = {}
        self.initiatives: dict[UUID, UUID] = {}  # initiative -> portfolio
        self.benefits: dict[UUID, UUID] = {}  # benefit -> portfolio
        self.measurements: list[tuple[UUID, UUID]] = []  # (benefit, measurement)
        self.numbers = itertools.count(1)

    def step(self) -> None:
        """One use case, chosen among those that make sense now."""
        steps: list[Callable[[], None]] = []
        if len(self.portfolios) < 3:
            steps.append(self.create_portfolio)
        if self.portfolios:
            steps += [self.add_goal, self.propose, self.propose]
        if self.initiatives:
            steps += [self.decide] * 3 + [self.revise_costs, self.spend, self.assess] * 2
            steps += [self.identify] * 2 + [self.learn]
        if self.portfolios:
            steps.append(self.evaluate)
        if self.benefits:
            steps += [self.measure] * 5 + [self.revise_forecast, self.attribute]
        if self.measurements:
            steps += [self.correct] * 2
        # A refusal (a change to a stopped initiative, say) is part of a realistic history.
        with contextlib.suppress(DomainError):
            self.rng.choice(steps)()

    def _day(self) -> date:
        return date(2024, 1, 1) + timedelta(days=self.rng.randrange(540))

    def _initiative(self, portfolio_id: UUID | None = None) -> UUID:
        return self.rng.choice(
            [i for i, p in self.initiatives.items() if portfolio_id in (None, p)]
        )

    def create_portfolio(self) -> None:
        portfolio = self.app.create_portfolio(
            name=f"Portfolio {next(self.numbers)}",
            currency="GBP",
            discount_rate=self.rng.choice(["0.035", "0.05"]),
            base_month="2024-01",
            meta=BOARD,
        ).value
        self.portfolios.append(portfolio.id)
        self.goals[portfolio.id] = []

    def add_goal(self) -> None:
        portfolio_id = self.rng.choice(self.portfolios)
        goal = self.app.add_goal(
            portfolio_id,
            title=f"Goal {next(self.numbers)}",
            description="",
            weight=str(self.rng.randint(1, 3)),
            meta=BOARD,
        ).value
        self.goals[portfolio_id].append(goal["goal_id"])

    def propose(self) -> None:
        portfolio_id = self.rng.choice(self.portfolios)
        initiative = self.app.propose_initiative(
            portfolio_id=portfolio_id,
            kind=self.rng.choice(["project", "product", "service"]),
            name=f"Initiative {next(self.numbers)}",
            sponsor="COO",
            start_month="2024-01",
            end_month=self.rng.choice(["2024-12", "2025-06", "2025-12"]),
            confidence=self.rng.choice(["0.6", "0.8", "0.95"]),
            meta=BOARD,
        ).value
        self.initiatives[initiative.id] = portfolio_id

    def decide(self) -> None:
        initiative_id = self._initiative()
        allowed = allowed_decisions(self.app.get_initiative(initiative_id).status)
        if allowed:
            self._record_decision(initiative_id, self.rng.choice(allowed))

    def learn(self) -> None:
        """A lesson learned on some initiative."""
        self.app.record_lesson(
            self.rng.choice(list(self.initiatives)),
            text=f"Lesson {next(self.numbers)}",
            category=self.rng.choice(("delivery", "benefits")),
            meta=BOARD,
        )

    def evaluate(self) -> None:
        """A downturn scenario stored as evidence in some portfolio."""
        self.app.record_scenario(
            self.rng.choice(self.portfolios),
            kind="budget_cut",
            parameters={"name": f"Cut {next(self.numbers)}", "cut_pct": "10"},
            result={"budget_before": "100.00", "budget_after": "90.00", "initiatives": []},
            meta=BOARD,
        )

    def stop_one(self) -> None:
        """Stop the first initiative that can still be stopped."""
        for initiative_id in self.initiatives:
            if "stop" in allowed_decisions(self.app.get_initiative(initiative_id).status):
                self._record_decision(initiative_id, "stop")
                return

    def _record_decision(self, initiative_id: UUID, decision: str) -> None:
        decided_on = self._day()
        delay = add_months(month_of(decided_on), 3) if decision == "delay" else None
        self.app.record_decision(
            initiative_id,
            decision=decision,
            rationale=f"Board review {next(self.numbers)}",
            decided_by="Investment board",
            decided_on=decided_on,
            delay_until=delay,
            meta=BOARD,
        )

    def revise_costs(self) -> None:
        months = self.rng.sample(["2024-03", "2024-06", "2024-09", "2025-01"], 2)
        self.app.revise_cost_forecast(
            self._initiative(),
            periods={m: str(self.rng.randint(1000, 9000)) for m in months},
            reason="Supplier quote",
            meta=BOARD,
        )

    def spend(self) -> None:
        self.app.record_spend(
            self._initiative(),
            month=month_of(self._day()),
            amount=str(self.rng.randint(100, 5000)),
            source="ledger",
            external_id=self.rng.choice([None, f"inv-{self.rng.randrange(40)}"]),
            meta=FINANCE,
        )

    def assess(self) -> None:
        self.app.assess_confidence(
            self._initiative(),
            confidence=self.rng.choice(["0.5", "0.7", "0.9"]),
            reason="RAID",
            meta=BOARD,
        )

    def identify(self) -> None:
        initiative_id = self._initiative()
        portfolio_id = self.initiatives[initiative_id]
        flow = self.rng.random() < 0.7
        goals = self.goals[portfolio_id]
        benefit = self.app.identify_benefit(
            initiative_id=initiative_id,
            title=f"Benefit {next(self.numbers)}",
            category="cashable" if flow else "quantitative",
            owner="Ops director",
            goal_id=self.rng.choice(goals) if goals and self.rng.random() < 0.7 else None,
            measure={
                "name": "saving" if flow else "satisfaction",
                "unit": "GBP" if flow else "points",
                "kind": "flow" if flow else "level",
                "direction": "increase",
            },
            baseline={"value": "0", "as_of": date(2024, 1, 1)},
            target={"value": "12000", "by_month": "2025-12"},
            meta=BOARD,
        ).value
        self.benefits[benefit.id] = portfolio_id

    def measure(self) -> None:
        benefit_id = self.rng.choice(list(self.benefits))
        items = [
            {
                "benefit_id": benefit_id,
                "value": str(self.rng.randint(10, 900)),
                "observed_on": self._day(),
                "source": self.rng.choice(["ledger", "ops"]),
                # Now and then an id already used: a duplicate, stored once.
                "external_id": f"m-{self.rng.randrange(400)}",
            }
            for _ in range(self.rng.randint(1, 4))
        ]
        outcome = self.app.record_measurements(items, meta=FINANCE).value
        self.measurements += [
            (benefit_id, r["measurement_id"]) for r in outcome.results if r["outcome"] == "created"
        ]

    def correct(self) -> None:
        benefit_id, measurement_id = self.rng.choice(self.measurements)
        self.app.correct_measurement(
            benefit_id,
            measurement_id,
            value=str(self.rng.randint(0, 900)),
            reason="Ledger correction",
            meta=FINANCE,
        )

    def revise_forecast(self) -> None:
        self.app.revise_benefit_forecast(
            self.rng.choice(list(self.benefits)),
            periods={"2024-06": "500", "2025-01": str(self.rng.randint(100, 2000))},
            reason="New model",
            meta=BOARD,
        )

    def attribute(self) -> None:
        benefit_id = self.rng.choice(list(self.benefits))
        portfolio_id = self.benefits[benefit_id]
        first, second = (self._initiative(portfolio_id) for _ in range(2))
        shares = [(first, "0.6"), (second, "0.4")] if first != second else [(first, "1")]
        self.app.change_attribution(
            benefit_id,
            contributions=[{"initiative_id": i, "share": s} for i, s in shares],
            reason="Re-attributed by the board",
            meta=BOARD,
        )
