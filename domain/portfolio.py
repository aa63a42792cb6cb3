"""The Portfolio aggregate: terms of valuation, strategic goals and capacity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.clock import SharedClock
from domain.errors import NotFoundError, ValidationError
from domain.months import check_month
from domain.values import Meta, currency, decimal, fte_map, periods, positive, text


class Portfolio(Aggregate):
    """A set of initiatives valued together, with goals they serve and capacity to fund them."""

    TOPIC = "valuetrail.portfolio.Portfolio.v1"
    INITIAL_VERSION = 0

    class Event(SharedClock, Aggregate.Event):
        """Base of this aggregate's events: stamped with the transaction's instant."""

    @classmethod
    def create(
        cls,
        *,
        name: str,
        currency_code: str,
        discount_rate: object,
        base_month: str,
        rag_green: object = Decimal("90"),
        rag_amber: object = Decimal("75"),
        meta: Meta,
    ) -> Portfolio:
        """Validate and create a portfolio."""
        rate = decimal(discount_rate, "discount_rate")
        if not Decimal("-0.99") < rate <= Decimal(1):
            raise ValidationError(
                "must be an annual rate between -0.99 and 1, e.g. 0.035", "discount_rate"
            )
        green = decimal(rag_green, "rag_green")
        amber = decimal(rag_amber, "rag_amber")
        if not Decimal(0) <= amber <= green <= Decimal(1000):
            raise ValidationError("need 0 <= rag_amber <= rag_green (percent)", "rag_amber")
        return cls(
            name=text(name, "name", limit=200),
            currency=currency(currency_code),
            discount_rate=rate,
            base_month=check_month(base_month, "base_month"),
            rag_green=green,
            rag_amber=amber,
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("Created", topic="valuetrail.portfolio.Created.v1")
    def __init__(
        self,
        name: str,
        currency: str,
        discount_rate: Decimal,
        base_month: str,
        rag_green: Decimal,
        rag_amber: Decimal,
        actor: str,
        request_id: str,
    ) -> None:
        self.name = name
        self.currency = currency
        self.discount_rate = discount_rate
        self.base_month = base_month
        self.rag_green = rag_green
        self.rag_amber = rag_amber
        self.goals: dict[UUID, dict[str, Any]] = {}
        self.budget: dict[str, Decimal] = {}
        self.people: dict[str, Decimal] = {}
        self.scenarios: list[UUID] = []

    # -- goals -----------------------------------------------------------------------------

    def add_goal(self, *, title: str, description: str, weight: object, meta: Meta) -> UUID:
        """Add a strategic goal; returns its id."""
        goal_id = uuid4()
        self._goal_added(
            goal_id=goal_id,
            title=text(title, "title", limit=500),
            description=text(description, "description", required=False),
            weight=positive(weight, "weight"),
            actor=meta.actor,
            request_id=meta.request_id,
        )
        return goal_id

    @event("GoalAdded", topic="valuetrail.portfolio.GoalAdded.v1")
    def _goal_added(
        self,
        goal_id: UUID,
        title: str,
        description: str,
        weight: Decimal,
        actor: str,
        request_id: str,
    ) -> None:
        self.goals[goal_id] = {
            "goal_id": goal_id,
            "title": title,
            "description": description,
            "weight": weight,
            "retired": False,
        }

    def live_goal(self, goal_id: UUID) -> dict[str, Any]:
        """The goal, or NotFoundError when unknown or retired."""
        goal = self.goals.get(goal_id)
        if goal is None or goal["retired"]:
            raise NotFoundError("goal", goal_id)
        return goal

    def revise_goal(
        self,
        goal_id: UUID,
        *,
        title: str | None = None,
        description: str | None = None,
        weight: object = None,
        reason: str,
        meta: Meta,
    ) -> None:
        """Change a goal's title, description or weight, saying why."""
        self.live_goal(goal_id)
        if title is None and description is None and weight is None:
            raise ValidationError("give at least one of title, description, weight")
        self._goal_revised(
            goal_id=goal_id,
            title=None if title is None else text(title, "title", limit=500),
            description=None
            if description is None
            else text(description, "description", required=False),
            weight=None if weight is None else positive(weight, "weight"),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("GoalRevised", topic="valuetrail.portfolio.GoalRevised.v1")
    def _goal_revised(
        self,
        goal_id: UUID,
        title: str | None,
        description: str | None,
        weight: Decimal | None,
        reason: str,
        actor: str,
        request_id: str,
    ) -> None:
        goal = self.goals[goal_id]
        for key, value in (("title", title), ("description", description), ("weight", weight)):
            if value is not None:
                goal[key] = value

    def retire_goal(self, goal_id: UUID, *, reason: str, meta: Meta) -> None:
        """Retire a goal: it stays in history but serves no new benefit."""
        self.live_goal(goal_id)
        self._goal_retired(
            goal_id=goal_id,
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("GoalRetired", topic="valuetrail.portfolio.GoalRetired.v1")
    def _goal_retired(self, goal_id: UUID, reason: str, actor: str, request_id: str) -> None:
        self.goals[goal_id]["retired"] = True

    # -- capacity and scenarios ------------------------------------------------------------

    def set_capacity(
        self, *, budget: dict[str, object], people: dict[str, object], reason: str, meta: Meta
    ) -> None:
        """Replace the budget by month and people capacity by role."""
        self._capacity_set(
            budget=periods(budget, "budget"),
            people=fte_map(people, "people"),
            reason=text(reason, "reason"),
            actor=meta.actor,
            request_id=meta.request_id,
        )

    @event("CapacitySet", topic="valuetrail.portfolio.CapacitySet.v1")
    def _capacity_set(
        self,
        budget: dict[str, Decimal],
        people: dict[str, Decimal],
        reason: str,
        actor: str,
        request_id: str,
    ) -> None:
        self.budget = dict(budget)
        self.people = dict(people)

    def record_scenario(
        self, *, kind: str, parameters: dict[str, Any], result: dict[str, Any], meta: Meta
    ) -> UUID:
        """Store an evaluated what-if scenario so decisions can cite it."""
        if kind not in ("budget_cut", "new_budget"):
            raise ValidationError("must be one of: budget_cut, new_budget", "kind")
        scenario_id = uuid4()
        self._scenario_evaluated(
            scenario_id=scenario_id,
            kind=kind,
            parameters=parameters,
            result=result,
            actor=meta.actor,
            request_id=meta.request_id,
        )
        return scenario_id

    @event("ScenarioEvaluated", topic="valuetrail.portfolio.ScenarioEvaluated.v1")
    def _scenario_evaluated(
        self,
        scenario_id: UUID,
        kind: str,
        parameters: dict[str, Any],
        result: dict[str, Any],
        actor: str,
        request_id: str,
    ) -> None:
        self.scenarios.append(scenario_id)

    def check_scenario(self, scenario_id: UUID) -> None:
        """Raise unless the scenario was evaluated in this portfolio."""
        if scenario_id not in self.scenarios:
            raise ValidationError(
                f"scenario {scenario_id} was not evaluated in this portfolio", "scenario_id"
            )
