"""The sealer's memory outside the database: its last signed head (VALUETRAIL_AUDIT_STATE).

A JSON file `{"log_id", "head": {tree head} | null, "halted": reason | null}`, replaced
atomically. The sealer never signs a tree that does not extend `head`; `halted` says why it
stopped, so the API can answer at once.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from projections.audit.heads import TreeHead

DEFAULT_STATE = "var/audit_state.json"
STATE_ENV = "VALUETRAIL_AUDIT_STATE"


@dataclass(frozen=True)
class SealerState:
    """What the state file holds."""

    log_id: str
    head: TreeHead | None = None
    halted: str | None = None


def read_state(path: str) -> SealerState | None:
    """The state in the file, None if there is no file; ValueError if it is unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        head = None if data.get("head") is None else TreeHead.parse(data["head"])
        halted = data.get("halted")
        return SealerState(str(data["log_id"]), head, None if halted is None else str(halted))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"the audit state file {path} is damaged: {error}") from None


def write_state(path: str, state: SealerState) -> None:
    """Replace the state file atomically (a crash leaves the old or the new one)."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "log_id": state.log_id,
        "head": state.head.as_dict() if state.head else None,
        "halted": state.halted,
    }
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=1)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def halted_reason(path: str) -> str | None:
    """Why the sealer stopped, if it did (an unreadable file counts as a reason)."""
    try:
        state = read_state(path)
    except ValueError as error:
        return str(error)
    return state.halted if state else None
