"""What the portfolio value view stores of each version, as a value read takes it back.

Rows are kept as text, as stored; `terms_key` says what a stored forecast's value depends on.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from domain.valuation import Measured, PortfolioTerms


class BenefitRow(NamedTuple):
    """What a value read takes from a recorded benefit version (text, as stored)."""

    initiative_id: str
    category: str
    disbenefit: bool
    unit: str
    kind: str
    direction: str
    value_per_unit: str | None
    baseline: str
    target: str | None
    goal_id: str | None
    contributions: tuple[tuple[str, str], ...]
    terms: tuple[str, ...]  # the terms its forecast was valued under (`terms_key`)
    pv: str
    planned: str  # running totals (`Running.text`)
    title: str

    @classmethod
    def of(cls, facts: dict[str, Any]) -> BenefitRow:
        measure, target, money_ = facts["measure"], facts["target"], facts["forecast_money"]
        vpu = measure.get("value_per_unit")
        return cls(
            str(facts["initiative_id"]),
            facts["category"],
            bool(facts["disbenefit"]),
            measure["unit"],
            measure["kind"],
            measure["direction"],
            None if vpu is None else str(vpu),
            str(facts["baseline"]["value"]),
            None if target is None else str(target["value"]),
            None if facts.get("goal_id") in (None, "") else str(facts["goal_id"]),
            tuple((str(c["initiative_id"]), str(c["share"])) for c in facts["contributions"]),
            tuple(money_["terms"]),
            money_["pv"],
            money_["planned"],
            facts.get("title", ""),
        )

    def claimants(self) -> set[str]:
        """The initiatives the benefit counts for."""
        return {i for i, _ in self.contributions} or {self.initiative_id}


class InitiativeRow(NamedTuple):
    """What a value read takes from a recorded initiative version (text, as stored)."""

    kind: str
    name: str
    confidence: str
    status: str
    stopped_month: str | None
    terms: tuple[str, ...]  # the terms its cost forecast was valued under (`terms_key`)
    pv_costs: str
    # What the analytics read besides the value rules.
    sponsor: str
    leader: str | None
    start_month: str
    end_month: str
    mandatory: bool
    depends_on: tuple[str, ...]
    people_demand: tuple[tuple[str, str], ...]
    contingency: tuple[str, str] | None

    @classmethod
    def of(cls, facts: dict[str, Any]) -> InitiativeRow:
        money_ = facts["cost_money"]
        plan = facts.get("contingency")
        return cls(
            facts["kind"],
            facts["name"],
            str(facts["confidence"]),
            facts["status"],
            facts.get("stopped_month"),
            tuple(money_["terms"]),
            money_["pv"],
            facts.get("sponsor", ""),
            facts.get("leader"),
            facts.get("start_month", ""),
            facts.get("end_month", ""),
            bool(facts.get("mandatory", False)),
            tuple(str(d) for d in facts.get("depends_on", ())),
            tuple((role, str(fte)) for role, fte in sorted(facts.get("people_demand", {}).items())),
            None if plan is None else (plan["plan"], plan["trigger"]),
        )


@dataclass
class Recorded:
    """Everything recorded about one portfolio by an instant."""

    portfolio: dict[str, Any]
    initiatives: dict[str, InitiativeRow] = field(default_factory=dict)
    benefits: dict[str, BenefitRow] = field(default_factory=dict)
    #: Each benefit's actuals summed over the months up to the as-of month.
    measured: dict[str, Measured] = field(default_factory=dict)
    spend: dict[str, Decimal] = field(default_factory=dict)
    #: The forecasts (`months_text`) of the versions this read values again (`_read_forecasts`).
    forecasts: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=65_536)
def id_of(text: str) -> UUID:
    """The UUID of an id stored as text (the same ids recur on every read)."""
    return UUID(text)


def optional_id(value: Any) -> UUID | None:
    return None if value in (None, "") else id_of(str(value))


def terms_from(portfolio: dict[str, Any]) -> PortfolioTerms:
    """Valuation terms from a portfolio's recorded facts."""
    return PortfolioTerms(
        currency=portfolio["currency"],
        discount_rate=Decimal(portfolio["discount_rate"]),
        base_month=portfolio["base_month"],
        rag_green=Decimal(portfolio["rag_green"]),
        rag_amber=Decimal(portfolio["rag_amber"]),
    )


def terms_key(terms: PortfolioTerms) -> tuple[str, str, str]:
    """What a forecast's value depends on, as stored beside it."""
    return (terms.currency, str(terms.discount_rate), terms.base_month)
