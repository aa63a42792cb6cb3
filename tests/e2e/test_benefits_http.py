"""Benefits over HTTP (DESIGN §2.3, §5.2, §5.6): create, read, list, revise, attribute, close."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.conftest import World

API = "/api/v1"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_creating_a_benefit_answers_201_with_location_and_the_full_shape(world: World) -> None:
    response = world.post("/benefits", world.benefit_body())

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"{API}/benefits/{body['id']}"
    assert response.headers["X-Log-Position"].isdigit()
    assert body == {
        "id": body["id"],
        "version": body["version"],
        "portfolio_id": str(world.portfolio_id),
        "initiative_id": str(world.a),
        "title": "Lower cost to serve",
        "description": "Fewer calls",
        "category": "cashable",
        "disbenefit": False,
        "owner": "Ops director",
        "goal_id": None,
        "measure": {
            "name": "saving",
            "unit": "GBP",
            "kind": "flow",
            "direction": "increase",
            "value_per_unit": None,
        },
        "baseline": {"value": "0", "as_of": "2025-01-01"},
        "target": {"value": "1200.50", "by_month": "2025-12"},
        "contributions": [],
        "unattributed_share": "0",
        "status": "active",
        "forecast": {"periods": {}, "revision": 0},
        "measurement_count": 0,
        "actuals": {},
        "created_on": body["created_on"],
        "modified_on": body["modified_on"],
    }
    assert datetime.fromisoformat(body["created_on"]).utcoffset() is not None


def test_a_benefit_reads_back_with_its_etag(world: World) -> None:
    created = world.benefit()

    response = world.get(f"/benefits/{created['id']}", world.ingest)

    assert response.status_code == 200
    assert response.get_json() == created
    assert response.headers["ETag"] == f'"v{created["version"]}"'


def test_an_unknown_benefit_is_404_problem_json(world: World) -> None:
    response = world.get(f"/benefits/{uuid4()}")

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_a_benefit_can_be_read_as_it_stood_before_a_change(world: World) -> None:
    created = world.benefit()
    before = datetime.now(UTC)
    changed = world.post(f"/benefits/{created['id']}/owner", {"owner": "CFO", "reason": "moved"})
    assert changed.status_code == 200

    then = world.get(f"/benefits/{created['id']}", as_of=before.isoformat())

    assert then.get_json()["owner"] == "Ops director"
    assert world.get(f"/benefits/{created['id']}").get_json()["owner"] == "CFO"


def test_listing_benefits_needs_an_initiative(world: World) -> None:
    response = world.get("/benefits")

    assert response.status_code == 422
    assert "initiative_id" in response.get_json()["errors"]


def test_benefits_are_listed_for_every_initiative_that_claims_a_share(world: World) -> None:
    shared = world.benefit(
        contributions=[
            {"initiative_id": str(world.a), "share": "0.6"},
            {"initiative_id": str(world.b), "share": 0.3},
        ]
    )
    own = world.benefit(title="Faster answers")

    of_a = world.get("/benefits", initiative_id=str(world.a)).get_json()
    of_b = world.get("/benefits", initiative_id=str(world.b)).get_json()

    assert [b["id"] for b in of_a["items"]] == [shared["id"], own["id"]]
    assert [b["id"] for b in of_b["items"]] == [shared["id"]]
    assert of_a["next_cursor"] is None
    assert shared["unattributed_share"] == "0.1"
    assert shared["contributions"][1] == {"initiative_id": str(world.b), "share": "0.3"}


def test_the_benefit_list_pages_by_cursor(world: World) -> None:
    ids = [world.benefit(title=f"B{n}")["id"] for n in range(3)]

    first = world.get("/benefits", initiative_id=str(world.a), limit="2")
    cursor = first.get_json()["next_cursor"]
    second = world.get("/benefits", initiative_id=str(world.a), limit="2", cursor=cursor)

    assert [b["id"] for b in first.get_json()["items"]] == ids[:2]
    assert 'rel="next"' in first.headers["Link"]
    assert [b["id"] for b in second.get_json()["items"]] == ids[2:]
    assert second.get_json()["next_cursor"] is None


def test_shares_summing_over_one_are_refused_and_nothing_is_stored(world: World) -> None:
    head = world.vt.head_position()

    response = world.post(
        "/benefits",
        world.benefit_body(
            contributions=[
                {"initiative_id": str(world.a), "share": "0.7"},
                {"initiative_id": str(world.b), "share": "0.4"},
            ]
        ),
    )

    assert response.status_code == 422
    assert "contributions" in response.get_json()["errors"]
    assert world.vt.head_position() == head
    assert world.get("/benefits", initiative_id=str(world.b)).get_json()["items"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "priceless"}, "category"),
        ({"measure": {"name": "n", "unit": "u", "kind": "stock"}}, "measure.kind"),
        ({"baseline": {"value": "abc", "as_of": "2025-01-01"}}, "baseline.value"),
        ({"target": {"value": "1", "by_month": "2025-13"}}, "target.by_month"),
        ({"initiative_id": str(uuid4())}, "initiative_id"),
        ({"contributions": [{"initiative_id": str(uuid4()), "share": "0.5"}]}, "contributions"),
        (
            {"contributions": [{"initiative_id": "x", "share": "0.5"}]},
            "contributions.0.initiative_id",
        ),
    ],
)
def test_invalid_benefits_are_422_naming_the_field(
    world: World, changes: dict[str, Any], field: str
) -> None:
    response = world.post("/benefits", world.benefit_body(**changes))

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_an_ingest_key_may_read_but_not_create_benefits(world: World) -> None:
    response = world.post("/benefits", world.benefit_body(), world.ingest)

    assert response.status_code == 403
    assert world.get("/benefits", world.ingest, initiative_id=str(world.a)).status_code == 200


def test_a_forecast_revision_answers_the_benefit_with_its_revision(world: World) -> None:
    created = world.benefit()

    response = world.put(
        f"/benefits/{created['id']}/forecast",
        {"periods": {"2025-02": "100", "2025-01": 99.5}, "reason": "business case"},
    )

    assert response.status_code == 200
    assert response.get_json()["forecast"] == {
        "periods": {"2025-01": "99.5", "2025-02": "100"},
        "revision": 1,
    }
    assert response.headers["X-Log-Position"].isdigit()


def test_if_match_guards_state_changes(world: World) -> None:
    created = world.benefit()
    path = f"/benefits/{created['id']}/forecast"
    body = {"periods": {"2025-01": "1"}, "reason": "r"}
    current = world.get(f"/benefits/{created['id']}").headers["ETag"]

    ok = world.put(path, body, **{"If-Match": current})
    stale = world.put(path, body, **{"If-Match": current})

    assert ok.status_code == 200
    assert stale.status_code == 412
    assert ok.get_json()["forecast"]["revision"] == 1


def test_attribution_moves_the_benefit_between_initiatives(world: World) -> None:
    created = world.benefit()

    response = world.put(
        f"/benefits/{created['id']}/attribution",
        {"contributions": [{"initiative_id": str(world.b), "share": "0.25"}], "reason": "re-scope"},
    )

    assert response.status_code == 200
    assert response.get_json()["unattributed_share"] == "0.75"
    assert world.get("/benefits", initiative_id=str(world.a)).get_json()["items"] == []
    listed = world.get("/benefits", initiative_id=str(world.b)).get_json()["items"]
    assert [b["id"] for b in listed] == [created["id"]]


def test_attribution_over_one_is_422_and_changes_nothing(world: World) -> None:
    created = world.benefit()

    response = world.put(
        f"/benefits/{created['id']}/attribution",
        {
            "contributions": [
                {"initiative_id": str(world.a), "share": "1"},
                {"initiative_id": str(world.b), "share": "0.01"},
            ],
            "reason": "r",
        },
    )

    assert response.status_code == 422
    assert "contributions" in response.get_json()["errors"]
    assert world.get(f"/benefits/{created['id']}").get_json() == created


def test_owner_baseline_and_target_revisions_show_on_the_benefit(world: World) -> None:
    created = world.benefit()
    path = f"/benefits/{created['id']}"

    owner = world.post(f"{path}/owner", {"owner": "CFO", "reason": "handover"})
    baseline = world.post(
        f"{path}/baseline", {"value": "10.5", "as_of": "2025-02-01", "reason": "audit"}
    )
    target = world.post(f"{path}/target", {"value": "2000", "by_month": "2026-06", "reason": "x"})

    assert [r.status_code for r in (owner, baseline, target)] == [200, 200, 200]
    now = world.get(path).get_json()
    assert now["owner"] == "CFO"
    assert now["baseline"] == {"value": "10.5", "as_of": "2025-02-01"}
    assert now["target"] == {"value": "2000", "by_month": "2026-06"}
    assert now["version"] == created["version"] + 3


def test_a_change_without_reason_is_422(world: World) -> None:
    created = world.benefit()

    response = world.post(f"/benefits/{created['id']}/owner", {"owner": "CFO"})

    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]


def test_closing_a_benefit_twice_is_a_409(world: World) -> None:
    created = world.benefit()
    path = f"/benefits/{created['id']}/close"

    closed = world.post(path, {"reason": "delivered"})
    again = world.post(path, {"reason": "delivered"})

    assert closed.status_code == 200
    assert closed.get_json()["status"] == "closed"
    assert again.status_code == 409
    assert again.headers["Content-Type"].startswith("application/problem+json")


def test_creating_with_an_idempotency_key_replays_the_first_response(world: World) -> None:
    body = world.benefit_body()

    first = world.post("/benefits", body, **{"Idempotency-Key": "k-1"})
    again = world.post("/benefits", body, **{"Idempotency-Key": "k-1"})
    other = world.post("/benefits", {**body, "title": "Other"}, **{"Idempotency-Key": "k-1"})

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 422
    assert len(world.get("/benefits", initiative_id=str(world.a)).get_json()["items"]) == 1


def test_a_retried_close_with_its_idempotency_key_replays_instead_of_409(world: World) -> None:
    created = world.benefit()
    path = f"/benefits/{created['id']}/close"

    first = world.post(path, {"reason": "delivered"}, **{"Idempotency-Key": "close-1"})
    again = world.post(path, {"reason": "delivered"}, **{"Idempotency-Key": "close-1"})

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
