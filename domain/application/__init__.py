"""The valuetrail Application: one method per use case, domain types in and out.

Every write loads the aggregates it touches, lets them decide (they raise domain errors),
and saves all resulting events in one transaction. Uniqueness ("only once") is decided by
the store through receipts saved in that same transaction, never by read-then-write. The use
cases are grouped by aggregate in the modules of this package; `ValuetrailApplication`
combines them.
"""

from __future__ import annotations

from domain.application.api_keys import ApiKeyUseCases
from domain.application.benefits import BenefitUseCases
from domain.application.core import (
    BENEFIT_SNAPSHOT_INTERVAL,
    COMMUTING_RETRIES,
    DECISION_RECORDED,
    AlreadyHandledError,
    BatchOutcome,
    DateAsISO,
    IdempotentRequest,
    MeasurementOutcome,
    Replay,
    Written,
    backoff,
    check_observed,
    decision_record,
    measurement_record,
    replay,
    store_env,
    topic_of,
)
from domain.application.initiatives import InitiativeUseCases
from domain.application.measurements import MeasurementUseCases
from domain.application.portfolios import PortfolioUseCases

__all__ = [
    "BENEFIT_SNAPSHOT_INTERVAL",
    "COMMUTING_RETRIES",
    "DECISION_RECORDED",
    "AlreadyHandledError",
    "BatchOutcome",
    "DateAsISO",
    "IdempotentRequest",
    "MeasurementOutcome",
    "Replay",
    "ValuetrailApplication",
    "Written",
    "backoff",
    "check_observed",
    "decision_record",
    "measurement_record",
    "replay",
    "store_env",
    "topic_of",
]


class ValuetrailApplication(
    PortfolioUseCases,
    InitiativeUseCases,
    BenefitUseCases,
    MeasurementUseCases,
    ApiKeyUseCases,
):
    """Every use case of valuetrail, over the event store chosen by configuration."""

    # The name prefixes the store's table names: it must never change.
    name = "valuetrail"
