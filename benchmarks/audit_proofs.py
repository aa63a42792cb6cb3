"""Audit log benchmark: proofs on a 1,000,000-event tree, offline verify, and sealing lag.

(a) proofs: a `vt_tree` of 1,000,000 leaves (every complete subtree, as the sealer writes it,
    built here directly from random leaves), `vt_chain` rows for the leaf index and one signed
    head, in a fresh PostgreSQL database and a SQLite file; then `inclusion_proof` and
    `consistency_proof` at random positions and sizes → p50/p95. Target p95 <= 50 ms.
(b) offline verify: `verify_lines` (what `valuetrail audit verify` runs) over a 200,000-event
    export with realistic event states and a signed head every 500 events → events/s (wall,
    best of 3) and events per CPU-second (user + system of this process and its workers,
    over the 3 rounds). Target >= 100,000 events/s.
(c) sealing lag: on PostgreSQL, a writer posting `record_measurement` at 200/s for 30 s while
    `python -m projections` runs every view; per measurement, the time from its event's
    timestamp until the audit log's sealer covered it (a signed head) → p50/p99. Target
    p99 <= 1 s. (The machinery of benchmarks/projections.py (d), watching `audit_chain`.)

    python benchmarks/audit_proofs.py           # everything, about 3 minutes
    python benchmarks/audit_proofs.py --quick   # 100,000 leaves, 20,000 events, 8 s of writes
    python benchmarks/audit_proofs.py --verify-only   # (b) alone, about 1 minute
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks._common import (
    new_benefit,
    percentile,
    postgres_database,
    sqlite_dir,
    sqlite_url,
)
from benchmarks.projection_parts.history import QUICK, Sizes
from benchmarks.projection_parts.lag import measure_lag
from domain.application import ValuetrailApplication
from persistence import store_env
from projections.audit import merkle
from projections.audit.export import event_line, signed_line
from projections.audit.hashing import ChainBuilder
from projections.audit.heads import TreeHead
from projections.audit.verify import verify_lines
from projections.audit_chain.reads import consistency_proof, inclusion_proof
from projections.audit_chain.store import CHAIN_COLUMNS, DDL, insert_signed
from projections.catalog import audit_views, build_projectors
from projections.db import ViewDatabase, insert_rows
from projections.view import TRACKING_DDL

KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
TOPIC = "valuetrail.benefit.MeasurementRecorded.v1"
SIGNED_AT = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class Latencies:
    """Seconds per call."""

    inclusion: list[float]
    consistency: list[float]

    def line(self, store: str, leaves: int) -> str:
        """A table row."""
        p = [
            percentile(self.inclusion, 50) * 1000,
            percentile(self.inclusion, 95) * 1000,
            percentile(self.consistency, 50) * 1000,
            percentile(self.consistency, 95) * 1000,
        ]
        return (
            f"| {store}, {leaves:,} leaves | {p[0]:.2f} / {p[1]:.2f} ms | "
            f"{p[2]:.2f} / {p[3]:.2f} ms |"
        )


def build_tree(db: ViewDatabase, leaves: int, chunk: int = 50_000) -> int:
    """Fill vt_tree, vt_chain and one signed head for `leaves` random leaves; the tree size."""
    rng = random.Random(6962)
    tree = merkle.CompactRange()
    with db.transaction() as cursor:
        cursor.execute(TRACKING_DDL)
        for statement in DDL:
            cursor.execute(statement)
    for start in range(0, leaves, chunk):
        nodes: list[tuple[int, int, str]] = []
        rows: list[tuple[object, ...]] = []
        for index in range(start, min(leaves, start + chunk)):
            leaf = rng.randbytes(32)
            for level, idx, node in tree.append(merkle.leaf_hash(leaf)):
                nodes.append((level, idx, node.hex()))
            rows.append((index + 1, index, str(UUID(int=index)), 0, TOPIC, "", leaf.hex(), "", ""))
        with db.transaction() as cursor:
            insert_rows(cursor, "vt_tree", "level, idx, hash", nodes)
            insert_rows(cursor, "vt_chain", CHAIN_COLUMNS, rows)
    with db.transaction() as cursor:
        head = TreeHead.sign(KEY, tree.size, tree.root().hex(), tree.size, SIGNED_AT)
        insert_signed(cursor, head)
    return tree.size


def time_proofs(db: ViewDatabase, size: int, calls: int) -> Latencies:
    """Random inclusion and consistency proofs against the tree of `size` leaves."""
    rng = random.Random(9162)
    inclusion, consistency = [], []
    for _ in range(calls):
        tree_size = rng.randrange(1, size + 1)
        position = rng.randrange(1, tree_size + 1)
        started = time.perf_counter()
        proof = inclusion_proof(db, position, tree_size)
        inclusion.append(time.perf_counter() - started)
        assert len(proof["audit_path"]) <= 21
        first = rng.randrange(1, tree_size + 1)
        started = time.perf_counter()
        consistency_proof(db, first, tree_size)
        consistency.append(time.perf_counter() - started)
    return Latencies(inclusion, consistency)


def export_lines(events: int, head_every: int = 500) -> list[str]:
    """A synthetic export: measurement-like events with realistic states, a head every N."""
    chain = ChainBuilder()
    tree = merkle.CompactRange()
    lines, heads = [], [TreeHead.sign(KEY, 0, merkle.EMPTY_ROOT.hex(), 0, SIGNED_AT)]
    for index in range(events):
        state = json.dumps(
            {
                "timestamp": {
                    "_type_": "datetime_iso",
                    "_data_": "2026-01-01T00:00:00.000000+00:00",
                },
                "originator_topic": "valuetrail.benefit.Benefit.v1",
                "measurement_id": str(UUID(int=index)),
                "value": {"_type_": "decimal_str", "_data_": f"{index % 997}.25"},
                "observed_on": {"_type_": "date_iso", "_data_": "2025-06-30"},
                "source": "finance-feed",
                "external_id": f"inv-{index}",
                "actor": "finance-feed",
                "request_id": f"req-{index}",
            },
            separators=(",", ":"),
        ).encode()
        row = (index + 1, UUID(int=index % 2000).bytes, index // 2000, TOPIC, state)
        digest, leaf, link = chain.hashes(row)
        chain.accept(index + 1, link)
        tree.append(merkle.leaf_hash(leaf))
        lines.append(event_line(index, row, (digest.hex(), leaf.hex(), link.hex())))
        if (index + 1) % head_every == 0 or index + 1 == events:
            heads.append(TreeHead.sign(KEY, tree.size, tree.root().hex(), index + 1, SIGNED_AT))
    return lines + [signed_line(head) for head in heads]


def best_rate(run: Callable[[], int], rounds: int = 3) -> float:
    """Events per second of the fastest of a few rounds."""
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        count = run()
        best = max(best, count / (time.perf_counter() - started))
    return best


def cpu_seconds() -> float:
    """User + system time of this process and of its finished children (the verify workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def offline_verify(events: int) -> str:
    """Wall rate (best of 3) and events per CPU-second of `verify_lines` on a fresh export."""
    lines = export_lines(events)
    public = KEY.public_key()
    checked = 0

    def verify() -> int:
        nonlocal checked
        report = verify_lines(lines, public)
        assert report.verified, report.reason
        checked += report.events_checked
        return report.events_checked

    started = cpu_seconds()
    rate = best_rate(verify)
    per_cpu = checked / (cpu_seconds() - started)
    return (
        f"offline verify of {events:,} events: {rate:,.0f} events/s (best of 3), "
        f"{per_cpu:,.0f} events per CPU-second"
    )


@dataclass
class _Benefit:
    benefit_id: UUID


@dataclass
class _Benefits:
    benefits: Sequence[_Benefit]


def sealing_lag(url: str, seconds: float, folder: Path) -> list[float]:
    """Seconds from each measurement's timestamp until the sealer's position covered it."""
    key_path = str(folder / "audit_signing_key.pem")
    app = ValuetrailApplication(env=store_env(url, create_tables=True))
    db = ViewDatabase.from_url(url)
    try:
        build_projectors(app, db, audit_views(key_path, key_path + ".state.json"))
        benefits = _Benefits([_Benefit(new_benefit(app, title=f"B{n}")) for n in range(8)])
    finally:
        db.close()
        app.close()
    sizes = Sizes(**{**QUICK.__dict__, "lag_seconds": seconds, "lag_rate": 200})
    lag = measure_lag(url, key_path, benefits, sizes, folder, view="audit_chain")  # type: ignore[arg-type]
    return lag.lags


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--verify-only", action="store_true", help="only (b), offline verify")
    args = parser.parse_args(argv)
    leaves, events, calls, seconds = (
        (100_000, 20_000, 200, 8.0) if args.quick else (1_000_000, 200_000, 500, 30.0)
    )
    if args.verify_only:
        print(offline_verify(events))
        return 0
    print("| Store | inclusion p50 / p95 | consistency p50 / p95 |")
    print("|---|---|---|")
    with sqlite_dir() as folder:
        db = ViewDatabase.from_url(sqlite_url(folder, "tree"))
        size = build_tree(db, leaves)
        print(time_proofs(db, size, calls).line("SQLite", size), flush=True)
    with postgres_database() as url:
        db = ViewDatabase.from_url(url)
        try:
            size = build_tree(db, leaves)
            with db.transaction() as cursor:
                cursor.execute("ANALYZE")
            print(time_proofs(db, size, calls).line("PostgreSQL", size), flush=True)
        finally:
            db.close()
    print(f"\n{offline_verify(events)}", flush=True)
    with sqlite_dir() as folder, postgres_database() as url:
        lags = sealing_lag(url, seconds, folder)
    print(
        f"sealing lag at 200 measurements/s ({len(lags)} writes): p50 "
        f"{percentile(lags, 50) * 1000:.0f} ms, p99 {percentile(lags, 99) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
