"""Measurements over HTTP (DESIGN §2.3, §5.2, §5.4, §5.6): ingest, dedupe, batch, corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.conftest import T, World


class Measured(World):
    """The benefits world with one flow benefit to measure."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.benefit_id = self.benefit()["id"]
        self.path = f"/benefits/{self.benefit_id}/measurements"

    def measure(self, value: str = "90", observed_on: str = "2025-01-31", **extra: Any) -> Any:
        body = {"value": value, "observed_on": observed_on, "source": "ledger", **extra}
        return self.post(self.path, body, self.ingest)

    def batch(self, items: list[dict[str, Any]], **headers: str) -> Any:
        return self.post("/measurements/batch", {"items": items}, self.ingest, **headers)

    def item(self, external_id: str, **changes: Any) -> dict[str, Any]:
        return {
            "benefit_id": self.benefit_id,
            "value": "10",
            "observed_on": "2025-02-15",
            "source": "ledger",
            "external_id": external_id,
            **changes,
        }

    def count(self) -> int:
        count: int = self.get(f"/benefits/{self.benefit_id}").get_json()["measurement_count"]
        return count


@pytest.fixture
def world(tmp_path: Path) -> Measured:
    return Measured(tmp_path)


def test_a_measurement_is_201_and_its_repeat_is_200_with_the_same_measurement(
    world: Measured,
) -> None:
    first = world.measure(external_id="m-1")
    again = world.measure(value="90.00", external_id="m-1")  # the same figure, spelled otherwise

    assert first.status_code == 201
    body = first.get_json()
    assert body == {
        "measurement_id": body["measurement_id"],
        "benefit_id": world.benefit_id,
        "value": "90",
        "observed_on": "2025-01-31",
        "source": "ledger",
        "external_id": "m-1",
        "recorded_at": body["recorded_at"],
    }
    assert datetime.fromisoformat(body["recorded_at"]).utcoffset() == timedelta(0)
    assert first.headers["Location"] == (
        f"/api/v1/benefits/{world.benefit_id}/measurements/{body['measurement_id']}"
    )
    assert first.headers["X-Log-Position"].isdigit()
    assert again.status_code == 200
    assert again.get_json() == body
    assert world.count() == 1


def test_a_repeat_with_another_value_is_409_with_the_stored_measurement(
    world: Measured,
) -> None:
    first = world.measure(external_id="m-1").get_json()

    for changed in ({"value": "95"}, {"observed_on": "2025-01-30"}):
        again = world.measure(external_id="m-1", **changed)

        assert again.status_code == 409, again.get_data(as_text=True)
        assert again.mimetype == "application/problem+json"
        problem = again.get_json()
        assert problem["stored"] == first
        assert problem["differs"] == list(changed)
        assert f"/measurements/{first['measurement_id']}/corrections" in problem["detail"]
    assert world.count() == 1


def test_a_batch_repeating_a_stored_item_with_another_value_is_409_and_stores_nothing(
    world: Measured,
) -> None:
    first = world.measure(external_id="m-1").get_json()
    items = [
        world.item("m-2"),
        world.item("m-1", value="91", observed_on="2025-01-31"),
    ]

    response = world.batch(items)

    assert response.status_code == 409, response.get_data(as_text=True)
    assert response.get_json()["index"] == 1
    assert response.get_json()["stored"] == first
    assert world.count() == 1


def test_measurements_without_external_id_are_each_stored(world: Measured) -> None:
    first = world.measure()
    second = world.measure()

    assert first.status_code == second.status_code == 201
    assert first.get_json()["measurement_id"] != second.get_json()["measurement_id"]
    assert world.count() == 2


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    world: Measured,
) -> None:
    key = {"Idempotency-Key": "retry-1"}
    body = {"value": "90", "observed_on": "2025-01-31", "source": "ledger"}

    first = world.post(world.path, body, world.ingest, **key)
    again = world.post(world.path, body, world.ingest, **key)
    other = world.post(world.path, {**body, "value": "91"}, world.ingest, **key)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 422
    assert world.count() == 1


