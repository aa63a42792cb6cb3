"""The metrics overhead benchmark's two servers: start, set up, count, CPU time."""

from __future__ import annotations

import os
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

from benchmarks._http import (
    ADMIN_TOKEN,
    WORKERS,
    Client,
    Server,
    bench_benefits,
    free_port,
    running,
)

START_TIMEOUT = 40.0


def env_for(url: str, home: str, **extra: str) -> dict[str, str]:
    """The environment of a `valuetrail` command on the store at `url`, with `home` as HOME."""
    return {
        **os.environ,
        "VALUETRAIL_DB": url,
        "VALUETRAIL_ADMIN_KEY": ADMIN_TOKEN,
        "VALUETRAIL_HOST": "127.0.0.1",
        "VALUETRAIL_WORKERS": str(WORKERS),
        "VALUETRAIL_AUDIT_SIGNING_KEY": str(Path(home) / "audit_signing_key.pem"),
        "VALUETRAIL_AUDIT_STATE": str(Path(home) / "audit_state.json"),
        "HOME": home,
        **extra,
    }


def serving(url: str, home: str, *, metrics: bool) -> AbstractContextManager[Server]:
    """`valuetrail api` with metrics on or off; SIGTERM (then kill) when done."""
    port = free_port()
    env = env_for(url, home, VALUETRAIL_PORT=str(port), VALUETRAIL_METRICS="1" if metrics else "0")
    log = Path(home) / f"api-{'on' if metrics else 'off'}.log"
    return running("api", env=env, cwd=home, log=log, timeout=START_TIMEOUT)


def set_up(port: int) -> tuple[str, str]:
    """A portfolio to read and a benefit to measure, created over HTTP; their ids."""
    admin = Client(port, ADMIN_TOKEN)
    portfolio_id, (benefit_id,) = bench_benefits(admin.create, ["Bench benefit"])
    admin.close()
    return portfolio_id, benefit_id


def counted(server: Server) -> float:
    """http_requests_total summed over every route (metrics must really be on)."""
    status, data = Client(server.port).request("GET", "/metrics")
    if status != 200:
        raise SystemExit(f"/metrics answered {status} on the metrics-on server")
    total = 0.0
    for line in data.decode().splitlines():
        if line.startswith("http_requests_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def cpu_seconds(server: Server) -> float:
    """User plus system CPU time of the gunicorn master and its workers so far."""
    listed = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True
    ).stdout
    ticks = 0
    for pid in [server.process.pid, *map(int, listed.split())]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
