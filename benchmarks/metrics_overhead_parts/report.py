"""The metrics overhead benchmark's markdown section."""

from __future__ import annotations

from benchmarks._common import markdown_table, verdict
from benchmarks.metrics_overhead_parts.blocks import Row, Sizes

TARGET = 0.10  # metrics may cost at most this share of the time per request


def report(rows: list[Row], header: str, sizes: Sizes) -> str:
    """The markdown section."""
    described = {
        "healthz": "healthz: `GET /healthz` (no database)",
        "read": "read: `GET /portfolios/{id}`",
        "write": "write: `POST /benefits/{id}/measurements`",
    }
    table = markdown_table(
        [
            "Workload",
            "Throughput off / on",
            "Throughput change",
            "Server CPU per request off / on",
            "CPU overhead",
            "Target",
            "Result",
        ],
        [
            [
                described[row.name],
                f"{row.rate('off'):,.0f} / {row.rate('on'):,.0f} req/s",
                f"{1 / row.ratio('wall') - 1:+.1%}",
                f"{row.cpu_ms('off'):.2f} / {row.cpu_ms('on'):.2f} ms",
                f"{row.ratio('cpu') - 1:+.1%}",
                f"<= {TARGET:.0%}",
                verdict(row.ratio("cpu") - 1 <= TARGET),
            ]
            for row in rows
        ],
    )
    blocks = ", ".join(f"{name} {n}" for name, n in sizes.blocks.items())
    return (
        f"{header}\n\n{table}\n\n"
        f"{sizes.rounds} alternating rounds (ABBA) per workload, requests per block: {blocks}; "
        f"{sizes.warmup} warm-up requests per server first. Throughput: medians of the blocks, "
        "and the median per-round change with metrics on. Server CPU: user + system time of the "
        "gunicorn master and workers over each block, per request (the client and the database "
        "are not counted); the CPU overhead, judged against the target, is the median per-round "
        "ratio minus 1. Both servers write access logs."
    )
