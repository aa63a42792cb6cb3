"""JSON for view rows: decimals as strings (never floats), ids and dates as text."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def _default(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> str:
    """Encode a view row's JSON column."""
    return json.dumps(value, default=_default, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> Any:
    """Decode a view row's JSON column; numbers come back as Decimal."""
    return json.loads(text, parse_float=Decimal)
