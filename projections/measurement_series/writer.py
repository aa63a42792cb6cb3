"""The measurement series view: every measurement and correction, with both clocks.

`observed_on` is valid time (when the value was true); `recorded_at` is transaction time
(when valuetrail learnt it). Corrections are rows of their own: the original is never edited.
"""

from __future__ import annotations

from collections.abc import Sequence

from projections.db import Cursor, insert_rows
from projections.view import Envelope, View

IDENTIFIED = "valuetrail.benefit.Identified.v1"
RECORDED = "valuetrail.benefit.MeasurementRecorded.v1"
CORRECTED = "valuetrail.benefit.MeasurementCorrected.v1"


class SeriesView(View):
    """Measurements and corrections per benefit."""

    name = "measurement_series"
    topics = frozenset({IDENTIFIED, RECORDED, CORRECTED})
    tables = ("vt_measurement", "vt_correction", "vt_series_benefit")
    ddl = (
        "CREATE TABLE IF NOT EXISTS vt_series_benefit ("
        " benefit_id TEXT PRIMARY KEY, portfolio_id TEXT NOT NULL, measure_kind TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS vt_measurement ("
        " measurement_id TEXT PRIMARY KEY, benefit_id TEXT NOT NULL, portfolio_id TEXT NOT NULL,"
        " value TEXT NOT NULL, observed_on TEXT NOT NULL, month TEXT NOT NULL,"
        " source TEXT NOT NULL, external_id TEXT, recorded_at TEXT NOT NULL,"
        " position BIGINT NOT NULL, actor TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS vt_measurement_benefit"
        " ON vt_measurement (benefit_id, observed_on)",
        "CREATE INDEX IF NOT EXISTS vt_measurement_portfolio"
        " ON vt_measurement (portfolio_id, recorded_at)",
        "CREATE TABLE IF NOT EXISTS vt_correction ("
        " position BIGINT PRIMARY KEY, measurement_id TEXT NOT NULL, benefit_id TEXT NOT NULL,"
        " portfolio_id TEXT NOT NULL, value TEXT NOT NULL, previous_value TEXT NOT NULL,"
        " reason TEXT NOT NULL, recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS vt_correction_measurement ON vt_correction (measurement_id)",
        "CREATE INDEX IF NOT EXISTS vt_correction_portfolio"
        " ON vt_correction (portfolio_id, recorded_at)",
    )

    def __init__(self) -> None:
        self._portfolios: dict[str, str] = {}

    def forget(self) -> None:
        self._portfolios.clear()

    def _portfolio_of(self, cursor: Cursor, benefit_id: str) -> str:
        portfolio = self._portfolios.get(benefit_id)
        if portfolio is None:
            cursor.execute(
                "SELECT portfolio_id FROM vt_series_benefit WHERE benefit_id = ?", (benefit_id,)
            )
            row = cursor.fetchone()
            portfolio = str(row[0])
            self._portfolios[benefit_id] = portfolio
        return portfolio

    def apply(self, cursor: Cursor, batch: Sequence[Envelope]) -> None:
        benefits = []
        measurements = []
        corrections = []
        for envelope in batch:
            event, topic = envelope.event, envelope.topic
            benefit_id = str(event.originator_id)
            if topic == IDENTIFIED:
                self._portfolios[benefit_id] = str(event.portfolio_id)
                benefits.append((benefit_id, str(event.portfolio_id), event.measure["kind"]))
            elif topic == RECORDED:
                measurements.append(
                    (
                        str(event.measurement_id),
                        benefit_id,
                        self._portfolio_of(cursor, benefit_id),
                        str(event.value),
                        event.observed_on.isoformat(),
                        event.observed_on.isoformat()[:7],
                        event.source,
                        event.external_id,
                        envelope.recorded_at,
                        envelope.position,
                        event.actor,
                    )
                )
            elif topic == CORRECTED:
                corrections.append(
                    (
                        envelope.position,
                        str(event.measurement_id),
                        benefit_id,
                        self._portfolio_of(cursor, benefit_id),
                        str(event.value),
                        str(event.previous_value),
                        event.reason,
                        envelope.recorded_at,
                        event.actor,
                    )
                )
        insert_rows(cursor, "vt_series_benefit", "benefit_id, portfolio_id, measure_kind", benefits)
        insert_rows(
            cursor,
            "vt_measurement",
            "measurement_id, benefit_id, portfolio_id, value, observed_on, month, source,"
            " external_id, recorded_at, position, actor",
            measurements,
        )
        insert_rows(
            cursor,
            "vt_correction",
            "position, measurement_id, benefit_id, portfolio_id, value, previous_value, reason,"
            " recorded_at, actor",
            corrections,
        )
