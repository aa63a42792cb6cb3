"""The demo's story as data: small frozen records, read from `story.toml` by `demo.parse`.

Month numbers are offsets from the portfolio's base month (0 is the first month of history).
Amounts, shares and factors are `Decimal`; people are FTE by role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

FINANCE_SOURCE = "finance-ledger"
OPS_SOURCE = "ops-dashboard"


@dataclass(frozen=True)
class Goal:
    """A strategic goal and its weight."""

    key: str
    title: str
    description: str
    weight: Decimal


@dataclass(frozen=True)
class CapacityRevision:
    """A later budget: the profile scaled by `budget_factor` from `from_month` on."""

    month: int
    from_month: int
    budget_factor: Decimal
    reason: str


@dataclass(frozen=True)
class Capacity:
    """The budget profile (`budget_by_year`: each month's budget, year by year of the horizon),
    and people by role."""

    budget_by_year: tuple[Decimal, ...]
    people: Mapping[str, Decimal]
    reason: str
    revisions: tuple[CapacityRevision, ...] = ()


@dataclass(frozen=True)
class Initiative:
    """A programme, project, product or service, with its planned cost and people."""

    key: str  # short code, also used in ledger external ids
    kind: str
    name: str
    description: str
    sponsor: str
    proposed: int
    start: int
    end: int
    confidence: Decimal
    monthly_cost: Decimal
    people: Mapping[str, Decimal]
    leader: str | None = None
    parent: str | None = None
    depends_on: tuple[str, ...] = ()
    mandatory: bool = False
    spend_bias: Decimal = Decimal("1.00")  # actual spend / forecast, on average


@dataclass(frozen=True)
class Benefit:
    """A benefit, its measure, its business case (target, ramp) and how it really performs."""

    key: str  # short code, also used in measurement external ids
    initiative: str
    title: str
    description: str
    category: str
    goal: str
    owner: str
    measure: str  # the measure's name
    unit: str
    kind: str  # flow | level
    baseline: Decimal  # level: the level before; flow: 0
    target: Decimal  # level: the level aimed for; flow: the monthly amount at full benefit
    identified: int
    start: int  # first month of improvement
    ramp: int  # months to full benefit
    performance: Decimal  # delivered improvement / forecast improvement
    direction: str = "increase"
    value_per_unit: Decimal | None = None
    disbenefit: bool = False
    until: int | None = None  # last month of a temporary (flow) effect
    places: int = 2

    @property
    def source(self) -> str:
        """Cash benefits come from the finance ledger, everything else from operations."""
        return FINANCE_SOURCE if self.category == "cashable" else OPS_SOURCE

    @property
    def first_measured(self) -> int:
        """Levels are observed from identification (the baseline); flows once they flow."""
        return self.identified if self.kind == "level" else self.start


@dataclass(frozen=True)
class Decision:
    """A board or committee decision; the next review is `review_in` months later, if any."""

    month: int
    initiative: str
    decision: str
    reason_code: str
    rationale: str
    conditions: str | None = None
    delay_until: int | None = None  # a delay's review falls on this month's first day
    review_in: int | None = None
    refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Confidence:
    """A reassessment of an initiative's chance of delivering."""

    month: int
    initiative: str
    confidence: Decimal
    reason: str


@dataclass(frozen=True)
class Leader:
    """A change of leader."""

    month: int
    initiative: str
    leader: str
    reason: str


@dataclass(frozen=True)
class Contingency:
    """Plan B and what triggers it."""

    month: int
    initiative: str
    plan: str
    trigger: str


@dataclass(frozen=True)
class Lesson:
    """A lesson learned."""

    month: int
    initiative: str
    category: str
    text: str


@dataclass(frozen=True)
class CostRevision:
    """A cost re-forecast: the monthly rate scaled by `factor` from `month` on, maybe re-dated."""

    month: int
    initiative: str
    factor: Decimal
    reason: str
    new_start: int | None = None
    new_end: int | None = None


@dataclass(frozen=True)
class Reforecast:
    """A benefit re-forecast: the forecast improvement scaled by `factor` from `month` on."""

    month: int
    benefit: str
    factor: Decimal
    reason: str


@dataclass(frozen=True)
class Attribution:
    """A benefit's shares by initiative."""

    month: int
    benefit: str
    shares: Mapping[str, Decimal]
    reason: str


@dataclass(frozen=True)
class Closure:
    """A benefit closed."""

    month: int
    benefit: str
    reason: str


@dataclass(frozen=True)
class Correction:
    """A wrong measurement (the feed sent `recorded_factor` times the true value), corrected."""

    month: int  # when the correction is recorded
    benefit: str
    of_month: int  # the month whose measurement was wrong
    recorded_factor: Decimal
    reason: str


@dataclass(frozen=True)
class Feeds:
    """How the ledger and the measurement feeds scatter around the plan (default: not at all)."""

    spend_scatter: float = 0.0  # standard deviation of spend / planned spend
    flow_scatter: float = 0.0  # of a flow's figure / its delivered amount
    level_scatter: float = 0.0  # of a level, as a share of the planned change
    suspended_spend: Decimal = Decimal(0)  # holding costs while suspended / the monthly rate


@dataclass(frozen=True)
class Story:
    """The whole demo: the portfolio, and everything that happens to it month by month."""

    name: str
    currency: str
    discount_rate: Decimal
    seed: int  # of the random figures: the same seed writes the same figures
    history_months: int  # months of recorded history before today's month
    horizon_months: int  # months the budget and forecasts cover, from the base month
    capacity: Capacity
    goals: tuple[Goal, ...]
    initiatives: tuple[Initiative, ...]
    benefits: tuple[Benefit, ...]
    typical_benefit: str | None = None  # a benefit key the summary points to
    feeds: Feeds = Feeds()
    decisions: tuple[Decision, ...] = ()
    confidence: tuple[Confidence, ...] = ()
    leaders: tuple[Leader, ...] = ()
    contingency: tuple[Contingency, ...] = ()
    lessons: tuple[Lesson, ...] = ()
    cost_revisions: tuple[CostRevision, ...] = ()
    reforecasts: tuple[Reforecast, ...] = ()
    attributions: tuple[Attribution, ...] = ()
    closures: tuple[Closure, ...] = ()
    corrections: tuple[Correction, ...] = ()

    def initiative(self, key: str) -> Initiative:
        """The initiative with this key."""
        return next(spec for spec in self.initiatives if spec.key == key)

    def benefit(self, key: str) -> Benefit:
        """The benefit with this key."""
        return next(spec for spec in self.benefits if spec.key == key)
