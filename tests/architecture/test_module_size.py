"""Modules stay small enough to find one's way in: none in the layers, the tests or the
benchmarks is over 400 lines.

Most modules stay under about 200 lines (CONVENTIONS, "Layout shows the architecture"); the build
fails when one in domain/, service/, projections/, persistence/, demo/, tests/ or benchmarks/
grows past the limit, so it is split by concept before it gets there. A test module is split by
what it tests, its shared builders and fixtures kept beside it (a module of its own, or the
package's conftest).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
PACKAGES = ("domain", "service", "projections", "persistence", "demo", "tests", "benchmarks")

#: Modules allowed over the limit: none. An entry would name its module and say why.
EXCEPTIONS: frozenset[str] = frozenset()


def line_counts(root: Path, packages: tuple[str, ...]) -> dict[str, int]:
    """Lines of every Python module under the packages that exist below `root`."""
    return {
        path.relative_to(root).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }


def oversized(counts: dict[str, int], exceptions: frozenset[str] = EXCEPTIONS) -> list[str]:
    """The modules over the limit that are not excepted, as `path: N lines`."""
    return [
        f"{path}: {lines} lines (limit {LIMIT})"
        for path, lines in counts.items()
        if lines > LIMIT and path not in exceptions
    ]


def test_no_module_in_the_layers_is_over_the_limit() -> None:
    counts = line_counts(ROOT, PACKAGES)
    assert any(path.startswith("domain/") for path in counts), "no domain/*.py found"
    assert any(path.startswith("tests/") for path in counts), "no tests/*.py found"
    assert any(path.startswith("benchmarks/") for path in counts), "no benchmarks/*.py found"
    too_long = oversized(counts)
    assert not too_long, "split these by concept:\n" + "\n".join(too_long)


def test_the_check_counts_lines_and_honours_only_the_exceptions(tmp_path: Path) -> None:
    (tmp_path / "domain" / "rules").mkdir(parents=True)
    (tmp_path / "domain" / "rules" / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "domain" / "short.py").write_text("x = 1\n" * LIMIT)
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "demo.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "tests" / "e2e").mkdir(parents=True)
    (tmp_path / "tests" / "e2e" / "test_long.py").write_text("x = 1\n" * (LIMIT + 1))

    counts = line_counts(tmp_path, PACKAGES)

    assert counts == {
        "domain/rules/long.py": LIMIT + 1,
        "domain/short.py": LIMIT,
        "service/demo.py": LIMIT + 1,
        "tests/e2e/test_long.py": LIMIT + 1,
    }
    assert oversized(counts) == [
        f"domain/rules/long.py: {LIMIT + 1} lines (limit {LIMIT})",
        f"service/demo.py: {LIMIT + 1} lines (limit {LIMIT})",
        f"tests/e2e/test_long.py: {LIMIT + 1} lines (limit {LIMIT})",
    ]
    excepted = frozenset({"service/demo.py", "tests/e2e/test_long.py"})
    assert oversized(counts, excepted) == [
        f"domain/rules/long.py: {LIMIT + 1} lines (limit {LIMIT})"
    ]
