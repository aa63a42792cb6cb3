"""Dependencies point inward (service -> projections -> domain): the build fails if one points out.

The domain stays pure so it can be tested without I/O and moved to another store without change:
no web, schema, metrics or database libraries, no SQL, and of eventsourcing only the modules that
define aggregates and events. The domain/application/ package alone may also use eventsourcing's
Application and persistence API, and none of its modules imports the package itself.

The persistence adapters (persistence/) depend on the domain and eventsourcing's persistence
modules; the domain never imports them, and the service and projections name them only through
the package's configuration (`persistence.store_env`), never a store's module.
The analytics (domain/analytics/) use the standard library, the rest of the domain and the HiGHS
solver (`highspy`) only; no other domain module uses HiGHS.

Inside projections/ the imports run in a straight line: reading the event log (`log`), the view
database on it (`db`), the View base (`view`), then one package per view, which never imports
another view's package.

The demo (demo/) writes its story through the application's use cases: it uses the standard
library and the domain only, and nothing but the service's CLI uses it.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DOMAIN_FORBIDDEN = frozenset(
    {
        "apispec",
        "demo",
        "flask",
        "flask_smorest",
        "gunicorn",
        "marshmallow",
        "persistence",
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
PROJECTIONS_FORBIDDEN = frozenset({"demo", "service"})
#: What the modules under every view may import of projections/: the line log -> db -> view
#: (codec and reads are leaves; `projections.audit` is the audit log's pure core).
PROJECTIONS_LINE = {
    "projections/log.py": ("projections.audit",),
    "projections/db.py": ("projections.log",),
    "projections/view.py": ("projections.db", "projections.log"),
    "projections/codec.py": (),
    "projections/reads.py": (),
}
#: One package per view: its writer beside its reads.
VIEW_PACKAGES = ("portfolio_value", "measurement_series", "decision_trail", "audit_chain")
ADAPTERS = "persistence"
ADAPTERS_FORBIDDEN = frozenset(
    {
        "apispec",
        "demo",
        "flask",
        "flask_smorest",
        "gunicorn",
        "marshmallow",
        "projections",
        "prometheus_client",
        "service",
        "werkzeug",
    }
)
ADAPTERS_EVENTSOURCING = (
    "eventsourcing.persistence",
    "eventsourcing.popo",
    "eventsourcing.postgres",
    "eventsourcing.sqlite",
    "eventsourcing.utils",
)
#: SQL a store would run: statements and PostgreSQL's lock and notification functions.
SQL_TEXT = re.compile(
    r"\b(?:SELECT\s.*\bFROM\b|INSERT\s+INTO|UPDATE\s+\S+\s+SET\b|DELETE\s+FROM|"
    r"CREATE\s+(?:TABLE|INDEX)|LOCK\s+TABLE|NOTIFY\s|LISTEN\s|PRAGMA\s|pg_\w+\()",
    re.DOTALL,
)
ANALYTICS_PACKAGE = "domain/analytics/"
SOLVER = "highspy"
ANALYTICS_ALLOWED = frozenset({*sys.stdlib_module_names, "domain", SOLVER})
DEMO = "demo"
DEMO_ALLOWED = frozenset({*sys.stdlib_module_names, "domain", DEMO})


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


def sql_violations(source: str, relpath: str) -> list[Violation]:
    """String constants (f-strings included) in a domain module that hold SQL."""
    found: list[Violation] = []
    for node in ast.walk(ast.parse(source, filename=relpath)):
        if not isinstance(node, ast.JoinedStr | ast.Constant):
            continue
        parts = node.values if isinstance(node, ast.JoinedStr) else [node]
        text = "".join(
            p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)
        )
        if text and SQL_TEXT.search(text):
            found.append(Violation(relpath, node.lineno, repr(text[:40]), "SQL in domain/"))
    return found


def package_self_imports(source: str, relpath: str) -> list[Violation]:
    """Imports of domain/application's own package `__init__` from inside the package."""
    return [
        Violation(relpath, imp.line, imp.module, "import the module, not the package")
        for imp in imports_in(source, relpath)
        if imp.module == "domain.application"
    ]


def adapter_violations(source: str, relpath: str) -> list[Violation]:
    """Imports in a persistence adapter that reach beyond the domain and the store's API."""
    found: list[Violation] = []
    for imp in imports_in(source, relpath):
        if imp.top in ADAPTERS_FORBIDDEN:
            found.append(Violation(relpath, imp.line, imp.module, "forbidden in persistence/"))
        elif imp.top == "eventsourcing":
            reason = f"persistence/ may use only {', '.join(ADAPTERS_EVENTSOURCING)}"
            found.extend(
                Violation(relpath, imp.line, m, reason)
                for m in _eventsourcing_outside(imp, ADAPTERS_EVENTSOURCING)
            )
    return found


