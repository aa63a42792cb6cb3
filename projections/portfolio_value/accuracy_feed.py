"""What the forecast-accuracy analytics read: the promise in force at each invest decision.

The promise is what was recorded at the instant the initiative's first decision to active was
recorded (transaction time): its cost forecast, and the benefits attributing a share to it with
their forecasts and shares then. A later re-forecast is a later version, so it cannot change it.
Actuals (one row per benefit and month, `projections.actuals`) and spend are those recorded by
the as-of instant.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from functools import partial
from uuid import UUID

from domain.analytics.accuracy import Accuracy, Invested, PromisedBenefit, Proposal
from domain.analytics.accuracy import forecast_accuracy as accuracy_of
from domain.analytics.inputs import PROPOSAL_STATUSES
from domain.valuation import BenefitFacts, effective_shares, initiative_value
from projections.codec import loads, months_from_text
from projections.db import Cursor, ViewDatabase
from projections.portfolio_value.actuals import actuals_before
from projections.portfolio_value.analytics import Memo, Snapshot
from projections.portfolio_value.facts import benefit_facts_from
from projections.portfolio_value.rows import BenefitRow
from projections.view import instant_text

Version = tuple[str, int]


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


def _promised_versions(
    cursor: Cursor, portfolio_id: UUID, at: str, invested: dict[str, tuple[date, str]]
) -> dict[str, tuple[Version | None, list[Version]]]:
    """Per invested initiative: its version and its benefits' versions at the invest instant."""
    cursor.execute(
        "SELECT aggregate_id, version, kind, owners, recorded_at, superseded_at FROM vt_state"
        " WHERE portfolio_id = ? AND kind <> 'portfolio' AND recorded_at <= ?",
        (str(portfolio_id), at),
    )
    own: dict[str, list[tuple[str, str | None, int]]] = defaultdict(list)
    claims: dict[str, list[tuple[str, str | None, str, int]]] = defaultdict(list)
    for aggregate_id, version, kind, owners, recorded_at, superseded_at in cursor.fetchall():
        if kind == "initiative":
            own[aggregate_id].append((recorded_at, superseded_at, int(version)))
            continue
        for claimant in owners.strip(",").split(","):
            if claimant in invested:
                claims[claimant].append((recorded_at, superseded_at, aggregate_id, int(version)))
    found = {}
    for ident, (_, instant) in invested.items():
        mine = [v for r, s, v in own[ident] if r <= instant and (s is None or s > instant)]
        benefits = [
            (b, v) for r, s, b, v in claims[ident] if r <= instant and (s is None or s > instant)
        ]
        found[ident] = ((ident, mine[0]) if mine else None, benefits)
    return found


def _versions(cursor: Cursor, wanted: set[Version]) -> dict[Version, tuple[str, str]]:
    """(facts, forecast text) of each wanted aggregate version."""
    pairs = sorted(wanted)
    found: dict[Version, tuple[str, str]] = {}
    for chunk in range(0, len(pairs), 400):
        part = pairs[chunk : chunk + 400]
        cursor.execute(
            "SELECT s.aggregate_id, s.version, s.facts, f.months FROM vt_state s"
            " JOIN vt_forecast f ON f.aggregate_id = s.aggregate_id AND f.version = s.version"
            f" WHERE (s.aggregate_id, s.version) IN (VALUES {', '.join(['(?, ?)'] * len(part))})",
            [value for pair in part for value in pair],
        )
        for aggregate_id, version, facts, months in cursor.fetchall():
            found[(str(aggregate_id), int(version))] = (facts, months)
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


def _decimals(text: str) -> dict[str, Decimal]:
    return {m: Decimal(v) for m, v in months_from_text(text).items()}


def _cost(stored: dict[Version, tuple[str, str]], key: Version) -> dict[str, Decimal]:
    return _decimals(stored[key][1])


def _promise(stored: dict[Version, tuple[str, str]], key: Version) -> BenefitFacts:
    facts, forecast = stored[key]
    return benefit_facts_from(key[0], BenefitRow.of(loads(facts)), forecast)


#: Promised benefit versions and initiative versions' cost forecasts, decoded.
_PROMISES: Memo[Version, BenefitFacts] = Memo()
_COSTS: Memo[Version, dict[str, Decimal]] = Memo()


def _invested(db: ViewDatabase, snap: Snapshot) -> list[Invested]:
    at = instant_text(snap.at)
    with db.read() as cursor:
        decisions = _invest_decisions(cursor, snap.portfolio_id, at)
        decisions = {i: d for i, d in decisions.items() if i in snap.recorded.initiatives}
        promised = _promised_versions(cursor, snap.portfolio_id, at, decisions)
        mines = {mine for mine, _ in promised.values() if mine}
        keys = {key for _, benefits in promised.values() for key in benefits}
        # A version never changes once stored: each is fetched and decoded once per process.
        stored = _versions(
            cursor, {v for v in mines if v not in _COSTS} | {v for v in keys if v not in _PROMISES}
        )
        costs = {v: _COSTS.get(v, partial(_cost, stored, v)) for v in mines}
        promised_benefits = {k: _PROMISES.get(k, partial(_promise, stored, k)) for k in keys}
        benefit_ids = {key[0] for key in promised_benefits}
        # Only months before the as-of month are judged (`domain.analytics.accuracy.track`).
        actuals = {}
        if benefit_ids:
            actuals = actuals_before(cursor, snap.portfolio_id, at, snap.month, benefit_ids)
        spend = _spend(cursor, snap.portfolio_id, at)
    found = []
    for ident, (decided_on, _) in decisions.items():
        mine, benefits = promised[ident]
        row = snap.recorded.initiatives[ident]
        promises = []
        for key in benefits:
            promises.append(PromisedBenefit(promised_benefits[key], actuals.get(key[0], {})))
        found.append(
            Invested(
                initiative_id=UUID(ident),
                name=row.name,
                kind=row.kind,
                sponsor=row.sponsor,
                leader=row.leader,
                invested_on=decided_on,
                cost_forecast={} if mine is None else costs[mine],
                spend=spend.get(ident, {}),
                benefits=promises,
            )
        )
    return found


def _proposals(snap: Snapshot) -> list[Proposal]:
    """Proposals with their section-3 present values as recorded now."""
    facts = snap.initiative_facts()
    claimed = defaultdict(list)
    for benefit in snap.benefits:
        for claimant in effective_shares(benefit):
            claimed[claimant].append(benefit)
    found = []
    for ident, row in snap.recorded.initiatives.items():
        if row.status not in PROPOSAL_STATUSES:
            continue
        initiative = facts[UUID(ident)]
        figures = initiative_value(
            initiative, claimed[initiative.initiative_id], snap.terms, snap.month, snap.money
        )
        found.append(
            Proposal(UUID(ident), row.name, row.kind, figures.pv_benefits, figures.pv_costs)
        )
    return found


def forecast_accuracy(db: ViewDatabase, snap: Snapshot) -> Accuracy:
    """Forecast accuracy of the snapshot's portfolio, and its reference class for proposals."""
    return accuracy_of(
        _invested(db, snap),
        _proposals(snap),
        currency=snap.terms.currency,
        as_of_month=snap.month,
    )
