"""Lessons and plan B (Q6): filters, paging in log order, plans and active ones without."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from domain.analytics.lessons import Lesson, Plan, lessons

WHEN = datetime(2025, 3, 1, tzinfo=UTC)
PORTAL = uuid4()


def _lesson(position: int, category: str, text: str) -> Lesson:
    return Lesson(PORTAL, "Portal", uuid4(), category, text, WHEN, position)


FOUND = [
    _lesson(9, "delivery", "Vendor lock-in slowed the Portal"),
    _lesson(3, "delivery", "Weekly demos kept the sponsor close"),
    _lesson(5, "benefits", "Measure the baseline before go-live"),
]


def test_lessons_filter_by_category_and_text_in_any_case() -> None:
    assert [x.position for x in lessons(FOUND, []).items] == [3, 5, 9]
    assert [x.position for x in lessons(FOUND, [], category="delivery").items] == [3, 9]
    assert [x.position for x in lessons(FOUND, [], q="VENDOR").items] == [9]
    assert lessons(FOUND, [], category="benefits", q="vendor").items == []


def test_lessons_page_by_log_position() -> None:
    first = lessons(FOUND, [], limit=2)
    assert [x.position for x in first.items] == [3, 5] and first.next_after == 5
    second = lessons(FOUND, [], after=first.next_after or 0, limit=2)
    assert [x.position for x in second.items] == [9] and second.next_after is None


def test_plans_and_active_initiatives_without_plan_b() -> None:
    plans = [
        Plan(uuid4(), "Portal", "active", "Fall back to the old site", "two missed releases"),
        Plan(uuid4(), "Billing", "active"),
        Plan(uuid4(), "Archive", "proposed"),
    ]
    found = lessons([], plans)
    assert [p.name for p in found.plans] == ["Portal"]
    assert [p.name for p in found.without_plan] == ["Billing"]
