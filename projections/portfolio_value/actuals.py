"""A benefit's actuals as the value view keeps them: summed over all months, and per month.

After each measurement or correction the value view writes the benefit's sums over every month
(`vt_measured`: a value read takes one row per benefit) and the folded actual of the month it
changed (`vt_actual`: the track record takes one row per benefit and month, not every
measurement with its corrections).
"""

from __future__ import annotations

import bisect
import threading
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.benefit import Benefit
from domain.months import month_of
from domain.valuation import measured
from projections.db import Cursor
from projections.view import Envelope

DDL = (
    # Each benefit's actuals summed over every month (`domain.valuation.measured`), after
    # each change: a value read takes one row per benefit instead of every measurement.
    "CREATE TABLE IF NOT EXISTS vt_measured ("
    " benefit_id TEXT NOT NULL, position BIGINT NOT NULL, portfolio_id TEXT NOT NULL,"
    " recorded_at TEXT NOT NULL, total TEXT NOT NULL, months INTEGER NOT NULL,"
    " last TEXT, last_month TEXT NOT NULL, PRIMARY KEY (benefit_id, position))",
    "CREATE INDEX IF NOT EXISTS vt_measured_portfolio ON vt_measured (portfolio_id, recorded_at)",
    # The month's actual as the benefit folds it (a flow's sum, a level's latest reading,
    # corrections standing in), after each change to that month.
    "CREATE TABLE IF NOT EXISTS vt_actual ("
    " benefit_id TEXT NOT NULL, month TEXT NOT NULL, position BIGINT NOT NULL,"
    " portfolio_id TEXT NOT NULL, recorded_at TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (benefit_id, month, position))",
    # A process keeps the rows it has read (`actuals_before`) and then reads only newer ones,
    # by position (the index on the instant served reading them all on every read).
    "DROP INDEX IF EXISTS vt_actual_portfolio",
    "CREATE INDEX IF NOT EXISTS vt_actual_portfolio_position ON vt_actual (portfolio_id, position)",
)
MEASURED_COLUMNS = (
    "benefit_id, position, portfolio_id, recorded_at, total, months, last, last_month"
)
ACTUAL_COLUMNS = "benefit_id, month, position, portfolio_id, recorded_at, value"


def measured_row(envelope: Envelope, benefit: Benefit) -> tuple[Any, ...]:
    """The vt_measured row of a benefit after this event: its actuals summed over all months."""
    last_month = max(benefit.actuals)
    seen = measured(benefit.actuals, last_month)
    return (
        str(benefit.id),
        envelope.position,
        str(benefit.portfolio_id),
        envelope.recorded_at,
        str(seen.total),
        seen.months,
        None if seen.last is None else str(seen.last),
        last_month,
    )


def actual_row(envelope: Envelope, benefit: Benefit) -> tuple[Any, ...]:
    """The vt_actual row of the month this measurement or correction changed."""
    month = month_of(envelope.event.observed_on)
    return (
        str(benefit.id),
        month,
        envelope.position,
        str(benefit.portfolio_id),
        envelope.recorded_at,
        str(benefit.actuals[month]),
    )


def missing_actuals(cursor: Cursor) -> bool:
    """Whether sums were kept before the per-month actuals were (the view must be rebuilt)."""
    cursor.execute("SELECT 1 FROM vt_measured LIMIT 1")
    summed = cursor.fetchone() is not None
    cursor.execute("SELECT 1 FROM vt_actual LIMIT 1")
    return summed and cursor.fetchone() is None


