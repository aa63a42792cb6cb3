"""A real Prometheus scrapes the API and the projector, loads the alert rules and runs every
dashboard query."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.ops.conftest import DOCKER, Server, Traffic, dashboard_queries, free_port, tool

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
START_TIMEOUT = 30.0


class Prometheus:
    """Debian's Prometheus on loopback, with its HTTP API."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (or an AssertionError with Prometheus's message)."""
        response = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, ok: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Query until `ok(result)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if ok(result):
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"{expr} never satisfied the test; last result {result}")
            time.sleep(0.25)


@pytest.fixture(scope="module")
def prometheus(
    ops_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    binary = tool("prometheus")
    folder = tmp_path_factory.mktemp("prometheus")
    projector = ops_server.projector_metrics.removeprefix("http://").removesuffix("/metrics")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(DOCKER / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": "valuetrail-api",
                "static_configs": [{"targets": [f"127.0.0.1:{ops_server.port}"]}],
            },
            {"job_name": "valuetrail-projector", "static_configs": [{"targets": [projector]}]},
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log = folder / "prometheus.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            try:
                if requests.get(server.url + "/-/ready", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8", errors="replace")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_prometheus_scrapes_the_api_and_the_projector(
    prometheus: Prometheus, ops_traffic: Traffic
) -> None:
    up = prometheus.wait_for("up", lambda r: len(r) == 2 and all(s["value"][1] == "1" for s in r))
    assert {s["metric"]["job"] for s in up} == {"valuetrail-api", "valuetrail-projector"}

    lag = prometheus.wait_for("valuetrail_projection_lag_events", lambda r: len(r) == 4, timeout=15)
    views = {s["metric"]["projection"] for s in lag}
    assert views == {"portfolio_value", "measurement_series", "decision_trail", "audit_chain"}
    assert all(float(s["value"][1]) >= 0 for s in lag)
    assert all(s["metric"]["job"] == "valuetrail-projector" for s in lag)

    created = prometheus.wait_for(
        'valuetrail_measurements_ingested_total{outcome="created"}',
        lambda r: r and float(r[0]["value"][1]) >= 1,
    )
    assert created[0]["metric"]["job"] == "valuetrail-api"
    npv = prometheus.wait_for(
        f'valuetrail_portfolio_npv{{portfolio="{ops_traffic.portfolio_id}"}}', bool, timeout=20
    )
    assert npv[0]["metric"]["job"] == "valuetrail-projector"


def test_prometheus_loads_the_alert_rules_and_none_fires_on_a_healthy_service(
    prometheus: Prometheus, ops_traffic: Traffic
) -> None:
    prometheus.wait_for("up", lambda r: len(r) == 2)
    response = requests.get(prometheus.url + "/api/v1/rules", timeout=10).json()
    rules = [rule for group in response["data"]["groups"] for rule in group["rules"]]
    names = {rule["name"] for rule in rules}
    expected = {r["alert"] for g in _alert_groups() for r in g["rules"]}
    assert names == expected
    deadline = time.monotonic() + 10
    while any(rule.get("health") != "ok" for rule in rules):
        assert time.monotonic() < deadline, json.dumps(rules, indent=1)
        time.sleep(0.5)
        response = requests.get(prometheus.url + "/api/v1/rules", timeout=10).json()
        rules = [rule for group in response["data"]["groups"] for rule in group["rules"]]
    # Pending is allowed: the test's own traffic rejects one measurement in three.
    firing = [rule["name"] for rule in rules if rule["state"] == "firing"]
    assert firing == [], firing


def test_every_dashboard_query_is_valid_promql_and_most_return_data(
    prometheus: Prometheus, ops_traffic: Traffic
) -> None:
    prometheus.wait_for("up", lambda r: len(r) == 2)
    time.sleep(3)  # a few scrapes, so rate() has two points
    empty = []
    queries = dashboard_queries()
    for title, expr in queries:
        concrete = (expr.replace("$__rate_interval", "1m").replace("$__range", "5m")).replace(
            "$__interval", "15s"
        )
        if not prometheus.query(concrete):
            empty.append(title)
    # Only errors can be legitimately empty on a healthy, lightly used service.
    assert set(empty) <= {"Errors by route and status"}, empty


def _alert_groups() -> list[dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "alerts.yml").read_text(encoding="utf-8"))
    groups: list[dict[str, Any]] = loaded["groups"]
    return groups


def test_api_and_projector_metrics_pass_promtool_check(
    ops_server: Server, ops_traffic: Traffic
) -> None:
    promtool = tool("promtool")
    for url in (ops_server.base + "/metrics", ops_server.projector_metrics):
        text = requests.get(url, timeout=10).text
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True
        )
        assert checked.returncode == 0, f"{url}: {checked.stdout}{checked.stderr}"
        assert "valuetrail_" in text
