"""Dependencies point inward (service -> projections -> domain): the build fails if one points out.

The domain stays pure so it can be tested without I/O and moved to another store without change:
no web, schema, metrics or database libraries, and of eventsourcing only the modules that define
aggregates and events. The domain/application/ package alone may also use eventsourcing's
Application and persistence layer. The analytics (domain/analytics/) use the standard library,
the rest of the domain and the HiGHS solver (`highspy`) only; no other domain module uses HiGHS.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DOMAIN_FORBIDDEN = frozenset(
    {
        "apispec",
        "flask",
        "flask_smorest",
        "gunicorn",
        "marshmallow",
        "projections",
        "prometheus_client",
        "psycopg",
        "psycopg_pool",
        "service",
        "sqlite3",
        "werkzeug",
    }
)
DOMAIN_EVENTSOURCING = ("eventsourcing.domain", "eventsourcing.utils")
APPLICATION_EVENTSOURCING = (
    *DOMAIN_EVENTSOURCING,
    "eventsourcing.application",
    "eventsourcing.persistence",
)
APPLICATION_MODULE = "domain/application/core.py"
APPLICATION_PACKAGE = "domain/application/"
PROJECTIONS_FORBIDDEN = frozenset({"service"})
ANALYTICS_PACKAGE = "domain/analytics/"
SOLVER = "highspy"
ANALYTICS_ALLOWED = frozenset({*sys.stdlib_module_names, "domain", SOLVER})


@dataclass(frozen=True)
class Import:
    """One import statement: `from module import names`, or `import module` (no names)."""

    module: str
    line: int
    names: tuple[str, ...] = ()

    @property
    def top(self) -> str:
        """The top-level package imported (`from .. import x` at top level imports `x`)."""
        return (self.module or self.names[0]).split(".")[0]


@dataclass(frozen=True)
class Violation:
    """An import that breaks a layering rule, with where it is."""

    path: str
    line: int
    module: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.module}: {self.reason}"


def imports_in(source: str, relpath: str) -> Iterator[Import]:
    """Every import in a source file, relative imports resolved against `relpath`."""
    package = relpath.removesuffix(".py").split("/")[:-1]
    for node in ast.walk(ast.parse(source, filename=relpath)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                module = ".".join([*anchor, module] if module else anchor)
            yield Import(module, node.lineno, tuple(a.name for a in node.names))
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(node.args[0].value, node.lineno)


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def _eventsourcing_outside(imp: Import, allowed: tuple[str, ...]) -> list[str]:
    """The eventsourcing modules `imp` reaches that are not in `allowed`."""
    if _within(imp.module, allowed):
        return []
    is_parent = any(a.startswith(imp.module + ".") for a in allowed)
    if is_parent and imp.names and imp.names != ("*",):
        # `from eventsourcing import domain` names the submodules it takes
        return [m for m in (f"{imp.module}.{n}" for n in imp.names) if not _within(m, allowed)]
    return [imp.module]


def domain_violations(source: str, relpath: str) -> list[Violation]:
    """Imports in a domain module that break the domain's purity rules."""
    in_application = relpath.startswith(APPLICATION_PACKAGE)
    allowed = APPLICATION_EVENTSOURCING if in_application else DOMAIN_EVENTSOURCING
    in_analytics = relpath.startswith(ANALYTICS_PACKAGE)
    found: list[Violation] = []
    for imp in imports_in(source, relpath):
        if in_analytics and imp.top not in ANALYTICS_ALLOWED:
            module = imp.module or imp.top
            reason = f"{ANALYTICS_PACKAGE} may use only the standard library, domain and {SOLVER}"
            found.append(Violation(relpath, imp.line, module, reason))
        elif imp.top == SOLVER and not in_analytics:
            found.append(Violation(relpath, imp.line, imp.module, f"only {ANALYTICS_PACKAGE}"))
        elif imp.top in DOMAIN_FORBIDDEN:
            module = imp.module or imp.top
            found.append(Violation(relpath, imp.line, module, "forbidden in domain/"))
        elif imp.top == "eventsourcing":
            reason = f"domain/ may use only {', '.join(allowed)}"
            found.extend(
                Violation(relpath, imp.line, m, reason)
                for m in _eventsourcing_outside(imp, allowed)
            )
    return found


