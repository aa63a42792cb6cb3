"""A benefit's actuals as the value view keeps them: summed over all months, and per month.

After each measurement or correction the value view writes the benefit's sums over every month
(`vt_measured`: a value read takes one row per benefit) and the folded actual of the month it
changed (`vt_actual`: the track record takes one row per benefit and month, not every
measurement with its corrections).
"""

from __future__ import annotations

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
    "CREATE INDEX IF NOT EXISTS vt_actual_portfolio"
    " ON vt_actual (portfolio_id, recorded_at, position)",
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


def actuals_before(
    cursor: Cursor, portfolio_id: UUID, at: str, before: str, wanted: set[str]
) -> dict[str, dict[str, Decimal]]:
    """The wanted benefits' monthly actuals as recorded at `at`, for months before `before`.

    A benefit's events are recorded one after another, so for each of its months the row of
    the greatest position is the latest. Rows come unordered and the latest is kept here:
    sorting every row of the portfolio cost the server more than the rest of the read.
    """
    cursor.execute(
        "SELECT benefit_id, month, position, value FROM vt_actual"
        " WHERE portfolio_id = ? AND recorded_at <= ? AND month < ?",
        (str(portfolio_id), at, before),
    )
    latest: dict[str, dict[str, tuple[int, str]]] = {b: {} for b in wanted}
    for benefit_id, month, position, value in cursor.fetchall():
        months = latest.get(benefit_id)
        if months is None:  # not wanted
            continue
        seen = months.get(month)
        if seen is None or seen[0] < position:
            months[month] = (position, value)
    return {
        benefit_id: {month: Decimal(value) for month, (_, value) in months.items()}
        for benefit_id, months in latest.items()
        if months
    }
