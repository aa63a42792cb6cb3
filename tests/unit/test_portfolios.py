"""Portfolios, goals and initiative proposals are validated, and invalid ones store nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.application import ValuetrailApplication
from domain.errors import NotFoundError, ValidationError
from tests.unit.builders import BOARD, SAVINGS, initiative, new_app, portfolio

D = Decimal


# ------------------------------------------------------------------------ portfolios


GOOD_PORTFOLIO: dict[str, Any] = {
    "name": "Digital services",
    "currency": "GBP",
    "discount_rate": "0.035",
    "base_month": "2025-01",
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "gbp"}, "currency"),
        ({"discount_rate": "three percent"}, "discount_rate"),
        ({"discount_rate": 0.035}, "discount_rate"),  # a float would lose precision
        ({"discount_rate": "2"}, "discount_rate"),
        ({"base_month": "2025-13"}, "base_month"),
        ({"base_month": "2025-1"}, "base_month"),
        ({"rag_green": "70", "rag_amber": "80"}, "rag_amber"),
        ({"name": "  "}, "name"),
    ],
    ids=[
        "unknown currency",
        "lowercase currency",
        "rate not a number",
        "rate as float",
        "rate of 200 percent",
        "impossible month",
        "malformed month",
        "amber above green",
        "blank name",
    ],
)
def test_an_invalid_portfolio_names_the_field_and_stores_nothing(
    changes: dict[str, Any], field: str
) -> None:
    app = new_app()
    with pytest.raises(ValidationError) as caught:
        app.create_portfolio(**{**GOOD_PORTFOLIO, **changes}, meta=BOARD)
    assert field in caught.value.errors
    assert app.head_position() == 0


def test_a_portfolio_keeps_its_valuation_terms() -> None:
    app = new_app()
    created = app.get_portfolio(portfolio(app))
    assert (created.currency, created.discount_rate, created.base_month) == (
        "GBP",
        D("0.035"),
        "2025-01",
    )
    assert (created.rag_green, created.rag_amber) == (D(90), D(75))


# ------------------------------------------------------------------------ goals


def test_goals_are_added_revised_and_retired() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    goal = app.add_goal(
        portfolio_id, title="Cut cost to serve", description="", weight="2", meta=BOARD
    ).value
    goal_id = goal["goal_id"]
    assert (goal["title"], goal["weight"], goal["retired"]) == ("Cut cost to serve", D(2), False)

    revised = app.revise_goal(
        portfolio_id, goal_id, weight="3.5", reason="Board priority", meta=BOARD
    ).value
    assert (revised["title"], revised["weight"]) == ("Cut cost to serve", D("3.5"))

    app.retire_goal(portfolio_id, goal_id, reason="Achieved", meta=BOARD)
    assert app.get_portfolio(portfolio_id).goals[goal_id]["retired"] is True
    stored = app.head_position()
    with pytest.raises(NotFoundError):
        app.revise_goal(portfolio_id, goal_id, title="Revived", reason="Second wind", meta=BOARD)
    with pytest.raises(NotFoundError):
        app.retire_goal(portfolio_id, goal_id, reason="Twice", meta=BOARD)
    assert app.head_position() == stored


def test_a_retired_goal_serves_no_new_benefit() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    goal_id = app.add_goal(portfolio_id, title="Old goal", description="", weight="1", meta=BOARD)
    app.retire_goal(portfolio_id, goal_id.value["goal_id"], reason="Superseded", meta=BOARD)
    initiative_id = initiative(app, portfolio_id)
    with pytest.raises(ValidationError) as caught:
        app.identify_benefit(
            initiative_id=initiative_id,
            title="Savings",
            category="cashable",
            owner="CFO",
            measure=SAVINGS,
            baseline={"value": "0", "as_of": date(2025, 1, 1)},
            goal_id=goal_id.value["goal_id"],
            meta=BOARD,
        )
    assert "goal_id" in caught.value.errors


@pytest.mark.parametrize("weight", ["0", "-1", "nothing"])
def test_a_goal_weight_must_be_positive(weight: str) -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    with pytest.raises(ValidationError) as caught:
        app.add_goal(portfolio_id, title="Grow", description="", weight=weight, meta=BOARD)
    assert "weight" in caught.value.errors
    goal_id = app.add_goal(portfolio_id, title="Grow", description="", weight="1", meta=BOARD)
    stored = app.head_position()
    with pytest.raises(ValidationError) as caught:
        app.revise_goal(
            portfolio_id, goal_id.value["goal_id"], weight=weight, reason="Rebalance", meta=BOARD
        )
    assert "weight" in caught.value.errors
    assert app.head_position() == stored


def test_an_unknown_goal_is_not_found() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    with pytest.raises(NotFoundError):
        app.revise_goal(portfolio_id, uuid4(), title="Ghost", reason="None", meta=BOARD)


# ------------------------------------------------------------------------ initiatives


def propose(app: ValuetrailApplication, portfolio_id: UUID, **changes: Any) -> UUID:
    arguments: dict[str, Any] = {
        "portfolio_id": portfolio_id,
        "kind": "project",
        "name": "Self-service portal",
        "sponsor": "COO",
        "start_month": "2025-01",
        "end_month": "2025-12",
        "confidence": "0.8",
        **changes,
    }
    return app.propose_initiative(**arguments, meta=BOARD).value.id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"confidence": "1.5"}, "confidence"),
        ({"confidence": "-0.1"}, "confidence"),
        ({"start_month": "2025-06", "end_month": "2025-05"}, "end_month"),
        ({"start_month": "2025-00"}, "start_month"),
        ({"kind": "campaign"}, "kind"),
        ({"name": ""}, "name"),
        ({"people_demand": {"engineer": "-1"}}, "people_demand.engineer"),
    ],
    ids=[
        "confidence above 1",
        "confidence below 0",
        "ends before it starts",
        "impossible start month",
        "unknown kind",
        "blank name",
        "negative people demand",
    ],
)
def test_an_invalid_proposal_names_the_field_and_stores_nothing(
    changes: dict[str, Any], field: str
) -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    stored = app.head_position()
    with pytest.raises(ValidationError) as caught:
        propose(app, portfolio_id, **changes)
    assert field in caught.value.errors
    assert app.head_position() == stored


def test_an_initiative_needs_an_existing_portfolio() -> None:
    app = new_app()
    with pytest.raises(ValidationError) as caught:
        propose(app, uuid4())
    assert "portfolio_id" in caught.value.errors
    assert app.head_position() == 0


def test_confidence_at_the_bounds_is_accepted() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    assert app.get_initiative(propose(app, portfolio_id, confidence="0")).confidence == D(0)
    assert app.get_initiative(propose(app, portfolio_id, confidence="1")).confidence == D(1)


def test_a_negative_cost_forecast_is_rejected() -> None:
    app = new_app()
    initiative_id = propose(app, portfolio(app))
    with pytest.raises(ValidationError) as caught:
        app.revise_cost_forecast(
            initiative_id, periods={"2025-01": "100", "2025-02": "-5"}, reason="v1", meta=BOARD
        )
    assert "periods.2025-02" in caught.value.errors
    revised = app.get_initiative(initiative_id)
    assert (revised.cost_forecast, revised.cost_forecast_revision) == ({}, 0)


def test_cost_forecast_revisions_are_numbered() -> None:
    app = new_app()
    initiative_id = propose(app, portfolio(app))
    app.revise_cost_forecast(initiative_id, periods={"2025-01": "100"}, reason="v1", meta=BOARD)
    app.revise_cost_forecast(initiative_id, periods={"2025-02": "120"}, reason="v2", meta=BOARD)
    revised = app.get_initiative(initiative_id)
    assert (revised.cost_forecast, revised.cost_forecast_revision) == ({"2025-02": D(120)}, 2)


def test_a_parent_must_be_a_programme_of_the_same_portfolio() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    other_portfolio = portfolio(app)
    programme = propose(app, portfolio_id, kind="programme", name="Transformation")
    project = propose(app, portfolio_id, name="Portal")
    foreign = propose(app, other_portfolio, kind="programme", name="Elsewhere")

    child = propose(app, portfolio_id, name="Chatbot", parent_id=programme)
    assert app.get_initiative(child).parent_id == programme
    stored = app.head_position()
    for parent_id in (project, foreign, uuid4()):
        with pytest.raises(ValidationError) as caught:
            propose(app, portfolio_id, name="Orphan", parent_id=parent_id)
        assert "parent_id" in caught.value.errors
    assert app.head_position() == stored


def test_dependencies_must_exist_in_the_same_portfolio() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    other_portfolio = portfolio(app)
    here = propose(app, portfolio_id, name="Data platform")
    elsewhere = propose(app, other_portfolio, name="Other data platform")

    dependent = propose(app, portfolio_id, name="Analytics", depends_on=[here])
    assert app.get_initiative(dependent).depends_on == [here]
    stored = app.head_position()
    for depends_on in ([elsewhere], [uuid4()], [here, here]):
        with pytest.raises(ValidationError) as caught:
            propose(app, portfolio_id, name="Reports", depends_on=depends_on)
        assert "depends_on" in caught.value.errors
    with pytest.raises(ValidationError) as caught:
        app.revise_initiative(
            dependent, changes={"depends_on": [dependent]}, reason="Loop", meta=BOARD
        )
    assert "depends_on" in caught.value.errors
    assert app.head_position() == stored


def test_dependencies_that_would_form_a_cycle_are_refused() -> None:
    app = new_app()
    portfolio_id = portfolio(app)
    platform = propose(app, portfolio_id, name="Data platform")
    analytics = propose(app, portfolio_id, name="Analytics", depends_on=[platform])
    reports = propose(app, portfolio_id, name="Reports", depends_on=[analytics])
    stored = app.head_position()
    for dependency in (analytics, reports):  # directly, and through Analytics
        with pytest.raises(ValidationError) as caught:
            app.revise_initiative(
                platform, changes={"depends_on": [dependency]}, reason="Loop", meta=BOARD
            )
        assert "cycle" in caught.value.errors["depends_on"][0]
    assert app.get_initiative(platform).depends_on == []
    assert app.head_position() == stored
    # A dependency that closes no loop is still accepted.
    app.revise_initiative(reports, changes={"depends_on": [platform]}, reason="Direct", meta=BOARD)
    assert app.get_initiative(reports).depends_on == [platform]