def projections_violations(source: str, relpath: str) -> list[Violation]:
    """Imports in a projections module that reach up into the service layer."""
    return [
        Violation(relpath, imp.line, imp.module, "projections/ must not depend on service/")
        for imp in imports_in(source, relpath)
        if imp.top in PROJECTIONS_FORBIDDEN
    ]


def _sources(folder: str) -> list[tuple[str, str]]:
    files = sorted((ROOT / folder).rglob("*.py"))
    return [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8")) for p in files]


def test_domain_imports_only_stdlib_and_eventsourcing_domain() -> None:
    sources = _sources("domain")
    assert sources, "no domain/*.py found: the check would pass vacuously"
    violations = [v for path, src in sources for v in domain_violations(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_projections_never_import_service() -> None:
    violations = [
        v for path, src in _sources("projections") for v in projections_violations(src, path)
    ]
    assert not violations, "\n".join(map(str, violations))


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import flask\n", "flask"),
        ("from marshmallow import Schema\n", "marshmallow"),
        ("import prometheus_client.core\n", "prometheus_client.core"),
        ("from psycopg import sql\n", "psycopg"),
        ("import sqlite3\n", "sqlite3"),
        ("from service.app import create_app\n", "service.app"),
        ("from ..projections import runner\n", "projections"),
        ("from eventsourcing.application import Application\n", "eventsourcing.application"),
        ("from eventsourcing.sqlite import Factory\n", "eventsourcing.sqlite"),
        ("from eventsourcing import persistence\n", "eventsourcing.persistence"),
        ("from .. import service\n", "service"),
        ("import importlib\nimportlib.import_module('gunicorn')\n", "gunicorn"),
    ],
)
def test_checker_flags_outward_imports_in_domain(source: str, module: str) -> None:
    violations = domain_violations("from __future__ import annotations\n" + source, "domain/x.py")
    assert violations, f"checker missed {source!r}"
    assert violations[0].module == module
    assert violations[0].line >= 2
    assert str(violations[0]).startswith("domain/x.py:")


def test_checker_allows_the_pure_domain() -> None:
    source = (
        "from __future__ import annotations\n"
        "import datetime\n"
        "from decimal import Decimal\n"
        "from eventsourcing.domain import Aggregate, event\n"
        "from eventsourcing import domain, utils\n"
        "from eventsourcing.utils import get_topic\n"
        "from . import errors\n"
        "from domain.errors import DomainError\n"
    )
    assert domain_violations(source, "domain/initiative.py") == []


def test_only_the_application_module_may_use_eventsourcing_application_and_persistence() -> None:
    source = (
        "from eventsourcing.application import Application\n"
        "from eventsourcing.persistence import Transcoder\n"
    )
    assert domain_violations(source, APPLICATION_MODULE) == []
    assert [v.line for v in domain_violations(source, "domain/benefit.py")] == [1, 2]
    assert domain_violations("import flask\n", APPLICATION_MODULE)


def test_checker_flags_projections_importing_service() -> None:
    bad = "import json\nfrom ..service.metrics import REGISTRY\n"
    violations = projections_violations(bad, "projections/runner.py")
    assert [(v.line, v.module) for v in violations] == [(2, "service.metrics")]
    assert projections_violations("from domain.application import App\n", "projections/x.py") == []


def test_only_the_analytics_may_use_the_solver() -> None:
    source = "import highspy\nfrom highspy import Highs\n"
    assert domain_violations(source, "domain/analytics/optimise.py") == []
    assert [v.line for v in domain_violations(source, "domain/valuation.py")] == [1, 2]


def test_analytics_use_only_stdlib_domain_and_solver() -> None:
    fine = (
        "from decimal import Decimal\nfrom domain.months import add_months\nfrom . import inputs\n"
    )
    assert domain_violations(fine, "domain/analytics/remaining.py") == []
    bad = "import json\nimport numpy\nfrom eventsourcing.domain import Aggregate\n"
    violations = domain_violations(bad, "domain/analytics/optimise.py")
    assert [(v.line, v.module) for v in violations] == [(2, "numpy"), (3, "eventsourcing.domain")]
