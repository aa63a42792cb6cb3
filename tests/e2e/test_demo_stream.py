"""The demo writes the same events, in the same order and with the same figures, for the same day.

The fixtures were taken from the demo as it loaded before its story became a data file (see
`tests/e2e/demo_stream.py`); a change to the story or to the loader that alters what is written
fails here.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.demo_stream import recorded, written


def test_the_demo_writes_the_recorded_event_stream_and_summary(tmp_path: Path) -> None:
    lines, summary = written(tmp_path / "demo.db")
    expected_lines, expected_summary = recorded()

    first_difference = next(
        (i for i, (a, b) in enumerate(zip(lines, expected_lines, strict=False)) if a != b),
        None,
    )
    assert first_difference is None, (
        f"event {first_difference + 1} differs:\n"
        f"  wrote    {lines[first_difference]}\n"
        f"  recorded {expected_lines[first_difference]}"
    )
    assert len(lines) == len(expected_lines)
    assert summary == expected_summary
