"""JSON for view rows: decimals as strings (never floats), ids and dates as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def months_text(amounts: Mapping[str, Decimal]) -> str:
    """A month → amount mapping as `month amount month amount ...` text, months ascending.

    Long monthly series are kept in view rows this way: one JSON string parses far faster
    than an object with a key per month, and the reader turns it into numbers only if needed.
    """
    return " ".join(f"{month} {amounts[month]}" for month in sorted(amounts))


def months_from_text(text: str) -> dict[str, str]:
    """The month → amount text mapping of `months_text`."""
    parts = text.split()
    return dict(zip(parts[0::2], parts[1::2], strict=True))