def wiring_violations(source: str, relpath: str) -> list[Violation]:
    """Imports of a store's adapter module: those are chosen by `PERSISTENCE_MODULE` only."""
    return [
        Violation(relpath, imp.line, imp.module, "choose a store by configuration (store_env)")
        for imp in imports_in(source, relpath)
        if imp.top == ADAPTERS and imp.module != ADAPTERS
    ]


def projections_violations(source: str, relpath: str) -> list[Violation]:
    """Imports in a projections module that reach up into the service layer."""
    return [
        Violation(relpath, imp.line, imp.module, "projections/ must not depend on service/")
        for imp in imports_in(source, relpath)
        if imp.top in PROJECTIONS_FORBIDDEN
    ]


def _view_package(module: str) -> str | None:
    """The view package a dotted module is in (None outside them)."""
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "projections" and parts[1] in VIEW_PACKAGES:
        return parts[1]
    return None


def projections_line_violations(source: str, relpath: str) -> list[Violation]:
    """Imports in projections/ that leave the line log -> db -> view -> one package per view."""
    allowed = PROJECTIONS_LINE.get(relpath)
    package = _view_package(relpath.removesuffix(".py").replace("/", "."))
    found: list[Violation] = []
    for imp in imports_in(source, relpath):
        if imp.top != "projections":
            continue
        targets = [imp.module]
        if imp.module == "projections":  # `from projections import db`
            targets = [f"projections.{name}" for name in imp.names]
        for target in targets:
            if allowed is not None and not _within(target, allowed):
                reason = (
                    f"{relpath} may import only {', '.join(allowed) or 'nothing'} of projections/"
                )
                found.append(Violation(relpath, imp.line, target, reason))
            elif package is not None and _view_package(target) not in (None, package):
                reason = "a view's package never imports another view's package"
                found.append(Violation(relpath, imp.line, target, reason))
    return found


def demo_violations(source: str, relpath: str) -> list[Violation]:
    """Imports in a demo module beyond the standard library and the domain."""
    return [
        Violation(relpath, imp.line, imp.module or imp.top, "demo/ may use only stdlib and domain")
        for imp in imports_in(source, relpath)
        if imp.top not in DEMO_ALLOWED
    ]


