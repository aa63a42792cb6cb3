"""The layering checker itself: it flags each way out of a layer and passes what is allowed."""

from __future__ import annotations

import pytest

from tests.architecture.layering import (
    APPLICATION_MODULE,
    adapter_violations,
    demo_violations,
    domain_violations,
    package_self_imports,
    projections_line_violations,
    projections_violations,
    sql_violations,
    wiring_violations,
)


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
