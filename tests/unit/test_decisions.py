"""Board decisions (DESIGN §2.2): the transition table, the rules on a decision, its evidence."""

from __future__ import annotations

import inspect
from datetime import date
from decimal import Decimal, localcontext
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.application import DECISION_RECORDED, ValuetrailApplication, topic_of
from domain.errors import InvalidTransitionError, ValidationError
from domain.facts import benefit_facts, initiative_facts, terms_of
from domain.initiative import Initiative
from domain.valuation import PortfolioTerms, initiative_value, present_value, ratio
from tests.unit.builders import (
    BOARD,
    FEED,
    bare_initiative,
    benefit,
    decide,
    initiative,
    new_app,
    portfolio,
)

D = Decimal

# The contract's order of decisions and its transition table, written out independently of the
# domain code so that a change to either shows up here.
DECISIONS = ("invest", "continue", "reshape", "suspend", "resume", "delay", "stop", "complete")
TABLE: dict[str, dict[str, str]] = {
    "proposed": {"invest": "active", "delay": "delayed", "stop": "stopped"},
    "active": {
        "continue": "active",
        "reshape": "active",
        "suspend": "suspended",
        "delay": "delayed",
        "stop": "stopped",
        "complete": "completed",
    },
    "suspended": {"resume": "active", "stop": "stopped"},
    "delayed": {"invest": "active", "resume": "active", "delay": "delayed", "stop": "stopped"},
    "stopped": {},
    "completed": {},
}
# A legal path from `proposed` to each status.
PATHS: dict[str, list[str]] = {
    "proposed": [],
    "active": ["invest"],
    "suspended": ["invest", "suspend"],
    "delayed": ["delay"],
    "stopped": ["stop"],
    "completed": ["invest", "complete"],
}
PAIRS = [(status, decision) for status in TABLE for decision in DECISIONS]


def initiative_in(status: str) -> Initiative:
    """An initiative aggregate brought to `status` by legal decisions."""
    subject = bare_initiative()
    for decision in PATHS[status]:
        decide(subject, decision)
    assert subject.status == status
    return subject


def expected_message(status: str, decision: str) -> str:
    allowed = [d for d in DECISIONS if d in TABLE[status]]
    if not allowed:
        return (
            f"cannot {decision} an initiative that is {status}; "
            f"an initiative that is {status} is final and takes no further decisions"
        )
    return f"cannot {decision} an initiative that is {status}; allowed: {', '.join(allowed)}"


# ------------------------------------------------------------------------ the transition table


@pytest.mark.parametrize(("status", "decision"), PAIRS, ids=[f"{s}-{d}" for s, d in PAIRS])
def test_every_status_and_decision_follows_the_table(status: str, decision: str) -> None:
    subject = initiative_in(status)
    before = subject.version
    if decision in TABLE[status]:
        decide(subject, decision)
        assert subject.status == TABLE[status][decision]
        recorded: Any = subject.pending_events[-1]
        assert topic_of(recorded) == DECISION_RECORDED
        assert (recorded.from_status, recorded.decision, recorded.to_status) == (
            status,
            decision,
            TABLE[status][decision],
        )
    else:
        with pytest.raises(InvalidTransitionError) as caught:
            decide(subject, decision)
        assert str(caught.value) == expected_message(status, decision)
        assert caught.value.current == status
        assert caught.value.decision == decision
        assert caught.value.allowed == [d for d in DECISIONS if d in TABLE[status]]
        assert subject.status == status
        assert subject.version == before


@pytest.mark.parametrize("status", ["stopped", "completed"])
def test_terminal_states_take_no_decision_at_all(status: str) -> None:
    subject = initiative_in(status)
    for decision in DECISIONS:
        with pytest.raises(InvalidTransitionError) as caught:
            subject.check_decision(decision)
        assert caught.value.allowed == []
        assert "is final and takes no further decisions" in str(caught.value)


def test_the_board_is_told_which_decisions_are_allowed_and_nothing_is_stored() -> None:
    app = new_app()
    initiative_id = initiative(app, portfolio(app))
    app.record_decision(
        initiative_id,
        decision="invest",
        rationale="Strong business case",
        decided_by="Investment board",
        decided_on=date(2025, 2, 1),
        meta=BOARD,
    )
    stored = app.head_position()
    with pytest.raises(InvalidTransitionError) as caught:
        app.record_decision(
            initiative_id,
            decision="resume",
            rationale="Back on track",
            decided_by="Investment board",
            decided_on=date(2025, 3, 1),
            meta=BOARD,
        )
    assert str(caught.value) == (
        "cannot resume an initiative that is active; "
        "allowed: continue, reshape, suspend, delay, stop, complete"
    )
    assert app.head_position() == stored
    assert app.get_initiative(initiative_id).status == "active"