def test_an_unknown_benefit_is_404(world: Measured) -> None:
    response = world.post(
        f"/benefits/{uuid4()}/measurements",
        {"value": "1", "observed_on": "2025-01-31", "source": "s"},
        world.ingest,
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": "abc"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"observed_on": "31/01/2025"}, "observed_on"),
        ({"observed_on": (date.today() + timedelta(days=10)).isoformat()}, "observed_on"),
        ({"source": ""}, "source"),
    ],
)
def test_an_invalid_measurement_is_422_naming_the_field(
    world: Measured, changes: dict[str, Any], field: str
) -> None:
    body = {"value": "1", "observed_on": "2025-01-31", "source": "s", **changes}

    response = world.post(world.path, body, world.ingest)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert world.count() == 0


def test_a_closed_benefit_takes_no_more_measurements(world: Measured) -> None:
    assert world.post(f"/benefits/{world.benefit_id}/close", {"reason": "done"}).status_code == 200

    response = world.measure()

    assert response.status_code == 409
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_an_auditor_may_read_but_not_post_measurements(world: Measured) -> None:
    auditor = world.vt.issue_api_key(name="aud", role="auditor", meta=T).value[1]
    body = {"value": "1", "observed_on": "2025-01-31", "source": "s"}

    assert world.post(world.path, body, auditor).status_code == 403
    assert world.get(world.path, auditor).status_code == 200


def test_a_batch_answers_per_item_outcomes_in_order(world: Measured) -> None:
    world.measure(observed_on="2025-02-15", value="10", external_id="b-1")

    response = world.batch([world.item("b-1"), world.item("b-2")])

    assert response.status_code == 201
    body = response.get_json()
    assert list(body) == ["results", "created", "duplicates", "log_position"]
    assert [r["outcome"] for r in body["results"]] == ["duplicate", "created"]
    assert all(r["benefit_id"] == world.benefit_id for r in body["results"])
    assert (body["created"], body["duplicates"]) == (1, 1)
    assert body["log_position"] == int(response.headers["X-Log-Position"])
    assert body["log_position"] == world.vt.head_position()
    assert world.count() == 2


def test_the_same_key_twice_in_one_batch_is_stored_once(world: Measured) -> None:
    response = world.batch([world.item("x"), world.item("x")])

    results = response.get_json()["results"]
    assert [r["outcome"] for r in results] == ["created", "duplicate"]
    assert results[0]["measurement_id"] == results[1]["measurement_id"]
    assert world.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"observed_on": (date.today() + timedelta(days=10)).isoformat()}, "items.1.observed_on"),
        ({"benefit_id": str(uuid4())}, "items.1.benefit_id"),
        ({"value": "abc"}, "items.1.value"),
        ({"source": None}, "items.1.source"),
    ],
)
def test_one_bad_item_refuses_the_whole_batch(
    world: Measured, changes: dict[str, Any], field: str
) -> None:
    head = world.vt.head_position()

    response = world.batch([world.item("ok-1"), world.item("bad", **changes), world.item("ok-2")])

    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert world.vt.head_position() == head
    assert world.count() == 0


def test_a_batch_of_a_closed_benefit_names_the_item(world: Measured) -> None:
    world.post(f"/benefits/{world.benefit_id}/close", {"reason": "done"})

    response = world.batch([world.item("a")])

    assert response.status_code == 422
    assert "items.0.benefit_id" in response.get_json()["errors"]


def test_a_batch_of_one_bad_item_still_names_it_by_index(world: Measured) -> None:
    future = (date.today() + timedelta(days=10)).isoformat()

    response = world.batch([world.item("a", observed_on=future)])

    assert response.status_code == 422
    assert "items.0.observed_on" in response.get_json()["errors"]


def test_a_repeated_duplicate_measurement_replays_by_idempotency_key(world: Measured) -> None:
    world.measure(external_id="d-1")
    body = {"value": "90", "observed_on": "2025-01-31", "source": "ledger", "external_id": "d-1"}
    key = {"Idempotency-Key": "dup-1"}

    first = world.post(world.path, body, world.ingest, **key)
    again = world.post(world.path, body, world.ingest, **key)

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert world.count() == 1


@pytest.mark.parametrize("size", [0, 1001])
def test_a_batch_holds_1_to_1000_items(world: Measured, size: int) -> None:
    response = world.batch([world.item(f"k{n}") for n in range(size)])

    assert response.status_code == 422
    assert "items" in response.get_json()["errors"]
    assert world.count() == 0


def test_a_batch_of_1000_is_accepted(world: Measured) -> None:
    response = world.batch([world.item(f"k{n}") for n in range(1000)])

    assert response.status_code == 201
    assert response.get_json()["created"] == 1000