class _Rows:
    """One benefit's vt_actual rows in log order: when each was recorded, its month, its value."""

    __slots__ = ("months", "ordered", "recorded", "values")

    def __init__(self) -> None:
        self.recorded: list[str] = []
        self.months: list[str] = []
        self.values: list[Decimal] = []
        #: A benefit's changes are recorded one after another, so in log order their instants
        #: never go back; should one ever do, the read checks every row instead of bisecting.
        self.ordered = True

    def add(self, recorded: str, month: str, value: Decimal) -> None:
        if self.recorded and recorded < self.recorded[-1]:
            self.ordered = False
        self.recorded.append(recorded)
        self.months.append(month)
        self.values.append(value)

    def as_of(self, at: str, before: str) -> dict[str, Decimal]:
        """Each month's latest value recorded by `at`, for months before `before`."""
        if self.ordered:
            count = bisect.bisect_right(self.recorded, at)
            latest = dict(zip(self.months[:count], self.values[:count], strict=True))
        else:  # in log order, so a later row of a month replaces an earlier one
            rows = zip(self.recorded, self.months, self.values, strict=True)
            latest = {month: value for when, month, value in rows if when <= at}
        return {month: value for month, value in latest.items() if month < before}


class _Kept:
    """A portfolio's vt_actual rows as this process has read them, up to `last`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = 0
        #: The last row read (benefit, month, position): gone when the view was emptied.
        self.sentinel: tuple[str, str, int] | None = None
        self.benefits: dict[str, _Rows] = {}


#: Rows by (view database, portfolio): a row never changes once stored, and rows arrive in log
#: order (one writer, batch by batch), so a read fetches only the rows after the last it saw.
_KEPT: dict[tuple[str, str], _Kept] = {}
_KEPT_LOCK = threading.Lock()
_KEPT_PORTFOLIOS = 16


def forget_kept_actuals() -> None:
    """Drop every row this process keeps: the next read of each portfolio reads them all."""
    with _KEPT_LOCK:
        _KEPT.clear()


def _kept(source: str, portfolio_id: str) -> _Kept:
    with _KEPT_LOCK:
        found = _KEPT.pop((source, portfolio_id), None) or _Kept()
        _KEPT[(source, portfolio_id)] = found  # the most recently used last
        while len(_KEPT) > _KEPT_PORTFOLIOS:
            _KEPT.pop(next(iter(_KEPT)))
        return found


def _catch_up(cursor: Cursor, portfolio_id: str, kept: _Kept) -> None:
    """Read the portfolio's rows stored after the last one kept (all of them after a rebuild
    emptied the view, or on the first read)."""
    if kept.sentinel is not None:
        cursor.execute(
            "SELECT 1 FROM vt_actual WHERE benefit_id = ? AND month = ? AND position = ?",
            kept.sentinel,
        )
        if cursor.fetchone() is None:
            kept.last, kept.sentinel, kept.benefits = 0, None, {}
    cursor.execute(
        "SELECT benefit_id, month, position, recorded_at, value FROM vt_actual"
        " WHERE portfolio_id = ? AND position > ? ORDER BY position",
        (portfolio_id, kept.last),
    )
    rows = cursor.fetchall()
    if not rows:
        return
    months: dict[str, str] = {}
    for benefit_id, month, _, recorded_at, value in rows:
        found = kept.benefits.get(benefit_id)
        if found is None:
            found = kept.benefits[benefit_id] = _Rows()
        found.add(recorded_at, months.setdefault(month, month), Decimal(value))
    benefit_id, month, position, _, _ = rows[-1]
    kept.last, kept.sentinel = int(position), (str(benefit_id), str(month), int(position))


def actuals_before(
    cursor: Cursor, source: str, portfolio_id: UUID, at: str, before: str, wanted: set[str]
) -> dict[str, dict[str, Decimal]]:
    """The wanted benefits' monthly actuals as recorded at `at`, for months before `before`.

    For each month the row of the greatest position recorded by `at` is the latest. The rows
    are kept per process (`source` names the view database) and each read fetches only those
    stored since the last: reading and sorting out every row of the portfolio on each read
    was most of a forecast-accuracy read.
    """
    kept = _kept(source, str(portfolio_id))
    with kept.lock:
        _catch_up(cursor, str(portfolio_id), kept)
        found = {b: kept.benefits[b].as_of(at, before) for b in wanted if b in kept.benefits}
    return {benefit_id: months for benefit_id, months in found.items() if months}
