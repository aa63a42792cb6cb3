"""Lists of portfolios, initiatives and benefits from the value view's state rows, as recorded.

A list is read a page at a time with keyset pagination on `first_position` (the log position
of the aggregate's first event), so pages stay stable and cheap however long the list grows.
Only ids come from here: callers render each item from its aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.db import ViewDatabase
from projections.portfolio_value.writer import PortfolioValueView
from projections.reads import instant_key, page_of

#: The view whose state rows the lists read.
STATES_VIEW = PortfolioValueView.name
VISIBLE = "recorded_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)"
CURRENT = "superseded_at IS NULL"


@dataclass(frozen=True)
class Page:
    """The ids of one page, and the key to continue after it (None on the last page)."""

    ids: list[UUID]
    next_after: int | None


def _states(
    db: ViewDatabase,
    kind: str,
    where: str,
    params: Sequence[Any],
    *,
    as_of: datetime | None,
    after: int,
    limit: int,
) -> Page:
    """One page of the aggregates of a kind visible at `as_of` (now when None), oldest first."""
    at: tuple[str, ...] = ()
    if as_of is None:
        visible = CURRENT
    else:
        key = instant_key(as_of)
        visible, at = VISIBLE, (key, key)
    sql = (
        f"SELECT aggregate_id, first_position FROM vt_state WHERE kind = ? AND {visible}"
        f"{' AND ' + where if where else ''} AND first_position > ?"
        " ORDER BY first_position LIMIT ?"
    )
    with db.read() as cursor:
        cursor.execute(sql, (kind, *at, *params, after, limit + 1))
        rows = cursor.fetchall()
    page, next_after = page_of(rows, limit)
    return Page([UUID(str(row[0])) for row in page], next_after)


def portfolio_ids(
    db: ViewDatabase, *, as_of: datetime | None = None, after: int = 0, limit: int = 50
) -> Page:
    """Portfolios, oldest first."""
    return _states(db, "portfolio", "", (), as_of=as_of, after=after, limit=limit)


def initiative_ids(
    db: ViewDatabase,
    portfolio_id: UUID,
    *,
    status: str | None = None,
    as_of: datetime | None = None,
    after: int = 0,
    limit: int = 50,
) -> Page:
    """A portfolio's initiatives, oldest first, optionally only those of one status."""
    where, params = "portfolio_id = ?", [str(portfolio_id)]
    if status is not None:
        where += " AND status = ?"
        params.append(status)
    return _states(db, "initiative", where, params, as_of=as_of, after=after, limit=limit)


def benefit_ids(
    db: ViewDatabase,
    initiative_id: UUID,
    *,
    as_of: datetime | None = None,
    after: int = 0,
    limit: int = 50,
) -> Page:
    """The benefits that attribute a share to an initiative, oldest first."""
    # `owners` is ",id1,id2,": the commas make the match exact (a UUID has no % or _).
    where, params = "owners LIKE ?", [f"%,{initiative_id},%"]
    return _states(db, "benefit", where, params, as_of=as_of, after=after, limit=limit)
