"""`valuetrail audit verify|export`: check an export offline, or write one from the store."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.application import ValuetrailApplication
from projections.audit_chain import VerifyResult, export_lines, public_key_pem, verify_export
from projections.db import ViewDatabase

#: Exit statuses: verified, not verified, could not check at all (unreadable file or key).
VERIFIED, NOT_VERIFIED, UNUSABLE = 0, 1, 2


def verify_file(path: str, public_key_path: str) -> int:
    """Verify an export file with a trusted public key; print a summary line and the JSON result."""
    try:
        with open(public_key_path, encoding="ascii") as key_file:
            public_key = key_file.read()
        with open(path, encoding="utf-8") as lines:
            result = verify_export(lines, public_key)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"valuetrail: error: cannot verify {path}: {error}", file=sys.stderr)
        return UNUSABLE
    report(result, sys.stdout)
    return VERIFIED if result.verified else NOT_VERIFIED


def report(result: VerifyResult, out: TextIO) -> None:
    """Write the human summary line, then the result as one JSON line."""
    out.write(result.summary() + "\n")
    out.write(json.dumps(result.as_dict()) + "\n")


def export_to(
    app: ValuetrailApplication,
    db: ViewDatabase,
    key: Ed25519PrivateKey | Ed25519PublicKey,
    out: TextIO,
) -> int:
    """Write the export (every sealed event, then the newest checkpoint) to `out`."""
    events = -1  # the last line is the checkpoint
    for line in export_lines(app, db, public_key_pem(key)):
        out.write(line)
        events += 1
    out.flush()
    print(f"valuetrail: exported {events} events", file=sys.stderr)
    return VERIFIED
