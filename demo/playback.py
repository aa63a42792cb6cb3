"""What a load of the demo keeps as it plays the story: the calendar, the ids it was given, plans.

Everything is relative to `today`: the base month is `history_months` before today's month. The
random figures come from one generator seeded with the story's seed and drawn in the story's
order, so the same story loaded on the same day writes the same figures.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from itertools import count
from typing import Protocol, TypeVar
from uuid import UUID

from demo.story import FINANCE_SOURCE, Story
from domain.application import ValuetrailApplication
from domain.months import add_months, month_of
from domain.values import Meta

# Who did what, as the audit trail shows it. The portfolio office's actor also marks the demo.
PMO = "demo/portfolio-office"
FINANCE = "demo/finance-ledger"
OPS = "demo/ops-dashboard"


class Dated(Protocol):
    """Something that happens in a month of the story."""

    @property
    def month(self) -> int: ...


D = TypeVar("D", bound=Dated)


def in_month(events: Iterable[D], k: int) -> Iterator[D]:
    """The events of month k, in the story's order."""
    return (event for event in events if event.month == k)


def quantize(value: Decimal, places: int) -> Decimal:
    """`value` rounded to `places` decimal places."""
    return value.quantize(Decimal(1).scaleb(-places))


def feed_actor(source: str) -> str:
    """The actor that posts a measurement source's figures."""
    return FINANCE if source == FINANCE_SOURCE else OPS


class Playback:
    """One load of a story: its calendar, random figures, and what has been written so far."""

    def __init__(self, app: ValuetrailApplication, story: Story, today: date) -> None:
        self.app = app
        self.story = story
        self.rng = random.Random(story.seed)
        self.base = add_months(month_of(today), -story.history_months)
        self.requests = count(1)
        self.portfolio_id: UUID | None = None
        self.goals: dict[str, UUID] = {}
        self.initiatives: dict[str, UUID] = {}
        self.status: dict[str, str] = {}
        self.plan: dict[str, tuple[int, int, Decimal]] = {}  # key -> (start, end, monthly rate)
        self.spent: dict[str, dict[str, Decimal]] = {}
        self.benefits: dict[str, UUID] = {}
        self.forecast: dict[str, dict[str, Decimal]] = {}
        self.closed: set[str] = set()
        self.measured: dict[tuple[str, int], UUID] = {}

    @property
    def portfolio(self) -> UUID:
        """The portfolio being loaded (created first)."""
        if self.portfolio_id is None:
            raise RuntimeError("the demo portfolio is not created yet")
        return self.portfolio_id

    def month(self, k: int) -> str:
        """Month k of the story (0 is the base month)."""
        return add_months(self.base, k)

    def day(self, k: int, day: int = 14) -> date:
        """A day of month k (the last, if the month is shorter)."""
        year, month = (int(part) for part in self.month(k).split("-"))
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))

    def month_end(self, k: int) -> date:
        """The last day of month k."""
        return self.day(k, 31)

    def meta(self, actor: str = PMO) -> Meta:
        """Who writes the next request, with a request id counting the load's requests."""
        return Meta(actor=actor, request_id=f"demo-{next(self.requests):05d}")

    def noise(self, sd: float) -> Decimal:
        """The next random deviation (mean 0, standard deviation `sd`)."""
        return Decimal(str(round(self.rng.gauss(0, sd), 4)))
