"""Two processes on one store, each with its own aggregate cache: a write on a cached benefit
that the other process has changed since is never lost, doubled or let past a rule.

On SQLite a single measurement is first written on the cached benefit as it is (no read); the
store refuses the taken version and the retry reads. These tests hold on either store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.application import ValuetrailApplication
from domain.errors import RuleViolationError
from persistence import store_env
from tests.integration.builders import BOARD, Setup, build


@pytest.fixture
def two(db_url: str) -> Iterator[tuple[ValuetrailApplication, ValuetrailApplication, Setup]]:
    first = ValuetrailApplication(env=store_env(db_url, create_tables=True))
    second = ValuetrailApplication(env=store_env(db_url))
    try:
        yield first, second, build(first)
    finally:
        first.close()
        second.close()


def measure(app: ValuetrailApplication, setup: Setup, value: str, external_id: str) -> bool:
    """Record one measurement; whether it was new."""
    written = app.record_measurement(
        setup.benefit_id,
        value=value,
        observed_on=datetime.now(UTC).date(),
        source="feed",
        external_id=external_id,
        meta=BOARD,
    )
    return bool(written.value.created)


def test_a_write_on_a_benefit_changed_by_another_process_is_kept(
    two: tuple[ValuetrailApplication, ValuetrailApplication, Setup],
) -> None:
    first, second, setup = two
    assert measure(first, setup, "10", "a")  # cached in the first process
    assert measure(second, setup, "20", "b")  # the first's cached benefit is now behind
    assert measure(first, setup, "30", "c")

    for app in (first, second):
        benefit = app.get_benefit(setup.benefit_id)
        assert benefit.measurement_count == 3
        assert sum(benefit.actuals.values(), Decimal(0)) == Decimal(60)


def test_a_measurement_the_other_process_recorded_is_not_counted_twice(
    two: tuple[ValuetrailApplication, ValuetrailApplication, Setup],
) -> None:
    first, second, setup = two
    assert measure(first, setup, "10", "a")
    assert measure(second, setup, "20", "b")

    assert not measure(first, setup, "20", "b")  # the same (source, external_id)

    assert second.get_benefit(setup.benefit_id).measurement_count == 2


def test_a_benefit_closed_by_another_process_takes_no_measurement(
    two: tuple[ValuetrailApplication, ValuetrailApplication, Setup],
) -> None:
    first, second, setup = two
    assert measure(first, setup, "10", "a")
    second.close_benefit(setup.benefit_id, reason="delivered", meta=BOARD)

    with pytest.raises(RuleViolationError):
        measure(first, setup, "30", "c")

    assert second.get_benefit(setup.benefit_id).measurement_count == 1
