"""Reading the portfolio value view as recorded at an instant (transaction time).

Everything recorded about one portfolio by `as_of`: the visible version of each aggregate,
the actuals summed up to the as-of month, spend, and the forecasts a read must value again.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.valuation import Measured, PortfolioTerms, measured
from projections.codec import loads
from projections.db import Cursor, PostgresViewDatabase, ViewDatabase
from projections.portfolio_value.rows import (
    BenefitRow,
    InitiativeRow,
    Recorded,
    terms_from,
    terms_key,
)
from projections.view import instant_text

VISIBLE = "recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)"

Row = dict[str, Any] | InitiativeRow | BenefitRow


class _Versions:
    """Decoded `vt_state` rows by (database, aggregate, version), shared by reads in a process.

    A version's row never changes once the projection wrote it (a rebuild writes the same), so
    a read decodes only the versions it has not seen. Initiatives and benefits are kept as
    flat tuples of text: one object each for the garbage collector to walk, not a dozen. At
    most `size` versions (about 1.5 kB each for a benefit with a 4-year forecast) are kept.
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._rows: dict[tuple[str, str, int], Row] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, int]) -> Row | None:
        return self._rows.get(key)

    def put(self, key: tuple[str, str, int], row: Row) -> None:
        with self._lock:
            if len(self._rows) >= self.size:  # forget the oldest tenth
                for old in list(itertools.islice(self._rows, max(1, self.size // 10))):
                    del self._rows[old]
            self._rows[key] = row


def _row(kind: str, facts: str) -> Row:
    decoded = loads(facts)
    if kind == "initiative":
        return InitiativeRow.of(decoded)
    return BenefitRow.of(decoded) if kind == "benefit" else decoded


_VERSIONS = _Versions()


def _read(
    cursor: Cursor,
    portfolio_id: UUID,
    at: str,
    month: str,
    *,
    lateral: bool = False,
    source: str = "",
) -> Recorded | None:
    visible = f"FROM vt_state WHERE portfolio_id = ? AND {VISIBLE}"
    params = (str(portfolio_id), at, at)
    cursor.execute(f"SELECT aggregate_id, version, kind {visible} ORDER BY first_position", params)
    rows = cursor.fetchall()
    unseen = [str(a) for a, v, _ in rows if _VERSIONS.get((source, a, int(v))) is None]
    query, values = f"SELECT aggregate_id, version, kind, facts {visible}", list(params)
    if len(unseen) <= 200:  # a few: name them; many: one more pass beats a long IN list
        query += f" AND aggregate_id IN ({', '.join('?' * len(unseen))})"
        values += unseen
    if unseen:
        cursor.execute(query, values)
        for aggregate_id, version, kind, facts in cursor.fetchall():
            key = (source, aggregate_id, int(version))
            if _VERSIONS.get(key) is None:
                _VERSIONS.put(key, _row(kind, facts))
    portfolio = None
    recorded = Recorded({})
    for aggregate_id, version, kind in rows:
        found = _VERSIONS.get((source, aggregate_id, int(version)))
        if found is None:  # forgotten by another read meanwhile: read it again
            cursor.execute(
                "SELECT facts FROM vt_state WHERE aggregate_id = ? AND version = ?",
                (aggregate_id, version),
            )
            found = _row(kind, cursor.fetchone()[0])
        if isinstance(found, InitiativeRow):
            recorded.initiatives[aggregate_id] = found
        elif isinstance(found, BenefitRow):
            recorded.benefits[aggregate_id] = found
        else:
            portfolio = found
    if portfolio is None:
        return None
    recorded.portfolio = portfolio
    versions = {str(a): int(v) for a, v, _ in rows}
    _read_forecasts(cursor, recorded, versions, terms_from(portfolio))
    kinds = {b: row.kind for b, row in recorded.benefits.items()}
    recorded.measured = _measured(cursor, portfolio_id, at, month, kinds, lateral=lateral)
    cursor.execute(
        "SELECT initiative_id, amount FROM vt_spend WHERE portfolio_id = ? AND recorded_at <= ?",
        (str(portfolio_id), at),
    )
    for initiative_id, amount in cursor.fetchall():
        recorded.spend[initiative_id] = recorded.spend.get(initiative_id, Decimal(0)) + Decimal(
            amount
        )
    return recorded


def _corrections(cursor: Cursor, portfolio_id: UUID, at: str) -> dict[str, str]:
    """Measurement id → its latest correction recorded by `at`."""
    cursor.execute(
        "SELECT measurement_id, value FROM vt_correction"
        " WHERE portfolio_id = ? AND recorded_at <= ? ORDER BY position",
        (str(portfolio_id), at),
    )
    return dict(cursor.fetchall())


def monthly_actuals(
    cursor: Cursor, portfolio_id: UUID, at: str, kinds: dict[str, str]
) -> dict[str, dict[str, Decimal]]:
    """Monthly actuals per benefit, folded as the benefit folds its events.

    In log order, a flow's month adds each amount and a level's month takes a measurement
    observed on the same day as its latest or later; a correction stands in for the value it
    corrects.
    """
    corrected = _corrections(cursor, portfolio_id, at)
    wanted = sorted(kinds)
    cursor.execute(
        "SELECT position, measurement_id, benefit_id, value, observed_on, month FROM vt_measurement"
        f" WHERE benefit_id IN ({', '.join('?' * len(wanted))}) AND recorded_at <= ?",
        (*wanted, at),
    )
    actuals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    observed: dict[tuple[str, str], str] = {}
    for _position, measurement_id, benefit_id, value, observed_on, month in sorted(
        cursor.fetchall()
    ):
        kind = kinds.get(benefit_id)
        if kind is None:
            continue
        amount = Decimal(corrected.get(measurement_id, value))
        months = actuals[benefit_id]
        if kind == "flow":
            months[month] = months.get(month, Decimal(0)) + amount
            continue
        latest = observed.get((benefit_id, month))
        if latest is None or observed_on >= latest:
            observed[benefit_id, month] = observed_on
            months[month] = amount
    return dict(actuals)


#: Each benefit's latest vt_measured row recorded by an instant (`?` instant, `?` portfolio).
_LATEST = (
    "SELECT m.benefit_id, m.total, m.months, m.last, m.last_month FROM vt_measured m JOIN ("
    "  SELECT benefit_id, MAX(position) AS position FROM vt_measured"
    "  WHERE recorded_at <= ? AND portfolio_id = ? GROUP BY benefit_id"
    ") latest ON latest.benefit_id = m.benefit_id AND latest.position = m.position"
)
#: The same, one index probe per benefit (PostgreSQL: about a third of the time of `_LATEST`).
_LATEST_LATERAL = (
    "SELECT m.benefit_id, m.total, m.months, m.last, m.last_month FROM vt_series_benefit s"
    " CROSS JOIN LATERAL (SELECT * FROM vt_measured x WHERE x.benefit_id = s.benefit_id"
    "  AND x.recorded_at <= ? ORDER BY x.position DESC LIMIT 1) m"
    " WHERE s.portfolio_id = ?"
)


def _measured(
    cursor: Cursor,
    portfolio_id: UUID,
    at: str,
    month: str,
    kinds: dict[str, str],
    *,
    lateral: bool,
) -> dict[str, Measured]:
    """Each benefit's actuals summed over the months up to `month`, as recorded at `at`.

    The projection keeps every benefit's sums after each change (`vt_measured`), so this reads
    one row per benefit. A benefit measured for a month after `month` (a level or amount
    observed ahead of the as-of month) is summed from its measurements instead.
    """
    cursor.execute(_LATEST_LATERAL if lateral else _LATEST, (at, str(portfolio_id)))
    sums: dict[str, Measured] = {}
    ahead: dict[str, str] = {}
    for benefit_id, total, months, last, last_month in cursor.fetchall():
        if benefit_id not in kinds:
            continue
        if last_month > month:
            ahead[benefit_id] = kinds[benefit_id]
            continue
        sums[benefit_id] = Measured(
            Decimal(total), int(months), None if last is None else Decimal(last)
        )
    if ahead:
        for benefit_id, actuals in monthly_actuals(cursor, portfolio_id, at, ahead).items():
            sums[benefit_id] = measured(actuals, month)
    return sums


def _read_forecasts(
    cursor: Cursor, recorded: Recorded, versions: dict[str, int], terms: PortfolioTerms
) -> None:
    """Fetch the forecasts a value read must value again: those of stopped initiatives and of
    the benefits they claim (valued around the stop), and any valued under other terms."""
    key = terms_key(terms)
    stopped = {i for i, row in recorded.initiatives.items() if row.status == "stopped"}
    wanted = [i for i, row in recorded.initiatives.items() if i in stopped or row.terms != key]
    wanted += [
        b for b, row in recorded.benefits.items() if row.claimants() & stopped or row.terms != key
    ]
    for chunk in range(0, len(wanted), 500):
        ids = wanted[chunk : chunk + 500]
        cursor.execute(
            "SELECT aggregate_id, version, months FROM vt_forecast"
            f" WHERE aggregate_id IN ({', '.join('?' * len(ids))})",
            ids,
        )
        for aggregate_id, version, months in cursor.fetchall():
            if versions[aggregate_id] == int(version):
                recorded.forecasts[aggregate_id] = months


def month_of_instant(at: datetime) -> str:
    """The UTC month of an instant: what "to date" means for a value view as of it."""
    return f"{at.year:04d}-{at.month:02d}"


def read_recorded(
    db: ViewDatabase, cursor: Cursor, portfolio_id: UUID, at: datetime
) -> Recorded | None:
    """Everything recorded about a portfolio by `at` (UTC), actuals summed up to its month."""
    return _read(
        cursor,
        portfolio_id,
        instant_text(at),
        month_of_instant(at),
        lateral=isinstance(db, PostgresViewDatabase),
        source=db.url,
    )