def _sources(folder: str) -> list[tuple[str, str]]:
    files = sorted((ROOT / folder).rglob("*.py"))
    return [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8")) for p in files]


def test_domain_imports_only_stdlib_and_eventsourcing_domain() -> None:
    sources = _sources("domain")
    assert sources, "no domain/*.py found: the check would pass vacuously"
    violations = [v for path, src in sources for v in domain_violations(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_domain_holds_no_sql() -> None:
    violations = [v for path, src in _sources("domain") for v in sql_violations(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_application_modules_never_import_their_own_package() -> None:
    sources = [(p, s) for p, s in _sources("domain") if p.startswith(APPLICATION_PACKAGE)]
    assert sources, "no domain/application/*.py found"
    violations = [v for path, src in sources for v in package_self_imports(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_persistence_adapters_depend_only_on_domain_and_the_store_api() -> None:
    sources = _sources(ADAPTERS)
    assert sources, "no persistence/*.py found: the check would pass vacuously"
    violations = [v for path, src in sources for v in adapter_violations(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_service_and_projections_choose_a_store_only_by_configuration() -> None:
    sources = [*_sources("service"), *_sources("projections")]
    violations = [v for path, src in sources for v in wiring_violations(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_the_demo_uses_only_the_standard_library_and_the_domain() -> None:
    sources = _sources(DEMO)
    assert sources, "no demo/*.py found: the check would pass vacuously"
    violations = [v for path, src in sources for v in demo_violations(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_checker_flags_the_demo_reaching_past_the_domain() -> None:
    source = (
        "import tomllib\n"
        "from domain.application import ValuetrailApplication\n"
        "from demo.story import Story\n"
        "from persistence import store_env\n"
        "from service.cli import main\n"
    )
    violations = demo_violations(source, "demo/play.py")
    assert [(v.line, v.module) for v in violations] == [(4, "persistence"), (5, "service.cli")]
    assert projections_violations("from demo import load_demo\n", "projections/x.py")
    assert domain_violations("from demo import load_demo\n", "domain/x.py")


@pytest.mark.parametrize(
    "source",
    [
        'Q = "SELECT originator_id FROM events WHERE originator_id = ANY(%s)"\n',
        'def f(t):\n    return f"LOCK TABLE {t} IN EXCLUSIVE MODE; NOTIFY chan"\n',
        'Q = "SELECT count(pg_advisory_lock(%s, k)) FROM unnest(%s::int[]) AS k"\n',
        'Q = "INSERT INTO t (a) VALUES (1)"\n',
        'Q = "SELECT pg_advisory_unlock_all()"\n',
    ],
)
def test_checker_flags_sql_in_domain(source: str) -> None:
    violations = sql_violations(source, "domain/application/x.py")
    assert violations, f"checker missed {source!r}"
    assert violations[0].reason == "SQL in domain/"


def test_checker_allows_prose_about_selecting_and_inserting() -> None:
    source = '"""Select the benefits to insert into the plan; update from the log."""\n'
    assert sql_violations(source, "domain/x.py") == []


def test_checker_flags_application_modules_importing_their_package() -> None:
    source = "from domain.application import bulk\nfrom domain.application.core import T\n"
    violations = package_self_imports(source, "domain/application/measurements.py")
    assert [(v.line, v.module) for v in violations] == [(1, "domain.application")]
    relative = package_self_imports("from . import core\n", "domain/application/x.py")
    assert [v.module for v in relative] == ["domain.application"]


def test_checker_flags_adapters_reaching_past_the_store_api() -> None:
    bad = (
        "import psycopg\n"
        "from eventsourcing import postgres\n"
        "from domain.application.recorder import ValuetrailRecorder\n"
        "from eventsourcing.application import Application\n"
        "from service.metrics import instruments\n"
    )
    violations = adapter_violations(bad, "persistence/postgres.py")
    assert [(v.line, v.module) for v in violations] == [
        (4, "eventsourcing.application"),
        (5, "service.metrics"),
    ]


def test_checker_flags_a_store_module_imported_by_name() -> None:
    source = "from persistence import store_env\nfrom persistence.postgres import Factory\n"
    violations = wiring_violations(source, "service/app.py")
    assert [(v.line, v.module) for v in violations] == [(2, "persistence.postgres")]
    assert domain_violations("from persistence import store_env\n", "domain/application/x.py")


def test_projections_never_import_service() -> None:
    violations = [
        v for path, src in _sources("projections") for v in projections_violations(src, path)
    ]
    assert not violations, "\n".join(map(str, violations))


def test_projections_import_in_a_straight_line() -> None:
    sources = _sources("projections")
    paths = {path for path, _ in sources}
    assert set(PROJECTIONS_LINE) <= paths, "a module of the line is missing"
    assert {f"projections/{p}/__init__.py" for p in VIEW_PACKAGES} <= paths
    violations = [v for path, src in sources for v in projections_line_violations(src, path)]
    assert not violations, "\n".join(map(str, violations))


def test_checker_flags_projections_leaving_the_line() -> None:
    assert (
        projections_line_violations(
            "from projections.audit.hashing import EventRow\n", "projections/log.py"
        )
        == []
    )
    backwards = "from projections.db import Cursor\nfrom projections import view\n"
    violations = projections_line_violations(backwards, "projections/log.py")
    assert [(v.line, v.module) for v in violations] == [
        (1, "projections.db"),
        (2, "projections.view"),
    ]
    into_a_view = "from projections.portfolio_value.rows import BenefitRow\n"
    assert projections_line_violations(into_a_view, "projections/view.py")
    across = (
        "from projections.portfolio_value.rows import BenefitRow\n"
        "from projections.reads import page_of\n"
        "from projections.measurement_series.queries import measurements\n"
    )
    violations = projections_line_violations(across, "projections/portfolio_value/value.py")
    assert [(v.line, v.module) for v in violations] == [
        (3, "projections.measurement_series.queries")
    ]
    relative = projections_line_violations(
        "from ..audit_chain import store\n", "projections/decision_trail/trail.py"
    )
    assert [v.module for v in relative] == ["projections.audit_chain"]


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
    assert [v.line for v in domain_violations(source, "domain/valuation/figures.py")] == [1, 2]


def test_analytics_use_only_stdlib_domain_and_solver() -> None:
    fine = (
        "from decimal import Decimal\nfrom domain.months import add_months\nfrom . import inputs\n"
    )
    assert domain_violations(fine, "domain/analytics/remaining.py") == []
    bad = "import json\nimport numpy\nfrom eventsourcing.domain import Aggregate\n"
    violations = domain_violations(bad, "domain/analytics/optimise.py")
    assert [(v.line, v.module) for v in violations] == [(2, "numpy"), (3, "eventsourcing.domain")]
