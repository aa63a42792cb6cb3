"""Metrics stay exact under gunicorn's several workers, and say what the service did."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast
from uuid import UUID

import pytest
import requests

from domain.application import ValuetrailApplication
from projections.catalog import audit_views, build_projectors
from projections.db import ViewDatabase
from projections.metrics import VERIFY_ENV, AuditWatch, ProjectorCollector, start_exporter
from projections.portfolio_value.value import portfolio_value
from service.app import create_app
from service.config import Settings
from tests.e2e.conftest import Api, decision, measurement_body
from tests.ops.conftest import (
    API,
    PORTFOLIO,
    Server,
    bearer,
    free_port,
    samples,
    start_server,
    total,
)

#: What a route label may look like: a template, never a raw id.
TEMPLATE = re.compile(r"^(/[A-Za-z0-9_.{}-]*)+$|^<unmatched>$")


def _send(server: Server, count: int) -> None:
    """`count` requests of several kinds, each on a new connection, 6 at a time."""
    kinds = [
        ("GET", API + "/portfolios", bearer()),
        ("GET", API + "/portfolios", {}),  # 401
        ("GET", "/no/such/path/123", {}),  # 404
        ("POST", API + "/portfolios", bearer()),  # 201
        ("GET", "/readyz", {}),
    ]

    def one(i: int) -> int:
        method, path, headers = kinds[i % len(kinds)]
        body = PORTFOLIO if method == "POST" else None
        return requests.request(
            method, server.base + path, json=body, headers=headers, timeout=30
        ).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(one, range(count)))
    assert set(statuses) == {200, 201, 401, 404}, statuses


def _answered(text: str, name: str = "http_requests_total") -> float:
    """Requests counted, leaving out the harness's start-up health checks and earlier scrapes."""
    every = total(text, name)
    return every - total(text, name, route="/healthz") - total(text, name, route="/metrics")


def _workers(server: Server) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True
    ).stdout
    children = [int(pid) for pid in out.split()]
    projector = server.output()
    return [pid for pid in children if f"projector started (pid {pid})" not in projector]


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_count_every_request_exactly_once(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    server = start_server(
        fresh_postgres_url,
        tmp_path / "run1",
        workers=3,
        env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "VALUETRAIL_LOG_FORMAT": "json"},
    )
    try:
        _send(server, 90)
        text = server.metrics()
        assert _answered(text) == 90
        assert _answered(text, "http_request_duration_seconds_count") == 90
        assert total(text, "http_requests_total", route="/no/such/path/123") == 0
        assert total(text, "http_requests_total", route="<unmatched>", status="404") == 18
        assert total(text, "http_requests_in_flight") == 1  # this scrape, nothing else
        for labels, _value in samples(text)["http_requests_total"]:
            assert TEMPLATE.match(labels["route"]), labels
        served_by = {p.name for p in metrics_dir.glob("counter_*.db")}
        assert len(served_by) >= 2, f"one worker answered everything: {served_by}"

        # A worker that dies is replaced; what it counted stays counted, its live gauge goes.
        victim = _workers(server)[0]
        assert (metrics_dir / f"gauge_livesum_{victim}.db").exists()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while (metrics_dir / f"gauge_livesum_{victim}.db").exists():
            assert time.monotonic() < deadline, "the dead worker was not marked dead"
            time.sleep(0.1)
        while len(_workers(server)) < 3:
            assert time.monotonic() < deadline, "gunicorn did not replace the worker"
            time.sleep(0.1)
        _send(server, 30)
        text = server.metrics()
        assert _answered(text) == 120
        assert total(text, "http_requests_in_flight") == 1
    finally:
        assert server.stop() == 0, server.output()

    # Each start of the server begins from an empty metrics directory.
    again = start_server(
        fresh_postgres_url,
        tmp_path / "run2",
        workers=3,
        env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
    )
    try:
        _send(again, 15)
        assert _answered(again.metrics()) == 15
    finally:
        assert again.stop() == 0, again.output()


