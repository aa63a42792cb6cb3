"""Envelopes decode an event only when a view asks for it, and read its timestamp without
decoding; a view of some aggregates reads every topic they store."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification

from domain.application import ValuetrailApplication
from projections.portfolio_value.writer import KINDS, PortfolioValueView
from projections.view import Envelope, instant_text, stored_instant
from tests.unit.builders import FEED, benefit, initiative, new_app, portfolio
from tests.unit.test_stored_events_contract import lines


def logged(app: ValuetrailApplication) -> list[Notification]:
    """A portfolio, an initiative and a benefit with a measurement (receipts included)."""
    ident = benefit(app, initiative(app, portfolio(app)))
    app.record_measurement(
        ident,
        value="12.5",
        observed_on=date(2025, 3, 1),
        source="ledger",
        external_id="m-1",
        meta=FEED,
    )
    return list(app.recorder.select_notifications(start=1, limit=100))


def counting(
    decode: Callable[[Notification], Any],
) -> tuple[Callable[[Notification], Any], list[int]]:
    """`decode`, counting its calls."""
    calls: list[int] = []

    def counted(notification: Notification) -> Any:
        calls.append(notification.id)
        return decode(notification)

    return counted, calls


def test_the_stored_instant_is_the_decoded_events() -> None:
    app = new_app()
    for notification in logged(app):
        event: Any = app.mapper.to_domain_event(notification)
        assert stored_instant(notification) == instant_text(event.timestamp)
        decode, calls = counting(app.mapper.to_domain_event)
        envelope = Envelope(notification.id, notification, decode=decode)

        assert envelope.recorded_at == instant_text(event.timestamp)
        assert calls == []  # the timestamp alone needs no decoding


def test_an_envelope_decodes_its_event_once_however_many_views_read_it() -> None:
    app = new_app()
    notification = logged(app)[0]
    decode, calls = counting(app.mapper.to_domain_event)
    envelope = Envelope(notification.id, notification, decode=decode)

    first, second = envelope.event, envelope.event

    assert first is second
    assert calls == [notification.id]
    assert envelope.recorded_at == instant_text(first.timestamp)


def test_a_state_stored_in_another_form_is_decoded_for_its_timestamp() -> None:
    app = new_app()
    stored = logged(app)[0]
    spaced = json.dumps(json.loads(stored.state)).encode()  # not the transcoder's own form
    notification = Notification(
        id=stored.id,
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=spaced,
    )
    decode, calls = counting(app.mapper.to_domain_event)
    envelope = Envelope(notification.id, notification, decode=decode)

    assert stored_instant(notification) is None
    event: Any = app.mapper.to_domain_event(stored)
    assert envelope.recorded_at == instant_text(event.timestamp)
    assert calls == [notification.id]


def test_the_value_view_reads_every_topic_its_aggregates_store() -> None:
    stored = {line["topic"] for line in lines() if line["topic"].startswith(tuple(KINDS))}

    assert stored
    assert PortfolioValueView.topics is not None
    assert stored <= PortfolioValueView.topics
    assert all(topic.startswith(tuple(KINDS)) for topic in PortfolioValueView.topics)


@pytest.mark.parametrize(
    ("stored", "instant"),
    [
        ("2026-11-26T14:36:15.608731+00:00", "2026-11-26T14:36:15.608731+00:00"),
        ("2026-11-26T14:36:15+00:00", "2026-11-26T14:36:15.000000+00:00"),  # no microseconds
        ("2026-11-26T15:36:15.608731+01:00", "2026-11-26T14:36:15.608731+00:00"),
    ],
)
def test_a_stored_timestamp_reads_as_the_instant_text_of_its_utc_instant(
    stored: str, instant: str
) -> None:
    state = b'{"timestamp":{"_type_":"datetime_iso","_data_":"' + stored.encode() + b'"},"a":1}'
    notification = Notification(
        id=1, originator_id=uuid4(), originator_version=0, topic="t", state=state
    )

    assert stored_instant(notification) == instant
    assert instant == instant_text(datetime.fromisoformat(stored))
