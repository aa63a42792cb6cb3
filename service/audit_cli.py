"""`valuetrail audit verify|export` and re-sealing: check an export offline, write one, re-seal."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from domain.application import ValuetrailApplication
from projections.audit.export import ExportError, strict_loads
from projections.audit.heads import TreeHead, load_or_create_signing_key, load_public_key, log_id
from projections.audit.verify import Report, verify_lines
from projections.audit_chain.reads import export_lines, verify_store
from projections.audit_chain.reseal import reseal
from projections.audit_chain.store import VIEW_NAME
from projections.db import ViewDatabase
from service.config import Settings

#: Exit statuses: verified, not verified, could not check at all (unreadable file or key),
#: and every signature valid but the log was re-sealed (never 0 after a re-seal).
VERIFIED, NOT_VERIFIED, UNUSABLE, RESEALED = 0, 1, 2, 3


def read_trusted_head(path: str, log: str) -> TreeHead:
    """A head kept by an auditor (as /audit/tree-heads/latest gives it, `log_id` optional)."""
    with open(path, encoding="utf-8") as file:
        data = strict_loads(file.read())
    if isinstance(data, dict) and "log_id" in data and data.pop("log_id") != log:
        raise ValueError("the trusted head belongs to another log (log_id differs)")
    return TreeHead.parse(data)


def verify_file(
    path: str, public_key_path: str, *, previous: str | None = None, trusted: str | None = None
) -> int:
    """Verify an export with a trusted public key; print a summary line and the JSON result."""
    try:
        with open(public_key_path, encoding="ascii") as key_file:
            public_key = load_public_key(key_file.read())
        head = read_trusted_head(trusted, log_id(public_key)) if trusted else None
        with contextlib.ExitStack() as files:
            lines = files.enter_context(open(path, encoding="utf-8"))
            older: Iterator[str] | None = None
            if previous is not None:
                older = files.enter_context(open(previous, encoding="utf-8"))
            result = verify_lines(lines, public_key, previous=older, trusted=head)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, ExportError) as error:
        print(f"valuetrail: error: cannot verify {path}: {error}", file=sys.stderr)
        return UNUSABLE
    report(result, sys.stdout)
    if not result.verified:
        return NOT_VERIFIED
    return RESEALED if result.resealed else VERIFIED


def report(result: Report, out: TextIO) -> None:
    """Write the human summary line, then the result as one JSON line."""
    out.write(result.summary() + "\n")
    out.write(json.dumps(result.as_dict()) + "\n")


def export_to(app: ValuetrailApplication, db: ViewDatabase, out: TextIO) -> int:
    """Write the export (every sealed event, then every signed head) to `out`."""
    events = heads = 0
    for line in export_lines(app, db):
        out.write(line)
        if line.startswith('{"index"'):
            events += 1
        else:
            heads += 1
    out.flush()
    print(f"valuetrail: exported {events} events and {heads} signed heads", file=sys.stderr)
    return VERIFIED


def check_before_rebuild(
    app: ValuetrailApplication, db: ViewDatabase, settings: Settings, force: bool
) -> str | None:
    """Why a rebuild of the audit log must not go ahead (None: it may); warns when forced.

    A plain rebuild recomputes the same tree, and the sealer signs again only once it reaches
    its last signed head with the same root. A log that does not verify can only be re-sealed
    deliberately (`--force`), which signs a statement every verifier reports.
    """
    key = load_or_create_signing_key(settings.audit_signing_key)
    result = verify_store(app, db, key.public_key(), settings.audit_state)
    if result.verified:
        finding = f"the log verifies ({result.events_checked} events)"
    else:
        finding = f"the log does NOT verify ({result.reason})"
        if result.first_bad_position is not None:
            finding += f"; first bad position {result.first_bad_position}"
    if not force:
        if result.verified:
            return None
        return (
            f"refusing to rebuild {VIEW_NAME}: {finding}. Investigate first (GET "
            "/api/v1/audit/verify, docs/AUDITING.md); pass --force to re-seal the log as it "
            "stands, with a signed re-seal statement"
        )
    print(
        f"valuetrail: warning: --force: re-sealing {VIEW_NAME} over the log as it stands now; "
        f"{finding}. A signed re-seal statement links the old head to the new one: offline "
        "verification reports it (exit 3), witnesses and older exports see the break",
        file=sys.stderr,
        flush=True,
    )
    return None


def reseal_log(app: ValuetrailApplication, db: ViewDatabase, settings: Settings) -> str:
    """Rebuild the audit log from the events and sign a re-seal statement; what was done."""
    key = load_or_create_signing_key(settings.audit_signing_key)
    started = time.perf_counter()
    statement, head = reseal(
        app, db, key, settings.audit_state, "projections rebuild audit_chain --force"
    )
    elapsed = time.perf_counter() - started
    linked = (
        f"re-seal statement signed: tree_size {statement.old_tree_size} -> {head.tree_size}"
        if statement is not None
        else "nothing was signed before: no re-seal statement"
    )
    return f"{VIEW_NAME}: re-sealed {head.tree_size} events in {elapsed:.2f} s; {linked}"
