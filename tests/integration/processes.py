"""Processes a test starts from the repository root (a projector, `valuetrail serve`), watched."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Running:
    """A process started by a test, with its output in a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def active_views(self) -> set[str]:
        return set(re.findall(r"projector active for view (\w+)", self.output()))

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then the exit status (it must exit within `timeout`)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def environment(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VALUETRAIL_")},
        "VALUETRAIL_DB": url,
        "VALUETRAIL_AUDIT_SIGNING_KEY": str(tmp_path / "audit.pem"),
        "VALUETRAIL_AUDIT_STATE": str(tmp_path / "audit_state.json"),
        "HOME": str(tmp_path),
        "VALUETRAIL_PROJECTOR_METRICS_PORT": "0",  # any free port: tests run side by side
        **extra,
    }


def projector_command() -> list[str]:
    return [sys.executable, "-m", "projections"]


def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
