"""Reading things as they were recorded at an instant (the auditor's "what was known then")."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

import pytest

from domain.application import ValuetrailApplication
from domain.errors import NotFoundError, ValidationError
from tests.unit.builders import BOARD, benefit, initiative, new_app, portfolio

D = Decimal


def instant() -> datetime:
    """Now, with a few milliseconds either side so events fall clearly before or after it."""
    time.sleep(0.005)
    moment = datetime.now(UTC)
    time.sleep(0.005)
    return moment


def decide(app: ValuetrailApplication, initiative_id: Any, decision: str, day: date) -> None:
    app.record_decision(
        initiative_id,
        decision=decision,
        rationale=f"Board says {decision}",
        decided_by="Investment board",
        decided_on=day,
        meta=BOARD,
    )


def test_an_initiative_as_it_stood_at_each_instant() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    before_creation = instant()
    initiative_id = initiative(app, portfolio_id)
    while_proposed = instant()
    decide(app, initiative_id, "invest", date(2025, 2, 1))
    while_active = instant()
    decide(app, initiative_id, "stop", date(2025, 6, 1))

    with pytest.raises(NotFoundError):
        app.get_initiative(initiative_id, as_of=before_creation)
    assert app.get_initiative(initiative_id, as_of=while_proposed).status == "proposed"
    assert app.get_initiative(initiative_id, as_of=while_active).status == "active"
    assert app.get_initiative(initiative_id, as_of=datetime.now(UTC)).status == "stopped"
    assert app.get_initiative(initiative_id).status == "stopped"
    assert len(app.decisions(initiative_id, as_of=while_active)) == 1
    with pytest.raises(NotFoundError):
        app.decisions(initiative_id, as_of=before_creation)


def test_a_benefit_as_it_stood_at_each_instant() -> None:
    app = new_app()
    initiative_id = initiative(app, portfolio(app))
    before_creation = instant()
    benefit_id = benefit(app, initiative_id)
    app.record_measurement(
        benefit_id, value="100", observed_on=date(2025, 3, 1), source="ledger", meta=BOARD
    )
    after_first = instant()
    app.record_measurement(
        benefit_id, value="50", observed_on=date(2025, 3, 2), source="ledger", meta=BOARD
    )

    with pytest.raises(NotFoundError):
        app.get_benefit(benefit_id, as_of=before_creation)
    assert app.get_benefit(benefit_id, as_of=after_first).actuals == {"2025-03": D(100)}
    assert app.get_benefit(benefit_id).actuals == {"2025-03": D(150)}


def test_a_portfolio_as_it_stood_at_each_instant() -> None:
    before_creation = instant()
    app = new_app()
    portfolio_id = portfolio(app)
    without_goals = instant()
    app.add_goal(portfolio_id, title="Grow", description="", weight="1", meta=BOARD)

    with pytest.raises(NotFoundError):
        app.get_portfolio(portfolio_id, as_of=before_creation)
    assert app.get_portfolio(portfolio_id, as_of=without_goals).goals == {}
    assert len(app.get_portfolio(portfolio_id).goals) == 1


def test_history_as_of_hides_what_was_recorded_later() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    before_creation = instant()
    initiative_id = initiative(app, portfolio_id)
    app.assess_confidence(initiative_id, confidence="0.6", reason="Supplier risk", meta=BOARD)
    midway = instant()
    app.assign_leader(initiative_id, leader="Grace", reason="Ada moved on", meta=BOARD)

    def topics(events: list[Any]) -> list[str]:
        return [type(e).TOPIC for e in events]

    assert topics(cast(list[Any], app.history(initiative_id, as_of=midway))) == [
        "valuetrail.initiative.Proposed.v1",
        "valuetrail.initiative.ConfidenceAssessed.v1",
    ]
    assert topics(cast(list[Any], app.history(initiative_id)))[-1] == (
        "valuetrail.initiative.LeaderAssigned.v1"
    )
    with pytest.raises(NotFoundError):
        app.history(initiative_id, as_of=before_creation)


def test_an_instant_in_another_time_zone_means_the_same_moment() -> None:
    app = new_app()
    initiative_id = initiative(app, portfolio(app))
    midway = instant()
    decide(app, initiative_id, "invest", date(2025, 2, 1))
    in_new_york = midway.astimezone(timezone(timedelta(hours=-5)))
    assert app.get_initiative(initiative_id, as_of=in_new_york).status == "proposed"


def test_attribution_as_of_shows_who_claimed_the_benefit_then() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    first = initiative(app, portfolio_id, name="Portal")
    second = initiative(app, portfolio_id, name="Chatbot")
    benefit_id = benefit(app, first)
    before_move = instant()
    app.change_attribution(
        benefit_id,
        contributions=[{"initiative_id": second, "share": "1"}],
        reason="Chatbot delivers it",
        meta=BOARD,
    )
    assert [b.id for b in app.benefits_of(first, as_of=before_move)] == [benefit_id]
    assert app.benefits_of(second, as_of=before_move) == []
    assert app.benefits_of(first) == []
    assert [b.id for b in app.benefits_of(second)] == [benefit_id]


def test_a_naive_instant_is_refused() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    initiative_id = initiative(app, portfolio_id)
    benefit_id = benefit(app, initiative_id)
    naive = datetime.now()
    for read in (
        lambda: app.get_initiative(initiative_id, as_of=naive),
        lambda: app.get_benefit(benefit_id, as_of=naive),
        lambda: app.get_portfolio(portfolio_id, as_of=naive),
        lambda: app.history(initiative_id, as_of=naive),
    ):
        with pytest.raises(ValidationError) as caught:
            read()
        assert "as_of" in caught.value.errors
