"""What the image test reads off this machine and the running container (standard library)."""

from __future__ import annotations

import contextlib
import hashlib
import shlex
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
#: Variables that point pip, requests or OpenSSL at a CA bundle.
CA_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")
BRIDGES = ("cni-podman0", "podman0")
CHAIN_PREFIXES = ("CNI-", "NETAVARK")
TABLES = ("filter", "nat")
#: State podman and its network plugins keep outside the storage root of a run.
STATE_PATHS = ("/var/lib/cni", "/var/lib/containers", "/run/containers", "/run/libpod")


def debian_suite(os_release: str) -> str:
    """The Debian codename of this machine (VERSION_CODENAME of /etc/os-release)."""
    values = dict(
        line.split("=", 1) for line in os_release.splitlines() if "=" in line and line[0] != "#"
    )
    if values.get("ID", "").strip('"') != "debian" or not values.get("VERSION_CODENAME"):
        raise ValueError("not a Debian release with a codename: the base is made from Debian")
    return values["VERSION_CODENAME"].strip('"')


def debian_sources(mirror: str, suite: str) -> list[str]:
    """mmdebstrap's sources: the release, its updates and its security updates."""
    return [
        f"deb {mirror}/debian {suite} main",
        f"deb {mirror}/debian {suite}-updates main",
        f"deb {mirror}/debian-security {suite}-security main",
    ]


def extra_ca_files(environ: Mapping[str, str]) -> list[Path]:
    """CA certificates this machine trusts beyond Debian's: local ones and other bundles.

    Without them pip inside the build reaches nothing where HTTPS is intercepted.
    """
    found = sorted(p for p in LOCAL_CA_DIR.rglob("*.crt") if p.is_file())
    for variable in CA_VARIABLES:
        value = environ.get(variable)
        if value and Path(value).is_file() and Path(value).resolve() != SYSTEM_BUNDLE.resolve():
            found.append(Path(value))
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def base_key(
    suite: str, packages: Iterable[str], certs: Iterable[Path], now: time.struct_time
) -> str:
    """A cache key for the base tarball: what goes in, and the week (for security updates)."""
    week = f"{now.tm_year}-{now.tm_yday // 7}"
    digest = hashlib.sha256(f"{suite} {' '.join(packages)} {week}".encode())
    for cert in certs:
        digest.update(cert.read_bytes())
    return digest.hexdigest()[:16]


def hard_limit(limits: str, name: str) -> int:
    """A hard limit from /proc/self/limits text (a large number for "unlimited")."""
    for line in limits.splitlines():
        if line.startswith(name):
            value = line[len(name) :].split()[1]
            return 2**31 if value == "unlimited" else int(value)
    raise ValueError(f"{name} not in /proc/self/limits")


def uid_of(status: str) -> int:
    """The real uid from /proc/PID/status, after checking effective, saved and fs agree."""
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uids = {int(value) for value in line.split()[1:]}
            if len(uids) != 1:
                return -1
            return uids.pop()
    raise ValueError("no Uid line in /proc/PID/status")


def mounts_under(folder: Path, proc_mounts: str) -> list[str]:
    """Mount points below `folder`, deepest first (so each can be unmounted)."""
    prefix = str(folder) + "/"
    points = [line.split()[1] for line in proc_mounts.splitlines() if len(line.split()) > 1]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    """GET `url` (bearer token optional); status and body, 0 if nothing answered."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


def wait_ok(url: str, *, limit: float, alive: Callable[[], bool]) -> None:
    """Wait until `url` answers 200; fail early if the container stopped."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if get(url)[0] == 200:
            return
        if not alive():
            raise StepFailed(f"the container stopped before {url} answered")
        time.sleep(0.5)
    raise StepFailed(f"{url} did not answer 200 within {limit:.0f} s")


def volume_files(path: Path) -> list[str]:
    """The event store and signing key in the volume, checked to belong to uid 10001."""
    wanted = {"valuetrail.db": 0o644, "audit_signing_key.pem": 0o600}
    for name, mode in wanted.items():
        file = path / name
        if not file.is_file():
            raise StepFailed(f"{name} is not in the volume ({path})")
        info = file.stat()
        if info.st_uid != 10001 or info.st_mode & 0o777 & ~mode:
            raise StepFailed(f"{name} is owned by {info.st_uid}, mode {info.st_mode:o}")
    return sorted(wanted)


class StepFailed(Exception):
    """A step of the image test did not do what it must; the message says what."""


@dataclass(frozen=True)
class HostState:
    """What podman and its network plugins add to the host: bridges, iptables chains, state."""

    bridges: frozenset[str]
    chains: dict[str, frozenset[str]] = field(default_factory=dict)
    state_paths: frozenset[str] = frozenset()
    ip_forward: str = ""


def _chains(table: str) -> frozenset[str]:
    rules = subprocess.run(
        ["iptables", "-t", table, "-S"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    return frozenset(
        line.split()[1] for line in rules.splitlines() if line.startswith(("-N ", "-P "))
    )


def host_state() -> HostState:
    """The host's state now, to undo what podman and its network plugins add."""
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    return HostState(
        bridges=frozenset(b for b in BRIDGES if Path(f"/sys/class/net/{b}").exists()),
        # No iptables yet (it comes with podman): then there are no chains of podman's either.
        chains={t: _chains(t) if shutil.which("iptables") else frozenset() for t in TABLES},
        state_paths=frozenset(p for p in STATE_PATHS if Path(p).exists()),
        ip_forward=forward.read_text().strip() if forward.exists() else "",
    )


def restore_host(before: HostState) -> None:
    """Remove the bridge, iptables chains and podman state that appeared since `before`."""
    for bridge in BRIDGES:
        if bridge not in before.bridges and Path(f"/sys/class/net/{bridge}").exists():
            subprocess.run(["ip", "link", "delete", bridge], check=False, timeout=30)
    if shutil.which("iptables") is not None:
        for table in TABLES:
            chains = _chains(table) - before.chains[table]
            _drop_chains(table, {c for c in chains if c.startswith(CHAIN_PREFIXES)})
    _drop_state(before)


def _drop_state(before: HostState) -> None:
    for path in STATE_PATHS:
        if path not in before.state_paths:
            shutil.rmtree(path, ignore_errors=True)
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    if before.ip_forward and forward.read_text().strip() != before.ip_forward:
        # A read-only /proc/sys: podman could not have changed it either.
        with contextlib.suppress(OSError):
            forward.write_text(before.ip_forward)


def _drop_chains(table: str, chains: set[str]) -> None:
    if not chains:
        return
    rules = subprocess.run(
        ["iptables", "-t", table, "-S"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    for rule in rules.splitlines():
        words = shlex.split(rule)
        if words[:1] == ["-A"] and words[1] not in chains and set(words) & chains:
            subprocess.run(["iptables", "-t", table, "-D", *words[1:]], check=False, timeout=30)
    for chain in chains:
        subprocess.run(["iptables", "-t", table, "-F", chain], check=False, timeout=30)
    for chain in chains:
        subprocess.run(["iptables", "-t", table, "-X", chain], check=False, timeout=30)
