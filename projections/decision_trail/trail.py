"""Reads for auditors: the decision trail view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from projections.codec import loads
from projections.db import ViewDatabase
from projections.reads import instant_key, page_of, stored_instant

_DATES = ("decided_on", "next_review_on")


@dataclass(frozen=True)
class TrailFilter:
    """Which decisions an auditor asks for."""

    portfolio_id: UUID | None = None
    initiative_id: UUID | None = None
    decision: str | None = None
    decided_from: date | None = None
    decided_to: date | None = None
    as_of: datetime | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        """SQL conditions and their parameters."""
        where: list[str] = []
        params: list[Any] = []
        for condition, value in (
            ("portfolio_id = ?", self.portfolio_id),
            ("initiative_id = ?", self.initiative_id),
            ("decision = ?", self.decision),
            ("decided_on >= ?", self.decided_from),
            ("decided_on <= ?", self.decided_to),
        ):
            if value is not None:
                where.append(condition)
                params.append(value.isoformat() if isinstance(value, date) else str(value))
        if self.as_of is not None:
            where.append("recorded_at <= ?")
            params.append(instant_key(self.as_of))
        return where, params


def decision_of(record_text: str) -> dict[str, Any]:
    """A stored decision record with its dates and instants typed again."""
    record: dict[str, Any] = loads(record_text)
    for name in _DATES:
        if record.get(name) is not None:
            record[name] = date.fromisoformat(record[name])
    record["recorded_at"] = stored_instant(record["recorded_at"])
    return record


def decisions(
    db: ViewDatabase, which: TrailFilter, *, after: int = 0, limit: int | None = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """Decisions in log order after a position, and the position to continue after (or None).

    With `limit` None, every matching decision (no next page).
    """
    where, params = which.where()
    where.append("position > ?")
    params.append(after)
    sql = f"SELECT record, position FROM vt_decision WHERE {' AND '.join(where)} ORDER BY position"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit + 1)
    with db.read() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if limit is None:
        return [decision_of(row[0]) for row in rows], None
    page, next_after = page_of(rows, limit)
    return [decision_of(row[0]) for row in page], next_after


def decision_by_id(db: ViewDatabase, decision_id: UUID) -> dict[str, Any] | None:
    """One decision record, or None when the trail has no such decision."""
    with db.read() as cursor:
        cursor.execute("SELECT record FROM vt_decision WHERE decision_id = ?", (str(decision_id),))
        row = cursor.fetchone()
    return None if row is None else decision_of(row[0])
