"""Q6: lessons learned across a portfolio, plan B per initiative, and who has none (§5.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Lesson:
    """A lesson as recorded; `position` is its place in the log (the paging key)."""

    initiative_id: UUID
    name: str
    lesson_id: UUID
    category: str
    text: str
    recorded_at: datetime
    position: int


@dataclass(frozen=True)
class Plan:
    """An initiative's contingency plan (plan B), if it has one."""

    initiative_id: UUID
    name: str
    status: str
    plan: str | None = None
    trigger: str | None = None


@dataclass(frozen=True)
class Lessons:
    """One page of lessons, the position to continue after, plans, and active ones without."""

    items: list[Lesson]
    next_after: int | None
    plans: list[Plan]
    without_plan: list[Plan]


def matching(lessons: Sequence[Lesson], *, category: str | None, q: str | None) -> list[Lesson]:
    """Lessons of one category (exact) whose text contains `q` (any case), in log order."""
    needle = None if q is None else q.casefold()
    return sorted(
        (
            lesson
            for lesson in lessons
            if (category is None or lesson.category == category)
            and (needle is None or needle in lesson.text.casefold())
        ),
        key=lambda lesson: lesson.position,
    )


def lessons(
    found: Sequence[Lesson],
    plans: Sequence[Plan],
    *,
    category: str | None = None,
    q: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> Lessons:
    """The page of matching lessons after a log position, with every plan B and the gaps."""
    chosen = [
        lesson for lesson in matching(found, category=category, q=q) if lesson.position > after
    ]
    page = chosen[:limit]
    more = len(chosen) > limit
    by_name = sorted(plans, key=lambda p: (p.name, str(p.initiative_id)))
    return Lessons(
        items=page,
        next_after=page[-1].position if more and page else None,
        plans=[p for p in by_name if p.plan is not None],
        without_plan=[p for p in by_name if p.status == "active" and p.plan is None],
    )
