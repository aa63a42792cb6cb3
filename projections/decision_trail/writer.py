"""The decision audit trail: every decision with its rationale, evidence and who recorded it."""

from __future__ import annotations

from collections.abc import Sequence

from domain.application import decision_record
from projections.codec import dumps
from projections.db import Cursor, insert_rows
from projections.view import Envelope, View

PROPOSED = "valuetrail.initiative.Proposed.v1"
DECIDED = "valuetrail.initiative.DecisionRecorded.v1"


class DecisionsView(View):
    """One row per decision, in log order."""

    name = "decision_trail"
    topics = frozenset({PROPOSED, DECIDED})
    tables = ("vt_decision", "vt_decision_initiative")
    ddl = (
        "CREATE TABLE IF NOT EXISTS vt_decision_initiative ("
        " initiative_id TEXT PRIMARY KEY, portfolio_id TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS vt_decision ("
        " decision_id TEXT PRIMARY KEY, initiative_id TEXT NOT NULL,"
        " portfolio_id TEXT NOT NULL, decision TEXT NOT NULL, from_status TEXT NOT NULL,"
        " to_status TEXT NOT NULL, decided_on TEXT NOT NULL, recorded_at TEXT NOT NULL,"
        " position BIGINT NOT NULL, actor TEXT NOT NULL, record TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS vt_decision_position ON vt_decision (position)",
        "CREATE INDEX IF NOT EXISTS vt_decision_portfolio ON vt_decision (portfolio_id, position)",
    )

    def __init__(self) -> None:
        self._portfolios: dict[str, str] = {}

    def forget(self) -> None:
        self._portfolios.clear()

    def _portfolio_of(self, cursor: Cursor, initiative_id: str) -> str:
        portfolio = self._portfolios.get(initiative_id)
        if portfolio is None:
            cursor.execute(
                "SELECT portfolio_id FROM vt_decision_initiative WHERE initiative_id = ?",
                (initiative_id,),
            )
            portfolio = str(cursor.fetchone()[0])
            self._portfolios[initiative_id] = portfolio
        return portfolio

    def apply(self, cursor: Cursor, batch: Sequence[Envelope]) -> None:
        initiatives = []
        decisions = []
        for envelope in batch:
            event = envelope.event
            initiative_id = str(event.originator_id)
            if envelope.topic == PROPOSED:
                self._portfolios[initiative_id] = str(event.portfolio_id)
                initiatives.append((initiative_id, str(event.portfolio_id)))
            elif envelope.topic == DECIDED:
                record = decision_record(event)
                record["position"] = envelope.position
                decisions.append(
                    (
                        str(event.decision_id),
                        initiative_id,
                        self._portfolio_of(cursor, initiative_id),
                        event.decision,
                        event.from_status,
                        event.to_status,
                        event.decided_on.isoformat(),
                        envelope.recorded_at,
                        envelope.position,
                        event.actor,
                        dumps(record),
                    )
                )
        insert_rows(cursor, "vt_decision_initiative", "initiative_id, portfolio_id", initiatives)
        insert_rows(
            cursor,
            "vt_decision",
            "decision_id, initiative_id, portfolio_id, decision, from_status, to_status,"
            " decided_on, recorded_at, position, actor, record",
            decisions,
        )
