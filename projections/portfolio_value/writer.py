"""The portfolio value view: every version of every portfolio, initiative and benefit, by time.

Each row is the value-relevant state of one aggregate from the instant it was recorded until
the instant a later version superseded it, so the view answers "as recorded at T" with a
range query. Measurements and spend are high-volume and live in their own tables (the
measurement series view and `vt_spend` here); state rows are written for everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.facts import benefit_facts as facts_of
from domain.facts import terms_of
from domain.initiative import Initiative
from domain.portfolio import Portfolio
from domain.valuation import PortfolioTerms, forecast_money, present_value
from projections.codec import dumps, loads, months_text
from projections.db import Cursor, insert_rows
from projections.portfolio_value.actuals import (
    ACTUAL_COLUMNS,
    MEASURED_COLUMNS,
    actual_row,
    measured_row,
    missing_actuals,
)
from projections.portfolio_value.actuals import DDL as ACTUALS_DDL
from projections.portfolio_value.rows import terms_from, terms_key
from projections.view import Envelope, View, event_topics, track

KINDS = {
    "valuetrail.portfolio.": "portfolio",
    "valuetrail.initiative.": "initiative",
    "valuetrail.benefit.": "benefit",
}
#: Events that change no state row: their facts live in series tables.
SERIES_TOPICS = frozenset(
    {
        "valuetrail.benefit.MeasurementRecorded.v1",
        "valuetrail.benefit.MeasurementCorrected.v1",
        "valuetrail.initiative.SpendRecorded.v1",
    }
)
SPEND = "valuetrail.initiative.SpendRecorded.v1"
LESSON = "valuetrail.initiative.LessonRecorded.v1"
SCENARIO = "valuetrail.portfolio.ScenarioEvaluated.v1"
#: Events that change a benefit's actuals.
MEASURED = frozenset(
    {
        "valuetrail.benefit.MeasurementRecorded.v1",
        "valuetrail.benefit.MeasurementCorrected.v1",
    }
)


def portfolio_facts(p: Portfolio) -> dict[str, Any]:
    """What the value view needs of a portfolio."""
    return {
        "name": p.name,
        "currency": p.currency,
        "discount_rate": p.discount_rate,
        "base_month": p.base_month,
        "rag_green": p.rag_green,
        "rag_amber": p.rag_amber,
        "goals": list(p.goals.values()),
        "budget": p.budget,
        "people": p.people,
    }


def initiative_facts(i: Initiative) -> dict[str, Any]:
    """What the value view and the analytics need of an initiative (its cost forecast is kept
    in vt_forecast, its lessons in vt_lesson)."""
    return {
        "kind": i.kind,
        "name": i.name,
        "confidence": i.confidence,
        "status": i.status,
        "stopped_month": i.stopped_month,
        "sponsor": i.sponsor,
        "leader": i.leader,
        "start_month": i.start_month,
        "end_month": i.end_month,
        "mandatory": i.mandatory,
        "depends_on": i.depends_on,
        "people_demand": i.people_demand,
        "contingency": i.contingency,
    }


def benefit_facts(b: Benefit) -> dict[str, Any]:
    """What the value view needs of a benefit (its forecast is kept in vt_forecast, its
    actuals in vt_measured)."""
    return {
        "initiative_id": b.initiative_id,
        "title": b.title,
        "category": b.category,
        "disbenefit": b.disbenefit,
        "goal_id": b.goal_id,
        "measure": b.measure,
        "baseline": b.baseline,
        "target": b.target,
        "contributions": b.contributions,
    }


class PortfolioValueView(View):
    """Versions of portfolios, initiatives and benefits by transaction time, plus spend."""

    name = "portfolio_value"
    topics = event_topics(Portfolio, Initiative, Benefit)
    tables = (
        "vt_state",
        "vt_spend",
        "vt_measured",
        "vt_actual",
        "vt_forecast",
        "vt_lesson",
        "vt_scenario",
    )
    ddl = (
        "CREATE TABLE IF NOT EXISTS vt_state ("
        " aggregate_id TEXT NOT NULL, version BIGINT NOT NULL, kind TEXT NOT NULL,"
        " portfolio_id TEXT NOT NULL, owners TEXT NOT NULL, status TEXT NOT NULL,"
        " recorded_at TEXT NOT NULL, superseded_at TEXT, position BIGINT NOT NULL,"
        " first_position BIGINT NOT NULL, facts TEXT NOT NULL,"
        " PRIMARY KEY (aggregate_id, version))",
        "CREATE INDEX IF NOT EXISTS vt_state_portfolio ON vt_state (portfolio_id, kind)",
        "CREATE INDEX IF NOT EXISTS vt_state_current ON vt_state (kind, superseded_at)",
        "CREATE TABLE IF NOT EXISTS vt_spend ("
        " spend_id TEXT PRIMARY KEY, initiative_id TEXT NOT NULL, portfolio_id TEXT NOT NULL,"
        " month TEXT NOT NULL, amount TEXT NOT NULL, source TEXT NOT NULL, external_id TEXT,"
        " recorded_at TEXT NOT NULL, position BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS vt_spend_portfolio ON vt_spend (portfolio_id, recorded_at)",
        *ACTUALS_DDL,
        # Each initiative and benefit version's cost or benefit forecast (`months_text`): a
        # value read needs it only to value a forecast again (a stop, other terms).
        "CREATE TABLE IF NOT EXISTS vt_forecast ("
        " aggregate_id TEXT NOT NULL, version BIGINT NOT NULL, months TEXT NOT NULL,"
        " PRIMARY KEY (aggregate_id, version))",
        # Lessons learned, in log order (the portfolio's lessons are paged on `position`).
        "CREATE TABLE IF NOT EXISTS vt_lesson ("
        " lesson_id TEXT PRIMARY KEY, initiative_id TEXT NOT NULL, portfolio_id TEXT NOT NULL,"
        " category TEXT NOT NULL, text TEXT NOT NULL, recorded_at TEXT NOT NULL,"
        " position BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS vt_lesson_portfolio ON vt_lesson (portfolio_id, position)",
        # Evaluated scenarios exactly as stored (`record`: kind, parameters and result).
        "CREATE TABLE IF NOT EXISTS vt_scenario ("
        " scenario_id TEXT PRIMARY KEY, portfolio_id TEXT NOT NULL, recorded_at TEXT NOT NULL,"
        " position BIGINT NOT NULL, record TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS vt_scenario_portfolio ON vt_scenario (portfolio_id, position)",
    )

    def __init__(self, app: ValuetrailApplication) -> None:
        self.app = app
        self._aggregates: dict[UUID, Any] = {}
        self._first: dict[UUID, int] = {}
        self._terms: dict[UUID, PortfolioTerms] = {}

    def create(self, cursor: Cursor) -> None:
        super().create(cursor)
        # Rows written before forecasts were valued in the view and kept in vt_forecast (and
        # actuals summed in vt_measured), or before they carried what the analytics read (and
        # lessons had a table), cannot answer a read: start again from the log.
        stale = False
        for kind, valued, moved in (
            ("benefit", "forecast_money", "forecast"),
            ("initiative", "cost_money", "cost_forecast"),
            ("benefit", "title", "forecast"),
            ("initiative", "people_demand", "cost_forecast"),
        ):
            cursor.execute("SELECT facts FROM vt_state WHERE kind = ? LIMIT 1", (kind,))
            row = cursor.fetchone()
            if row is not None:
                facts = loads(row[0])
                stale = stale or valued not in facts or moved in facts
        stale = stale or missing_actuals(cursor)
        if stale:
            self.reset(cursor)
            track(cursor, self.name, 0)

    def forget(self) -> None:
        self._aggregates.clear()
        self._first.clear()
        self._terms.clear()

    def _advance(self, envelope: Envelope) -> Any:
        """The aggregate after this event, folded from the cached previous version."""
        event = envelope.event
        ident = event.originator_id
        previous = self._aggregates.get(ident)
        version = event.originator_version
        if (previous is None and version > 0) or (
            previous is not None and previous.version != version - 1
        ):
            previous = self.app.repository.get(ident, version=version - 1)
        aggregate = event.mutate(previous)
        self._aggregates[ident] = aggregate
        return aggregate

    def apply(self, cursor: Cursor, batch: Sequence[Envelope]) -> None:
        # A batch's versions are collected first: each supersedes the one before it in memory,
        # and only an aggregate's version before the batch is superseded in the table.
        spends: list[tuple[Any, ...]] = []
        versions: dict[str, list[list[Any]]] = {}
        supersede: list[tuple[str, str]] = []
        measured_rows: list[tuple[Any, ...]] = []
        actual_rows: list[tuple[Any, ...]] = []
        forecasts: list[tuple[Any, ...]] = []
        lessons: list[tuple[Any, ...]] = []
        scenarios: list[tuple[Any, ...]] = []
        for envelope in batch:
            kind = next((k for p, k in KINDS.items() if envelope.topic.startswith(p)), None)
            if kind is None:
                continue
            aggregate = self._advance(envelope)
            if envelope.topic == SPEND:
                spends.append(self._spend(envelope, aggregate))
            if envelope.topic in MEASURED:
                measured_rows.append(measured_row(envelope, aggregate))
                actual_rows.append(actual_row(envelope, aggregate))
            if envelope.topic == LESSON:
                lessons.append(lesson_row(envelope, aggregate))
            if envelope.topic == SCENARIO:
                scenarios.append(scenario_row(envelope))
            if envelope.topic in SERIES_TOPICS:
                continue
            row = self._version(cursor, envelope, kind, aggregate)
            if kind == "benefit":
                forecasts.append((row[0], row[1], months_text(aggregate.forecast)))
            elif kind == "initiative":
                forecasts.append((row[0], row[1], months_text(aggregate.cost_forecast)))
            earlier = versions.setdefault(row[0], [])
            if earlier:
                earlier[-1][7] = envelope.recorded_at
            elif envelope.event.originator_version > 0:
                supersede.append((envelope.recorded_at, row[0]))
            earlier.append(row)
        if supersede:
            cursor.executemany(
                "UPDATE vt_state SET superseded_at = ?"
                " WHERE aggregate_id = ? AND superseded_at IS NULL",
                supersede,
            )
        insert_rows(
            cursor,
            "vt_state",
            "aggregate_id, version, kind, portfolio_id, owners, status, recorded_at,"
            " superseded_at, position, first_position, facts",
            [row for rows in versions.values() for row in rows],
        )
        insert_rows(cursor, "vt_forecast", "aggregate_id, version, months", forecasts)
        insert_rows(cursor, "vt_measured", MEASURED_COLUMNS, measured_rows)
        insert_rows(cursor, "vt_actual", ACTUAL_COLUMNS, actual_rows)
        insert_rows(
            cursor,
            "vt_spend",
            "spend_id, initiative_id, portfolio_id, month, amount, source, external_id,"
            " recorded_at, position",
            spends,
        )
        insert_rows(
            cursor,
            "vt_lesson",
            "lesson_id, initiative_id, portfolio_id, category, text, recorded_at, position",
            lessons,
        )
        insert_rows(
            cursor,
            "vt_scenario",
            "scenario_id, portfolio_id, recorded_at, position, record",
            scenarios,
        )

    def _spend(self, envelope: Envelope, initiative: Initiative) -> tuple[Any, ...]:
        event = envelope.event
        return (
            str(event.spend_id),
            str(initiative.id),
            str(initiative.portfolio_id),
            event.month,
            str(event.amount),
            event.source,
            event.external_id,
            envelope.recorded_at,
            envelope.position,
        )

    def _version(self, cursor: Cursor, envelope: Envelope, kind: str, aggregate: Any) -> list[Any]:
        """The vt_state row of this version (current: not superseded yet)."""
        ident = str(aggregate.id)
        if kind == "portfolio":
            facts, portfolio_id, owners = portfolio_facts(aggregate), ident, ""
            self._terms[aggregate.id] = terms_of(aggregate)
        elif kind == "initiative":
            facts, portfolio_id = initiative_facts(aggregate), str(aggregate.portfolio_id)
            terms = self._terms_of(cursor, aggregate.portfolio_id)
            facts["cost_money"] = {
                "terms": terms_key(terms),
                "pv": str(present_value(aggregate.cost_forecast, terms)),
            }
            owners = f",{aggregate.parent_id}," if aggregate.parent_id else ""
        else:
            facts, portfolio_id = benefit_facts(aggregate), str(aggregate.portfolio_id)
            terms = self._terms_of(cursor, aggregate.portfolio_id)
            facts["forecast_money"] = stored_forecast(aggregate, terms)
            owners = "," + ",".join(str(i) for i in aggregate.attributed_to) + ","
        first = self._first.get(aggregate.id)
        if first is None:
            if envelope.event.originator_version == 0:
                first = envelope.position
            else:
                cursor.execute(
                    "SELECT first_position FROM vt_state WHERE aggregate_id = ? LIMIT 1", (ident,)
                )
                row = cursor.fetchone()
                first = int(row[0]) if row else envelope.position
            self._first[aggregate.id] = first
        return [
            ident,
            envelope.event.originator_version,
            kind,
            portfolio_id,
            owners,
            getattr(aggregate, "status", ""),
            envelope.recorded_at,
            None,
            envelope.position,
            first,
            dumps(facts),
        ]

    def _terms_of(self, cursor: Cursor, portfolio_id: UUID) -> PortfolioTerms:
        """The portfolio's terms at the position being projected."""
        terms = self._terms.get(portfolio_id)
        if terms is None:
            # Not seen since this projector started: its current row is as of the position,
            # as a change in this batch would have been seen.
            cursor.execute(
                "SELECT facts FROM vt_state WHERE aggregate_id = ? AND superseded_at IS NULL",
                (str(portfolio_id),),
            )
            terms = self._terms[portfolio_id] = terms_from(loads(cursor.fetchone()[0]))
        return terms


