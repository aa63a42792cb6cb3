"""Q6/Q7: what came of the forecasts the board invested on, and the reference class (§5.3).

Each invested initiative is judged against the forecasts, benefits and attribution shares in
force when its invest decision was recorded, over the months from the invest month to the month
before the as-of month. The ratios, grouped by kind, sponsor and leader, are the organisation's
own track record: applied to a proposal, they correct its optimism as HM Treasury's Green Book
asks for costs and benefits alike.
"""

from __future__ import annotations

import bisect
import functools
import math
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from domain.months import add_months, month_of, months_between
from domain.valuation import BenefitFacts, effective_shares, monetary_series, monetary_total

ZERO = Decimal(0)
HUNDRED = Decimal(100)
#: A kind needs this many ratios to be its own reference class; all kinds together, too.
REFERENCE_MINIMUM = 3


class MonthlySeries(Mapping[str, Decimal]):
    """A monthly series in month order: a window of it takes two look-ups, not a pass."""

    __slots__ = ("amounts", "months")

    def __init__(self, values: Mapping[str, Decimal]) -> None:
        ordered = sorted(values.items())
        # Transposed in one pass: the months, and their amounts in the same order.
        self.months: tuple[str, ...] = ()
        self.amounts: tuple[Decimal, ...] = ()
        if ordered:
            self.months, self.amounts = zip(*ordered, strict=True)

    def __getitem__(self, month: str) -> Decimal:
        index = bisect.bisect_left(self.months, month)
        if index == len(self.months) or self.months[index] != month:
            raise KeyError(month)
        return self.amounts[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.months)

    def __len__(self) -> int:
        return len(self.months)

    def between(self, first: str, last: str) -> tuple[Decimal, ...]:
        """The amounts of the months from `first` to `last` (both included), in month order."""
        start = bisect.bisect_left(self.months, first)
        return self.amounts[start : bisect.bisect_right(self.months, last)]


@dataclass(frozen=True)
class PromisedBenefit:
    """A benefit as it stood at the invest decision, and its monthly actuals as recorded now.

    `forecast_money` is its whole forecast in money (`monetary_series`), when the caller keeps
    it: a stored version's forecast never changes, so a caller may work it out once.
    """

    facts: BenefitFacts
    actuals: Mapping[str, Decimal]
    forecast_money: Mapping[str, Decimal] | None = None


@dataclass(frozen=True)
class Invested:
    """An initiative that reached active, with what was promised when it did."""

    initiative_id: UUID
    name: str
    kind: str
    sponsor: str
    leader: str | None
    invested_on: date
    cost_forecast: Mapping[str, Decimal]
    spend: Mapping[str, Decimal]
    benefits: Sequence[PromisedBenefit]


@dataclass(frozen=True)
class Proposal:
    """A proposal's present values, to be corrected by the reference class."""

    initiative_id: UUID
    name: str
    kind: str
    pv_benefits: Decimal
    pv_costs: Decimal


@dataclass(frozen=True)
class Track:
    """Promise against outcome for one invested initiative."""

    initiative_id: UUID
    name: str
    kind: str
    sponsor: str
    leader: str | None
    invested_on: date
    months: int
    forecast_at_invest: Decimal
    realised: Decimal
    accuracy_ratio: Decimal | None
    optimism_pct: Decimal | None
    cost_forecast_at_invest: Decimal
    spend: Decimal
    cost_overrun_pct: Decimal | None
    cost_ratio: Decimal | None


@dataclass(frozen=True)
class Group:
    """The ratios of a kind, sponsor or leader: median and P80 (None when there are none)."""

    key: str
    n: int
    median_ratio: Decimal | None
    p80_ratio: Decimal | None
    median_cost_ratio: Decimal | None
    p80_cost_ratio: Decimal | None


