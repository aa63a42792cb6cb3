"""The lock files agree with pyproject.toml: after changing a dependency, run `make lock`.

requirements.lock (runtime) is what the image installs, requirements-dev.lock (runtime and the
`dev` extra) what `make install` does; both pin every package to one version with its hashes.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
STALE = "is stale: run `make lock` (docs/DEPLOYMENT.md)"


def _pins(lock: str) -> dict[str, str]:
    """name -> version of every package a lock file pins, checking each carries a hash."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    entries = re.split(r"\n(?=\S)", text)
    pins: dict[str, str] = {}
    for entry in entries:
        match = PIN.match(entry)
        if match is None:
            continue
        assert "--hash=sha256:" in entry, f"{lock}: {match[1]} has no hash"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def _project() -> dict[str, list[str]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {
        "runtime": pyproject["project"]["dependencies"],
        "dev": pyproject["project"]["optional-dependencies"]["dev"],
        "build": pyproject["build-system"]["requires"],
    }


@pytest.mark.parametrize(
    ("lock", "groups"),
    [
        ("requirements.lock", ("runtime", "build")),
        ("requirements-dev.lock", ("runtime", "dev", "build")),
    ],
)
def test_every_declared_dependency_is_pinned_within_its_range(
    lock: str, groups: tuple[str, ...]
) -> None:
    pins = _pins(lock)
    project = _project()
    for group in groups:
        for line in project[group]:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{lock} lacks {requirement.name}: it {STALE}"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{lock} pins {name}=={pins[name]} outside {requirement.specifier}: it {STALE}"
            )


def test_the_dev_lock_pins_the_runtime_packages_to_the_same_versions() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    differ = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert not differ, f"runtime and dev locks disagree: {differ}"
