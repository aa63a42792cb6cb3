"""The handlers of the `valuetrail` commands, one module per thing they manage; `service.cli`
parses the command line and dispatches to them."""
