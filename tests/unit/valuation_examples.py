"""Valuation facts for the value-rule tests: terms, and small benefits and initiatives."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from uuid import UUID, uuid4

from domain.valuation import BenefitFacts, InitiativeFacts, PortfolioTerms
from tests.unit.builders import benefit_facts

D = Decimal
TERMS = PortfolioTerms(currency="GBP", discount_rate=D("0.035"), base_month="2025-01")
# A zero discount rate makes present values plain sums, so examples can be checked by hand.
FLAT = PortfolioTerms(currency="GBP", discount_rate=D("0"), base_month="2025-01")
CERTAIN = D(1)


def benefit(**changes: object) -> BenefitFacts:
    """A cashable flow benefit in GBP, accountable initiative only, unless changed."""
    return benefit_facts(**changes)


def initiative(
    initiative_id: UUID | None = None,
    *,
    costs: Mapping[str, Decimal] | None = None,
    confidence: Decimal = CERTAIN,
    status: str = "active",
    stopped_month: str | None = None,
) -> InitiativeFacts:
    """An initiative with the given cost forecast and nothing spent."""
    return InitiativeFacts(
        initiative_id=initiative_id or uuid4(),
        confidence=confidence,
        cost_forecast=costs or {},
        spend_to_date=D(0),
        status=status,
        stopped_month=stopped_month,
    )
