"""The terms and facts every value rule reads, and the Decimal context they compute in.

Everything in this package computes in `Decimal` under a private context of 40 significant digits
and never rounds; only the presentation helpers (`money`, `percent`, `ratio`) round, half-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from uuid import UUID

CATEGORIES = ("cashable", "non_cashable", "quantitative", "qualitative")
KINDS = ("flow", "level")
DIRECTIONS = ("increase", "decrease")
VFM_BANDS = ("poor", "low", "medium", "high", "very_high")
DEFAULT_RAG_GREEN = Decimal("90")
DEFAULT_RAG_AMBER = Decimal("75")

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)

# Well beyond the 28 digits of the default context, so that sums of many discounted months keep
# every cent exact and rounding happens only once, when a figure is presented.
_CONTEXT = Context(
    prec=40,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


@dataclass(frozen=True)
class PortfolioTerms:
    """The portfolio settings that every value rule depends on."""

    currency: str
    discount_rate: Decimal
    base_month: str
    rag_green: Decimal = DEFAULT_RAG_GREEN
    rag_amber: Decimal = DEFAULT_RAG_AMBER


@dataclass(frozen=True)
class BenefitFacts:
    """What the value rules need to know about one benefit."""

    benefit_id: UUID
    initiative_id: UUID
    category: str
    disbenefit: bool
    unit: str
    kind: str
    direction: str
    value_per_unit: Decimal | None
    baseline: Decimal
    target: Decimal | None
    forecast: Mapping[str, Decimal]
    actuals: Mapping[str, Decimal]
    shares: Mapping[UUID, Decimal]
    goal_id: UUID | None = None


@dataclass(frozen=True)
class InitiativeFacts:
    """What the value rules need to know about one initiative."""

    initiative_id: UUID
    confidence: Decimal
    cost_forecast: Mapping[str, Decimal]
    spend_to_date: Decimal
    status: str
    stopped_month: str | None = None
