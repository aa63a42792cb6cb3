"""A world for the benefit tests: a portfolio, three initiatives and a benefit to measure."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain.application import MeasurementOutcome
from tests.unit.builders import FEED, benefit, initiative, new_app, portfolio

MEASURED = "valuetrail.benefit.MeasurementRecorded.v1"
CORRECTED = "valuetrail.benefit.MeasurementCorrected.v1"


class World:
    """A portfolio with three initiatives; `a` is accountable for `benefit_id`."""

    def __init__(self) -> None:
        self.app = new_app()
        self.portfolio_id = portfolio(self.app)
        self.a = initiative(self.app, self.portfolio_id, name="Portal")
        self.b = initiative(self.app, self.portfolio_id, name="Chatbot")
        self.c = initiative(self.app, self.portfolio_id, name="Training")
        self.benefit_id = benefit(self.app, self.a)

    def topics(self, aggregate_id: UUID) -> list[str]:
        return [type(e).TOPIC for e in self.app.history(aggregate_id)]  # type: ignore[attr-defined]

    def measure(
        self,
        value: str,
        observed_on: date,
        *,
        benefit_id: UUID | None = None,
        source: str = "ledger",
        external_id: str | None = None,
    ) -> MeasurementOutcome:
        return self.app.record_measurement(
            benefit_id or self.benefit_id,
            value=value,
            observed_on=observed_on,
            source=source,
            external_id=external_id,
            meta=FEED,
        ).value


def item(benefit_id: UUID, external_id: str, value: str = "10", **changes: Any) -> dict[str, Any]:
    return {
        "benefit_id": benefit_id,
        "value": value,
        "observed_on": date(2025, 3, 1),
        "source": "ledger",
        "external_id": external_id,
        **changes,
    }
