"""A small story played by the demo loader, and what the API then shows for it.

The story: one goal, one project costing 1,000 a month for three months, one saving forecast
at 100 a month over the same three months that delivers 80 % of it, one `invest` decision.
The discount rate is 0 and the feeds do not scatter, so every figure can be checked by hand:
pv_costs 3 x 1,000, pv_benefits 3 x 100, realised 3 x 80 (80 % of forecast: amber).
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from demo import Story, StoryError, load_demo, load_story
from domain.application import ValuetrailApplication
from persistence import store_env
from service.app import create_app
from tests.e2e.conftest import ADMIN_TOKEN, API, bearer, expect

TODAY = date(2026, 11, 26)  # the base month is three months earlier: 2026-08

STORY = """
name = "Small story"
currency = "GBP"
discount_rate = "0"
seed = 7
history_months = 3
horizon_months = 12
typical_benefit = "WEB-SAVE"

[feeds]
spend_scatter = 0
flow_scatter = 0.0

[capacity]
budget_by_year = ["5000"]
people = { engineer = "2" }
reason = "Annual budget."

[[goals]]
key = "cheaper"
title = "Cheaper services"
description = "Cut the cost to serve."
weight = "2"

[[initiatives]]
key = "WEB"
kind = "project"
name = "Self-service web forms"
description = "Forms online instead of on paper."
sponsor = "Director of Services"
leader = "Sam Lee"
proposed = 0
start = 0
end = 2
confidence = "0.8"
monthly_cost = 1_000
people = { engineer = "1" }

[[benefits]]
key = "WEB-SAVE"
initiative = "WEB"
title = "Printing saved"
description = "Paper forms no longer printed."
category = "cashable"
goal = "cheaper"
owner = "Head of Services"
measure = "Monthly printing saved"
unit = "GBP"
kind = "flow"
baseline = "0"
target = "100"
identified = 0
start = 0
ramp = 1
until = 2
performance = "0.8"

[[decisions]]
month = 0
initiative = "WEB"
decision = "invest"
reason_code = "value-for-money"
rationale = "Cheap to build and pays for its printing."
review_in = 3
refs = ["business-case-web.pdf"]
"""


def small_story(**changes: Any) -> Story:
    """The small story, with top-level keys replaced."""
    return load_story({**tomllib.loads(STORY), **changes})


def test_a_small_story_shows_its_hand_checked_figures_through_the_api(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "small.db")
    app = ValuetrailApplication(env=store_env(url, create_tables=True))
    try:
        summary = load_demo(app, today=TODAY, story=small_story())
        again = load_demo(app, today=TODAY, story=small_story())
    finally:
        app.close()
    flask_app = create_app({"db": url, "admin_key": ADMIN_TOKEN, "create_tables": False})
    client = flask_app.test_client()

    def get(path: str) -> Any:
        return expect(client.get(API + path, headers=bearer(ADMIN_TOKEN)), 200)

    try:
        value = get(f"/portfolios/{summary.portfolio_id}/value")
        [initiative] = value["initiatives"]
        decisions = get(f"/initiatives/{initiative['initiative_id']}/decisions")["items"]
        measurements = get(f"/benefits/{summary.examples['typical_benefit']}/measurements")
    finally:
        flask_app.extensions["valuetrail"].close()

    assert (summary.loaded, again.loaded, again.portfolio_id) == (True, False, summary.portfolio_id)
    assert (summary.name, summary.base_month, summary.measurements) == ("Small story", "2026-08", 3)
    assert summary.decisions == {"invest": 1}
    assert summary.spend_to_date == 3000
    expected = {
        "pv_benefits": "300.00",
        "pv_costs": "3000.00",
        "npv": "-2700.00",
        "realised_to_date": "240.00",
        "forecast_to_date": "300.00",
        "realisation_pct": "80.0",
        "rag": "amber",
        "spend_to_date": "3000.00",
    }
    assert {k: value["totals"][k] for k in expected} == expected
    assert {k: initiative[k] for k in expected} == expected
    assert (initiative["name"], initiative["status"]) == ("Self-service web forms", "active")
    assert [(g["title"], g["weight"], g["realised_to_date"]) for g in value["goals"]] == [
        ("Cheaper services", "2", "240.00")
    ]
    [decision] = decisions
    assert decision["decided_on"] == "2026-08-14"
    assert decision["next_review_on"] == "2026-11-14"
    assert decision["decided_by"] == "Investment Board"
    assert decision["evidence_refs"] == ["business-case-web.pdf", "board-pack-2026-08.pdf"]
    observed = [(m["observed_on"], m["value"], m["external_id"]) for m in measurements["items"]]
    assert sorted(observed) == [
        ("2026-08-31", "80.00", "FIN-WEB-SAVE-2026-08"),
        ("2026-09-30", "80.00", "FIN-WEB-SAVE-2026-09"),
        ("2026-10-31", "80.00", "FIN-WEB-SAVE-2026-10"),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "blue"}, "story: unknown key 'colour'"),
        ({"discount_rate": 0.035}, 'story.discount_rate: write a decimal as a string, e.g. "0.75"'),
        ({"seed": "seven"}, "story.seed: expected a whole number"),
        ({"typical_benefit": "WEB-COST"}, "story.typical_benefit: unknown benefit 'WEB-COST'"),
        ({"goals": []}, "benefits[0]: unknown goal 'cheaper'"),
        ({"currency": None}, "story.currency: expected str, got NoneType"),
    ],
)
def test_a_story_the_demo_cannot_play_is_refused_saying_where(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(StoryError) as refused:
        small_story(**changes)

    assert str(refused.value) == message


def test_an_event_before_its_initiative_is_proposed_is_refused() -> None:
    data = tomllib.loads(STORY)
    data["initiatives"][0]["proposed"] = 1
    data["benefits"][0]["identified"] = 1

    with pytest.raises(StoryError, match=r"^decisions\[0\]: 'WEB' is not proposed until month 1"):
        load_story(data)


def test_the_packaged_story_loads_and_holds_what_its_references_name() -> None:
    story = load_story()

    assert story.typical_benefit in {b.key for b in story.benefits}
    assert {b.goal for b in story.benefits} == {g.key for g in story.goals}
    assert all(spec.initiative in {i.key for i in story.initiatives} for spec in story.benefits)