def test_a_decision_outside_the_vocabulary_names_the_field() -> None:
    subject = bare_initiative()
    with pytest.raises(ValidationError) as caught:
        decide(subject, "pause")
    assert "decision" in caught.value.errors
    assert subject.status == "proposed"


# ------------------------------------------------------------------------ rules on a decision


@pytest.mark.parametrize("rationale", ["", "   ", "\n\t"])
def test_a_decision_without_a_rationale_is_rejected_and_not_stored(rationale: str) -> None:
    app = new_app()
    initiative_id = initiative(app, portfolio(app))
    stored = app.head_position()
    with pytest.raises(ValidationError) as caught:
        app.record_decision(
            initiative_id,
            decision="invest",
            rationale=rationale,
            decided_by="Investment board",
            decided_on=date(2025, 2, 1),
            meta=BOARD,
        )
    assert "rationale" in caught.value.errors
    assert app.head_position() == stored
    assert app.get_initiative(initiative_id).status == "proposed"


def test_delay_needs_a_month_to_delay_until() -> None:
    subject = bare_initiative()
    with pytest.raises(ValidationError) as caught:
        subject.record_decision(
            decision="delay",
            rationale="Wait for the new budget",
            reason_code=None,
            decided_by="Investment board",
            decided_on=date(2025, 3, 15),
            conditions=None,
            delay_until=None,
            next_review_on=None,
            evidence_refs=[],
            scenario_id=None,
            evidence={},
            log_position=0,
            meta=BOARD,
        )
    assert "delay_until" in caught.value.errors
    assert subject.status == "proposed"


@pytest.mark.parametrize("delay_until", ["2025-03", "2025-02", "2024-12"])
def test_delay_until_must_be_after_the_decision_month(delay_until: str) -> None:
    subject = bare_initiative()
    with pytest.raises(ValidationError) as caught:
        decide(subject, "delay", decided_on=date(2025, 3, 15), delay_until=delay_until)
    assert "delay_until" in caught.value.errors
    assert subject.status == "proposed"


def test_delay_until_the_next_month_is_accepted() -> None:
    subject = bare_initiative()
    decide(subject, "delay", decided_on=date(2025, 3, 31), delay_until="2025-04")
    assert subject.status == "delayed"


def test_delay_until_is_only_for_a_delay() -> None:
    subject = bare_initiative()
    with pytest.raises(ValidationError) as caught:
        decide(subject, "invest", delay_until="2025-09")
    assert "delay_until" in caught.value.errors
    assert subject.status == "proposed"


def test_a_stop_records_the_month_it_was_decided() -> None:
    subject = initiative_in("active")
    decide(subject, "stop", decided_on=date(2025, 6, 30))
    assert subject.stopped_month == "2025-06"


# ------------------------------------------------------------------------ evidence


def test_the_caller_cannot_supply_the_evidence() -> None:
    parameters = inspect.signature(ValuetrailApplication.record_decision).parameters
    assert "evidence" not in parameters
    assert "log_position" not in parameters


