"""Months (`YYYY-MM`), dates and instants: parsing and arithmetic used by the value rules."""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime

from domain.errors import ValidationError

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")


def parse_month(value: str, field: str = "month") -> tuple[int, int]:
    """Return (year, month) of a `YYYY-MM` string, or raise ValidationError."""
    match = _MONTH.match(value) if isinstance(value, str) else None
    if not match:
        raise ValidationError(f"{value!r} is not a month; use YYYY-MM", field)
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900 or year > 2999:
        raise ValidationError(f"{value!r} is not a possible month", field)
    return year, month


def check_month(value: str, field: str = "month") -> str:
    """Return the month unchanged if valid, else raise ValidationError."""
    parse_month(value, field)
    return value


#: The days a date may name: those of the months `parse_month` accepts.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def check_day(day: date, field: str) -> date:
    """Return the date unchanged if it lies in the years months may name, else ValidationError."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"must be between {FIRST_DAY} and {LAST_DAY}", field)
    return day


def month_of(day: date) -> str:
    """The `YYYY-MM` month a date falls in."""
    return f"{day.year:04d}-{day.month:02d}"


@functools.lru_cache(maxsize=65_536)
def months_between(start: str, end: str) -> int:
    """Whole months from `start` to `end` (negative when end is earlier); cached, as the
    analytics ask it of the same few months for every forecast month of every initiative."""
    y1, m1 = parse_month(start)
    y2, m2 = parse_month(end)
    return (y2 - y1) * 12 + (m2 - m1)


def add_months(month: str, count: int) -> str:
    """The month `count` months after `month`."""
    year, mon = parse_month(month)
    index = year * 12 + (mon - 1) + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def utc_now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def current_month() -> str:
    """The current UTC month."""
    return month_of(utc_now().date())


def ensure_utc(instant: datetime, field: str = "as_of") -> datetime:
    """Reject naive datetimes; convert aware ones to UTC."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationError("instant needs a timezone offset (RFC 3339)", field)
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise ValidationError("instant is outside the calendar once in UTC", field) from None
