"""The docs stay true to the code: every setting the code reads is in the README's table, and
the docs cite nothing that is not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Set by the service for its own child process, never by an operator.
INTERNAL = {"VALUETRAIL_PROJECTOR_PARENT_PID"}


def _settings_read_by_the_code() -> set[str]:
    found: set[str] = set()
    for package in ("domain", "persistence", "projections", "service"):
        for path in (ROOT / package).rglob("*.py"):
            found |= set(re.findall(r"VALUETRAIL_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text()))
    return found - INTERNAL


def test_the_readme_configuration_table_lists_every_setting_the_code_reads() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(VALUETRAIL_[A-Z0-9_]+)`", table))

    missing = _settings_read_by_the_code() - listed

    assert not missing, f"not in the README's configuration table: {sorted(missing)}"


def test_the_docs_cite_no_file_outside_the_repository() -> None:
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "DESIGN" not in text, f"{path.name} cites the design contract, not shipped here"
