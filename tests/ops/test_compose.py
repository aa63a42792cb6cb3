"""The Docker image and the compose example: valid, and shaped as operations expect."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.ops.conftest import DOCKER, ROOT, tool


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


PASSWORDS = {"POSTGRES_PASSWORD": "pg-secret-from-env", "GRAFANA_ADMIN_PASSWORD": "gf-secret"}


def _config(variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with only these variables set (no .env file in docker/)."""
    return subprocess.run(
        [tool("docker-compose"), "-f", "compose.yaml", "config"],
        cwd=DOCKER,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(DOCKER), **variables},
    )


def _resolved(variables: dict[str, str]) -> dict[str, Any]:
    checked = _config(variables)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    loaded: dict[str, Any] = yaml.safe_load(checked.stdout)
    return loaded


def test_docker_compose_accepts_the_file() -> None:
    _resolved(PASSWORDS)


@pytest.mark.parametrize("password", sorted(PASSWORDS))
def test_compose_refuses_to_start_without_each_password(password: str) -> None:
    checked = _config({k: v for k, v in PASSWORDS.items() if k != password})
    assert checked.returncode != 0
    assert f"set {password}" in checked.stderr


def test_an_unset_admin_key_stays_empty_and_a_chosen_one_passes_through() -> None:
    # Empty means "no key from the environment" (db-init then makes one); no default token.
    for service in ("db-init", "api", "projector"):
        environment = _resolved(PASSWORDS)["services"][service]["environment"]
        assert environment["VALUETRAIL_ADMIN_KEY"] == ""
        assert environment["VALUETRAIL_DB"].startswith(
            "postgresql://valuetrail:pg-secret-from-env@"
        )
    chosen = "k" * 40
    resolved = _resolved({**PASSWORDS, "VALUETRAIL_ADMIN_KEY": chosen})
    assert resolved["services"]["api"]["environment"]["VALUETRAIL_ADMIN_KEY"] == chosen


def test_host_ports_follow_variables_and_default_to_the_container_ports() -> None:
    def published(variables: dict[str, str]) -> dict[str, tuple[int, int]]:
        services = _resolved({**PASSWORDS, **variables})["services"]
        return {
            name: (int(port["published"]), int(port["target"]))
            for name, service in services.items()
            for port in service.get("ports", [])
        }

    assert published({}) == {
        "api": (8000, 8000),
        "projector": (8001, 8001),
        "prometheus": (9090, 9090),
        "grafana": (3000, 3000),
    }
    moved = {
        "VALUETRAIL_API_PORT": "18000",
        "VALUETRAIL_PROJECTOR_PORT": "18001",
        "PROMETHEUS_PORT": "19090",
        "GRAFANA_PORT": "13000",
    }
    assert published(moved) == {
        "api": (18000, 8000),
        "projector": (18001, 8001),
        "prometheus": (19090, 9090),
        "grafana": (13000, 3000),
    }


def test_healthchecks_are_exec_form_commands_without_a_shell() -> None:
    services = _compose()["services"]
    checked = {name: s["healthcheck"]["test"] for name, s in services.items() if "healthcheck" in s}
    assert {"postgres", "api", "projector"} <= set(checked)
    for name, test in checked.items():
        assert isinstance(test, list) and test[0] == "CMD", (name, test)
    assert checked["api"][-1] == "http://127.0.0.1:8000/healthz"


def test_compose_runs_postgres_a_one_off_init_api_projector_prometheus_and_grafana() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "db-init", "api", "projector", "prometheus", "grafana"}
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    init = services["db-init"]
    assert init["command"] == ["valuetrail", "db", "init"]
    assert init["restart"] == "no"
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, command in (("api", "api"), ("projector", "project")):
        service = services[name]
        assert service["command"] == ["valuetrail", command]
        assert service["depends_on"]["db-init"]["condition"] == "service_completed_successfully"
        assert service["environment"]["VALUETRAIL_DB"].startswith("postgresql://")
    assert services["projector"]["healthcheck"]["test"][-1] == "http://127.0.0.1:8001/metrics"
    prometheus_mounts = {v.split(":")[0] for v in services["prometheus"]["volumes"]}
    assert {"./prometheus.yml", "./alerts.yml"} <= prometheus_mounts
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), source


def test_the_prometheus_config_scrapes_both_jobs_the_alerts_name() -> None:
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs == {"valuetrail-api": ["api:8000"], "valuetrail-projector": ["projector:8001"]}
    assert config["rule_files"] == ["alerts.yml"]


def test_the_image_is_multi_stage_slim_non_root_with_a_healthcheck_and_exec_form_command() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    instructions = [
        line.split(maxsplit=1)
        for line in re.sub(r"\\\n", " ", dockerfile).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [args for op, args in instructions if op == "FROM"]
    assert len(froms) >= 2
    # The base is an argument (a mirror or a locally made base), python:3.11-slim by default.
    assert instructions[0] == ["ARG", "BASE_IMAGE=python:3.11-slim"]
    assert all(args.startswith("${BASE_IMAGE} AS ") for args in froms)
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [args.strip() for op, args in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any(op == "HEALTHCHECK" and "CMD [" in args for op, args in final)
    command = [args for op, args in final if op == "CMD"]
    assert command and json.loads(command[-1]) == ["valuetrail", "serve"]
    assert any(op == "COPY" and args.startswith("--from=build") for op, args in final)


def test_the_image_installs_exactly_the_locked_versions_then_the_project_alone() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    runs = [line.strip() for line in dockerfile.splitlines() if line.startswith("RUN ")]
    assert "RUN /opt/valuetrail/bin/pip install --require-hashes -r requirements.lock" in runs
    assert any("pip install --no-deps" in line and line.endswith(" .") for line in runs)
    assert not any("pip install ." in line for line in runs), "resolves versions in the build"
    # A Docker build context of allow-listed paths: the lock file must be one of them.
    allowed = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {"*", "!requirements.lock", "!pyproject.toml"} <= set(allowed)