def test_a_batch_replayed_by_idempotency_key_answers_the_same(world: Measured) -> None:
    items = [world.item("i-1"), world.item("i-2")]

    first = world.batch(items, **{"Idempotency-Key": "batch-1"})
    again = world.batch(items, **{"Idempotency-Key": "batch-1"})
    other = world.batch(items[:1], **{"Idempotency-Key": "batch-1"})

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert world.count() == 2


def test_a_correction_keeps_the_original(world: Measured) -> None:
    measurement_id = world.measure(value="90").get_json()["measurement_id"]
    path = f"{world.path}/{measurement_id}"

    corrected = world.post(
        f"{path}/corrections", {"value": "80.5", "reason": "refund"}, world.ingest
    )

    assert corrected.status_code == 201
    body = corrected.get_json()
    assert body == {
        "measurement_id": measurement_id,
        "benefit_id": world.benefit_id,
        "value": "80.5",
        "previous_value": "90",
        "reason": "refund",
        "recorded_at": body["recorded_at"],
    }
    assert corrected.headers["X-Log-Position"].isdigit()
    listed = world.get(world.path).get_json()["items"]
    assert [(m["value"], m["original_value"]) for m in listed] == [("80.5", "90")]
    assert listed[0]["corrections"] == [
        {"value": "80.5", "reason": "refund", "recorded_at": body["recorded_at"]}
    ]
    assert world.get(path).get_json() == listed[0]
    assert world.get(f"/benefits/{world.benefit_id}").get_json()["actuals"] == {"2025-01": "80.5"}


def test_correcting_an_unknown_measurement_is_404(world: Measured) -> None:
    response = world.post(
        f"{world.path}/{uuid4()}/corrections", {"value": "1", "reason": "r"}, world.ingest
    )

    assert response.status_code == 404


def test_a_measurement_is_only_found_under_its_own_benefit(world: Measured) -> None:
    measurement_id = world.measure().get_json()["measurement_id"]
    other = world.benefit(title="Other")["id"]

    assert world.get(f"{world.path}/{measurement_id}").status_code == 200
    assert world.get(f"/benefits/{other}/measurements/{measurement_id}").status_code == 404
    assert world.get(f"/benefits/{uuid4()}/measurements").status_code == 404


def test_measurements_are_filtered_by_observed_on_inclusive(world: Measured) -> None:
    for day in ("2025-01-10", "2025-01-20", "2025-01-31", "2025-02-01"):
        world.measure(observed_on=day)

    listed = world.get(world.path, **{"from": "2025-01-20", "to": "2025-01-31"}).get_json()
    since = world.get(world.path, **{"from": "2025-01-31"}).get_json()
    backwards = world.get(world.path, **{"from": "2025-02-01", "to": "2025-01-01"})

    assert [m["observed_on"] for m in listed["items"]] == ["2025-01-20", "2025-01-31"]
    assert [m["observed_on"] for m in since["items"]] == ["2025-01-31", "2025-02-01"]
    assert backwards.status_code == 422
    assert "to" in backwards.get_json()["errors"]


def test_as_of_hides_what_was_recorded_later(world: Measured) -> None:
    first = world.measure(value="1", observed_on="2025-01-01").get_json()
    instant = datetime.now(UTC)
    world.measure(value="2", observed_on="2025-01-02")
    world.post(
        f"{world.path}/{first['measurement_id']}/corrections",
        {"value": "5", "reason": "late"},
        world.ingest,
    )

    then = world.get(world.path, as_of=instant.isoformat()).get_json()["items"]
    now = world.get(world.path).get_json()["items"]

    assert [(m["value"], m["corrections"]) for m in then] == [("1", [])]
    assert [m["value"] for m in now] == ["5", "2"]


def test_measurements_page_by_cursor(world: Measured) -> None:
    for day in ("2025-01-10", "2025-01-20", "2025-01-30"):
        world.measure(observed_on=day)

    first = world.get(world.path, limit="2").get_json()
    second = world.get(world.path, limit="2", cursor=first["next_cursor"]).get_json()

    assert [m["observed_on"] for m in first["items"] + second["items"]] == [
        "2025-01-10",
        "2025-01-20",
        "2025-01-30",
    ]
    assert second["next_cursor"] is None
