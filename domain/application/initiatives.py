"""Initiative use cases: proposals, forecasts, spend, decisions with evidence, learning."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.application.core import ApplicationCore, T
from domain.application.idempotency import Idempotency
from domain.application.records import Written, check_same_figures, decision_record
from domain.application.unit_of_work import COMMUTING, EXCLUSIVE
from domain.errors import ValidationError
from domain.facts import decision_evidence
from domain.index import initiatives_of
from domain.initiative import Initiative
from domain.months import current_month, month_of
from domain.portfolio import Portfolio
from domain.receipt import Receipt, receipt_id
from domain.values import Meta


class InitiativeUseCases(ApplicationCore):
    """Initiative use cases: proposals, forecasts, spend, decisions with evidence, learning."""

    # -- initiatives -----------------------------------------------------------------------

    def propose_initiative(
        self,
        *,
        portfolio_id: UUID,
        kind: str,
        name: str,
        sponsor: str,
        start_month: str,
        end_month: str,
        confidence: object,
        description: str = "",
        parent_id: UUID | None = None,
        leader: str | None = None,
        mandatory: bool = False,
        depends_on: Sequence[UUID] = (),
        people_demand: Mapping[str, object] | None = None,
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[Initiative]:
        """Propose a new initiative in a portfolio."""

        def attempt(_: int) -> tuple[Sequence[Aggregate], Initiative]:
            if self._find(Portfolio, portfolio_id) is None:
                raise ValidationError(f"portfolio {portfolio_id} does not exist", "portfolio_id")
            if parent_id is not None:
                (parent,) = self._same_portfolio(portfolio_id, [parent_id], "parent_id")
                if parent.kind != "programme":
                    raise ValidationError("the parent must be a programme", "parent_id")
            self._same_portfolio(portfolio_id, list(depends_on), "depends_on")
            initiative = Initiative.propose(
                portfolio_id=portfolio_id,
                kind=kind,
                parent_id=parent_id,
                name=name,
                description=description,
                sponsor=sponsor,
                leader=leader,
                start_month=start_month,
                end_month=end_month,
                confidence=confidence,
                mandatory=mandatory,
                depends_on=list(depends_on),
                people_demand=dict(people_demand or {}),
                meta=meta,
            )
            index = self._indexed(initiatives_of(portfolio_id), initiative.id, meta)
            return [initiative, index], initiative

        return self._write(attempt, meta=meta, once=once, policy=COMMUTING)

    def _change_initiative(
        self,
        ident: UUID,
        change: Callable[[Initiative], T],
        *,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
        commuting: bool = False,
        extra: Callable[[], Sequence[Aggregate | None]] | None = None,
    ) -> Written[T]:
        def attempt(_: int) -> tuple[Sequence[Aggregate | None], T]:
            initiative = self._load_for_change(Initiative, ident, "initiative", expected_version)
            result = change(initiative)
            return [initiative, *(extra() if extra else [])], result

        policy = COMMUTING if commuting else EXCLUSIVE
        return self._write(attempt, meta=meta, once=once, policy=policy, what=("initiative", ident))

    def revise_initiative(
        self,
        initiative_id: UUID,
        *,
        changes: dict[str, Any],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Initiative]:
        """Revise an initiative's details."""

        def change(i: Initiative) -> Initiative:
            if "depends_on" in changes:
                self._same_portfolio(i.portfolio_id, list(changes["depends_on"]), "depends_on")
                self._refuse_cycle(i.id, list(changes["depends_on"]), "depends_on")
            i.revise_details(changes=changes, reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version
        )

    def revise_cost_forecast(
        self,
        initiative_id: UUID,
        *,
        periods: Mapping[str, object],
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Initiative]:
        """Record a new cost forecast revision."""

        def change(i: Initiative) -> Initiative:
            i.revise_cost_forecast(periods_=dict(periods), reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version
        )

    def record_spend(
        self,
        initiative_id: UUID,
        *,
        month: str,
        amount: object,
        source: str,
        external_id: str | None = None,
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[dict[str, Any]]:
        """Record actual spend; the same (source, external_id) is stored once."""

        def attempt(_: int) -> tuple[Sequence[Aggregate | None], dict[str, Any]]:
            initiative = self._load(Initiative, initiative_id, "initiative")
            receipt = None
            if external_id:
                spend_id = receipt_id("spend", initiative_id, source, external_id)
                existing = self._find_receipt(spend_id)
                if existing is not None:
                    sent = {"month": month, "amount": amount}
                    check_same_figures("spend", existing.data, sent, ("month", "amount"))
                    return [], dict(existing.data, created=False)
            else:
                spend_id = uuid4()
            initiative.record_spend(
                spend_id=spend_id,
                month=month,
                amount_=amount,
                source=source,
                external_id=external_id,
                meta=meta,
            )
            recorded = initiative.pending_events[-1]
            spend = {
                "spend_id": spend_id,
                "initiative_id": initiative_id,
                "month": month,
                "amount": recorded.amount,  # type: ignore[attr-defined]
                "source": source,
                "external_id": external_id,
                "recorded_at": recorded.timestamp,
            }
            if external_id:
                receipt = Receipt.issue(
                    receipt_id_=spend_id,
                    kind="spend",
                    key=f"{initiative_id}|{source}|{external_id}",
                    subject_id=initiative_id,
                    data=spend,
                    meta=meta,
                )
            return [initiative, receipt], dict(spend, created=True)

        return self._write(
            attempt, meta=meta, once=once, policy=COMMUTING, what=("initiative", initiative_id)
        )

    def assess_confidence(
        self,
        initiative_id: UUID,
        *,
        confidence: object,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[Initiative]:
        """Record a new confidence (probability of delivering)."""

        def change(i: Initiative) -> Initiative:
            i.assess_confidence(confidence=confidence, reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def assign_leader(
        self,
        initiative_id: UUID,
        *,
        leader: str,
        reason: str,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[Initiative]:
        """Assign a new leader."""

        def change(i: Initiative) -> Initiative:
            i.assign_leader(leader=leader, reason=reason, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version, once=once
        )

    def evidence(self, initiative: Initiative, decided_on: date | None = None) -> dict[str, Any]:
        """The initiative's value figures as recorded now, plus the log position.

        "To date" figures run to the month of the decision (a board meeting recorded later is
        judged on the months up to the meeting), never past the current month.
        """
        position = self.head_position()
        now = current_month()
        to_date = now if decided_on is None else min(month_of(decided_on), now)
        portfolio = self._load(Portfolio, initiative.portfolio_id, "portfolio")
        benefits = self.benefits_of(initiative.id)
        evidence = decision_evidence(initiative, benefits, portfolio, to_date)
        return {**evidence, "log_position": position}

    def record_decision(
        self,
        initiative_id: UUID,
        *,
        decision: str,
        rationale: str,
        decided_by: str,
        decided_on: date,
        reason_code: str | None = None,
        conditions: str | None = None,
        delay_until: str | None = None,
        next_review_on: date | None = None,
        evidence_refs: Sequence[str] = (),
        scenario_id: UUID | None = None,
        meta: Meta,
        expected_version: int | None = None,
        once: Idempotency | None = None,
    ) -> Written[dict[str, Any]]:
        """Record a board decision; the evidence is captured here, never taken from the caller."""

        def attempt(_: int) -> tuple[Sequence[Aggregate], dict[str, Any]]:
            initiative = self._load_for_change(
                Initiative, initiative_id, "initiative", expected_version
            )
            initiative.check_decision(decision)
            if scenario_id is not None:
                self._load(Portfolio, initiative.portfolio_id, "portfolio").check_scenario(
                    scenario_id
                )
            evidence = self.evidence(initiative, decided_on)
            initiative.record_decision(
                decision=decision,
                rationale=rationale,
                reason_code=reason_code,
                decided_by=decided_by,
                decided_on=decided_on,
                conditions=conditions,
                delay_until=delay_until,
                next_review_on=next_review_on,
                evidence_refs=list(evidence_refs),
                scenario_id=scenario_id,
                evidence=evidence,
                log_position=evidence["log_position"],
                meta=meta,
            )
            return [initiative], decision_record(initiative.pending_events[-1])

        return self._write(attempt, meta=meta, once=once, what=("initiative", initiative_id))

    def record_lesson(
        self,
        initiative_id: UUID,
        *,
        text: str,
        category: str,
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[dict[str, Any]]:
        """Record a lesson learned."""

        def change(i: Initiative) -> dict[str, Any]:
            lesson_id = i.record_lesson(lesson_text=text, category=category, meta=meta)
            return next(dict(lesson) for lesson in i.lessons if lesson["lesson_id"] == lesson_id)

        return self._change_initiative(initiative_id, change, meta=meta, once=once, commuting=True)

    def set_contingency_plan(
        self,
        initiative_id: UUID,
        *,
        plan: str,
        trigger: str,
        meta: Meta,
        expected_version: int | None = None,
    ) -> Written[Initiative]:
        """Set plan B."""

        def change(i: Initiative) -> Initiative:
            i.set_contingency_plan(plan=plan, trigger=trigger, meta=meta)
            return i

        return self._change_initiative(
            initiative_id, change, meta=meta, expected_version=expected_version
        )
