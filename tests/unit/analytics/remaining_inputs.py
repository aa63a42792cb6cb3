"""Builders of small remaining-figure inputs shared by the remaining-figures tests."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain.analytics.inputs import BenefitInput, CandidateInput, GoalInput, PortfolioInput

GOAL_A = UUID(int=101)
GOAL_B = UUID(int=102)
RATE = Decimal("0.035")


def portfolio(*goals: GoalInput) -> PortfolioInput:
    return PortfolioInput(discount_rate=RATE, base_month="2026-01", goals=goals)


def benefit(
    amount: str, months: list[str], goal: UUID | None = None, *, dis: bool = False, share: str = "1"
) -> BenefitInput:
    return BenefitInput(
        benefit_id=UUID(int=len(months) + int(Decimal(amount))),
        title="b",
        goal_id=goal,
        disbenefit=dis,
        share=Decimal(share),
        forecast={m: Decimal(amount) for m in months},
    )


def initiative(*benefits: BenefitInput, cost: dict[str, str] | None = None) -> CandidateInput:
    return CandidateInput(
        initiative_id=UUID(int=1),
        name="Ledger",
        status="proposed",
        start_month="2026-01",
        end_month="2026-06",
        confidence=Decimal("0.5"),
        people_demand={"engineer": Decimal("2")},
        cost_forecast={m: Decimal(v) for m, v in (cost or {}).items()},
        benefits=benefits,
    )
