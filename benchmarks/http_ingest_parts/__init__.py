"""The HTTP ingest benchmark's parts (`benchmarks/http_ingest.py` runs them)."""