def stored_forecast(benefit: Benefit, terms: PortfolioTerms) -> dict[str, Any]:
    """A benefit version's forecast valued under the portfolio's terms, kept in its facts.

    A value read uses it while the portfolio's terms stay the same
    (`projections.portfolio_value.value`), so it values each recorded forecast once rather than
    on every read.
    """
    money = forecast_money(facts_of(benefit), terms)
    return {
        "terms": terms_key(terms),
        "pv": str(money.pv_benefits),
        "planned": money.planned.text(),
    }


def lesson_row(envelope: Envelope, initiative: Initiative) -> tuple[Any, ...]:
    """The vt_lesson row of a lesson learned."""
    event = envelope.event
    return (
        str(event.lesson_id),
        str(initiative.id),
        str(initiative.portfolio_id),
        event.category,
        event.text,
        envelope.recorded_at,
        envelope.position,
    )


def scenario_row(envelope: Envelope) -> tuple[Any, ...]:
    """The vt_scenario row of an evaluated scenario: what was stored, as it was stored."""
    event = envelope.event
    record = {"kind": event.kind, "parameters": event.parameters, "result": event.result}
    return (
        str(event.scenario_id),
        str(event.originator_id),
        envelope.recorded_at,
        envelope.position,
        dumps(record),
    )
