"""Where a random history's choices come from, and the choices it makes of them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeVar

from hypothesis import strategies as st

from domain.months import add_months, month_of, parse_month

T = TypeVar("T")


class Chooser(Protocol):
    """Where a history's random choices come from (Hypothesis, or a seeded generator)."""

    def integer(self, low: int, high: int) -> int:
        """An integer from `low` to `high` inclusive."""
        ...


class Drawn:
    """Choices drawn by Hypothesis, so a failing history shrinks."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(min_value=low, max_value=high))


class Seeded:
    """Choices from a seeded generator: the same history every run."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)


class Choosing:
    """Choices of values a history needs, each drawn from its `chooser`, relative to `today`."""

    chooser: Chooser
    today: date

    def pick(self, options: Sequence[T]) -> T:
        return options[self.chooser.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        return self.chooser.integer(0, 99) < percent

    def number(self, low: int, high: int, places: int = 2) -> Decimal:
        scale = 10**places
        return Decimal(self.chooser.integer(low * scale, high * scale)).scaleb(-places)

    def month(self, low: int, high: int) -> str:
        """A month `low`..`high` months from the current one."""
        return add_months(month_of(self.today), self.chooser.integer(low, high))

    def day_in(self, month: str, *, past: bool = True) -> date:
        """A day of `month`; not after today when `past`."""
        year, mon = parse_month(month)
        last = self.today.day if past and month == month_of(self.today) else 28
        return date(year, mon, self.chooser.integer(1, min(28, last)))

    def periods(self, kind: str, low: int, high: int) -> dict[str, Decimal]:
        months = {self.month(-8, 24) for _ in range(self.chooser.integer(1, 6))}
        if kind == "level":
            return {m: self.number(-50, 300, 1) for m in sorted(months)}
        return {m: self.number(low, high) for m in sorted(months)}
