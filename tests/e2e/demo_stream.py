"""The demo's event stream in a comparable form: every stored event, ids and instants normalised.

`tests/fixtures/demo_stream.jsonl.gz` holds the stream the demo wrote for `DAY` before its story
moved out of the code into a data file, and `demo_summary.txt` what it printed; the demo must go
on writing exactly that stream and printing that summary. Ids are
random and instants are the wall clock, so each distinct id becomes `id-N` (N in order of first
appearance) and each instant becomes `<instant>`; everything else (topics, versions, figures,
dates, texts, positions) stays as stored. Regenerate only on purpose, when the story changes:

    .venv/bin/python -m tests.e2e.demo_stream
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.application import ValuetrailApplication
from persistence import store_env

DAY = date(2026, 11, 26)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STREAM = FIXTURES / "demo_stream.jsonl.gz"
SUMMARY = FIXTURES / "demo_summary.txt"

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_HEX_UUID = re.compile(r"^[0-9a-f]{32}$")
_SECONDS = re.compile(r"in \d+\.\d s")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:\+00:00|Z)")


class _Normaliser:
    """Names ids by first appearance (in stored order) and blanks instants."""

    def __init__(self) -> None:
        self.ids: dict[UUID, str] = {}

    def name(self, value: str) -> str:
        return self.ids.setdefault(UUID(value), f"id-{len(self.ids) + 1}")

    def text(self, value: str) -> str:
        if _HEX_UUID.match(value):
            return self.name(value)
        return _UUID.sub(lambda m: self.name(m[0]), _INSTANT.sub("<instant>", value))

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self.walk(item) for key, item in value.items()}
        return value


def stream(app: ValuetrailApplication, normaliser: _Normaliser | None = None) -> list[str]:
    """Every stored event, in log order, as one normalised JSON line (keys sorted).

    Keys are sorted after the ids are named, since some maps are stored in the order of their
    (random) ids.
    """
    normaliser = normaliser or _Normaliser()
    lines: list[str] = []
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=1000):
        for notification in page:
            event = {
                "originator_id": str(notification.originator_id),
                "originator_version": notification.originator_version,
                "topic": notification.topic,
                "state": json.loads(notification.state),
            }
            lines.append(json.dumps(normaliser.walk(event), sort_keys=True))
        start = page[-1].id + 1
    return lines


def written(path: Path) -> tuple[list[str], str]:
    """Load the demo for `DAY` into a fresh SQLite store at `path`: its stream and summary.

    The summary is the text `valuetrail demo` prints, with the same id names as the stream and
    the load's duration blanked.
    """
    from demo import load_demo

    app = ValuetrailApplication(env=store_env(f"sqlite:///{path}", create_tables=True))
    try:
        summary = load_demo(app, today=DAY).describe()
        normaliser = _Normaliser()
        lines = stream(app, normaliser)
    finally:
        app.close()
    return lines, _SECONDS.sub("in <seconds> s", normaliser.text(summary))


def recorded() -> tuple[list[str], str]:
    """The stream and summary as the fixtures hold them."""
    with gzip.open(STREAM, "rt", encoding="utf-8") as fixture:
        lines = [line.rstrip("\n") for line in fixture if line.strip()]
    return lines, SUMMARY.read_text(encoding="utf-8")


def main() -> None:
    """Write the fixtures from the demo as the code now loads it."""
    with tempfile.TemporaryDirectory() as folder:
        lines, summary = written(Path(folder) / "demo.db")
    with gzip.GzipFile(STREAM, "wb", mtime=0) as raw:
        raw.write("".join(line + "\n" for line in lines).encode("utf-8"))
    SUMMARY.write_text(summary, encoding="utf-8")
    print(f"{len(lines)} events written to {STREAM}, the summary to {SUMMARY}")


if __name__ == "__main__":
    main()
