"""Shared fixtures of the integration tests: processes a test starts, killed if still running."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.processes import ROOT, Running


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start processes from the repository root; any still running at the end is killed."""
    started: list[Running] = []

    def start(command: list[str], env: dict[str, str], name: str) -> Running:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        started.append(Running(process, log))
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)
