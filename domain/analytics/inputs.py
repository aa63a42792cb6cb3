"""The plain data the analytics read (DESIGN §5.3), built by the projections from the events.

- `BenefitInput`: one benefit as one initiative claims it: its monthly *monetary* forecast as
  positive magnitudes (a dis-benefit says so with `disbenefit=True`; the sign is applied here,
  never by the caller) and the initiative's attribution `share`.
- `CandidateInput`: one initiative of any status (non-candidates are kept so that dependencies on
  completed or stopped initiatives can be judged); `is_candidate` / `is_proposal` say which.
- `GoalInput`: a strategic goal; a retired one is `active=False`.
- `PortfolioInput`: the portfolio's terms, goals, capacity and every initiative.

`with_reference_class(candidate, benefit_ratio, cost_ratio)` returns a proposal with its benefit
and cost forecasts scaled by the organisation's own ratios (priorities and optimise with
`reference_class=true`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from uuid import UUID

from domain.valuation import PortfolioTerms

CANDIDATE_STATUSES = frozenset({"proposed", "active", "delayed", "suspended"})
PROPOSAL_STATUSES = frozenset({"proposed", "delayed"})


@dataclass(frozen=True)
class BenefitInput:
    """One benefit as one initiative claims it: monetary forecast magnitudes by month, and share."""

    benefit_id: UUID
    title: str
    goal_id: UUID | None
    disbenefit: bool
    share: Decimal
    forecast: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class CandidateInput:
    """One initiative with what the analytics need: status, demand, cost forecast and benefits."""

    initiative_id: UUID
    name: str
    status: str
    start_month: str
    end_month: str
    kind: str = "project"
    mandatory: bool = False
    confidence: Decimal = Decimal(1)
    depends_on: tuple[UUID, ...] = ()
    leader: str | None = None
    people_demand: Mapping[str, Decimal] = field(default_factory=dict)
    cost_forecast: Mapping[str, Decimal] = field(default_factory=dict)
    benefits: tuple[BenefitInput, ...] = ()

    @property
    def is_candidate(self) -> bool:
        """Proposed, active, delayed or suspended: something the board can still choose."""
        return self.status in CANDIDATE_STATUSES

    @property
    def is_proposal(self) -> bool:
        """Proposed or delayed: not started, so its start may be pushed back."""
        return self.status in PROPOSAL_STATUSES


@dataclass(frozen=True)
class GoalInput:
    """A strategic goal and its weight; retired goals are `active=False`."""

    goal_id: UUID
    title: str
    weight: Decimal
    active: bool = True


@dataclass(frozen=True)
class PortfolioInput:
    """A portfolio's terms, goals, capacity (budget by month, fte by role) and initiatives."""

    discount_rate: Decimal
    base_month: str
    goals: tuple[GoalInput, ...] = ()
    budget: Mapping[str, Decimal] = field(default_factory=dict)
    people: Mapping[str, Decimal] = field(default_factory=dict)
    initiatives: tuple[CandidateInput, ...] = ()

    @property
    def terms(self) -> PortfolioTerms:
        """The valuation terms (the currency plays no part in the analytics)."""
        return PortfolioTerms(
            currency="", discount_rate=self.discount_rate, base_month=self.base_month
        )

    @property
    def candidates(self) -> tuple[CandidateInput, ...]:
        """The initiatives the board can still choose, in initiative-id order."""
        chosen = (i for i in self.initiatives if i.is_candidate)
        return tuple(sorted(chosen, key=lambda i: i.initiative_id))

    def by_id(self) -> dict[UUID, CandidateInput]:
        """Every initiative by id."""
        return {i.initiative_id: i for i in self.initiatives}


def with_reference_class(
    candidate: CandidateInput, benefit_ratio: Decimal | None, cost_ratio: Decimal | None
) -> CandidateInput:
    """A proposal with its benefits * benefit_ratio and costs * cost_ratio (None: unchanged)."""
    if not candidate.is_proposal:
        return candidate
    benefits = candidate.benefits
    if benefit_ratio is not None:
        benefits = tuple(
            replace(b, forecast={m: v * benefit_ratio for m, v in b.forecast.items()})
            for b in benefits
        )
    costs = candidate.cost_forecast
    if cost_ratio is not None:
        costs = {m: v * cost_ratio for m, v in costs.items()}
    return replace(candidate, benefits=benefits, cost_forecast=costs)
