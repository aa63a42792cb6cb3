"""Read a story (the parsed `story.toml`, or any mapping shaped like it) into `demo.story` records.

Every table becomes the record of the same name; a key the record does not have, a missing one,
a value of the wrong type or a reference to a goal, initiative or benefit the story does not hold
is a `StoryError` naming where it is. Decimals are written as strings (or whole numbers), never
as floats, so they stay exact.
"""

from __future__ import annotations

import tomllib
import types
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from demo.story import Benefit, Story
from domain.values import DIRECTIONS, MEASURE_KINDS

T = TypeVar("T")
STORY_FILE = "story.toml"


class StoryError(ValueError):
    """The story is not one the demo can play; the message says where and why."""


@cache
def packaged() -> Mapping[str, Any]:
    """The story shipped with valuetrail (`demo/story.toml`), parsed."""
    text = resources.files("demo").joinpath(STORY_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_story(data: Mapping[str, Any] | None = None) -> Story:
    """Read and check a story: `data` as parsed from TOML, or the packaged story."""
    story = record(Story, packaged() if data is None else data, "story")
    check_references(story)
    return story


def record(cls: type[T], table: Any, where: str) -> T:
    """One record from one table, every key checked against the record's fields."""
    if not isinstance(table, Mapping):
        raise StoryError(f"{where}: expected a table")
    assert is_dataclass(cls)
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise StoryError(f"{where}: unknown key {unknown[0]!r}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in table:
            values[f.name] = _convert(table[f.name], hints[f.name], f"{where}.{f.name}")
        elif f.default is MISSING:
            raise StoryError(f"{where}: missing {f.name!r}")
    return cls(**values)


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):  # `X | None`: TOML has no null, so a value is an X
        return _convert(value, next(a for a in args if a is not type(None)), where)
    if origin is tuple:
        if not isinstance(value, list):
            raise StoryError(f"{where}: expected an array")
        return tuple(_convert(item, args[0], f"{where}[{i}]") for i, item in enumerate(value))
    if origin is Mapping:
        if not isinstance(value, Mapping):
            raise StoryError(f"{where}: expected a table")
        return {key: _convert(item, args[1], f"{where}.{key}") for key, item in value.items()}
    if is_dataclass(hint):
        return record(hint, value, where)  # type: ignore[arg-type]
    if hint is Decimal:
        return _decimal(value, where)
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise StoryError(f"{where}: expected a whole number")
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint):
        raise StoryError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
    return value


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if not isinstance(value, str):
        raise StoryError(f'{where}: write a decimal as a string, e.g. "0.75"')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise StoryError(f"{where}: {value!r} is not a decimal") from None
    if not number.is_finite():
        raise StoryError(f"{where}: {value!r} is not a finite decimal")
    return number


def check_references(story: Story) -> None:
    """Keys are unique; every reference names something already there in the month it is used."""
    goals = _unique((g.key for g in story.goals), "goals")
    _unique((i.key for i in story.initiatives), "initiatives")
    _unique((b.key for b in story.benefits), "benefits")
    proposed = {i.key: i.proposed for i in story.initiatives}
    identified = {b.key: b.identified for b in story.benefits}

    def initiative(key: str, month: int, where: str) -> None:
        if key not in proposed:
            raise StoryError(f"{where}: unknown initiative {key!r}")
        if month < proposed[key]:
            raise StoryError(f"{where}: {key!r} is not proposed until month {proposed[key]}")

    def benefit(key: str, month: int, where: str) -> None:
        if key not in identified:
            raise StoryError(f"{where}: unknown benefit {key!r}")
        if month < identified[key]:
            raise StoryError(f"{where}: {key!r} is not identified until month {identified[key]}")

    for i, spec in enumerate(story.initiatives):
        for key in (*([spec.parent] if spec.parent else []), *spec.depends_on):
            initiative(key, spec.proposed, f"initiatives[{i}]")
            if key == spec.key:
                raise StoryError(f"initiatives[{i}]: {key!r} refers to itself")
    for i, b in enumerate(story.benefits):
        _check_benefit(b, f"benefits[{i}]", goals)
        initiative(b.initiative, b.identified, f"benefits[{i}]")
    for name in ("decisions", "confidence", "leaders", "contingency", "lessons", "cost_revisions"):
        for i, event in enumerate(getattr(story, name)):
            initiative(event.initiative, event.month, f"{name}[{i}]")
    for name in ("reforecasts", "attributions", "closures", "corrections"):
        for i, event in enumerate(getattr(story, name)):
            benefit(event.benefit, event.month, f"{name}[{i}]")
    for i, a in enumerate(story.attributions):
        for key in a.shares:
            initiative(key, a.month, f"attributions[{i}].shares")
    for i, c in enumerate(story.corrections):
        if not identified[c.benefit] <= c.of_month < c.month:
            raise StoryError(f"corrections[{i}]: of_month must fall before the correction")
    if story.typical_benefit is not None and story.typical_benefit not in identified:
        raise StoryError(f"story.typical_benefit: unknown benefit {story.typical_benefit!r}")
    if len(story.capacity.budget_by_year) * 12 < story.horizon_months:
        raise StoryError("capacity.budget_by_year: too few years for the horizon")


def _check_benefit(spec: Benefit, where: str, goals: set[str]) -> None:
    if spec.goal not in goals:
        raise StoryError(f"{where}: unknown goal {spec.goal!r}")
    if spec.kind not in MEASURE_KINDS:
        raise StoryError(f"{where}.kind: one of {', '.join(MEASURE_KINDS)}")
    if spec.direction not in DIRECTIONS:
        raise StoryError(f"{where}.direction: one of {', '.join(DIRECTIONS)}")
    if spec.ramp < 1:
        raise StoryError(f"{where}.ramp: at least one month")


def _unique(keys: Iterable[str], where: str) -> set[str]:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise StoryError(f"{where}: key {key!r} is used twice")
        seen.add(key)
    return seen
