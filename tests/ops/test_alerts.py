"""Alert rules: valid, unit-tested with `promtool test rules`, and each with a runbook."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import yaml

from tests.ops.conftest import DOCKER, ROOT, tool


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], cwd=DOCKER, capture_output=True, text=True, timeout=60
    )


def _rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((DOCKER / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_rules_and_prometheus_config_are_valid() -> None:
    for args in (("check", "rules", "alerts.yml"), ("check", "config", "prometheus.yml")):
        checked = _promtool(*args)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alert_rules_pass_their_unit_tests() -> None:
    tested = _promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    cases = yaml.safe_load((DOCKER / "alerts_test.yml").read_text(encoding="utf-8"))["tests"]
    checks = [check for case in cases for check in case["alert_rule_test"]]
    for rule in _rules():
        mine = [check for check in checks if check["alertname"] == rule["alert"]]
        assert any(check["exp_alerts"] for check in mine), f"{rule['alert']} never fires"
        assert any(not check["exp_alerts"] for check in mine), f"{rule['alert']} never stays quiet"


def test_the_required_alerts_exist() -> None:
    names = {rule["alert"] for rule in _rules()}
    assert {
        "ValuetrailApiDown",
        "ValuetrailHighErrorRatio",
        "ValuetrailProjectionLagging",
        "ValuetrailProjectionFailing",
        "ValuetrailAuditChainBroken",
        "ValuetrailIngestRejectionsSpiking",
    } <= names


def test_every_alert_has_a_severity_and_a_runbook_in_the_operations_guide() -> None:
    guide = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in guide.splitlines()
        if line.startswith("#")
    }
    for rule in _rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        runbook = rule["annotations"]["runbook"]
        path, _, anchor = runbook.partition("#")
        assert path == "docs/OPERATIONS.md" and anchor == rule["alert"].lower(), runbook
        assert anchor in anchors, f"no heading for {rule['alert']} in docs/OPERATIONS.md"
