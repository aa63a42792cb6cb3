"""The metrics overhead benchmark's parts (`benchmarks/metrics_overhead.py` runs them)."""
