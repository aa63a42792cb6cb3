"""The Initiative aggregate: a programme, project, product or service and its decisions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.clock import SharedClock

# The decision rules are re-exported: callers read them with the aggregate.
from domain.decisions import STATUSES as STATUSES
from domain.decisions import TRANSITIONS as TRANSITIONS
from domain.decisions import allowed_decisions as allowed_decisions
from domain.decisions import check_decision_dates
from domain.errors import InvalidTransitionError, RuleViolationError, ValidationError
from domain.months import check_month, month_of, months_between
from domain.values import (
    DECISIONS,
    INITIATIVE_KINDS,
    Meta,
    amount,
    choice,
    fte_map,
    periods,
    probability,
    text,
)


def _months(start: str, end: str) -> None:
    check_month(start, "start_month")
    check_month(end, "end_month")
    if months_between(start, end) < 0:
        raise ValidationError("must not be before start_month", "end_month")


class Initiative(Aggregate):
    """An investment the board decides on: proposed, invested in, reshaped, stopped, completed."""

    TOPIC = "valuetrail.initiative.Initiative.v1"
    INITIAL_VERSION = 0

    class Event(SharedClock, Aggregate.Event):
        """Base of this aggregate's events: stamped with the transaction's instant."""

    class Created(Aggregate.Created):
        """Base of the creation event (never stored under this name)."""

        TOPIC = "valuetrail.initiative.Created.v1"

    @classmethod
    def propose(
        cls,
        *,
        portfolio_id: UUID,
        kind: str,
        parent_id: UUID | None,
        name: str,
        description: str,
        sponsor: str,
        leader: str | None,
        start_month: str,
        end_month: str,
        confidence: object,
        mandatory: bool,
        depends_on: list[UUID],
        people_demand: dict[str, object],
        meta: Meta,
    ) -> Initiative:
        """Validate and record a new proposal."""
        _months(start_month, end_month)
        if len(set(depends_on)) != len(depends_on):
            raise ValidationError("lists an initiative twice", "depends_on")
        return cls(
            portfolio_id=portfolio_id,
            kind=choice(kind, INITIATIVE_KINDS, "kind"),
            parent_id=parent_id,
            name=text(name, "name", limit=300),
            description=text(description, "description", required=False),
            sponsor=text(sponsor, "sponsor", limit=300),
            leader=text(leader, "leader", required=False, limit=300) or None,
            start_month=start_month,
            end_month=end_month,
            confidence=probability(confidence, "confidence"),
            mandatory=bool(mandatory),
            depends_on=list(depends_on),
            people_demand=fte_map(people_demand, "people_demand"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("Proposed", topic="valuetrail.initiative.Proposed.v1")
    def __init__(
        self,
        portfolio_id: UUID,
        kind: str,
        parent_id: UUID | None,
        name: str,
        description: str,
        sponsor: str,
        leader: str | None,
        start_month: str,
        end_month: str,
        confidence: Decimal,
        mandatory: bool,
        depends_on: list[UUID],
        people_demand: dict[str, Decimal],
        actor: str,
        request_id: str,
    ) -> None:
        self.portfolio_id = portfolio_id
        self.kind = kind
        self.parent_id = parent_id
        self.name = name
        self.description = description
        self.sponsor = sponsor
        self.leader = leader
        self.start_month = start_month
        self.end_month = end_month
        self.confidence = confidence
        self.mandatory = mandatory
        self.depends_on = list(depends_on)
        self.people_demand = dict(people_demand)
        self.status = "proposed"
        self.cost_forecast: dict[str, Decimal] = {}
        self.cost_forecast_revision = 0
        self.spend_to_date = Decimal(0)
        self.spend_by_month: dict[str, Decimal] = {}
        self.decisions: list[dict[str, Any]] = []
        self.lessons: list[dict[str, Any]] = []
        self.contingency: dict[str, str] | None = None
        self.stopped_month: str | None = None

    # -- details ---------------------------------------------------------------------------

    def revise_details(self, *, changes: dict[str, Any], reason: str, meta: Meta) -> None:
        """Change any of name, description, months, dependencies, people demand, mandatory."""
        allowed = {
            "name",
            "description",
            "start_month",
            "end_month",
            "depends_on",
            "people_demand",
            "mandatory",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationError(f"cannot be revised here: {', '.join(sorted(unknown))}")
        if not changes:
            raise ValidationError("give at least one field to revise")
        clean: dict[str, Any] = {}
        if "name" in changes:
            clean["name"] = text(changes["name"], "name", limit=300)
        if "description" in changes:
            clean["description"] = text(changes["description"], "description", required=False)
        start = changes.get("start_month", self.start_month)
        end = changes.get("end_month", self.end_month)
        if "start_month" in changes or "end_month" in changes:
            _months(start, end)
            clean.update({k: changes[k] for k in ("start_month", "end_month") if k in changes})
        if "depends_on" in changes:
            deps = list(changes["depends_on"])
            if self.id in deps:
                raise ValidationError("an initiative cannot depend on itself", "depends_on")
            if len(set(deps)) != len(deps):
                raise ValidationError("lists an initiative twice", "depends_on")
            clean["depends_on"] = deps
        if "people_demand" in changes:
            clean["people_demand"] = fte_map(changes["people_demand"], "people_demand")
        if "mandatory" in changes:
            clean["mandatory"] = bool(changes["mandatory"])
        self._details_revised(
            changes=clean,
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("DetailsRevised", topic="valuetrail.initiative.DetailsRevised.v1")
    def _details_revised(
        self, changes: dict[str, Any], reason: str, actor: str, request_id: str
    ) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def revise_cost_forecast(self, *, periods_: dict[str, object], reason: str, meta: Meta) -> int:
        """Record a new cost forecast revision; returns its number."""
        self._check_open("revise the cost forecast of")
        revision = self.cost_forecast_revision + 1
        self._cost_forecast_revised(
            revision=revision,
            periods=periods(periods_),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )
        return revision

    @event("CostForecastRevised", topic="valuetrail.initiative.CostForecastRevised.v1")
    def _cost_forecast_revised(
        self, revision: int, periods: dict[str, Decimal], reason: str, actor: str, request_id: str
    ) -> None:
        self.cost_forecast = dict(periods)
        self.cost_forecast_revision = revision

    def record_spend(
        self,
        *,
        spend_id: UUID,
        month: str,
        amount_: object,
        source: str,
        external_id: str | None,
        meta: Meta,
    ) -> None:
        """Record actual spend in a month."""
        self._spend_recorded(
            spend_id=spend_id,
            month=check_month(month, "month"),
            amount=amount(amount_, "amount"),
            source=text(source, "source", limit=200),
            external_id=external_id,
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("SpendRecorded", topic="valuetrail.initiative.SpendRecorded.v1")
    def _spend_recorded(
        self,
        spend_id: UUID,
        month: str,
        amount: Decimal,
        source: str,
        external_id: str | None,
        actor: str,
        request_id: str,
    ) -> None:
        self.spend_to_date += amount
        self.spend_by_month[month] = self.spend_by_month.get(month, Decimal(0)) + amount

    def assess_confidence(self, *, confidence: object, reason: str, meta: Meta) -> None:
        """Record a new probability of delivering."""
        self._confidence_assessed(
            confidence=probability(confidence, "confidence"),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("ConfidenceAssessed", topic="valuetrail.initiative.ConfidenceAssessed.v1")
    def _confidence_assessed(
        self, confidence: Decimal, reason: str, actor: str, request_id: str
    ) -> None:
        self.confidence = confidence

    def assign_leader(self, *, leader: str, reason: str, meta: Meta) -> None:
        """Hand the initiative to a new leader."""
        self._leader_assigned(
            leader=text(leader, "leader", limit=300),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("LeaderAssigned", topic="valuetrail.initiative.LeaderAssigned.v1")
    def _leader_assigned(self, leader: str, reason: str, actor: str, request_id: str) -> None:
        self.leader = leader

    # -- decisions -------------------------------------------------------------------------

    def check_decision(self, decision: str) -> str:
        """The status the decision leads to, or InvalidTransitionError."""
        choice(decision, DECISIONS, "decision")
        to_status = TRANSITIONS[self.status].get(decision)
        if to_status is None:
            raise InvalidTransitionError(self.status, decision, allowed_decisions(self.status))
        return to_status

    def record_decision(
        self,
        *,
        decision: str,
        rationale: str,
        reason_code: str | None,
        decided_by: str,
        decided_on: date,
        conditions: str | None,
        delay_until: str | None,
        next_review_on: date | None,
        evidence_refs: list[str],
        scenario_id: UUID | None,
        evidence: dict[str, Any],
        log_position: int,
        meta: Meta,
    ) -> UUID:
        """Record a board decision with the evidence captured by the application."""
        text(rationale, "rationale")
        check_decision_dates(decision, decided_on, delay_until, next_review_on)
        to_status = self.check_decision(decision)
        decision_id = uuid4()
        self._decision_recorded(
            decision_id=decision_id,
            decision=decision,
            rationale=rationale,
            reason_code=text(reason_code, "reason_code", required=False, limit=100) or None,
            decided_by=text(decided_by, "decided_by", limit=300),
            decided_on=decided_on,
            conditions=text(conditions, "conditions", required=False) or None,
            delay_until=delay_until,
            next_review_on=next_review_on,
            evidence_refs=[text(ref, "evidence_refs", limit=2000) for ref in evidence_refs],
            scenario_id=scenario_id,
            from_status=self.status,
            to_status=to_status,
            evidence=evidence,
            log_position=log_position,
            actor=meta.actor,
            request_id=meta.request_id,
        )
        return decision_id

    @event("DecisionRecorded", topic="valuetrail.initiative.DecisionRecorded.v1")
    def _decision_recorded(
        self,
        decision_id: UUID,
        decision: str,
        rationale: str,
        reason_code: str | None,
        decided_by: str,
        decided_on: date,
        conditions: str | None,
        delay_until: str | None,
        next_review_on: date | None,
        evidence_refs: list[str],
        scenario_id: UUID | None,
        from_status: str,
        to_status: str,
        evidence: dict[str, Any],
        log_position: int,
        actor: str,
        request_id: str,
    ) -> None:
        self.status = to_status
        if to_status == "stopped":
            self.stopped_month = month_of(decided_on)
        self.decisions.append(
            {"decision_id": decision_id, "decision": decision, "version": self.version}
        )

    # -- learning --------------------------------------------------------------------------

    def record_lesson(self, *, lesson_text: str, category: str, meta: Meta) -> UUID:
        """Record a lesson learned."""
        lesson_id = uuid4()
        self._lesson_recorded(
            lesson_id=lesson_id,
            text=text(lesson_text, "text"),
            category=text(category, "category", limit=100),
            actor=meta.actor,
            request_id=meta.request_id,
        )
        return lesson_id

    @event("LessonRecorded", topic="valuetrail.initiative.LessonRecorded.v1")
    def _lesson_recorded(
        self, lesson_id: UUID, text: str, category: str, actor: str, request_id: str
    ) -> None:
        self.lessons.append({"lesson_id": lesson_id, "text": text, "category": category})

    def set_contingency_plan(self, *, plan: str, trigger: str, meta: Meta) -> None:
        """Set plan B and what triggers it."""
        self._contingency_plan_set(
            plan=text(plan, "plan"),
            trigger=text(trigger, "trigger"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("ContingencyPlanSet", topic="valuetrail.initiative.ContingencyPlanSet.v1")
    def _contingency_plan_set(self, plan: str, trigger: str, actor: str, request_id: str) -> None:
        self.contingency = {"plan": plan, "trigger": trigger}

    def _check_open(self, what: str) -> None:
        if self.status == "stopped":
            raise RuleViolationError(f"cannot {what} an initiative that is stopped")
