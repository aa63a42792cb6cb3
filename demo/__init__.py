"""The demo portfolio: a story kept as data (`story.toml`) and the loader that plays it.

`load_demo(app)` writes the packaged story through the application's use cases, once; tests
pass a smaller `Story` (see `load_story`). The modules follow the aggregates: `portfolio`,
`initiatives`, `decisions`, `benefits`, `measurements` (spend and measurement feeds); `play`
runs the months in order and `summary` counts what was written.
"""

from __future__ import annotations

from demo.parse import StoryError, load_story
from demo.play import load_demo
from demo.story import Story
from demo.summary import DemoSummary, find_demo, summarise

__all__ = [
    "DEMO_NAME",
    "TYPICAL_BENEFIT",
    "DemoSummary",
    "Story",
    "StoryError",
    "find_demo",
    "load_demo",
    "load_story",
    "summarise",
]

_PACKAGED = load_story()
DEMO_NAME = _PACKAGED.name
#: The title of the benefit whose measurements the summary shows.
TYPICAL_BENEFIT = _PACKAGED.benefit(str(_PACKAGED.typical_benefit)).title
