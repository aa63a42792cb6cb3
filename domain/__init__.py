"""The valuetrail domain: aggregates, events, value rules and the application."""
