"""Benefit use cases: identification, forecasts, attribution, ownership, closing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.application.core import ApplicationCore
from domain.application.idempotency import Idempotency
from domain.application.records import Written
from domain.application.unit_of_work import COMMUTING
from domain.benefit import Benefit
from domain.errors import (
    NotFoundError,
    ValidationError,
)
from domain.index import Index, benefits_of, index_id
from domain.initiative import Initiative
from domain.portfolio import Portfolio
from domain.values import Meta


class BenefitUseCases(ApplicationCore):
    """Benefit use cases: identification, forecasts, attribution, ownership, closing."""

    # -- benefits --------------------------------------------------------------------------

    def _link(
        self,
        initiative_ids: Sequence[UUID],
        benefit_id: UUID,
        meta: Meta,
        *,
        unlink: Sequence[UUID] = (),
    ) -> list[Index]:
        changed = []
        for initiative_id, add in [
            *((i, True) for i in initiative_ids),
            *((i, False) for i in unlink),
        ]:
            name = benefits_of(initiative_id)
            index = self._find(Index, index_id(name)) or Index.open(name, meta)
            if add:
                index.add(benefit_id, meta)
            else:
                index.remove(benefit_id, meta)
            changed.append(index)
        return changed

    def _check_contributions(
        self, portfolio_id: UUID, contributions: Sequence[Mapping[str, Any]]
    ) -> None:
        ids = [c.get("initiative_id") for c in contributions]
        self._same_portfolio(portfolio_id, [i for i in ids if isinstance(i, UUID)], "contributions")

    def identify_benefit(
        self,
        *,
        initiative_id: UUID,
        title: str,
        category: str,
        owner: str,
        measure: Mapping[str, Any],
        baseline: Mapping[str, Any],
        description: str = "",
        disbenefit: bool = False,
        goal_id: UUID | None = None,
        target: Mapping[str, Any] | None = None,
        contributions: Sequence[Mapping[str, Any]] = (),
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[Benefit]:
        """Identify a benefit an initiative is accountable for."""

        def attempt(_: int) -> tuple[Sequence[Aggregate], Benefit]:
            initiative = self._find(Initiative, initiative_id)
            if initiative is None:
                raise ValidationError(f"initiative {initiative_id} does not exist", "initiative_id")
            portfolio = self._load(Portfolio, initiative.portfolio_id, "portfolio")
            if goal_id is not None:
                try:
                    portfolio.live_goal(goal_id)
                except NotFoundError:
                    raise ValidationError(
                        f"goal {goal_id} is not a live goal of this portfolio", "goal_id"
                    ) from None
            self._check_contributions(portfolio.id, contributions)
            benefit = Benefit.identify(
                portfolio_id=portfolio.id,
                initiative_id=initiative_id,
                title=title,
                description=description,
                category=category,
                disbenefit=disbenefit,
                owner=owner,
                goal_id=goal_id,
                measure=measure,
                baseline=baseline,
                target=target,
                contributions=contributions,
                meta=meta,
            )
            return [benefit, *self._link(benefit.attributed_to, benefit.id, meta)], benefit

        return self._write(attempt, meta=meta, once=once, policy=COMMUTING)

    def revise_benefit_forecast(
        self,
        benefit_id: UUID,
        *,
        periods: Mapping[str, object],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Benefit]:
        """Record a new benefit forecast revision."""

        def change(b: Benefit) -> Benefit:
            b.revise_forecast(periods_=periods, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version
        )

    def change_attribution(
        self,
        benefit_id: UUID,
        *,
        contributions: Sequence[Mapping[str, Any]],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Benefit]:
        """Replace who claims which share of a benefit."""

        def attempt(_: int) -> tuple[Sequence[Aggregate], Benefit]:
            benefit = self._load_for_change(Benefit, benefit_id, "benefit", expected_version)
            self._check_contributions(benefit.portfolio_id, contributions)
            before = set(benefit.attributed_to)
            benefit.change_attribution(contributions=contributions, reason=reason, meta=meta)
            after = benefit.attributed_to
            indexes = self._link(
                after, benefit.id, meta, unlink=[i for i in before if i not in after]
            )
            return [benefit, *indexes], benefit

        return self._write(attempt, meta=meta, what=("benefit", benefit_id))

    def change_owner(
        self,
        benefit_id: UUID,
        *,
        owner: str,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[Benefit]:
        """Hand a benefit to a new owner."""

        def change(b: Benefit) -> Benefit:
            b.change_owner(owner=owner, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def revise_baseline(
        self,
        benefit_id: UUID,
        *,
        value: object,
        as_of: date,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[Benefit]:
        """Revise a benefit's baseline."""

        def change(b: Benefit) -> Benefit:
            b.revise_baseline(value=value, as_of=as_of, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def revise_target(
        self,
        benefit_id: UUID,
        *,
        value: object,
        by_month: str,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[Benefit]:
        """Revise a benefit's target."""

        def change(b: Benefit) -> Benefit:
            b.revise_target(value=value, by_month=by_month, reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def close_benefit(
        self,
        benefit_id: UUID,
        *,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[Benefit]:
        """Close a benefit."""

        def change(b: Benefit) -> Benefit:
            b.close(reason=reason, meta=meta)
            return b

        return self._change_benefit(
            benefit_id, change, meta=meta, expected_version=expected_version, once=once
        )
