"""What every view's reads share: instants as the views store them, and keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.months import ensure_utc


def instant_key(instant: datetime) -> str:
    """An instant as the fixed-width UTC text the views store (the year always has 4 digits)."""
    return ensure_utc(instant).isoformat(timespec="microseconds")


def stored_instant(text: str) -> datetime:
    """A view's instant text back as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def page_of(rows: Sequence[Sequence[Any]], limit: int) -> tuple[list[Sequence[Any]], int | None]:
    """Cut `limit + 1` fetched rows (keyset last) into a page and the key after it, if any."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, (int(page[-1][-1]) if more and page else None)
