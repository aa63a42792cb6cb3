"""The audit log's core (projections/audit/) stays pure: no database, web or store imports.

An auditor's offline check and any verifier built on it must run with nothing but the standard
library and `cryptography`.
"""

from __future__ import annotations

import sys

import pytest

from tests.architecture.layering import _sources, imports_in

ALLOWED_TOP = frozenset({"__future__", "cryptography", "projections"})
#: Standard library modules that would tie the core to a database or the network.
FORBIDDEN_STDLIB = frozenset({"sqlite3", "socket", "http", "urllib"})
STDLIB = frozenset(sys.stdlib_module_names) - FORBIDDEN_STDLIB


def audit_violations(source: str, relpath: str) -> list[str]:
    """Imports of the pure package that reach outside the standard library and itself."""
    found = []
    for imp in imports_in(source, relpath):
        top = imp.top
        inside = imp.module.startswith("projections.audit") or (
            imp.module == "projections" and all(n == "audit" for n in imp.names)
        )
        if (top == "projections" and not inside) or (top not in ALLOWED_TOP and top not in STDLIB):
            found.append(f"{relpath}:{imp.line}: {imp.module}")
    return found


def test_the_audit_core_imports_only_stdlib_cryptography_and_itself() -> None:
    sources = _sources("projections/audit")
    assert len(sources) >= 6

    assert [v for relpath, source in sources for v in audit_violations(source, relpath)] == []


@pytest.mark.parametrize(
    "line",
    ["import psycopg", "import flask", "from projections.db import Cursor", "import sqlite3"],
)
def test_the_checker_flags_impure_imports(line: str) -> None:
    assert audit_violations(line + "\n", "projections/audit/x.py")
