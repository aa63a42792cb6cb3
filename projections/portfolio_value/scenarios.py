"""Evaluated scenarios as the board saw them: read back from the value view, never recomputed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from projections.codec import loads
from projections.db import ViewDatabase
from projections.reads import instant_key, page_of


def scenario_body(
    scenario_id: str, portfolio_id: str, record: dict[str, Any], recorded_at: str, position: int
) -> dict[str, Any]:
    """A stored scenario as the API answers it: who, when and where, then what was stored."""
    result = dict(record["result"])
    return {
        "scenario_id": scenario_id,
        "portfolio_id": portfolio_id,
        "name": record["parameters"].get("name"),
        "kind": record["kind"],
        "parameters": record["parameters"],
        "recorded_at": recorded_at,
        "log_position": position,
        **result,
    }


_COLUMNS = "scenario_id, portfolio_id, record, recorded_at, position"


def _body(row: Any) -> dict[str, Any]:
    scenario_id, portfolio_id, record, recorded_at, position = row
    return scenario_body(
        str(scenario_id), str(portfolio_id), loads(record), recorded_at, int(position)
    )


def scenarios(
    db: ViewDatabase,
    portfolio_id: UUID,
    *,
    as_of: datetime | None = None,
    after: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None]:
    """A portfolio's scenarios in log order after a position, and the position to continue after."""
    sql = f"SELECT {_COLUMNS}, position FROM vt_scenario WHERE portfolio_id = ? AND position > ?"
    params: list[Any] = [str(portfolio_id), after]
    if as_of is not None:
        sql += " AND recorded_at <= ?"
        params.append(instant_key(as_of))
    sql += " ORDER BY position LIMIT ?"
    params.append(limit + 1)
    with db.read() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    page, next_after = page_of(rows, limit)
    return [_body(row[:5]) for row in page], next_after


def scenario_by_id(
    db: ViewDatabase, scenario_id: UUID, *, as_of: datetime | None = None
) -> dict[str, Any] | None:
    """One stored scenario (None when unknown, or recorded after `as_of`)."""
    sql = f"SELECT {_COLUMNS} FROM vt_scenario WHERE scenario_id = ?"
    params: list[Any] = [str(scenario_id)]
    if as_of is not None:
        sql += " AND recorded_at <= ?"
        params.append(instant_key(as_of))
    with db.read() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else _body(row)
