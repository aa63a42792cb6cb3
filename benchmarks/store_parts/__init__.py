"""The event store benchmark's parts (`benchmarks/store.py` runs them)."""
