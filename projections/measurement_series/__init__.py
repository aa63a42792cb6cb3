"""The measurement series view: every measurement and correction, and its reads."""
