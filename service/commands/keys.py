"""`valuetrail keys`: issue, list and revoke API keys."""

from __future__ import annotations

import argparse
import sys

from service.commands.common import cli_meta, opened
from service.config import Settings


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    """Issue a key and print its token (the only time it is shown) on stdout."""
    with opened(settings, create_tables=False) as app:
        key, token = app.issue_api_key(name=args.name, role=args.role, meta=cli_meta()).value
    print(f"issued {key.role} key {key.id} ({key.name}); its token, shown once:", file=sys.stderr)
    print(token)
    return 0


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every key as a table."""
    with opened(settings, create_tables=False) as app:
        keys = app.list_api_keys()
    rows = [("id", "name", "role", "revoked")]
    rows += [(str(k.id), k.name, k.role, "yes" if k.revoked else "no") for k in keys]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a key; it stops working at once."""
    with opened(settings, create_tables=False) as app:
        key = app.revoke_api_key(args.id, reason=args.reason, meta=cli_meta()).value
    print(f"revoked {key.role} key {key.id} ({key.name})")
    return 0
