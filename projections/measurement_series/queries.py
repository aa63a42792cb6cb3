"""Reads of the measurement series view: a benefit's measurements with their corrections."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from projections.db import Cursor, ViewDatabase
from projections.reads import instant_key, page_of, stored_instant


@dataclass
class Measurement:
    """A measurement as recorded, with the corrections recorded by the read's instant."""

    measurement_id: UUID
    benefit_id: UUID
    original_value: Decimal
    observed_on: date
    source: str
    external_id: str | None
    recorded_at: datetime
    corrections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def value(self) -> Decimal:
        """The value in force: the latest correction's, else the original."""
        return self.corrections[-1]["value"] if self.corrections else self.original_value

    def record(self) -> dict[str, Any]:
        """The public shape of a measurement with its corrections."""
        return {
            "measurement_id": self.measurement_id,
            "benefit_id": self.benefit_id,
            "value": self.value,
            "observed_on": self.observed_on,
            "source": self.source,
            "external_id": self.external_id,
            "recorded_at": self.recorded_at,
            "original_value": self.original_value,
            "corrections": self.corrections,
        }


def measurements(
    db: ViewDatabase,
    benefit_id: UUID,
    *,
    observed_from: date | None = None,
    observed_to: date | None = None,
    as_of: datetime | None = None,
    after: int = 0,
    limit: int = 50,
) -> tuple[list[Measurement], int | None]:
    """A page of a benefit's measurements in recording order, and the key after it (or None).

    Filters on `observed_on` (valid time, inclusive); `as_of` hides measurements and
    corrections recorded later (transaction time).
    """
    where, params = ["benefit_id = ?", "position > ?"], [str(benefit_id), after]
    if observed_from is not None:
        where.append("observed_on >= ?")
        params.append(observed_from.isoformat())
    if observed_to is not None:
        where.append("observed_on <= ?")
        params.append(observed_to.isoformat())
    if as_of is not None:
        where.append("recorded_at <= ?")
        params.append(instant_key(as_of))
    with db.read() as cursor:
        cursor.execute(
            "SELECT measurement_id, value, observed_on, source, external_id, recorded_at, position"
            f" FROM vt_measurement WHERE {' AND '.join(where)} ORDER BY position LIMIT ?",
            (*params, limit + 1),
        )
        rows, next_after = page_of(cursor.fetchall(), limit)
        found = {
            str(row[0]): Measurement(
                measurement_id=UUID(str(row[0])),
                benefit_id=benefit_id,
                original_value=Decimal(row[1]),
                observed_on=date.fromisoformat(row[2]),
                source=row[3],
                external_id=row[4],
                recorded_at=stored_instant(row[5]),
            )
            for row in rows
        }
        if found:
            _attach_corrections(cursor, found, as_of)
    return list(found.values()), next_after


def _attach_corrections(
    cursor: Cursor, found: dict[str, Measurement], as_of: datetime | None
) -> None:
    marks = ", ".join("?" for _ in found)
    params: list[Any] = list(found)
    recorded = ""
    if as_of is not None:
        recorded = " AND recorded_at <= ?"
        params.append(instant_key(as_of))
    cursor.execute(
        "SELECT measurement_id, value, reason, recorded_at FROM vt_correction"
        f" WHERE measurement_id IN ({marks}){recorded} ORDER BY position",
        params,
    )
    for measurement_id, value, reason, recorded_at in cursor.fetchall():
        found[str(measurement_id)].corrections.append(
            {"value": Decimal(value), "reason": reason, "recorded_at": stored_instant(recorded_at)}
        )
