"""Build docker/Dockerfile with podman on a Debian base made here, run it and check it.

`make image-test` runs this as root, with nothing but the standard library: it installs podman,
runc and mmdebstrap from Debian when they are missing, makes a base image from Debian packages
(python3, python3-venv, python-is-python3, ca-certificates with this machine's extra CA
certificates), builds the image with `--format docker` (the OCI format drops HEALTHCHECK), runs
it and checks what an operator relies on. Podman runs rootful and daemonless on a storage root of
its own under a temporary folder, which is removed at the end with everything made here.
The base tarball is kept in VALUETRAIL_IMAGE_CACHE (default /var/cache/valuetrail/image-test).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from tests.image import probes
from tests.image.podman import Podman, run
from tests.image.probes import StepFailed

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("VALUETRAIL_IMAGE_CACHE", "/var/cache/valuetrail/image-test"))
PACKAGES = ("podman", "runc", "mmdebstrap")
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
STOP_LIMIT = 10.0


def say(message: str) -> None:
    """One progress line, flushed at once so CI shows where a slow step is."""
    print(f"image-test: {message}", flush=True)


def install_tools() -> None:
    """Install podman, runc and mmdebstrap from Debian unless they are all there."""
    missing = [name for name in PACKAGES if shutil.which(name) is None]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise StepFailed(f"{', '.join(missing)} missing and no apt-get to install them")
    say(f"installing {' '.join(PACKAGES)} from Debian (missing: {' '.join(missing)})")
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for another apt-get holding the lock instead of failing at once.
    wait = ["-o", "DPkg::Lock::Timeout=120"]
    run(["apt-get", *wait, "update", "-q"], timeout=300, env=env)
    run(
        ["apt-get", *wait, "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
        timeout=300,
        env=env,
    )
    say(f"installed in {time.monotonic() - started:.0f} s")


def base_tarball(workdir: Path) -> Path:
    """The Debian base as a tarball: from the cache, or made now with mmdebstrap."""
    suite = probes.debian_suite(Path("/etc/os-release").read_text(encoding="utf-8"))
    certs = probes.extra_ca_files(os.environ)
    key = probes.base_key(suite, BASE_PACKAGES, certs, time.gmtime())
    cached = CACHE / f"base-{suite}-{key}.tar"
    if cached.is_file():
        say(f"Debian {suite} base from the cache ({cached})")
        return cached
    say(f"making a Debian {suite} base with mmdebstrap ({len(certs)} extra CA certificate(s))")
    started = time.monotonic()
    staged = workdir / "base.tar"
    mirror = os.environ.get("VALUETRAIL_DEBIAN_MIRROR", "http://deb.debian.org")
    # Named .crt under /usr/local/share/ca-certificates, so update-ca-certificates adds them.
    hooks = [
        f"--customize-hook=upload {cert} /usr/local/share/ca-certificates/extra-{i}.crt"
        for i, cert in enumerate(certs)
    ]
    run(
        [
            "mmdebstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale")),
            *hooks,
            '--customize-hook=chroot "$1" update-ca-certificates',
            '--customize-hook=chroot "$1" apt-get clean',
            suite,
            str(staged),
            *probes.debian_sources(mirror, suite),
        ],
        timeout=240,
    )
    say(f"base made in {time.monotonic() - started:.0f} s")
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob("base-*.tar"):
            old.unlink()
        partial = CACHE / f".{cached.name}.partial"
        shutil.copyfile(staged, partial)
        partial.rename(cached)
    except OSError as error:
        say(f"could not cache the base in {CACHE} ({error}); the next run makes it again")
    return staged


def check(podman: Podman, image: str, host_port: int) -> None:
    """Run the image and check it as an operator would; raise StepFailed on the first miss."""
    token = secrets.token_urlsafe(32)
    volume = podman.volume()
    # Read-only with a tmpfs /tmp, as docker/compose.yaml runs it: only the volume is written.
    name = podman.run_detached(
        image,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "-v",
        f"{volume}:/app/var",
        "-e",
        f"VALUETRAIL_ADMIN_KEY={token}",
        "-p",
        f"127.0.0.1:{host_port}:8000",
    )
    base = f"http://127.0.0.1:{host_port}"
    probes.wait_ok(f"{base}/healthz", limit=60.0, alive=lambda: podman.running(name))
    say("/healthz 200")
    for path in ("/readyz", "/metrics"):
        status, body = probes.get(base + path)
        if status != 200:
            raise StepFailed(f"GET {path} answered {status}: {body[:300]!r}")
        say(f"{path} 200")
    if b"valuetrail_" not in probes.get(base + "/metrics")[1]:
        raise StepFailed("/metrics has no valuetrail_ series")
    api = f"{base}/api/v1/portfolios"
    status, body = probes.get(api, token=token)
    if status != 200:
        raise StepFailed(f"GET /api/v1/portfolios with the admin key answered {status}: {body!r}")
    status, _ = probes.get(api)
    if status != 401:
        raise StepFailed(f"GET /api/v1/portfolios without a key answered {status}, not 401")
    say("API: 200 with the admin key, 401 without")
    podman.healthcheck(name)
    say("HEALTHCHECK passes (podman healthcheck run)")
    users = podman.process_users(name)
    if not users or any(uid != 10001 for _, uid in users):
        raise StepFailed(f"processes not all uid 10001: {users}")
    say(f"all {len(users)} processes run as uid 10001")
    stored = probes.volume_files(podman.volume_path(volume))
    say(f"the volume holds {', '.join(stored)}")
    elapsed, code = podman.stop(name, limit=STOP_LIMIT)
    if code != 0 or elapsed >= STOP_LIMIT:
        raise StepFailed(f"stop took {elapsed:.1f} s with exit code {code} (not a drain)")
    say(f"stopped (SIGTERM) in {elapsed:.1f} s, exit code 0")


def main() -> int:
    """Run every step; exit 0 only if all checks passed, cleaning up either way."""
    if os.geteuid() != 0:
        say("needs root (rootful podman, apt-get, mmdebstrap); run it as root or with sudo")
        return 2

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise StepFailed(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    started = time.monotonic()
    host_before = probes.host_state()
    workdir = Path(tempfile.mkdtemp(prefix="valuetrail-image-test-"))
    podman: Podman | None = None
    try:
        install_tools()
        podman = Podman(workdir)
        tarball = base_tarball(workdir)
        base = podman.import_base(tarball)
        say(f"base image {base} ({podman.size(base)} MB)")
        build_started = time.monotonic()
        image = podman.build(ROOT, base, os.environ.get("PIP_INDEX_URL", ""))
        say(f"built {image} in {time.monotonic() - build_started:.0f} s, {podman.size(image)} MB")
        check(podman, image, probes.free_port())
    except (StepFailed, OSError, ValueError) as error:
        say(f"FAILED: {error}")
        if podman is not None:
            podman.show_logs()
        return 1
    finally:
        if podman is not None:
            podman.remove_everything()
        shutil.rmtree(workdir, ignore_errors=True)
        probes.restore_host(host_before)
    say(f"all checks passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
