"""What the forecast-accuracy analytics read: the promise in force at each invest decision.

The promise is what was recorded at the instant the initiative's first decision to active was
recorded (transaction time): its cost forecast, and the benefits attributing a share to it with
their forecasts and shares then. A later re-forecast is a later version, so it cannot change it.
Actuals (one row per benefit and month, `projections.portfolio_value.actuals`) and spend are
those recorded by the as-of instant.

A read takes only what the answer needs, not the whole value view: which initiative and benefit
versions were recorded by the as-of instant (one query, without their facts), the facts and
forecasts of those versions this process has not decoded before (a stored version never
changes), the monthly actuals and the spend. Proposals are valued from their own cost forecasts
and the forecasts of the benefits they claim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import TypeVar
from uuid import UUID

from domain.analytics.accuracy import (
    Accuracy,
    Invested,
    MonthlySeries,
    PromisedBenefit,
    Proposal,
)
from domain.analytics.accuracy import forecast_accuracy as accuracy_of
from domain.analytics.inputs import PROPOSAL_STATUSES
from domain.errors import NotFoundError
from domain.valuation import (
    BenefitFacts,
    ForecastMoney,
    InitiativeFacts,
    PortfolioTerms,
    benefit_money,
    effective_shares,
    forecast_money,
    initiative_value,
    is_monetary,
    monetary_series,
)
from projections.codec import loads, months_from_text
from projections.db import Cursor, ViewDatabase
from projections.portfolio_value.actuals import actuals_before
from projections.portfolio_value.analytics import Memo, Snapshot
from projections.portfolio_value.facts import benefit_facts_from
from projections.portfolio_value.recorded import month_of_instant
from projections.portfolio_value.rows import BenefitRow, InitiativeRow, terms_from, terms_key
from projections.view import instant_text

V = TypeVar("V")
Version = tuple[str, int]
#: A version as a read finds it: (recorded_at, superseded_at, aggregate id, version).
Span = tuple[str, str | None, str, int]


def _in_force(spans: list[Span], instant: str) -> list[Version]:
    return [(a, v) for r, s, a, v in spans if r <= instant and (s is None or s > instant)]


@dataclass
class _States:
    """The versions recorded by an instant, without their facts."""

    portfolio: Version | None = None
    #: The visible initiative versions, in the order the initiatives were first recorded.
    initiatives: dict[str, int] = field(default_factory=dict)
    #: The visible benefit versions, with the initiatives each attributes a share to.
    benefits: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    #: Every initiative version, and every benefit version by the initiatives it names.
    own: dict[str, list[Span]] = field(default_factory=lambda: defaultdict(list))
    claims: dict[str, list[Span]] = field(default_factory=lambda: defaultdict(list))

    def promised(self, initiative: str, instant: str) -> tuple[Version | None, list[Version]]:
        """The initiative's version and its benefits' versions in force at `instant`."""
        mine = _in_force(self.own[initiative], instant)
        return (mine[0] if mine else None), _in_force(self.claims[initiative], instant)


def _states(cursor: Cursor, portfolio_id: UUID, at: str, since: str) -> _States:
    """The versions recorded by `at` that were still in force at `since` or later."""
    cursor.execute(
        "SELECT aggregate_id, version, kind, owners, recorded_at, superseded_at, first_position"
        " FROM vt_state WHERE portfolio_id = ? AND recorded_at <= ?"
        " AND (superseded_at IS NULL OR superseded_at > ?)",
        (str(portfolio_id), at, since),
    )
    found = _States()
    first: dict[str, int] = {}
    for ident, version, kind, owners, recorded_at, superseded_at, position in cursor.fetchall():
        span = (recorded_at, superseded_at, str(ident), int(version))
        visible = superseded_at is None or superseded_at > at
        if kind == "portfolio":
            found.portfolio = span[2:] if visible else found.portfolio
        elif kind == "initiative":
            found.own[span[2]].append(span)
            if visible:
                found.initiatives[span[2]], first[span[2]] = span[3], int(position)
        else:
            claimants = owners.strip(",").split(",")
            for claimant in claimants:
                found.claims[claimant].append(span)
            if visible:
                found.benefits[span[2]] = (span[3], claimants)
    found.initiatives = dict(sorted(found.initiatives.items(), key=lambda item: first[item[0]]))
    return found


def _invest_decisions(cursor: Cursor, portfolio_id: UUID, at: str) -> dict[str, tuple[date, str]]:
    """Initiative id → (decided_on, recorded_at) of its first decision to active, by `at`."""
    cursor.execute(
        "SELECT initiative_id, decided_on, recorded_at FROM vt_decision WHERE portfolio_id = ?"
        " AND to_status = 'active' AND recorded_at <= ? ORDER BY position",
        (str(portfolio_id), at),
    )
    found: dict[str, tuple[date, str]] = {}
    for initiative_id, decided_on, recorded_at in cursor.fetchall():
        found.setdefault(str(initiative_id), (date.fromisoformat(decided_on), recorded_at))
    return found


def _spend(cursor: Cursor, portfolio_id: UUID, at: str) -> dict[str, dict[str, Decimal]]:
    cursor.execute(
        "SELECT initiative_id, month, amount FROM vt_spend WHERE portfolio_id = ?"
        " AND recorded_at <= ?",
        (str(portfolio_id), at),
    )
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for initiative_id, month, amount in cursor.fetchall():
        months = found[str(initiative_id)]
        months[month] = months.get(month, Decimal(0)) + Decimal(amount)
    return found


def _fetch(cursor: Cursor, wanted: Collection[Version]) -> dict[Version, tuple[str, str | None]]:
    """(facts, forecast text) of each wanted version (no forecast: a portfolio's)."""
    pairs = sorted(wanted)
    found: dict[Version, tuple[str, str | None]] = {}
    for chunk in range(0, len(pairs), 400):
        part = pairs[chunk : chunk + 400]
        cursor.execute(
            "SELECT s.aggregate_id, s.version, s.facts, f.months FROM vt_state s"
            " LEFT JOIN vt_forecast f ON f.aggregate_id = s.aggregate_id AND f.version = s.version"
            f" WHERE (s.aggregate_id, s.version) IN (VALUES {', '.join(['(?, ?)'] * len(part))})",
            [value for pair in part for value in pair],
        )
        for aggregate_id, version, facts, months in cursor.fetchall():
            found[(str(aggregate_id), int(version))] = (facts, months)
    return found


Key = tuple[str, str, int]  # (database, aggregate id, version)
Decode = Callable[[str, str, str | None], V]


def _decoded(
    cursor: Cursor, source: str, memo: Memo[Key, V], decode: Decode[V], wanted: set[Version]
) -> dict[Version, V]:
    """Each wanted version decoded; only those this process has not decoded are fetched."""
    fetched = _fetch(cursor, [v for v in wanted if (source, *v) not in memo])

    def make(version: Version) -> V:
        if version not in fetched:  # forgotten by another read meanwhile
            fetched.update(_fetch(cursor, [version]))
        return decode(version[0], *fetched[version])

    return {v: memo.get((source, *v), partial(make, v)) for v in wanted}


def _decimals(text: str | None) -> MonthlySeries:
    return MonthlySeries({m: Decimal(v) for m, v in months_from_text(text or "").items()})


def _initiative(_: str, facts: str, forecast: str | None) -> tuple[InitiativeRow, MonthlySeries]:
    return InitiativeRow.of(loads(facts)), _decimals(forecast)


def _benefit(ident: str, facts: str, forecast: str | None) -> BenefitFacts:
    return benefit_facts_from(ident, BenefitRow.of(loads(facts)), forecast)


def _portfolio(_: str, facts: str, __: str | None) -> PortfolioTerms:
    return terms_from(loads(facts))


#: Decoded versions, by (database, aggregate id, version); forecasts in money by currency too.
_INITIATIVES: Memo[Key, tuple[InitiativeRow, MonthlySeries]] = Memo()
_BENEFITS: Memo[Key, BenefitFacts] = Memo()
_TERMS: Memo[Key, PortfolioTerms] = Memo(1000)
_MONEY: Memo[tuple[Key, str], MonthlySeries] = Memo()
_VALUED: Memo[tuple[Key, tuple[str, ...]], ForecastMoney] = Memo()


@dataclass
class _Read:
    """What one read found: everything the answer is worked out from."""

    source: str
    month: str
    terms: PortfolioTerms
    initiatives: dict[str, tuple[InitiativeRow, MonthlySeries]]
    invested: dict[str, tuple[date, tuple[InitiativeRow, MonthlySeries] | None]]
    promised: dict[str, list[Version]]
    benefits: dict[Version, BenefitFacts]
    claimed: list[Version]
    actuals: dict[str, MonthlySeries]
    spend: dict[str, dict[str, Decimal]]


def _read(db: ViewDatabase, portfolio_id: UUID, at: datetime) -> _Read | None:
    instant, month, source = instant_text(at), month_of_instant(at), db.url
    with db.read() as cursor:
        decisions = _invest_decisions(cursor, portfolio_id, instant)
        # What was superseded before the first invest decision is no promise and not now.
        since = min([instant, *(when for _, when in decisions.values())])
        states = _states(cursor, portfolio_id, instant, since)
        if states.portfolio is None:
            return None
        terms = _decoded(cursor, source, _TERMS, _portfolio, {states.portfolio})
        promised = {
            i: states.promised(i, when)
            for i, (_, when) in decisions.items()
            if i in states.initiatives
        }
        versions = set(states.initiatives.items()) | {v for v, _ in promised.values() if v}
        initiatives = _decoded(cursor, source, _INITIATIVES, _initiative, versions)
        proposals = {
            i
            for i, v in states.initiatives.items()
            if initiatives[(i, v)][0].status in PROPOSAL_STATUSES
        }
        claimed = [
            (b, v) for b, (v, owners) in states.benefits.items() if not proposals.isdisjoint(owners)
        ]
        promises = {key for _, keys in promised.values() for key in keys}
        benefits = _decoded(cursor, source, _BENEFITS, _benefit, promises | set(claimed))
        currency = terms[states.portfolio].currency
        # Actuals without a money value count for nothing; only months before the as-of month
        # are judged (`domain.analytics.accuracy.track`).
        judged = {key[0] for key in promises if is_monetary(benefits[key], currency)}
        actuals = (
            actuals_before(cursor, source, portfolio_id, instant, month, judged) if judged else {}
        )
        spend = _spend(cursor, portfolio_id, instant)
    return _Read(
        source=source,
        month=month,
        terms=terms[states.portfolio],
        initiatives={i: initiatives[(i, v)] for i, v in states.initiatives.items()},
        invested={
            i: (decisions[i][0], None if mine is None else initiatives[mine])
            for i, (mine, _) in promised.items()
        },
        promised={i: keys for i, (_, keys) in promised.items()},
        benefits=benefits,
        claimed=claimed,
        actuals={b: MonthlySeries(months) for b, months in actuals.items()},
        spend=spend,
    )


def _promise(read: _Read, key: Version) -> PromisedBenefit:
    facts = read.benefits[key]
    currency = read.terms.currency
    money = _MONEY.get(
        ((read.source, *key), currency),
        lambda: MonthlySeries(monetary_series(facts, facts.forecast, currency)),
    )
    return PromisedBenefit(facts, read.actuals.get(key[0], {}), money)


def _invested(read: _Read) -> list[Invested]:
    found = []
    for ident, (decided_on, promise) in read.invested.items():
        row = read.initiatives[ident][0]
        found.append(
            Invested(
                initiative_id=UUID(ident),
                name=row.name,
                kind=row.kind,
                sponsor=row.sponsor,
                leader=row.leader,
                invested_on=decided_on,
                cost_forecast={} if promise is None else promise[1],
                spend=read.spend.get(ident, {}),
                benefits=[_promise(read, key) for key in read.promised[ident]],
            )
        )
    return found


def _proposals(read: _Read) -> list[Proposal]:
    """Proposals with their section-3 present values as recorded now."""
    claimed = defaultdict(list)
    money = {}
    valued_under = terms_key(read.terms)
    for key in read.claimed:
        benefit = read.benefits[key]
        forecast = _VALUED.get(
            ((read.source, *key), valued_under), partial(forecast_money, benefit, read.terms)
        )
        money[benefit.benefit_id] = benefit_money(
            benefit, read.terms, read.month, forecast=forecast
        )
        for claimant in effective_shares(benefit):
            claimed[claimant].append(benefit)
    found = []
    for ident, (row, costs) in read.initiatives.items():
        if row.status not in PROPOSAL_STATUSES:
            continue
        initiative = InitiativeFacts(
            initiative_id=UUID(ident),
            confidence=Decimal(row.confidence),
            cost_forecast=costs,
            spend_to_date=sum(read.spend.get(ident, {}).values(), Decimal(0)),
            status=row.status,
            stopped_month=row.stopped_month,
        )
        figures = initiative_value(
            initiative, claimed[initiative.initiative_id], read.terms, read.month, money
        )
        found.append(
            Proposal(UUID(ident), row.name, row.kind, figures.pv_benefits, figures.pv_costs)
        )
    return found


def accuracy_as_of(db: ViewDatabase, portfolio_id: UUID, at: datetime) -> Accuracy | None:
    """Forecast accuracy of a portfolio as recorded at `at`; None when it did not exist then."""
    read = _read(db, portfolio_id, at)
    if read is None:
        return None
    return accuracy_of(
        _invested(read), _proposals(read), currency=read.terms.currency, as_of_month=read.month
    )


def forecast_accuracy(db: ViewDatabase, snap: Snapshot) -> Accuracy:
    """Forecast accuracy of the snapshot's portfolio, and its reference class for proposals."""
    found = accuracy_as_of(db, snap.portfolio_id, snap.at)
    if found is None:  # the snapshot was read, so the portfolio existed then
        raise NotFoundError("portfolio", snap.portfolio_id)
    return found
