"""Stored events are a contract: events written by an earlier build must still read and replay.

`tests/fixtures/stored_events.jsonl` holds one stored event per line, covering every event type
of every aggregate, exactly as the store keeps them (the state is the stored JSON, decoded). It
was generated once; never regenerate it to make a test pass. When an event changes shape, add a
`class_version` and an upcaster so these lines still read; when a new event type is added, append
a line for it.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

import domain
from domain.api_key import ApiKey
from domain.benefit import Benefit
from domain.index import Index
from domain.initiative import Initiative
from domain.portfolio import Portfolio
from domain.receipt import Receipt
from tests.unit.builders import new_app

D = Decimal
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "stored_events.jsonl"
TOPIC_SHAPE = re.compile(r"^valuetrail\.[a-z_]+\.[A-Za-z]+\.v\d+$")


@cache
def lines() -> tuple[dict[str, Any], ...]:
    with FIXTURE.open(encoding="utf-8") as fixture:
        return tuple(json.loads(line) for line in fixture if line.strip())


def stored_event(line: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(line["originator_id"]),
        originator_version=line["originator_version"],
        topic=line["topic"],
        state=json.dumps(line["state"]).encode("utf-8"),
    )


def domain_aggregates() -> list[type[Aggregate]]:
    """Every aggregate class defined in a module of the `domain` package."""
    found: list[type[Aggregate]] = []
    for module_info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Aggregate)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def stored_event_classes(aggregate: type[Aggregate]) -> list[type[Any]]:
    """The event classes nested in an aggregate that are stored under an explicit topic.

    A nested `Created` is only the base of the creation event (never stored) when the aggregate
    creates itself with another event, e.g. `Initiative.Proposed`.
    """
    nested = {
        name: value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and value.__dict__.get("TOPIC")
    }
    creators = [n for n, v in nested.items() if issubclass(v, Aggregate.Created) and n != "Created"]
    if creators:
        nested.pop("Created", None)
    return list(nested.values())


def replayed() -> dict[UUID, Any]:
    """Every aggregate in the fixture, rebuilt by applying its events in order."""
    app = new_app()
    by_aggregate: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for line in lines():
        by_aggregate[UUID(line["originator_id"])].append(line)
    aggregates: dict[UUID, Any] = {}
    for ident, events in by_aggregate.items():
        aggregate: Any = None
        for line in sorted(events, key=lambda e: e["originator_version"]):
            event: Any = app.mapper.to_domain_event(stored_event(line))
            aggregate = event.mutate(aggregate)
        aggregates[ident] = aggregate
    return aggregates


def only(aggregates: dict[UUID, Any], cls: type[Any], **fields: Any) -> Any:
    (found,) = [
        a
        for a in aggregates.values()
        if isinstance(a, cls) and all(getattr(a, k) == v for k, v in fields.items())
    ]
    return found


# ------------------------------------------------------------------------ (a) every line reads


@pytest.mark.parametrize("line", lines(), ids=lambda line: f"{line['topic']}")
def test_every_stored_event_reads_with_todays_code(line: dict[str, Any]) -> None:
    cls = resolve_topic(line["topic"])
    assert isinstance(cls, type)
    assert issubclass(cls, Aggregate.Event)

    app = new_app()
    event: Any = app.mapper.to_domain_event(stored_event(line))
    assert type(event) is cls
    assert event.originator_id == UUID(line["originator_id"])
    assert event.originator_version == line["originator_version"]
    # Written back, it is stored exactly as before: no field renamed, dropped or re-encoded.
    assert json.loads(app.mapper.to_stored_event(event).state) == line["state"]


def test_every_stored_event_says_who_caused_it() -> None:
    for line in lines():
        assert line["state"]["actor"], line["topic"]
        assert "request_id" in line["state"], line["topic"]


# ------------------------------------------------------------------------ (b) replay rebuilds


def test_replaying_the_fixture_rebuilds_the_portfolio() -> None:
    portfolio = only(replayed(), Portfolio, name="Fixture portfolio")
    assert portfolio.version == 6
    assert (portfolio.currency, portfolio.discount_rate, portfolio.base_month) == (
        "GBP",
        D("0.035"),
        "2024-01",
    )
    assert (portfolio.rag_green, portfolio.rag_amber) == (D(90), D(75))
    goals = {g["title"]: (g["weight"], g["retired"]) for g in portfolio.goals.values()}
    assert goals == {"Cut cost to serve": (D(3), False), "Grow revenue": (D(1), True)}
    assert portfolio.budget == {"2024-01": D(1000), "2024-02": D(1000)}
    assert portfolio.people == {"engineer": D(4)}
    assert len(portfolio.scenarios) == 1


def test_replaying_the_fixture_rebuilds_the_initiatives_and_their_decisions() -> None:
    aggregates = replayed()
    portfolio = only(aggregates, Portfolio, name="Fixture portfolio")
    project = only(aggregates, Initiative, name="Fixture project")
    assert project.version == 11
    assert project.portfolio_id == portfolio.id
    assert (project.kind, project.sponsor, project.leader) == ("project", "COO", "Grace")
    assert (project.description, project.start_month, project.end_month) == (
        "Self-service portal",
        "2024-01",
        "2024-10",
    )
    assert project.people_demand == {"engineer": D(2)}
    assert project.confidence == D("0.7")
    assert project.cost_forecast == {"2024-01": D(500), "2024-02": D(500)}
    assert project.cost_forecast_revision == 1
    assert (project.spend_to_date, project.spend_by_month) == (D(300), {"2024-01": D(300)})
    assert [d["decision"] for d in project.decisions] == ["invest", "suspend", "resume", "stop"]
    assert (project.status, project.stopped_month) == ("stopped", "2024-06")
    assert [lesson["text"] for lesson in project.lessons] == ["Vet suppliers before contract"]
    assert project.contingency == {"plan": "Manual process", "trigger": "Second supplier failure"}

    partner = only(aggregates, Initiative, name="Fixture partner")
    assert (partner.kind, partner.status, partner.confidence) == ("service", "proposed", D("0.5"))

    app = new_app()
    decisions: list[Any] = [
        app.mapper.to_domain_event(stored_event(line))
        for line in lines()
        if line["topic"] == "valuetrail.initiative.DecisionRecorded.v1"
    ]
    assert [(d.from_status, d.decision, d.to_status) for d in decisions] == [
        ("proposed", "invest", "active"),
        ("active", "suspend", "suspended"),
        ("suspended", "resume", "active"),
        ("active", "stop", "stopped"),
    ]
    resume, stop = decisions[2], decisions[3]
    assert (resume.decided_on, resume.next_review_on) == (date(2024, 4, 1), date(2024, 5, 1))
    assert (resume.reason_code, resume.conditions) == ("supplier", "Monthly review")
    assert resume.evidence_refs == ["https://example.invalid/paper"]
    assert stop.scenario_id == portfolio.scenarios[0]
    assert stop.evidence["spend_to_date"] == D(300)
    assert stop.evidence["realised_to_date"] == D(130)
    assert stop.evidence["cost_forecast_revision"] == 1
    assert 0 < decisions[0].log_position < stop.log_position


def test_replaying_the_fixture_rebuilds_the_benefit_and_its_measurements() -> None:
    aggregates = replayed()
    portfolio = only(aggregates, Portfolio, name="Fixture portfolio")
    project = only(aggregates, Initiative, name="Fixture project")
    benefit = only(aggregates, Benefit, title="Fixture savings")
    assert benefit.version == 10
    assert (benefit.portfolio_id, benefit.initiative_id) == (portfolio.id, project.id)
    (goal_id,) = [g for g, goal in portfolio.goals.items() if goal["title"] == "Cut cost to serve"]
    assert benefit.goal_id == goal_id
    assert benefit.measure == {
        "name": "savings",
        "unit": "GBP",
        "kind": "flow",
        "direction": "increase",
        "value_per_unit": None,
    }
    assert benefit.forecast == {"2024-02": D(100), "2024-03": D(100)}
    assert benefit.forecast_revision == 1
    # 100 corrected to 80, plus 50.
    assert benefit.actuals == {"2024-02": D(130)}
    assert benefit.measurement_count == 2
    assert list(benefit.corrected.values()) == [D(80)]
    assert benefit.contributions == [{"initiative_id": project.id, "share": D(1)}]
    assert benefit.owner == "CFO"
    assert benefit.baseline == {"value": D(5), "as_of": date(2024, 1, 31)}
    assert benefit.target == {"value": D(900), "by_month": "2024-11"}
    assert benefit.status == "closed"


def test_replaying_the_fixture_rebuilds_keys_receipts_and_indexes() -> None:
    aggregates = replayed()
    portfolio = only(aggregates, Portfolio, name="Fixture portfolio")
    project = only(aggregates, Initiative, name="Fixture project")
    partner = only(aggregates, Initiative, name="Fixture partner")
    benefit = only(aggregates, Benefit, title="Fixture savings")

    key = only(aggregates, ApiKey, name="fixture-feed")
    assert (key.role, key.revoked, key.revoked_reason) == ("ingest", True, "Rotated")
    assert re.fullmatch(r"[0-9a-f]{64}", key.token_sha256)

    receipts = [a for a in aggregates.values() if isinstance(a, Receipt)]
    assert sorted(r.kind for r in receipts) == ["api-token", "measurement", "measurement", "spend"]
    measured = {r.data["external_id"]: r.data["value"] for r in receipts if r.kind == "measurement"}
    assert measured == {"m-1": D(100), "m-2": D(50)}  # as first recorded, before the correction
    (spend,) = [r for r in receipts if r.kind == "spend"]
    assert (spend.subject_id, spend.data["amount"]) == (project.id, D(300))

    indexes = {a.name: a.members for a in aggregates.values() if isinstance(a, Index)}
    assert indexes[f"benefits-of:{project.id}"] == [benefit.id]
    assert indexes[f"benefits-of:{partner.id}"] == []  # added, then removed
    assert indexes["api-keys"] == [key.id]
    assert indexes["portfolios"] == [portfolio.id]
    assert indexes[f"initiatives-of:{portfolio.id}"] == [project.id, partner.id]


# ------------------------------------------------------------------------ (c) and (d) topics


def test_the_fixture_covers_exactly_the_events_the_domain_defines() -> None:
    defined = {
        cls.TOPIC for aggregate in domain_aggregates() for cls in stored_event_classes(aggregate)
    }
    in_fixture = {line["topic"] for line in lines()}
    assert sorted(defined - in_fixture) == [], "events without a fixture line"
    assert sorted(in_fixture - defined) == [], "fixture topics no event class defines any more"


def test_the_domain_aggregates_are_the_known_ones() -> None:
    names = {cls.__name__ for cls in domain_aggregates()}
    assert names >= {"Portfolio", "Initiative", "Benefit", "ApiKey", "Receipt", "Index"}


def test_every_topic_is_explicit_and_versioned() -> None:
    for line in lines():
        assert TOPIC_SHAPE.match(line["topic"]), line["topic"]
    for aggregate in domain_aggregates():
        for cls in stored_event_classes(aggregate):
            assert TOPIC_SHAPE.match(cls.TOPIC), cls.TOPIC
