"""A random, valid history written one use case at a time, with the instant after each write."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.initiative import allowed_decisions
from domain.months import add_months, month_of, utc_now
from domain.values import Meta
from tests.integration.history_choices import Chooser, Choosing, T

BOARD = Meta(actor="board", request_id="req-board")
FEED = Meta(actor="finance-feed", request_id="req-feed")
OPERATIONS = (
    "benefit_forecast",
    "benefit_forecast",
    "cost_forecast",
    "decision",
    "decision",
    "measure",
    "measure",
    "batch",
    "correct",
    "attribution",
    "spend",
    "confidence",
    "baseline",
    "goal_add",
    "goal_revise",
    "goal_retire",
    "rename",
    "identify",
    "close",
)
SHARES = ("0.25", "0.3", "0.4", "0.5", "0.6", "0.75")


@dataclass
class History(Choosing):
    """A random history being written, and the instant after each of its writes."""

    app: ValuetrailApplication
    chooser: Chooser
    today: date = field(default_factory=lambda: utc_now().date())
    instants: list[datetime] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    portfolio_id: UUID | None = None
    currency: str = "GBP"
    goals: list[UUID] = field(default_factory=list)
    initiatives: list[UUID] = field(default_factory=list)
    benefits: dict[UUID, str] = field(default_factory=dict)  # id -> measure kind
    closed: set[UUID] = field(default_factory=set)
    measurements: dict[UUID, list[UUID]] = field(default_factory=dict)
    serial: int = 0

    # -- choices ---------------------------------------------------------------------------

    def contributions(self) -> list[dict[str, Any]]:
        roll = self.chooser.integer(0, 99)
        if roll < 35 and len(self.initiatives) >= 2:
            first = self.pick(self.initiatives)
            second = self.pick([i for i in self.initiatives if i != first])
            a = Decimal(self.pick(SHARES))
            b = Decimal(self.pick([s for s in SHARES if Decimal(s) <= 1 - a]))
            return [{"initiative_id": first, "share": a}, {"initiative_id": second, "share": b}]
        if roll < 50:
            return [{"initiative_id": self.pick(self.initiatives), "share": self.pick(SHARES)}]
        return []

    def active_benefits(self) -> list[UUID]:
        return [b for b in self.benefits if b not in self.closed]

    # -- writes ----------------------------------------------------------------------------

    def write(self, what: str, action: Callable[[], T]) -> T:
        """Run one use case, then capture the instant just after it."""
        result = action()
        self.instants.append(datetime.now(UTC))
        self.log.append(f"#{len(self.instants) - 1}: {what}")
        time.sleep(0.001)
        return result

    def build(self) -> None:
        app = self.app
        self.currency = self.pick(["GBP", "EUR"])
        rate = self.number(0, 120, 0).scaleb(-3)
        base = self.month(-30, 6)
        green, amber = self.pick([("90", "75"), ("100", "50"), ("80", "80")])
        self.portfolio_id = self.write(
            f"portfolio {self.currency} rate={rate} base={base} rag={green}/{amber}",
            lambda: (
                app.create_portfolio(
                    name="Portfolio",
                    currency=self.currency,
                    discount_rate=rate,
                    base_month=base,
                    rag_green=green,
                    rag_amber=amber,
                    meta=BOARD,
                ).value.id
            ),
        )
        for _ in range(self.chooser.integer(0, 2)):
            self.add_goal()
        for _ in range(self.chooser.integer(2, 4)):
            self.propose()
        for _ in range(self.chooser.integer(2, 4)):
            self.identify()
        for _ in range(self.chooser.integer(15, 40)):
            self.operate(self.pick(OPERATIONS))

    def propose(self) -> None:
        n = len(self.initiatives)
        kind = self.pick(["programme", "project", "product", "service"])
        confidence = self.number(0, 1)
        start, end = self.month(-12, 0), self.month(1, 24)
        pid = self.pid
        initiative = self.write(
            f"initiative I{n} {kind} confidence={confidence}",
            lambda: (
                self.app.propose_initiative(
                    portfolio_id=pid,
                    kind=kind,
                    name=f"Initiative {n}",
                    sponsor="CFO",
                    start_month=start,
                    end_month=end,
                    confidence=confidence,
                    meta=BOARD,
                ).value.id
            ),
        )
        self.initiatives.append(initiative)

    @property
    def pid(self) -> UUID:
        """The portfolio's id, once created."""
        assert self.portfolio_id is not None
        return self.portfolio_id

    def add_goal(self) -> None:
        pid = self.pid
        self.serial += 1
        title, weight = f"Goal {self.serial}", self.chooser.integer(1, 5)
        goal = self.write(
            f"goal {title} weight={weight}",
            lambda: (
                self.app.add_goal(pid, title=title, description="", weight=weight, meta=BOARD).value
            ),
        )
        self.goals.append(goal["goal_id"])

    def identify(self) -> None:
        n = len(self.benefits)
        accountable = self.pick(self.initiatives)
        kind = self.pick(["flow", "level"])
        in_currency = self.chance(50)
        unit = self.currency if in_currency else self.pick(["hours", "points"])
        vpu: Decimal | None = None
        if (in_currency and self.chance(20)) or (not in_currency and self.chance(75)):
            vpu = self.number(0, 50)
        measure = {
            "name": f"measure {n}",
            "unit": unit,
            "kind": kind,
            "direction": self.pick(["increase", "decrease"]),
            "value_per_unit": vpu,
        }
        baseline = self.number(-50, 200, 1) if kind == "level" else Decimal(0)
        target = None
        if self.chance(60):
            target = {"value": self.number(-50, 400, 1), "by_month": self.month(0, 24)}
        goal = self.pick(self.goals) if self.goals and self.chance(60) else None
        category = self.pick(["cashable", "non_cashable", "quantitative", "qualitative"])
        disbenefit = self.chance(20)
        contributions = self.contributions()
        label = self.label(accountable)
        benefit = self.write(
            f"benefit B{n} of {label} {category} disbenefit={disbenefit} measure={measure}"
            f" baseline={baseline} target={target} goal={goal} contributions={contributions}",
            lambda: (
                self.app.identify_benefit(
                    initiative_id=accountable,
                    title=f"Benefit {n}",
                    category=category,
                    owner="Owner",
                    measure=measure,
                    baseline={"value": baseline, "as_of": self.today},
                    target=target,
                    disbenefit=disbenefit,
                    goal_id=goal,
                    contributions=contributions,
                    meta=BOARD,
                ).value.id
            ),
        )
        self.benefits[benefit] = kind
        self.measurements[benefit] = []

    def label(self, ident: UUID) -> str:
        if ident in self.initiatives:
            return f"I{self.initiatives.index(ident)}"
        if ident in self.benefits:
            return f"B{list(self.benefits).index(ident)}"
        return str(ident)

    def measurement_item(self, benefit: UUID, month: str) -> dict[str, Any]:
        self.serial += 1
        kind = self.benefits[benefit]
        value = self.number(-50, 400, 1) if kind == "level" else self.number(0, 2000)
        return {
            "benefit_id": benefit,
            "value": value,
            "observed_on": self.day_in(month),
            "source": "feed",
            "external_id": f"x{self.serial}" if self.chance(50) else None,
        }

    def operate(self, operation: str) -> None:
        app = self.app
        active = self.active_benefits()
        if operation == "benefit_forecast" and active:
            b = self.pick(active)
            periods = self.periods(self.benefits[b], 0, 5000)
            self.write(
                f"forecast {self.label(b)} {periods}",
                lambda: app.revise_benefit_forecast(b, periods=periods, reason="r", meta=BOARD),
            )
        elif operation == "cost_forecast":
            open_ = [i for i in self.initiatives if app.get_initiative(i).status != "stopped"]
            if open_:
                i = self.pick(open_)
                periods = self.periods("flow", 0, 20000)
                self.write(
                    f"cost forecast {self.label(i)} {periods}",
                    lambda: app.revise_cost_forecast(i, periods=periods, reason="r", meta=BOARD),
                )
        elif operation == "decision":
            self.decide()
        elif operation == "measure" and active:
            b = self.pick(active)
            item = self.measurement_item(b, self.month(-8, 0))
            outcome = self.write(
                f"measure {self.label(b)} {item['value']} on {item['observed_on']}",
                lambda: (
                    app.record_measurement(
                        b,
                        value=item["value"],
                        observed_on=item["observed_on"],
                        source=item["source"],
                        external_id=item["external_id"],
                        meta=FEED,
                    ).value
                ),
            )
            self.measurements[b].append(outcome.measurement["measurement_id"])
        elif operation == "batch" and active:
            same = self.month(-8, 0) if self.chance(50) else None
            items = [
                self.measurement_item(self.pick(active), same or self.month(-8, 0))
                for _ in range(self.chooser.integer(2, 4))
            ]
            shown = [
                (self.label(i["benefit_id"]), str(i["value"]), i["observed_on"]) for i in items
            ]
            batch = self.write(
                f"batch {shown}", lambda: app.record_measurements(items, meta=FEED).value
            )
            for result in batch.results:
                self.measurements[result["benefit_id"]].append(result["measurement_id"])
        elif operation == "correct":
            measured = [b for b, ids in self.measurements.items() if ids]
            if measured:
                b = self.pick(measured)
                m = self.pick(self.measurements[b])
                kind = self.benefits[b]
                value = self.number(-50, 400, 1) if kind == "level" else self.number(0, 2000)
                position = self.measurements[b].index(m)
                self.write(
                    f"correct {self.label(b)} measurement #{position} to {value}",
                    lambda: app.correct_measurement(b, m, value=value, reason="r", meta=FEED),
                )
        elif operation == "attribution":
            b = self.pick(list(self.benefits))
            contributions = self.contributions()
            claims = [(self.label(c["initiative_id"]), str(c["share"])) for c in contributions]
            self.write(
                f"attribution {self.label(b)} {claims}",
                lambda: app.change_attribution(
                    b, contributions=contributions, reason="r", meta=BOARD
                ),
            )
        elif operation == "spend":
            i = self.pick(self.initiatives)
            month, amount = self.month(-8, 0), self.number(0, 5000)
            self.write(
                f"spend {self.label(i)} {amount} in {month}",
                lambda: app.record_spend(i, month=month, amount=amount, source="ledger", meta=FEED),
            )
        elif operation == "confidence":
            i = self.pick(self.initiatives)
            confidence = self.number(0, 1)
            self.write(
                f"confidence {self.label(i)} {confidence}",
                lambda: app.assess_confidence(i, confidence=confidence, reason="r", meta=BOARD),
            )
        elif operation == "baseline":
            b = self.pick(list(self.benefits))
            value = self.number(-50, 200, 1)
            self.write(
                f"baseline {self.label(b)} {value}",
                lambda: app.revise_baseline(
                    b, value=value, as_of=self.today, reason="r", meta=BOARD
                ),
            )
        elif operation == "goal_add" and len(self.goals) < 3:
            self.add_goal()
        elif operation == "goal_revise" and self.goals:
            goal, weight = self.pick(self.goals), self.number(1, 5, 1)
            pid = self.pid
            self.write(
                f"revise goal {goal} weight={weight}",
                lambda: app.revise_goal(
                    pid, goal, title=f"Goal w{weight}", weight=weight, reason="r", meta=BOARD
                ),
            )
        elif operation == "rename":
            i = self.pick(self.initiatives)
            self.serial += 1
            name = f"Initiative r{self.serial}"
            self.write(
                f"rename {self.label(i)} {name}",
                lambda: app.revise_initiative(i, changes={"name": name}, reason="r", meta=BOARD),
            )
        elif operation == "identify" and len(self.benefits) < 5:
            self.identify()
        elif operation == "goal_retire" and self.goals and self.chance(50):
            goal = self.goals.pop(self.chooser.integer(0, len(self.goals) - 1))
            pid = self.pid
            self.write(
                f"retire goal {goal}",
                lambda: app.retire_goal(pid, goal, reason="r", meta=BOARD),
            )
        elif operation == "close" and active and self.chance(40):
            b = self.pick(active)
            self.closed.add(b)
            self.write(
                f"close {self.label(b)}",
                lambda: app.close_benefit(b, reason="r", meta=BOARD),
            )

    def decide(self) -> None:
        app = self.app
        options = []
        for i in self.initiatives:
            status = app.get_initiative(i).status
            if allowed_decisions(status):
                options.append((i, status))
        if not options:
            return
        i, status = self.pick(options)
        allowed = allowed_decisions(status)
        decision = "invest" if status == "proposed" and self.chance(60) else self.pick(allowed)
        decided_on = self.day_in(self.month(-10, 3), past=False)
        delay_until = None
        if decision == "delay":
            delay_until = add_months(month_of(decided_on), self.chooser.integer(1, 6))
        self.write(
            f"decide {self.label(i)} {decision} on {decided_on}",
            lambda: app.record_decision(
                i,
                decision=decision,
                rationale="Board",
                decided_by="Board",
                decided_on=decided_on,
                delay_until=delay_until,
                meta=BOARD,
            ),
        )
