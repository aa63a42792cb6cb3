"""`--profile`: the ingest benchmark's request mix in-process, under cProfile."""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import postgres_database
from benchmarks._http import ADMIN_TOKEN, API, bench_benefits
from benchmarks.http_ingest_parts.posts import BENEFITS, batch_bodies, single_bodies


def profile(single: int, batches: int, dump: Path | None = None) -> None:
    """cProfile the same request mix in-process (Flask test client on PostgreSQL); with `dump`,
    also save each part's stats there (`single.prof`, `batch.prof`) for pstats or snakeviz."""
    from service.app import create_app

    with postgres_database() as url:
        app = create_app({"db": url, "admin_key": ADMIN_TOKEN, "create_tables": True})
        vt = app.extensions["valuetrail"]
        try:
            client = app.test_client()
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

            def post(path: str, body: Any) -> dict[str, Any]:
                response = client.post(API + path, json=body, headers=headers)
                if response.status_code != 201:
                    raise SystemExit(f"{path}: {response.status_code} {response.get_data()!r}")
                result: dict[str, Any] = response.get_json()
                return result

            ingest = post("/api-keys", {"name": "ingest", "role": "ingest"})["token"]
            _, benefit_ids = bench_benefits(post, [f"B{n}" for n in range(BENEFITS)])
            headers = {"Authorization": f"Bearer {ingest}", "Content-Type": "application/json"}
            for name, bodies in (
                ("single", single_bodies(benefit_ids, single, "p")),
                ("batch", batch_bodies(benefit_ids, batches, "p")),
            ):
                profiler = cProfile.Profile()
                start = time.perf_counter()
                profiler.enable()
                for path, body in bodies:
                    response = client.post(path, data=body, headers=headers)
                    if response.status_code != 201:
                        raise SystemExit(f"{response.status_code}: {response.get_data()!r}")
                profiler.disable()
                elapsed = time.perf_counter() - start
                print(
                    f"\n## {name}: {len(bodies)} requests in {elapsed:.2f} s "
                    f"({elapsed / len(bodies) * 1000:.1f} ms per request, profiler on)\n"
                )
                stats = pstats.Stats(profiler, stream=sys.stdout)
                if dump is not None:
                    dump.mkdir(parents=True, exist_ok=True)
                    stats.dump_stats(dump / f"{name}.prof")
                stats.sort_stats("cumulative").print_stats(40)
                stats.sort_stats("tottime").print_stats(25)
        finally:
            vt.close()
