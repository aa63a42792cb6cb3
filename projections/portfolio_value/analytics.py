"""The plain data the portfolio analytics read: the value view's rows as recorded at an instant.

A snapshot is everything recorded about one portfolio by `as_of` (transaction time), with every
forecast fetched: the analytics value remaining months, so they need them all. The pure
functions of `domain.analytics` do the rest.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.analytics.coverage import Claim, Coverage, InitiativeName, claims, goal_coverage
from domain.analytics.inputs import BenefitInput, CandidateInput, GoalInput, PortfolioInput
from domain.analytics.lessons import Lesson, Plan
from domain.valuation import (
    BenefitFacts,
    BenefitMoney,
    InitiativeFacts,
    PortfolioTerms,
    effective_shares,
    monetary_series,
)
from projections.codec import months_from_text
from projections.db import Cursor, ViewDatabase
from projections.portfolio_value.facts import initiative_facts_from
from projections.portfolio_value.recorded import month_of_instant, read_recorded
from projections.portfolio_value.rows import InitiativeRow, Recorded, terms_from
from projections.portfolio_value.value import benefits_money, recorded_benefits
from projections.portfolio_value.writer import PortfolioValueView
from projections.reads import stored_instant
from projections.view import instant_text, tracked_position

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Snapshot:
    """A portfolio as recorded at an instant, valued as at that instant's month."""

    portfolio_id: UUID
    at: datetime
    month: str
    terms: PortfolioTerms
    recorded: Recorded
    benefits: list[BenefitFacts]
    #: The log position the value view had reached when the snapshot was read.
    position: int = 0

    @functools.cached_property
    def money(self) -> dict[UUID, BenefitMoney]:
        """Each benefit's money figures as at the snapshot's month, by benefit id.

        Worked out on first use: goal coverage rates benefits by them, while the analytics of
        remaining figures read only the benefits' facts.
        """
        return benefits_money(self.recorded, self.benefits, self.terms, self.month)

    def initiative_facts(self) -> dict[UUID, InitiativeFacts]:
        """Valuation facts of every initiative, by id."""
        found = {}
        for ident, row in self.recorded.initiatives.items():
            facts = initiative_facts_from(
                ident,
                row,
                self.recorded.spend.get(ident, Decimal(0)),
                self.recorded.forecasts.get(ident, ""),
            )
            found[facts.initiative_id] = facts
        return found


def _all_forecasts(cursor: Cursor, recorded: Recorded, portfolio_id: UUID, at: str) -> None:
    """Fetch the forecast of every visible initiative and benefit version the read lacks."""
    cursor.execute(
        "SELECT f.aggregate_id, f.months FROM vt_state s JOIN vt_forecast f"
        " ON f.aggregate_id = s.aggregate_id AND f.version = s.version"
        " WHERE s.portfolio_id = ? AND s.kind <> 'portfolio' AND s.recorded_at <= ?"
        " AND (s.superseded_at IS NULL OR s.superseded_at > ?)",
        (str(portfolio_id), at, at),
    )
    for aggregate_id, months in cursor.fetchall():
        recorded.forecasts.setdefault(aggregate_id, months)


def snapshot(db: ViewDatabase, portfolio_id: UUID, at: datetime) -> Snapshot | None:
    """Everything recorded about a portfolio by `at`; None when it did not exist then."""
    with db.read() as cursor:
        recorded = read_recorded(db, cursor, portfolio_id, at)
        if recorded is None:
            return None
        _all_forecasts(cursor, recorded, portfolio_id, instant_text(at))
        position = tracked_position(cursor, PortfolioValueView.name)
    terms = terms_from(recorded.portfolio)
    month = month_of_instant(at)
    return Snapshot(portfolio_id, at, month, terms, recorded, recorded_benefits(recorded), position)


