"""Portfolio use cases: create, goals, capacity, scenarios."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.application.core import ApplicationCore, T
from domain.application.idempotency import Idempotency
from domain.application.records import ScenarioRecord, Written
from domain.application.unit_of_work import COMMUTING
from domain.index import PORTFOLIOS, initiatives_of
from domain.initiative import Initiative
from domain.portfolio import Portfolio
from domain.values import Meta


class PortfolioUseCases(ApplicationCore):
    """Portfolio use cases: create, goals, capacity, scenarios."""

    # -- portfolios ------------------------------------------------------------------------

    def create_portfolio(
        self,
        *,
        name: str,
        currency: str,
        discount_rate: object,
        base_month: str,
        rag_green: object = Decimal("90"),
        rag_amber: object = Decimal("75"),
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[Portfolio]:
        """Create a portfolio."""

        def attempt(_: int) -> tuple[Sequence[Aggregate], Portfolio]:
            portfolio = Portfolio.create(
                name=name,
                currency_code=currency,
                discount_rate=discount_rate,
                base_month=base_month,
                rag_green=rag_green,
                rag_amber=rag_amber,
                meta=meta,
            )
            return [portfolio, self._indexed(PORTFOLIOS, portfolio.id, meta)], portfolio

        return self._write(attempt, meta=meta, once=once, policy=COMMUTING)

    def list_portfolios(self, *, as_of: datetime | None = None) -> list[Portfolio]:
        """Every portfolio, oldest first."""
        return [self.get_portfolio(p, as_of=as_of) for p in self._members(PORTFOLIOS, as_of)]

    def list_initiatives(
        self, portfolio_id: UUID, *, status: str | None = None, as_of: datetime | None = None
    ) -> list[Initiative]:
        """The initiatives of a portfolio, oldest first, optionally of one status."""
        found = [
            self.get_initiative(i, as_of=as_of)
            for i in self._members(initiatives_of(portfolio_id), as_of)
        ]
        return [i for i in found if status is None or i.status == status]

    def _change_portfolio(
        self,
        ident: UUID,
        change: Callable[[Portfolio], T],
        *,
        meta: Meta,
        expected_version: int | None,
        once: Idempotency | None = None,
    ) -> Written[T]:
        def attempt(_: int) -> tuple[Sequence[Aggregate], T]:
            portfolio = self._load_for_change(Portfolio, ident, "portfolio", expected_version)
            return [portfolio], change(portfolio)

        return self._write(attempt, meta=meta, once=once, what=("portfolio", ident))

    def add_goal(
        self,
        portfolio_id: UUID,
        *,
        title: str,
        description: str,
        weight: object,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[dict[str, Any]]:
        """Add a strategic goal to a portfolio; returns the goal."""

        def change(p: Portfolio) -> dict[str, Any]:
            goal_id = p.add_goal(title=title, description=description, weight=weight, meta=meta)
            return dict(p.goals[goal_id])

        return self._change_portfolio(
            portfolio_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def revise_goal(
        self,
        portfolio_id: UUID,
        goal_id: UUID,
        *,
        title: str | None = None,
        description: str | None = None,
        weight: object = None,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[dict[str, Any]]:
        """Revise a goal's title, description or weight."""

        def change(p: Portfolio) -> dict[str, Any]:
            p.revise_goal(
                goal_id,
                title=title,
                description=description,
                weight=weight,
                reason=reason,
                meta=meta,
            )
            return dict(p.goals[goal_id])

        return self._change_portfolio(
            portfolio_id, change, meta=meta, expected_version=expected_version
        )

    def retire_goal(
        self,
        portfolio_id: UUID,
        goal_id: UUID,
        *,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[None]:
        """Retire a goal."""
        return self._change_portfolio(
            portfolio_id,
            lambda p: p.retire_goal(goal_id, reason=reason, meta=meta),
            meta=meta,
            expected_version=expected_version,
        )

    def set_capacity(
        self,
        portfolio_id: UUID,
        *,
        budget: dict[str, object],
        people: dict[str, object],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Portfolio]:
        """Replace a portfolio's budget by month and people by role."""

        def change(p: Portfolio) -> Portfolio:
            p.set_capacity(budget=budget, people=people, reason=reason, meta=meta)
            return p

        return self._change_portfolio(
            portfolio_id, change, meta=meta, expected_version=expected_version
        )

    def record_scenario(
        self,
        portfolio_id: UUID,
        *,
        kind: str,
        parameters: dict[str, Any],
        result: dict[str, Any],
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[ScenarioRecord]:
        """Store an evaluated downturn scenario; the result is what its event records (known
        before the save, so an idempotent request's response can be recorded with it)."""

        def change(p: Portfolio) -> ScenarioRecord:
            scenario_id = p.record_scenario(
                kind=kind, parameters=parameters, result=result, meta=meta
            )
            event: Any = p.pending_events[-1]
            return ScenarioRecord(
                scenario_id, event.kind, event.parameters, event.result, event.timestamp
            )

        return self._change_portfolio(
            portfolio_id, change, meta=meta, expected_version=None, once=once
        )
