"""The event store on SQLite and PostgreSQL: what one process writes, another reads back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError

from domain.application import (
    BENEFIT_SNAPSHOT_INTERVAL,
    ValuetrailApplication,
    decision_record,
    topic_of,
)
from domain.errors import NotFoundError, ValidationError
from domain.months import add_months, current_month, utc_now
from persistence import store_env
from tests.integration.builders import (
    BOARD,
    FINANCE,
    build,
    fold_benefit,
    measurement_items,
    opened,
)

TODAY = utc_now().date()


def snapshot_versions(app: ValuetrailApplication, ident: UUID) -> list[int]:
    """Versions at which snapshots of an aggregate were stored, oldest first."""
    assert app.snapshots is not None
    return [s.originator_version for s in app.snapshots.get(ident)]


def test_use_case_walk_is_read_back_identically_by_a_second_instance(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app:
        s = build(app)
        app.revise_cost_forecast(
            s.initiative_id,
            periods={"2024-02": "1000", "2024-03": "500"},
            reason="Supplier quote",
            meta=BOARD,
        )
        app.revise_benefit_forecast(
            s.benefit_id, periods={"2024-02": "300", "2024-03": "150"}, reason="Model", meta=BOARD
        )
        first = app.record_measurement(
            s.benefit_id,
            value="100",
            observed_on=date(2024, 2, 10),
            source="ledger",
            external_id="feb-1",
            meta=FINANCE,
        ).value
        app.record_measurement(
            s.benefit_id,
            value="200",
            observed_on=date(2024, 2, 20),
            source="ledger",
            external_id="feb-2",
            meta=FINANCE,
        )
        batch = app.record_measurements(
            [
                {
                    "benefit_id": s.benefit_id,
                    "value": "50",
                    "observed_on": date(2024, 3, day),
                    "source": "ledger",
                    "external_id": f"mar-{day}",
                }
                for day in (1, 2, 3)
            ],
            meta=FINANCE,
        ).value
        assert (batch.created, batch.duplicates) == (3, 0)
        app.record_spend(
            s.initiative_id,
            month="2024-02",
            amount="1000",
            source="erp",
            external_id="po-1",
            meta=FINANCE,
        )
        app.record_spend(
            s.initiative_id,
            month="2024-03",
            amount="500",
            source="erp",
            external_id="po-2",
            meta=FINANCE,
        )
        invest = app.record_decision(
            s.initiative_id,
            decision="invest",
            rationale="Strong business case",
            decided_by="Investment board",
            decided_on=TODAY,
            evidence_refs=["https://docs.invalid/business-case"],
            meta=BOARD,
        )
        evidence = invest.value["evidence"]
        assert evidence["status"] == "proposed"
        assert evidence["spend_to_date"] == Decimal("1500")
        assert evidence["cost_forecast_revision"] == 1
        assert evidence["benefit_forecast_revisions"] == {str(s.benefit_id): 1}
        assert evidence["log_position"] < invest.log_position
        corrected = app.correct_measurement(
            s.benefit_id,
            first.measurement["measurement_id"],
            value="120",
            reason="Late invoice",
            meta=FINANCE,
        ).value
        assert (corrected["previous_value"], corrected["value"]) == (Decimal(100), Decimal(120))
        app.record_decision(
            s.initiative_id,
            decision="continue",
            rationale="On track",
            decided_by="Investment board",
            decided_on=TODAY,
            meta=BOARD,
        )

        with opened(db_url) as other:
            initiative = other.get_initiative(s.initiative_id)
            benefit = other.get_benefit(s.benefit_id)
            assert initiative.status == "active"
            assert initiative.spend_to_date == Decimal("1500")
            assert initiative.cost_forecast == {"2024-02": Decimal(1000), "2024-03": Decimal(500)}
            assert benefit.actuals == {"2024-02": Decimal(320), "2024-03": Decimal(150)}
            assert benefit.measurement_count == 5
            assert initiative == app.get_initiative(s.initiative_id)
            assert benefit == app.get_benefit(s.benefit_id)
            decisions = [decision_record(e) for e in other.decisions(s.initiative_id)]
            assert decisions == [decision_record(e) for e in app.decisions(s.initiative_id)]
            assert [(d["decision"], d["from_status"], d["to_status"]) for d in decisions] == [
                ("invest", "proposed", "active"),
                ("continue", "active", "active"),
            ]
            assert decisions[0]["evidence"] == evidence
            assert decisions[0]["evidence_refs"] == ["https://docs.invalid/business-case"]
            assert (decisions[0]["actor"], decisions[0]["request_id"]) == ("board", "req-board")
            assert [topic_of(e) for e in other.history(s.initiative_id)] == [
                "valuetrail.initiative.Proposed.v1",
                "valuetrail.initiative.CostForecastRevised.v1",
                "valuetrail.initiative.SpendRecorded.v1",
                "valuetrail.initiative.SpendRecorded.v1",
                "valuetrail.initiative.DecisionRecorded.v1",
                "valuetrail.initiative.DecisionRecorded.v1",
            ]
            assert [topic_of(e) for e in other.history(s.benefit_id)] == [
                "valuetrail.benefit.Identified.v1",
                "valuetrail.benefit.ForecastRevised.v1",
                *["valuetrail.benefit.MeasurementRecorded.v1"] * 5,
                "valuetrail.benefit.MeasurementCorrected.v1",
            ]
            measurement_id = first.measurement["measurement_id"]
            assert other.get_measurement(s.benefit_id, measurement_id) == first.measurement
            assert other.head_position() == app.head_position()


def test_as_of_reads_see_the_status_recorded_at_that_instant(db_url: str) -> None:
    with opened(db_url, create_tables=True) as app:
        before_anything = utc_now()
        s = build(app)
        proposed = utc_now()
        app.record_decision(
            s.initiative_id,
            decision="invest",
            rationale="Go",
            decided_by="Board",
            decided_on=TODAY,
            meta=BOARD,
        )
        invested = utc_now()
        app.record_decision(
            s.initiative_id,
            decision="delay",
            rationale="Downturn",
            decided_by="Board",
            decided_on=TODAY,
            delay_until=add_months(current_month(), 3),
            meta=BOARD,
        )

        with opened(db_url) as other:
            for reader in (app, other):
                assert reader.get_initiative(s.initiative_id, as_of=proposed).status == "proposed"
                assert reader.get_initiative(s.initiative_id, as_of=invested).status == "active"
                assert reader.get_initiative(s.initiative_id).status == "delayed"
                assert [e.originator_version for e in reader.decisions(s.initiative_id)] == [1, 2]
                assert len(reader.decisions(s.initiative_id, as_of=invested)) == 1
                assert reader.decisions(s.initiative_id, as_of=proposed) == []
                with pytest.raises(NotFoundError):
                    reader.get_initiative(s.initiative_id, as_of=before_anything)


def test_a_benefit_with_many_measurements_loads_from_a_snapshot_equal_to_the_full_fold(
    db_url: str,
) -> None:
    with opened(db_url, create_tables=True) as app:
        s = build(app)
        for start in range(0, 250, 50):
            app.record_measurements(measurement_items(s.benefit_id, 50, start=start), meta=FINANCE)
        assert {100, 200} <= set(snapshot_versions(app, s.benefit_id))

        with opened(db_url) as fresh:
            loaded = fresh.get_benefit(s.benefit_id)
            full = fold_benefit(fresh, s.benefit_id)
            assert loaded.measurement_count == full.measurement_count == 250
            assert loaded.actuals == full.actuals
            assert sum(loaded.actuals.values()) == Decimal("375.00")
            assert loaded.version == full.version == 250
            assert loaded == full


def test_a_big_batch_takes_one_snapshot_per_save_not_one_per_interval_crossed(
    db_url: str,
) -> None:
    assert BENEFIT_SNAPSHOT_INTERVAL == 100
    with opened(db_url, create_tables=True) as app:
        s = build(app)
        before = snapshot_versions(app, s.benefit_id)
        app.record_measurements(measurement_items(s.benefit_id, 300), meta=FINANCE)
        after_big = snapshot_versions(app, s.benefit_id)
        assert after_big[len(before) :] == [300]
        app.record_measurements(measurement_items(s.benefit_id, 150, start=300), meta=FINANCE)
        assert snapshot_versions(app, s.benefit_id)[len(before) :] == [300, 400]

        with opened(db_url) as fresh:
            assert fresh.get_benefit(s.benefit_id) == fold_benefit(fresh, s.benefit_id)
            assert fresh.get_benefit(s.benefit_id).measurement_count == 450


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/valuetrail",
        "memory://",
        "valuetrail.db",
        "",
        "sqlite://",
        "sqlite:///",
        "postgresq://postgres@127.0.0.1/valuetrail",
    ],
)
def test_store_env_rejects_urls_it_cannot_serve(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        store_env(url)
    assert list(caught.value.errors) == ["VALUETRAIL_DB"]


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def test_without_create_table_a_missing_schema_fails_on_first_write(
    fresh_postgres_url: str,
) -> None:
    assert store_env(fresh_postgres_url)["CREATE_TABLE"] == "n"
    with (
        opened(fresh_postgres_url) as app,
        pytest.raises(PersistenceError, match=r'"public\.valuetrail_\w+" does not exist'),
    ):
        app.create_portfolio(
            name="Orphan",
            currency="EUR",
            discount_rate="0.03",
            base_month="2024-01",
            meta=BOARD,
        )
    assert _tables(fresh_postgres_url) == []

    with opened(fresh_postgres_url, create_tables=True) as app:
        created = app.create_portfolio(
            name="Now it works",
            currency="EUR",
            discount_rate="0.03",
            base_month="2024-01",
            meta=BOARD,
        )
        assert app.get_portfolio(created.value.id).name == "Now it works"
    assert _tables(fresh_postgres_url)
