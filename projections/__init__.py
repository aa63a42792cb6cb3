"""Read models built from the event log: views, the projection runner and as-of queries."""
