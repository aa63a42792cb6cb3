"""The projections benchmark's history: its sizes, calendar, archetypes, what was written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.values import Meta
from projections.db import ViewDatabase
from projections.log import events_table

BOARD = Meta(actor="investment-board", request_id="bench-board")
PMO = Meta(actor="pmo", request_id="bench-pmo")
FEED = Meta(actor="finance-feed", request_id="bench-feed")
OPS = Meta(actor="ops-feed", request_id="bench-ops")


@dataclass(frozen=True)
class Sizes:
    """How much work each part does."""

    events: int  # log size the history is topped up to
    initiatives: int  # in the valued portfolio
    benefits: int  # in the valued portfolio (a multiple of `initiatives`)
    months: int  # months of history, each with a measurement of every benefit
    batch: int  # items per record_measurements call
    value_calls: int  # (b) timed calls at random instants
    raw_rounds: int  # (c) alternating rounds of raw read and verify
    lag_seconds: float  # (d) how long the writer runs
    lag_rate: int  # (d) measurements per second


FULL = Sizes(
    events=200_000,
    initiatives=500,
    benefits=2000,
    months=36,
    batch=500,
    value_calls=30,
    raw_rounds=4,
    lag_seconds=30.0,
    lag_rate=200,
)
QUICK = Sizes(
    events=20_000,
    initiatives=50,
    benefits=200,
    months=36,
    batch=100,
    value_calls=10,
    raw_rounds=2,
    lag_seconds=8.0,
    lag_rate=200,
)


# -- the history -------------------------------------------------------------------------------


def month_text(year: int, month: int) -> str:
    """YYYY-MM."""
    return f"{year:04d}-{month:02d}"


def months_back(count: int, today: date) -> list[str]:
    """The `count` months before this one, oldest first."""
    index = today.year * 12 + today.month - 1
    return [month_text(i // 12, i % 12 + 1) for i in range(index - count, index)]


def month_add(month: str, n: int) -> str:
    """`month` plus n months."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + n
    year, zero_based = divmod(index, 12)
    return month_text(year, zero_based + 1)


def day_of(month: str, day: int = 15) -> date:
    """A day of a month."""
    return date(int(month[:4]), int(month[5:]), day)


GOALS = (
    ("Cut cost to serve", "3"),
    ("Faster, simpler services", "2"),
    ("Resilient operations", "2"),
    ("Net zero estate", "1"),
    ("Skilled workforce", "1"),
)
#: (category, measure, monthly forecast scale): the four benefit archetypes, in turn.
ARCHETYPES: tuple[tuple[str, dict[str, Any], int], ...] = (
    ("cashable", {"name": "savings", "unit": "GBP", "kind": "flow"}, 40_000),
    (
        "non_cashable",
        {"name": "staff hours saved", "unit": "hours", "kind": "flow", "value_per_unit": "32"},
        900,
    ),
    (
        "quantitative",
        {
            "name": "processing days",
            "unit": "days",
            "kind": "level",
            "direction": "decrease",
            "value_per_unit": "1500",
        },
        20,
    ),
    ("qualitative", {"name": "satisfaction", "unit": "score", "kind": "level"}, 70),
)


@dataclass
class Planned:
    """A benefit of the valued portfolio and what the generator needs to know to measure it."""

    benefit_id: UUID
    number: int
    scale: Decimal
    kind: str


@dataclass
class History:
    """What the generator wrote: ids, the time window of the valued portfolio, the event mix."""

    portfolio_id: UUID | None = None
    initiatives: list[UUID] = field(default_factory=list)
    benefits: list[Planned] = field(default_factory=list)
    started: datetime | None = None
    finished: datetime | None = None
    calls: Counter[str] = field(default_factory=Counter)
    mix: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    head: int = 0


def event_mix(app: ValuetrailApplication, url: str) -> Counter[str]:
    """Events in the log by topic (without the `valuetrail.` prefix and the version)."""
    table, schema = events_table(app)
    db = ViewDatabase.from_url(url)
    try:
        with db.read() as cursor:
            cursor.execute(f'SELECT topic, COUNT(*) FROM "{schema}"."{table}" GROUP BY topic')
            rows = cursor.fetchall()
    finally:
        db.close()
    return Counter(
        {str(topic).removeprefix("valuetrail.").rsplit(".", 1)[0]: int(n) for topic, n in rows}
    )
