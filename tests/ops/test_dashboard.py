"""The Grafana dashboard asks only for metrics the service really exposes, and is provisioned."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
import yaml

from tests.ops.conftest import DOCKER, ROOT, Server, Traffic, dashboard_queries, samples

GRAFANA = DOCKER / "grafana"
#: Series Prometheus itself makes, not the service.
PROMETHEUS_SERIES = frozenset({"up"})
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in _NAME.finditer(text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function
        if match.group(0).lower() not in _KEYWORDS:
            names.add(match.group(0))
    return names


def test_metric_names_are_found_in_promql() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket"
        '{job="valuetrail-api", route=~"/api.*"}[$__rate_interval]))) * on (portfolio) '
        "group_left (name) max by (portfolio, name) (valuetrail_portfolio_info) > bool 1 and up"
    )
    assert metric_names(expr) == {
        "http_request_duration_seconds_bucket",
        "valuetrail_portfolio_info",
        "up",
    }


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GRAFANA / "dashboards" / "valuetrail.json").read_text())
    return loaded


@pytest.mark.postgres
@pytest.mark.slow
def test_every_panel_query_uses_only_metrics_the_service_exposes(
    ops_server: Server, ops_traffic: Traffic
) -> None:
    exposed = set(samples(ops_server.metrics()))
    exposed |= set(samples(requests.get(ops_server.projector_metrics, timeout=10).text))
    unknown = {
        title: sorted(metric_names(expr) - exposed - PROMETHEUS_SERIES)
        for title, expr in dashboard_queries()
    }
    assert {title: names for title, names in unknown.items() if names} == {}


@pytest.mark.postgres
@pytest.mark.slow
def test_operations_guide_documents_every_metric_exposed(
    ops_server: Server, ops_traffic: Traffic
) -> None:
    guide = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    exposed = set(samples(ops_server.metrics()))
    exposed |= set(samples(requests.get(ops_server.projector_metrics, timeout=10).text))
    families = {re.sub(r"_(bucket|count|sum|created)$", "", name) for name in exposed}
    assert sorted(f for f in families if f"`{f}" not in guide) == []


def test_the_dashboard_covers_what_operators_watch() -> None:
    dashboard = _dashboard()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(p["targets"] and p["gridPos"]["w"] > 0 for p in panels)
    used = set().union(*(metric_names(expr) for _title, expr in dashboard_queries()))
    for metric in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "valuetrail_measurements_ingested_total",
        "valuetrail_projection_lag_events",
        "valuetrail_portfolio_npv",
        "valuetrail_portfolio_realised_benefits",
        "valuetrail_benefits_red",
        "valuetrail_audit_chain_verified",
    ):
        assert metric in used, metric


def test_grafana_provisioning_matches_the_dashboard_and_the_compose_file() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/valuetrail.yml").read_text())
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    uids = {d["uid"] for d in datasources["datasources"]}
    dashboard = _dashboard()
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] in uids, panel["title"]
    mounts = {
        volume.split(":")[1]: volume.split(":")[0]
        for volume in compose["services"]["grafana"]["volumes"]
    }
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    dashboards_path = providers["providers"][0]["options"]["path"]
    assert mounts[dashboards_path] == "./grafana/dashboards"
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    assert "prometheus" in compose["services"]
