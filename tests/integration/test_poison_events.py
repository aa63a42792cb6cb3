"""An event the API would now refuse, already in the log, never stops a view; a view that fails
anyway backs off, one log line a time, and is counted."""

from __future__ import annotations

import logging
import threading
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.application import ValuetrailApplication
from domain.benefit import Benefit
from domain.initiative import Initiative
from projections.catalog import build_projectors
from projections.db import NUL_STAND_IN, ViewDatabase
from projections.measurement_series.queries import measurements
from projections.portfolio_value.value import portfolio_value
from projections.runner import Projector, backoff_seconds, observe_failures
from projections.view import View
from tests.integration.builders import BOARD, build, opened


def _write_old_events(app: ValuetrailApplication, benefit_id: Any, initiative_id: Any) -> None:
    """Events with NUL in their text, as the API accepted them before it refused them: the
    domain's checks are bypassed by triggering the events directly, as replay would."""
    benefit: Any = app.repository.get(benefit_id)
    assert isinstance(benefit, Benefit)
    benefit._measurement_recorded(
        measurement_id=uuid4(),
        value=Decimal("40"),
        observed_on=date(2024, 2, 10),
        source="meter\x00one",
        external_id="m\x00-1",
        actor="feed",
        request_id="r-old",
    )
    initiative: Any = app.repository.get(initiative_id)
    assert isinstance(initiative, Initiative)
    initiative._spend_recorded(
        spend_id=uuid4(),
        month="2024-02",
        amount=Decimal("10"),
        source="ledger",
        external_id="s\x00-1",
        actor="feed",
        request_id="r-old",
    )
    app.save(benefit, initiative)


def test_an_old_event_with_nul_in_its_text_is_projected_and_nothing_stalls(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app:
        setup = build(app)
        _write_old_events(app, setup.benefit_id, setup.initiative_id)
        app.record_measurement(
            setup.benefit_id,
            value="2",
            observed_on=date(2024, 3, 1),
            source="ledger",
            external_id="after",
            meta=BOARD,
        )
        db = ViewDatabase.from_url(db_url)
        try:
            for projector in build_projectors(app, db).values():
                projector.catch_up()
                assert projector.position() == app.head_position()
            found, _ = measurements(db, setup.benefit_id)
            value = portfolio_value(db, setup.portfolio_id)
        finally:
            db.close()

    sources = {m.source for m in found}
    # PostgreSQL's text holds no NUL: the view shows U+FFFD in its place; SQLite keeps it.
    assert sources in (
        {"meter\x00one", "ledger"},
        {f"meter{NUL_STAND_IN}one", "ledger"},
    )
    assert value is not None
    assert value.totals.spend_to_date == Decimal("10")


class _Failing(View):
    """A view that cannot apply any event."""

    name = "always_failing"
    topics = None

    def create(self, cursor: Any) -> None:
        return None

    def reset(self, cursor: Any) -> None:
        return None

    def apply(self, cursor: Any, batch: Any) -> None:
        raise ValueError(f"cannot apply {len(batch)} events\nsecond line")

    def forget(self) -> None:
        return None


def test_a_failing_view_backs_off_exponentially_with_one_line_and_one_count_each_time(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = "sqlite:///" + str(tmp_path / "vt.db")
    failures: list[str] = []
    waits: list[float] = []
    with opened(url, create_tables=True) as app:
        build(app)
        db = ViewDatabase.from_url(url)
        projector = Projector(app, db, _Failing())
        stop = threading.Event()
        real_wait = stop.wait

        def wait(timeout: float | None = None) -> bool:
            if timeout is not None and timeout >= 1:  # a back-off, not the idle poll
                waits.append(timeout)
                if len(waits) == 4:
                    stop.set()
                return stop.is_set()
            return real_wait(0)

        stop.wait = wait  # type: ignore[method-assign]
        undo = observe_failures(failures.append)
        try:
            with caplog.at_level(logging.ERROR, logger="valuetrail.projector"):
                projector.run(stop, idle_wait=0.01)
        finally:
            undo()
            db.close()

    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert failures == ["always_failing"] * 4
    lines = [r for r in caplog.records if r.name == "valuetrail.projector"]
    assert len(lines) == 4
    assert "failure 2 in a row, retrying in 2 s" in lines[1].getMessage()
    assert "second line" not in lines[1].getMessage()
    assert lines[0].exc_info and not any(r.exc_info for r in lines[1:])


def test_back_off_doubles_up_to_a_minute() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 6, 7, 20)] == [1, 2, 4, 32, 60, 60]
