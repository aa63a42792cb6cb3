"""The projections benchmark's parts (`benchmarks/projections.py` runs them)."""
