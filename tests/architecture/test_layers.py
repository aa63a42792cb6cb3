"""Dependencies point inward (service -> projections -> domain): the build fails if one points out.

The rules are written out in `tests.architecture.layering`; these tests run its checker over
the real tree (domain/, persistence/, service/, projections/ and demo/).
"""

from __future__ import annotations

from tests.architecture.layering import (
    ADAPTERS,
    APPLICATION_PACKAGE,
    DEMO,
    PROJECTIONS_LINE,
    VIEW_PACKAGES,
    _sources,
    adapter_violations,
    demo_violations,
    domain_violations,
    package_self_imports,
    projections_line_violations,
    projections_violations,
    sql_violations,
    wiring_violations,
)


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