@dataclass(frozen=True)
class Adjusted:
    """A proposal with the reference class applied (ratios None when the class is too small)."""

    proposal: Proposal
    reference_ratio: Decimal | None
    adjusted_pv_benefits: Decimal | None
    reference_cost_ratio: Decimal | None
    adjusted_pv_costs: Decimal | None


@dataclass(frozen=True)
class Accuracy:
    """The answer to the forecast-accuracy question."""

    initiatives: list[Track]
    by_kind: list[Group]
    by_sponsor: list[Group]
    by_leader: list[Group]
    proposals: list[Adjusted]


def percentile(values: Sequence[Decimal], pct: int) -> Decimal:
    """The `pct`-th percentile, linear interpolation between closest ranks (numpy's default)."""
    if len(values) == 1:
        return values[0]
    # The fewest cut points that include this one: 20 and 80 are the 1st and 4th of n = 5.
    step = math.gcd(pct, 100)
    cuts = statistics.quantiles(values, n=100 // step, method="inclusive")
    return Decimal(cuts[pct // step - 1])


def _median(values: Sequence[Decimal]) -> Decimal | None:
    return statistics.median(values) if values else None


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if denominator == 0 else numerator / denominator


def _carried(actuals: MonthlySeries, months: Sequence[str]) -> list[Decimal]:
    """A level's reading per month, the last reading carried into months without one."""
    if not months:
        return []
    within = actuals.between(months[0], months[-1])
    if len(within) == len(months):  # a reading in every month: nothing to carry
        return list(within)
    filled: list[Decimal] = []
    for month in months:
        index = bisect.bisect_right(actuals.months, month)
        if index:  # none before the first reading
            filled.append(actuals.amounts[index - 1])
    return filled


def _series(values: Mapping[str, Decimal]) -> MonthlySeries:
    return values if isinstance(values, MonthlySeries) else MonthlySeries(values)


@functools.lru_cache(maxsize=4096)
def _window(first: str, count: int) -> tuple[str, ...]:
    """The `count` months from `first` on (initiatives invested in one month share them)."""
    return tuple(add_months(first, k) for k in range(count))


def track(initiative: Invested, *, currency: str, as_of_month: str) -> Track:
    """Promise against outcome from the invest month to the month before `as_of_month`."""
    first = month_of(initiative.invested_on)
    count = max(0, months_between(first, as_of_month))
    # `YYYY-MM` text sorts as months do: the window is a range of text, and only the actuals of
    # its months are turned into money (a series runs far beyond it on a long history).
    last = add_months(first, count - 1) if count else ""
    promised = realised = ZERO
    for benefit in initiative.benefits:
        share = effective_shares(benefit.facts).get(initiative.initiative_id)
        if share is None:
            continue
        forecast = benefit.forecast_money
        if forecast is None:
            forecast = monetary_series(benefit.facts, benefit.facts.forecast, currency)
        promised += share * sum(_series(forecast).between(first, last), ZERO)
        actuals = _series(benefit.actuals)
        if benefit.facts.kind == "level":  # carried into the window's months without a reading
            amounts: Sequence[Decimal] = _carried(actuals, _window(first, count))
        else:
            amounts = actuals.between(first, last)
        realised += share * monetary_total(benefit.facts, amounts, currency)
    cost = sum(_series(initiative.cost_forecast).between(first, last), ZERO)
    spent = sum(_series(initiative.spend).between(first, last), ZERO)
    accuracy = _ratio(realised, promised)
    cost_ratio = _ratio(spent, cost)
    return Track(
        initiative_id=initiative.initiative_id,
        name=initiative.name,
        kind=initiative.kind,
        sponsor=initiative.sponsor,
        leader=initiative.leader,
        invested_on=initiative.invested_on,
        months=count,
        forecast_at_invest=promised,
        realised=realised,
        accuracy_ratio=accuracy,
        optimism_pct=None if accuracy is None else HUNDRED * (1 - accuracy),
        cost_forecast_at_invest=cost,
        spend=spent,
        cost_overrun_pct=None if cost_ratio is None else HUNDRED * (cost_ratio - 1),
        cost_ratio=cost_ratio,
    )


def group(tracks: Sequence[Track], key: Callable[[Track], str | None]) -> list[Group]:
    """Ratios grouped by `key` (tracks whose key is None, or with no months, are left out)."""
    benefits: dict[str, list[Decimal]] = {}
    costs: dict[str, list[Decimal]] = {}
    for t in tracks:
        name = key(t)
        if name is None or t.months == 0:
            continue
        if t.accuracy_ratio is not None:
            benefits.setdefault(name, []).append(t.accuracy_ratio)
        if t.cost_ratio is not None:
            costs.setdefault(name, []).append(t.cost_ratio)
    groups = []
    for name in sorted(set(benefits) | set(costs)):
        ratios, cost_ratios = benefits.get(name, []), costs.get(name, [])
        groups.append(
            Group(
                key=name,
                n=len(ratios),
                median_ratio=_median(ratios),
                # 80 % of the group met or beat the benefit ratio at the 20th percentile ...
                p80_ratio=percentile(ratios, 20) if ratios else None,
                median_cost_ratio=_median(cost_ratios),
                # ... and stayed within the cost ratio at the 80th.
                p80_cost_ratio=percentile(cost_ratios, 80) if cost_ratios else None,
            )
        )
    return groups


@dataclass(frozen=True)
class ReferenceClass:
    """Median benefit and cost ratios by kind and over all kinds, with how many each rests on."""

    benefit: Mapping[str, list[Decimal]]
    cost: Mapping[str, list[Decimal]]

    @classmethod
    def of(cls, tracks: Sequence[Track]) -> ReferenceClass:
        """The ratios of every track with months to judge."""
        benefit: dict[str, list[Decimal]] = {}
        cost: dict[str, list[Decimal]] = {}
        for t in tracks:
            if t.months == 0:
                continue
            if t.accuracy_ratio is not None:
                benefit.setdefault(t.kind, []).append(t.accuracy_ratio)
            if t.cost_ratio is not None:
                cost.setdefault(t.kind, []).append(t.cost_ratio)
        return cls(benefit, cost)

    @staticmethod
    def _of(ratios: Mapping[str, list[Decimal]], kind: str) -> Decimal | None:
        own = ratios.get(kind, [])
        if len(own) >= REFERENCE_MINIMUM:
            return statistics.median(own)
        every = [r for values in ratios.values() for r in values]
        return statistics.median(every) if len(every) >= REFERENCE_MINIMUM else None

    def ratios(self, kind: str) -> tuple[Decimal | None, Decimal | None]:
        """(benefit ratio, cost ratio) for a kind: its own median with 3 or more, else all."""
        return self._of(self.benefit, kind), self._of(self.cost, kind)


def forecast_accuracy(
    invested: Sequence[Invested],
    proposals: Sequence[Proposal],
    *,
    currency: str,
    as_of_month: str,
) -> Accuracy:
    """Every invested initiative's track, grouped, and the reference class applied to proposals."""
    tracks = [track(i, currency=currency, as_of_month=as_of_month) for i in invested]
    reference = ReferenceClass.of(tracks)
    adjusted = []
    for proposal in proposals:
        ratio, cost_ratio = reference.ratios(proposal.kind)
        adjusted.append(
            Adjusted(
                proposal=proposal,
                reference_ratio=ratio,
                adjusted_pv_benefits=None if ratio is None else proposal.pv_benefits * ratio,
                reference_cost_ratio=cost_ratio,
                adjusted_pv_costs=None if cost_ratio is None else proposal.pv_costs * cost_ratio,
            )
        )
    return Accuracy(
        initiatives=tracks,
        by_kind=group(tracks, lambda t: t.kind),
        by_sponsor=group(tracks, lambda t: t.sponsor),
        by_leader=group(tracks, lambda t: t.leader),
        proposals=adjusted,
    )
