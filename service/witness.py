"""`valuetrail audit witness`: the auditor's cron job against a running valuetrail.

It fetches the latest signed head and a consistency proof from the head it saw last, checks
both with the auditor's copy of the public key, and keeps the new head in its own state file.
Exit 0: consistent (or first run, trusted); 1: fork, rollback or bad signature; 2: could not
check (server unreachable, bad key or state file).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from projections.audit import merkle
from projections.audit.heads import TreeHead, load_public_key, log_id
from projections.audit.state import SealerState, read_state, write_state

OK, ALARM, UNUSABLE = 0, 1, 2
TOKEN_ENV = "VALUETRAIL_API_TOKEN"


class Unusable(Exception):
    """The check could not be made at all."""


def _get(url: str, token: str | None) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:300]
        raise Unusable(f"GET {url} answered {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise Unusable(f"GET {url} failed: {error}") from None


def check(
    base: str, public_key: Ed25519PublicKey, state_path: str, token: str | None
) -> tuple[int, str]:
    """One witness run: (exit status, message)."""
    log = log_id(public_key)
    data = _get(f"{base.rstrip('/')}/audit/tree-heads/latest", token)
    if not isinstance(data, dict) or data.pop("log_id", None) != log:
        return ALARM, "ALARM: the server's log_id is not that of the given public key"
    try:
        head = TreeHead.parse(data)
    except (TypeError, ValueError) as error:
        raise Unusable(f"the latest head is malformed: {error}") from None
    if not head.verify(public_key):
        return ALARM, f"ALARM: bad signature on the latest head (tree_size {head.tree_size})"
    try:
        state = read_state(state_path)
    except ValueError as error:
        raise Unusable(str(error)) from None
    if state is None or state.head is None:
        write_state(state_path, SealerState(log, head))
        return OK, (
            f"first run: trusting the head it sees (tree_size {head.tree_size}, root "
            f"{head.root_hash}, signed at {head.signed_at}); stored in {state_path}"
        )
    if state.log_id != log:
        raise Unusable(f"{state_path} holds a head of another log")
    old = state.head
    seen = f"the head seen last (tree_size {old.tree_size}, signed at {old.signed_at})"
    if head.tree_size < old.tree_size:
        return ALARM, f"ALARM: ROLLBACK: the log now has {head.tree_size} events, {seen} had more"
    if head.tree_size == old.tree_size or old.tree_size == 0:
        consistent = head.root_hash == old.root_hash or old.tree_size == 0
    else:
        query = urllib.parse.urlencode({"first": old.tree_size, "second": head.tree_size})
        body = _get(f"{base.rstrip('/')}/audit/proof/consistency?{query}", token)
        try:
            proof = [bytes.fromhex(h) for h in body["proof"]]
        except (KeyError, TypeError, ValueError) as error:
            raise Unusable(f"the consistency proof is malformed: {error}") from None
        consistent = merkle.verify_consistency(
            old.tree_size,
            head.tree_size,
            bytes.fromhex(old.root_hash),
            bytes.fromhex(head.root_hash),
            proof,
        )
    if not consistent:
        return ALARM, (
            f"ALARM: FORK: the log of {head.tree_size} events (root {head.root_hash}) does not "
            f"extend {seen}: history was rewritten or re-sealed"
        )
    write_state(state_path, SealerState(log, head))
    grown = head.tree_size - old.tree_size
    return OK, f"ok: tree_size {head.tree_size} extends {seen} by {grown} events"


def run(url: str, public_key_path: str, state_path: str, token: str | None) -> int:
    """Run the witness once, print what it found, return the exit status."""
    try:
        public_key = load_public_key(Path(public_key_path).read_text(encoding="ascii"))
        code, message = check(url, public_key, state_path, token)
    except (OSError, ValueError, Unusable) as error:
        print(f"valuetrail: error: witness could not check {url}: {error}", file=sys.stderr)
        return UNUSABLE
    print(message, file=sys.stdout if code == OK else sys.stderr)
    return code
