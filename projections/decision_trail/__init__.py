"""The decision trail view: every decision with its rationale and evidence, and its reads."""
