"""Valuation facts (`domain.valuation`) of recorded versions, their forecasts parsed on demand."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from decimal import Decimal

from domain.valuation import BenefitFacts, ForecastMoney, InitiativeFacts, Running
from projections.codec import months_from_text
from projections.portfolio_value.rows import BenefitRow, InitiativeRow, id_of, optional_id


class _Decimals(Mapping[str, Decimal]):
    """A version's forecast (`months_text` in vt_forecast), as Decimals on first use.

    A value read fetches it only for the versions it must value again (`_read_forecasts`); a
    rule that reaches for one not fetched is a bug, not a zero.
    """

    def __init__(self, text: str | None) -> None:
        self._text = text
        self._values: dict[str, Decimal] | None = None

    def _parsed(self) -> dict[str, Decimal]:
        if self._values is None:
            if self._text is None:
                raise RuntimeError("a forecast the value read did not fetch was needed")
            self._values = {m: Decimal(v) for m, v in months_from_text(self._text).items()}
        return self._values

    def __getitem__(self, month: str) -> Decimal:
        return self._parsed()[month]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    # The parsed dict's own views: Mapping's defaults look every month up one at a time.
    def items(self) -> ItemsView[str, Decimal]:
        return self._parsed().items()

    def values(self) -> ValuesView[Decimal]:
        return self._parsed().values()

    def keys(self) -> KeysView[str]:
        return self._parsed().keys()


def benefit_facts_from(benefit_id: str, row: BenefitRow, forecast: str | None) -> BenefitFacts:
    """Valuation facts of a recorded benefit version (actuals come summed: `measured`; its
    forecast is given when the read fetched it)."""
    return BenefitFacts(
        benefit_id=id_of(benefit_id),
        initiative_id=id_of(row.initiative_id),
        category=row.category,
        disbenefit=row.disbenefit,
        unit=row.unit,
        kind=row.kind,
        direction=row.direction,
        value_per_unit=None if row.value_per_unit is None else Decimal(row.value_per_unit),
        baseline=Decimal(row.baseline),
        target=None if row.target is None else Decimal(row.target),
        forecast=_Decimals(forecast),
        actuals={},
        shares={id_of(i): Decimal(share) for i, share in row.contributions},
        goal_id=optional_id(row.goal_id),
    )


def recorded_forecast(row: BenefitRow, key: tuple[str, ...]) -> ForecastMoney | None:
    """The forecast's value the projection stored with this version, if the terms hold."""
    if row.terms != key:
        return None
    return ForecastMoney(Decimal(row.pv), Running.from_text(row.planned))


def initiative_facts_from(
    initiative_id: str, row: InitiativeRow, spend: Decimal, cost_forecast: str | None
) -> InitiativeFacts:
    """Valuation facts of a recorded initiative version and its spend (its cost forecast is
    given when the read fetched it)."""
    return InitiativeFacts(
        initiative_id=id_of(initiative_id),
        confidence=Decimal(row.confidence),
        cost_forecast=_Decimals(cost_forecast),
        spend_to_date=spend,
        status=row.status,
        stopped_month=row.stopped_month,
    )
