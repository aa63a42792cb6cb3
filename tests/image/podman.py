"""Rootful, daemonless podman on a storage root and configuration of its own, for one run."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.image import probes
from tests.image.probes import StepFailed

#: A process limit far above what gunicorn needs, and below what runc may set on such machines.
NPROC = 4096


def run(
    command: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command with a time limit; on failure raise StepFailed with its output's tail."""
    try:
        done = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise StepFailed(f"{' '.join(command[:3])} … did not finish in {timeout:.0f} s") from error
    if check and done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-25:]
        raise StepFailed(f"{' '.join(command[:4])} … exited {done.returncode}:\n" + "\n".join(tail))
    return done


class Podman:
    """podman with its own containers.conf and storage.conf under `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tag = secrets.token_hex(4)
        self.containers: list[str] = []
        conf = workdir / "containers.conf"
        storage = workdir / "storage.conf"
        limits = Path("/proc/self/limits").read_text(encoding="utf-8")
        nofile = min(probes.hard_limit(limits, "Max open files"), 65536)
        (workdir / "tmp").mkdir()
        conf.write_text(
            # Podman's default ulimits (nofile 1048576, nproc 4194304) exceed this machine's
            # hard limits, and runc refuses them; crun 1.8 rejects the cgroups here, runc does not.
            "[containers]\n"
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={NPROC}:{NPROC}"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{workdir / "tmp"}"\n',
            encoding="utf-8",
        )
        storage.write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{workdir / "root"}"\n'
            f'runroot = "{workdir / "runroot"}"\n',
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(conf),
            "CONTAINERS_STORAGE_CONF": str(storage),
        }

    def __call__(
        self, *args: str, timeout: float = 60.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `podman ARGS` in this run's configuration."""
        return run(["podman", *args], timeout=timeout, env=self.env, check=check)

    def import_base(self, tarball: Path) -> str:
        """Import the Debian base tarball as a local image; its name."""
        name = f"localhost/valuetrail-test-base:{self.tag}"
        self("import", str(tarball), name, timeout=180)
        return name

    def build(self, context: Path, base: str, pip_index_url: str) -> str:
        """Build docker/Dockerfile on `base` in the Docker format (which keeps HEALTHCHECK)."""
        name = f"localhost/valuetrail-test:{self.tag}"
        extra = []
        if pip_index_url and not pip_index_url.startswith("file:"):
            extra = ["--build-arg", f"PIP_INDEX_URL={pip_index_url}"]
        self(
            "build",
            "--format",
            "docker",
            "--build-arg",
            f"BASE_IMAGE={base}",
            *extra,
            "-f",
            str(context / "docker" / "Dockerfile"),
            "-t",
            name,
            str(context),
            timeout=300,
        )
        health = self("image", "inspect", name, "--format", "{{json .HealthCheck}}").stdout
        if "/healthz" not in health:
            raise StepFailed(f"the image {name} has no HEALTHCHECK (OCI format?): {health}")
        return name

    def size(self, image: str) -> int:
        """The image's size in MB."""
        return int(self("image", "inspect", image, "--format", "{{.Size}}").stdout) // 10**6

    def volume(self) -> str:
        """A new named volume."""
        name = f"valuetrail-test-{self.tag}"
        self("volume", "create", name)
        return name

    def volume_path(self, volume: str) -> Path:
        """Where a volume's files are on this machine."""
        return Path(self("volume", "inspect", volume, "--format", "{{.Mountpoint}}").stdout.strip())

    def run_detached(self, image: str, *options: str) -> str:
        """Start a container of `image` in the background; its name."""
        name = f"valuetrail-test-{self.tag}-{len(self.containers)}"
        self.containers.append(name)
        # Without systemd podman cannot schedule the periodic healthcheck and says so on
        # stderr; `podman healthcheck run` below runs the same check on demand.
        self("run", "-d", "--name", name, *options, image, timeout=60)
        return name

    def running(self, name: str) -> bool:
        """Whether the container is still running."""
        state = self("inspect", name, "--format", "{{.State.Running}}", check=False)
        return state.stdout.strip() == "true"

    def healthcheck(self, name: str) -> None:
        """Run the image's HEALTHCHECK once; raise unless it passes."""
        done = self("healthcheck", "run", name, timeout=30, check=False)
        if done.returncode != 0:
            raise StepFailed(f"the HEALTHCHECK failed: {(done.stdout + done.stderr).strip()}")

    def process_users(self, name: str) -> list[tuple[int, int]]:
        """(host pid, real uid) of every process in the container, read from /proc."""
        rows = self("top", name, "hpid").stdout.split()[1:]
        found = []
        for pid in rows:
            try:
                status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
            except FileNotFoundError:
                continue  # ended between `podman top` and now
            found.append((int(pid), probes.uid_of(status)))
        return found

    def stop(self, name: str, *, limit: float) -> tuple[float, int]:
        """Stop with SIGTERM (SIGKILL after `limit` s); seconds taken and the exit code."""
        started = time.monotonic()
        self("stop", "-t", str(int(limit)), name, timeout=limit + 30)
        elapsed = time.monotonic() - started
        code = self("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip()
        return elapsed, int(code)

    def show_logs(self) -> None:
        """Print the tail of each container's log (after a failure)."""
        for name in self.containers:
            done = self("logs", "--tail", "40", name, check=False)
            print(f"--- last log lines of {name}\n{done.stdout}{done.stderr}", flush=True)

    def remove_everything(self) -> None:
        """Remove containers, images, volumes and the storage root made by this run."""
        # Not `podman system reset`: that would also delete the machine's own network configs.
        for command in (
            ("rm", "--all", "--force", "--time", "0"),
            ("volume", "rm", "--all", "--force"),
            ("rmi", "--all", "--force"),
        ):
            with contextlib.suppress(StepFailed):  # a timeout: the folder goes below anyway
                self(*command, timeout=60, check=False)
        for mount in probes.mounts_under(self.workdir, Path("/proc/mounts").read_text("utf-8")):
            subprocess.run(["umount", "--lazy", mount], check=False, timeout=30)
