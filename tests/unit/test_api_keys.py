"""API keys are stored only as hashes; every stored event names its actor and request."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any
from uuid import uuid4

import pytest

from domain.application import ValuetrailApplication
from domain.errors import NotFoundError, RuleViolationError, ValidationError
from domain.values import Meta
from tests.unit.builders import BOARD, SAVINGS, initiative, new_app, portfolio


def stored_states(app: ValuetrailApplication) -> list[tuple[str, dict[str, Any], bytes]]:
    """(topic, decoded state, raw state) of every stored event, in log order."""
    return [
        (n.topic, json.loads(n.state), n.state)
        for n in app.recorder.select_notifications(start=1, limit=1000)
    ]


# ------------------------------------------------------------------------ API keys


def test_a_token_is_returned_once_and_stored_only_as_its_sha256() -> None:
    app = new_app()
    key, token = app.issue_api_key(name="finance-feed", role="ingest", meta=BOARD).value
    assert token.startswith("vt_")
    assert len(token) > 30
    assert key.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    states = stored_states(app)
    assert states
    for _topic, _state, raw in states:
        assert token.encode() not in raw
    (issued,) = [state for topic, state, _ in states if topic == "valuetrail.api_key.Issued.v1"]
    assert issued["token_sha256"] == key.token_sha256
    assert "token" not in issued


def test_a_key_authenticates_until_it_is_revoked() -> None:
    app = new_app()
    key, token = app.issue_api_key(name="finance-feed", role="ingest", meta=BOARD).value
    found = app.authenticate(token)
    assert found is not None
    assert (found.id, found.name, found.role) == (key.id, "finance-feed", "ingest")
    assert app.authenticate(token + "x") is None
    assert app.authenticate("vt_" + "0" * 43) is None

    app.revoke_api_key(key.id, reason="Contractor left", meta=BOARD)
    assert app.authenticate(token) is None
    revoked = app.get_api_key(key.id)
    assert (revoked.revoked, revoked.revoked_reason) == (True, "Contractor left")
    assert [k.id for k in app.list_api_keys()] == [key.id]

    stored = app.head_position()
    with pytest.raises(RuleViolationError):
        app.revoke_api_key(key.id, reason="Again", meta=BOARD)
    assert app.head_position() == stored


def test_revoking_one_key_leaves_the_others_working() -> None:
    app = new_app()
    first, first_token = app.issue_api_key(name="one", role="manager", meta=BOARD).value
    _, second_token = app.issue_api_key(name="two", role="auditor", meta=BOARD).value
    app.revoke_api_key(first.id, reason="Rotated", meta=BOARD)
    assert app.authenticate(first_token) is None
    assert app.authenticate(second_token) is not None


def test_a_key_needs_a_known_role_and_a_token_cannot_be_issued_twice() -> None:
    app = new_app()
    with pytest.raises(ValidationError) as caught:
        app.issue_api_key(name="root", role="superuser", meta=BOARD)
    assert "role" in caught.value.errors
    app.issue_api_key(name="first", role="admin", token="vt_chosen-token", meta=BOARD)
    with pytest.raises(RuleViolationError):
        app.issue_api_key(name="second", role="admin", token="vt_chosen-token", meta=BOARD)
    assert [k.name for k in app.list_api_keys()] == ["first"]


def test_revoking_an_unknown_key_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        new_app().revoke_api_key(uuid4(), reason="Unknown", meta=BOARD)


# ------------------------------------------------------------------------ who and which request


def test_every_stored_event_names_its_actor_and_request() -> None:
    app = new_app()
    written: list[tuple[int, int, Meta]] = []

    def step(n: int, action: Any) -> Any:
        meta = Meta(actor=f"actor-{n}", request_id=f"req-{n}")
        before = app.head_position()
        result = action(meta)
        written.append((before, app.head_position(), meta))
        return result

    portfolio_id = step(1, lambda m: portfolio(app, meta=m))
    step(2, lambda m: app.add_goal(portfolio_id, title="Grow", description="", weight="1", meta=m))
    step(
        3,
        lambda m: app.set_capacity(
            portfolio_id,
            budget={"2025-01": "1000"},
            people={"engineer": "4"},
            reason="Budget round",
            meta=m,
        ),
    )
    initiative_id = step(4, lambda m: initiative(app, portfolio_id, meta=m))
    step(
        5,
        lambda m: app.record_decision(
            initiative_id,
            decision="invest",
            rationale="Go",
            decided_by="Board",
            decided_on=date(2025, 2, 1),
            meta=m,
        ),
    )
    benefit_id = step(
        6,
        lambda m: (
            app.identify_benefit(
                initiative_id=initiative_id,
                title="Savings",
                category="cashable",
                owner="CFO",
                measure=SAVINGS,
                baseline={"value": "0", "as_of": date(2025, 1, 1)},
                meta=m,
            ).value.id
        ),
    )
    step(
        7,
        lambda m: app.record_measurement(
            benefit_id,
            value="5",
            observed_on=date(2025, 2, 3),
            source="ledger",
            external_id="l-1",
            meta=m,
        ),
    )
    step(
        8,
        lambda m: app.record_spend(
            initiative_id, month="2025-02", amount="10", source="ap", external_id="ap-1", meta=m
        ),
    )
    key = step(9, lambda m: app.issue_api_key(name="feed", role="ingest", meta=m).value[0])
    step(10, lambda m: app.revoke_api_key(key.id, reason="Rotated", meta=m))

    states = stored_states(app)
    assert len(states) == written[-1][1]
    for before, after, meta in written:
        assert after > before
        for topic, state, _ in states[before:after]:
            assert state["actor"] == meta.actor, topic
            assert state["request_id"] == meta.request_id, topic
    assert all(state["actor"] for _, state, _ in states)