def _scrape(api: Api) -> str:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.get_data(as_text=True)


def test_ingest_outcomes_decisions_and_appended_events_are_counted(api: Api) -> None:
    portfolio_id = api.portfolio()
    initiative_id = api.initiative(portfolio_id)
    benefit_id = api.benefit(initiative_id)
    before = _scrape(api)

    def delta(after: str, name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    path = f"/benefits/{benefit_id}/measurements"
    sent = measurement_body(external_id="feed-1")
    assert api.call("POST", path, json=sent).status_code == 201
    assert api.call("POST", path, json=sent).status_code == 200  # the same reading again
    assert api.call("POST", path, json={"value": "x"}).status_code == 422
    assert api.call("POST", path, json=sent, headers=bearer("not-a-key")).status_code == 401
    items = [{**measurement_body(external_id=f"b-{i}"), "benefit_id": benefit_id} for i in range(3)]
    items.append({**sent, "benefit_id": benefit_id})
    keyed = {"Idempotency-Key": "batch-1"}
    for _ in range(2):  # the replay counts its four items again, as duplicates
        answer = api.call("POST", "/measurements/batch", json={"items": items}, headers=keyed)
        assert answer.status_code == 201
    bad = [{"benefit_id": benefit_id, "value": "1"}] * 5
    assert api.call("POST", "/measurements/batch", json={"items": bad}).status_code == 422
    assert (
        api.call("POST", f"/initiatives/{initiative_id}/decisions", json=decision()).status_code
        == 201
    )

    after = _scrape(api)
    name = "valuetrail_measurements_ingested_total"
    assert delta(after, name, outcome="created") == 1 + 3
    assert delta(after, name, outcome="duplicate") == 1 + 1 + 4
    assert delta(after, name, outcome="rejected") == 1 + 1 + 5
    assert delta(after, "valuetrail_decisions_total", decision="invest") == 1
    assert delta(after, "valuetrail_decisions_total", decision="stop") == 0
    recorded = "valuetrail.benefit.MeasurementRecorded.v1"
    assert delta(after, "valuetrail_events_appended_total", type=recorded) == 4
    decided = "valuetrail.initiative.DecisionRecorded.v1"
    assert delta(after, "valuetrail_events_appended_total", type=decided) == 1


def test_routes_are_labelled_by_template_and_unknown_paths_by_one_label(api: Api) -> None:
    world = api.small_world()
    api.call("GET", f"/initiatives/{world.initiative_id}")
    api.call("GET", f"/benefits/{world.benefit_id}/measurements/{world.measurement_id}")
    api.client.get(f"/not/a/route/{world.benefit_id}")
    api.client.delete("/healthz")  # a known path, a method it does not take
    api.client.open("/healthz", method="BREW")  # clients may invent methods

    text = _scrape(api)
    routes = {labels["route"] for labels, _ in samples(text)["http_requests_total"]}
    assert "/api/v1/initiatives/{initiative_id}" in routes
    assert "/api/v1/benefits/{benefit_id}/measurements/{measurement_id}" in routes
    assert "<unmatched>" in routes
    for route in routes:
        assert TEMPLATE.match(route), route
        assert world.benefit_id not in route and world.initiative_id not in route
    methods = {labels["method"] for labels, _ in samples(text)["http_requests_total"]}
    assert {"GET", "POST", "DELETE", "other"} <= methods and "BREW" not in methods
    timed = samples(text)["http_request_duration_seconds_count"]
    assert {labels["route"] for labels, _ in timed} == routes


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    assert Settings.from_env({"VALUETRAIL_METRICS": "0"}).metrics is False
    assert Settings.from_env({"VALUETRAIL_METRICS": "off"}).metrics is False
    assert Settings.from_env({}).metrics is True
    app = create_app(
        {"db": f"sqlite:///{tmp_path / 'off.db'}", "create_tables": True, "metrics": False}
    )
    try:
        assert app.test_client().get("/metrics").status_code == 404
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        app.extensions["valuetrail"].close()


def test_projector_exports_positions_lag_processed_audit_and_portfolio_value(
    api: Api, tmp_path: Path
) -> None:
    world = api.small_world()
    key_path = str(tmp_path / "audit.pem")
    db = ViewDatabase.from_url(api.app.extensions["valuetrail.views"].url)
    projectors = build_projectors(api.vt, db, audit_views(key_path))
    environ = {"VALUETRAIL_PROJECTOR_METRICS_PORT": str(free_port()), VERIFY_ENV: "0.1"}
    exporter = start_exporter(api.vt, projectors, key_path, environ)
    try:
        assert exporter.port is not None and exporter.collector is not None
        before = {name: p.position() for name, p in projectors.items()}
        for projector in projectors.values():
            projector.catch_up()
        head = api.vt.head_position()
        deadline = time.monotonic() + 10
        while exporter.collector.audit and exporter.collector.audit.status.verified is None:
            assert time.monotonic() < deadline, "the audit chain was never verified"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        text = requests.get(url, timeout=10).text

        assert total(text, "valuetrail_event_log_head_position") == head
        for name in projectors:
            assert total(text, "valuetrail_projection_position", projection=name) == head
            assert total(text, "valuetrail_projection_lag_events", projection=name) == 0
            processed = head - before[name]
            assert (
                total(text, "valuetrail_projection_events_processed_total", projection=name)
                == processed
            )
        assert total(text, "valuetrail_audit_sealed_position") == head
        assert total(text, "valuetrail_audit_chain_verified") == 1
        value = portfolio_value(db, UUID(world.portfolio_id))
        assert value is not None
        npv = total(text, "valuetrail_portfolio_npv", portfolio=world.portfolio_id)
        assert npv == pytest.approx(float(value.totals.npv))
        realised = total(
            text, "valuetrail_portfolio_realised_benefits", portfolio=world.portfolio_id
        )
        assert realised == pytest.approx(float(value.totals.realised_to_date))
        assert total(text, "valuetrail_benefits_red", portfolio=world.portfolio_id) == (
            value.red_benefits
        )
        info = samples(text)["valuetrail_portfolio_info"]
        labels = {"portfolio": world.portfolio_id, "name": "Digital", "currency": "GBP"}
        assert (labels, 1.0) in info

        # New events the views have not applied yet show as lag.
        api.portfolio("Another")
        text = requests.get(url, timeout=10).text
        lag = total(text, "valuetrail_projection_lag_events", projection="audit_chain")
        assert lag == api.vt.head_position() - head > 0
    finally:
        exporter.close()
        db.close()


class _Unreachable:
    """An application whose store does not answer."""

    def head_position(self) -> int:
        raise OSError("connection refused")


def test_a_failed_audit_verification_reads_0_and_an_unreachable_store_leaves_gauges_out(
    api: Api,
) -> None:
    db = api.app.extensions["valuetrail.views"]
    watch = AuditWatch(lambda: (False, "position 3: event differs from its seal"), interval=60)
    watch.start()
    try:
        deadline = time.monotonic() + 10
        while watch.status.verified is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        collector = ProjectorCollector(api.vt, db, ["audit_chain"], watch)
        families = {family.name: family for family in collector.collect()}
        assert families["valuetrail_audit_chain_verified"].samples[0].value == 0
    finally:
        watch.stop()

    down = ProjectorCollector(cast(ValuetrailApplication, _Unreachable()), db, ["audit_chain"])
    down.count("audit_chain", 7, 7)
    down.count_failure("audit_chain")
    families = {family.name: family for family in down.collect()}
    assert list(families) == [
        "valuetrail_projection_events_processed",
        "valuetrail_projection_failures",
    ]
    assert families["valuetrail_projection_events_processed"].samples[0].value == 7
    assert families["valuetrail_projection_failures"].samples[0].value == 1