def test_evidence_is_captured_by_the_application_and_matches_the_value_rules() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    initiative_id = initiative(app, portfolio_id)
    app.revise_cost_forecast(
        initiative_id, periods={"2025-01": "50"}, reason="Build cost", meta=BOARD
    )
    benefit_id = benefit(app, initiative_id)
    app.revise_benefit_forecast(
        benefit_id, periods={"2025-01": "100", "2025-02": "100"}, reason="Plan", meta=BOARD
    )
    app.record_measurement(
        benefit_id, value="30", observed_on=date(2025, 1, 20), source="ledger", meta=FEED
    )
    app.record_spend(initiative_id, month="2025-01", amount="20", source="ledger", meta=FEED)
    figures = initiative_value(
        initiative_facts(app.get_initiative(initiative_id)),
        [benefit_facts(app.get_benefit(benefit_id))],
        terms_of(app.get_portfolio(portfolio_id)),
        "2025-01",  # the month of decided_on: evidence runs "to date" as of the meeting
    )
    position_before = app.head_position()

    written = app.record_decision(
        initiative_id,
        decision="invest",
        rationale="Pays back within the year",
        decided_by="Investment board",
        decided_on=date(2025, 1, 31),
        meta=BOARD,
    )

    (stored,) = cast(list[Any], app.decisions(initiative_id))
    evidence = stored.evidence
    for key in (
        "pv_benefits",
        "pv_costs",
        "npv",
        "bcr",
        "realised_to_date",
        "forecast_to_date",
        "spend_to_date",
        "confidence",
        "cost_forecast_revision",
        "benefit_forecast_revisions",
        "log_position",
    ):
        assert key in evidence, key
    # Worked example: costs all fall in the base month, so they are not discounted at all;
    # benefits are 100 now plus 100 a month out at 3.5 % a year.
    expected_pv_benefits = present_value(
        {"2025-01": D(100), "2025-02": D(100)},
        PortfolioTerms(currency="GBP", discount_rate=D("0.035"), base_month="2025-01"),
    )
    assert evidence["pv_costs"] == D(50)
    assert evidence["pv_benefits"] == expected_pv_benefits
    assert f"{evidence['pv_benefits']:.2f}" == "199.71"
    # Compare in a wide context: the value rules compute with more digits than Decimal's default.
    with localcontext(prec=60):
        assert evidence["npv"] == expected_pv_benefits - D(50)
    assert abs(evidence["bcr"] - expected_pv_benefits / D(50)) < D("1e-20")
    assert ratio(evidence["bcr"]) == "3.99"
    assert evidence["realised_to_date"] == D(30)
    # "To date" ends with the decision's month (2025-01): February's forecast is not due yet.
    assert evidence["forecast_to_date"] == D(100)
    assert evidence["as_of_month"] == "2025-01"
    assert evidence["spend_to_date"] == D(20)
    assert evidence["confidence"] == D("0.8")
    assert evidence["cost_forecast_revision"] == 1
    assert evidence["benefit_forecast_revisions"] == {str(benefit_id): 1}
    # The same figures the value rules give for the initiative as it stood.
    assert (evidence["pv_benefits"], evidence["pv_costs"], evidence["npv"], evidence["bcr"]) == (
        figures.pv_benefits,
        figures.pv_costs,
        figures.npv,
        figures.bcr,
    )
    # What the board knew: everything in the log up to just before the decision.
    assert evidence["log_position"] == position_before
    assert stored.log_position == position_before
    assert written.log_position == position_before + 1
    assert written.value["evidence"]["pv_costs"] == D(50)
    assert (stored.from_status, stored.to_status) == ("proposed", "active")


def test_each_decision_keeps_the_evidence_of_its_own_moment() -> None:
    app = new_app()
    initiative_id = initiative(app, portfolio(app))
    app.revise_cost_forecast(initiative_id, periods={"2025-01": "50"}, reason="v1", meta=BOARD)
    app.record_decision(
        initiative_id,
        decision="invest",
        rationale="Cheap enough",
        decided_by="Investment board",
        decided_on=date(2025, 1, 31),
        meta=BOARD,
    )
    app.revise_cost_forecast(initiative_id, periods={"2025-01": "80"}, reason="v2", meta=BOARD)
    app.record_decision(
        initiative_id,
        decision="reshape",
        rationale="Costs grew, scope cut",
        decided_by="Investment board",
        decided_on=date(2025, 2, 28),
        meta=BOARD,
    )
    first, second = cast(list[Any], app.decisions(initiative_id))
    assert (first.evidence["pv_costs"], first.evidence["cost_forecast_revision"]) == (D(50), 1)
    assert (second.evidence["pv_costs"], second.evidence["cost_forecast_revision"]) == (D(80), 2)
    assert first.evidence["bcr"] == D(0)
    assert second.evidence["log_position"] > first.evidence["log_position"]


# ------------------------------------------------------------------------ random sequences


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(DECISIONS), max_size=12))
def test_random_decision_sequences_never_leave_the_table(decisions: list[str]) -> None:
    subject = bare_initiative()
    for decision in decisions:
        status = subject.status
        try:
            to_status = subject.check_decision(decision)
        except InvalidTransitionError:
            assert decision not in TABLE[status]
            continue
        assert to_status == TABLE[status][decision]
        decide(subject, decision)
        assert subject.status == to_status
        assert subject.status in TABLE

    recorded = [cast(Any, e) for e in subject.pending_events if topic_of(e) == DECISION_RECORDED]
    status = "proposed"
    for event in recorded:
        assert event.from_status == status
        assert TABLE[event.from_status][event.decision] == event.to_status
        status = event.to_status
    assert status == subject.status
    assert [d["decision"] for d in subject.decisions] == [e.decision for e in recorded]