class Memo(Generic[K, V]):
    """What a read works out from rows that never change once stored, kept per process.

    Stored forecast texts and aggregate versions never change, so the analytics parse and
    value each once per process, not on every read (bounded: the oldest tenth goes first).
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._found: dict[K, V] = {}
        self._lock = threading.Lock()

    def __contains__(self, key: K) -> bool:
        return key in self._found

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for `key`, made (and kept) on first use."""
        found = self._found.get(key)
        if found is None:
            found = make()
            with self._lock:
                if len(self._found) >= self.size:  # forget the oldest tenth
                    for old in list(itertools.islice(self._found, max(1, self.size // 10))):
                        self._found.pop(old, None)
                self._found[key] = found
        return found


#: Forecasts in money from `from_month` on, by stored forecast text.
_SERIES: Memo[tuple[Any, ...], dict[str, Decimal]] = Memo()


def _decimals(text: str | None, month: str | None = None) -> dict[str, Decimal]:
    """A stored forecast's amounts from `month` on (`YYYY-MM` text sorts as months do)."""
    if not text:
        return {}
    return {m: Decimal(v) for m, v in months_from_text(text).items() if month is None or m >= month}


def _costs(text: str | None, month: str | None) -> dict[str, Decimal]:
    return _SERIES.get(("cost", text, month), lambda: _decimals(text, month))


def _magnitudes(
    benefit: BenefitFacts, text: str | None, month: str | None, currency: str
) -> dict[str, Decimal]:
    """A benefit's forecast in money from `month` on, as magnitudes (the analytics apply a
    dis-benefit's sign themselves)."""
    key = (
        "benefit",
        text,
        month,
        currency,
        benefit.category,
        benefit.unit,
        benefit.kind,
        benefit.direction,
        benefit.value_per_unit,
        benefit.baseline,
    )
    return _SERIES.get(
        key,
        lambda: monetary_series(
            replace(benefit, disbenefit=False), _decimals(text, month), currency
        ),
    )


def goals_of(portfolio: dict[str, Any]) -> tuple[GoalInput, ...]:
    """The portfolio's goals in the order they were added (retired ones inactive)."""
    return tuple(
        GoalInput(UUID(str(g["goal_id"])), g["title"], Decimal(g["weight"]), not g.get("retired"))
        for g in portfolio["goals"]
    )


def _candidate(
    initiative_id: UUID,
    row: InitiativeRow,
    forecast: str | None,
    from_month: str | None,
    benefits: tuple[BenefitInput, ...],
) -> CandidateInput:
    return CandidateInput(
        initiative_id=initiative_id,
        name=row.name,
        status=row.status,
        start_month=row.start_month,
        end_month=row.end_month,
        kind=row.kind,
        mandatory=row.mandatory,
        confidence=Decimal(row.confidence),
        depends_on=tuple(UUID(d) for d in row.depends_on),
        leader=row.leader,
        people_demand={role: Decimal(fte) for role, fte in row.people_demand},
        cost_forecast=_costs(forecast, from_month),
        benefits=benefits,
    )


def portfolio_input(snap: Snapshot, from_month: str | None = None) -> PortfolioInput:
    """The portfolio as the analytics take it: terms, goals, capacity, every initiative.

    With `from_month`, forecasts start there: every analytic of remaining figures ignores the
    months before it, so they need not be carried.
    """
    claimed: dict[UUID, list[BenefitInput]] = {}
    forecasts = snap.recorded.forecasts
    # `snap.benefits` are the recorded benefits' facts, in the same order.
    for ident, benefit in zip(snap.recorded.benefits, snap.benefits, strict=True):
        magnitude = _magnitudes(benefit, forecasts.get(ident), from_month, snap.terms.currency)
        title = snap.recorded.benefits[ident].title
        for initiative_id, share in effective_shares(benefit).items():
            claimed.setdefault(initiative_id, []).append(
                BenefitInput(
                    benefit.benefit_id, title, benefit.goal_id, benefit.disbenefit, share, magnitude
                )
            )
    initiatives = []
    for ident, row in snap.recorded.initiatives.items():
        initiative_id = UUID(ident)
        mine = tuple(claimed.get(initiative_id, ()))
        initiatives.append(_candidate(initiative_id, row, forecasts.get(ident), from_month, mine))
    portfolio = snap.recorded.portfolio
    return PortfolioInput(
        discount_rate=snap.terms.discount_rate,
        base_month=snap.terms.base_month,
        goals=goals_of(portfolio),
        budget={m: Decimal(v) for m, v in (portfolio.get("budget") or {}).items()},
        people={r: Decimal(v) for r, v in (portfolio.get("people") or {}).items()},
        initiatives=tuple(initiatives),
    )


def coverage(snap: Snapshot) -> Coverage:
    """Goal coverage of the snapshot (attributed as the value view attributes)."""
    facts = snap.initiative_facts()
    found: list[Claim] = []
    accountable = {}
    for benefit in snap.benefits:
        row = snap.recorded.benefits[str(benefit.benefit_id)]
        accountable[benefit.benefit_id] = benefit.initiative_id
        found += claims(benefit, row.title, snap.money[benefit.benefit_id], facts, snap.terms)
    names = [
        InitiativeName(UUID(i), row.name, row.status)
        for i, row in snap.recorded.initiatives.items()
    ]
    return goal_coverage(goals_of(snap.recorded.portfolio), names, found, accountable)


def plans(snap: Snapshot) -> list[Plan]:
    """Every initiative's plan B (or none)."""
    return [
        Plan(
            UUID(ident),
            row.name,
            row.status,
            None if row.contingency is None else row.contingency[0],
            None if row.contingency is None else row.contingency[1],
        )
        for ident, row in snap.recorded.initiatives.items()
    ]


def recorded_lessons(db: ViewDatabase, snap: Snapshot) -> list[Lesson]:
    """The portfolio's lessons recorded by the snapshot's instant, in log order."""
    with db.read() as cursor:
        cursor.execute(
            "SELECT initiative_id, lesson_id, category, text, recorded_at, position FROM vt_lesson"
            " WHERE portfolio_id = ? AND recorded_at <= ? ORDER BY position",
            (str(snap.portfolio_id), instant_text(snap.at)),
        )
        rows = cursor.fetchall()
    names = {i: row.name for i, row in snap.recorded.initiatives.items()}
    return [
        Lesson(
            UUID(str(initiative_id)),
            names.get(str(initiative_id), ""),
            UUID(str(lesson_id)),
            category,
            text,
            stored_instant(recorded_at),
            int(position),
        )
        for initiative_id, lesson_id, category, text, recorded_at, position in rows
    ]
