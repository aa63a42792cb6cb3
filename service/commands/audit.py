"""`valuetrail audit`: verify an export offline, witness a running log, write an export."""

from __future__ import annotations

import argparse
import os
import sys

from projections.db import ViewDatabase
from service import audit_cli, witness
from service.commands.common import CommandError, opened
from service.config import Settings


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Check an export offline against a trusted public key (no database, no server)."""
    return audit_cli.verify_file(
        args.file, args.public_key, previous=args.previous, trusted=args.trusted_head
    )


def cmd_audit_witness(args: argparse.Namespace, settings: Settings) -> int:
    """Check a running log's latest head against the one seen last (the auditor's cron job)."""
    return witness.run(args.url, args.public_key, args.state, os.environ.get(witness.TOKEN_ENV))


def cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every sealed event and the newest signed checkpoint as JSON Lines."""
    if not os.path.exists(settings.audit_signing_key):
        raise CommandError(
            f"no audit signing key at {settings.audit_signing_key} (VALUETRAIL_AUDIT_SIGNING_KEY);"
            " nothing has been sealed with it"
        )
    with opened(settings, create_tables=False) as app:
        db = ViewDatabase.from_url(settings.db)
        try:
            if args.output in (None, "-"):
                return audit_cli.export_to(app, db, sys.stdout)
            with open(args.output, "w", encoding="utf-8") as out:
                code = audit_cli.export_to(app, db, out)
            print(f"wrote {args.output}", file=sys.stderr)
            return code
        finally:
            db.close()
