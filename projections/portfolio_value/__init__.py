"""The portfolio value view: versions of every portfolio, initiative and benefit by time, and
its reads (value as of an instant, lists, scenarios, the analytics feeds)."""
