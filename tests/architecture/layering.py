"""The layering rules (service -> projections -> domain) and the checker of imports against them.

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
