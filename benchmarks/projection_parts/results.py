"""What one run of the projections benchmark measured: (a) to (d) beside the raw log reads."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from benchmarks.projection_parts.history import History, Sizes

#: (a) The name a rebuild of every view in one pass is reported under.
ALL_VIEWS = "*"


@dataclass(frozen=True)
class Rebuilt:
    """(a) one view (or ALL_VIEWS in one pass): its rebuild and the raw read paired with it."""

    view: str
    events: int
    seconds: float
    raw_seconds: float
    processes: int = 1


@dataclass(frozen=True)
class ValueCalls:
    """(b) latencies of the value view and how much of the log each instant covered."""

    seconds: list[float]
    covered: list[int]  # log position at each instant
    initiatives: int
    benefits: int
    measurements: int  # visible at the latest instant


@dataclass(frozen=True)
class Verified:
    """(c) rounds of verify_store and of the raw read, in run order."""

    events: int
    seconds: list[float]
    raw_seconds: list[float]


@dataclass(frozen=True)
class Lag:
    """(d) per measurement: seconds from its event's timestamp until the series view had it."""

    lags: list[float]
    rate: float  # measurements per second the writer achieved
    seconds: float
    unseen: int  # measurements the view had not processed when the wait ended


@dataclass
class Run:
    """Everything one run measured."""

    sizes: Sizes
    history: History
    mix: Counter[str]
    rebuilt: list[Rebuilt] = field(default_factory=list)
    value: ValueCalls | None = None
    verified: Verified | None = None
    lag: Lag | None = None
    profile: str = ""
    seconds: float = 0.0

    @property
    def raw_rates(self) -> list[float]:
        """Every raw read of the run, as events/s."""
        events = self.history.head
        blocks = [r.raw_seconds for r in self.rebuilt]
        if self.verified is not None:
            blocks += self.verified.raw_seconds
        return [events / s for s in blocks]

    @property
    def raw_rate(self) -> float:
        """Median raw log-read rate of the run."""
        return statistics.median(self.raw_rates)
