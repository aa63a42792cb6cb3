"""Judging a log against its signed heads: offline (an export) and, with the same rules, live."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from projections.audit.export import ExportError, ExportLog, read_export
from projections.audit.heads import Reseal, TreeHead


@dataclass(frozen=True)
class Report:
    """The outcome of a verification (offline, or the body of /audit/verify)."""

    verified: bool
    events_checked: int
    tree_size: int
    root_hash: str | None
    sealed_position: int
    first_bad_position: int | None = None
    reason: str | None = None
    resealed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return asdict(self)

    def summary(self) -> str:
        """One line for a human."""
        if not self.verified:
            return f"NOT verified: {self.reason}"
        text = (
            f"verified: {self.events_checked} events, tree_size {self.tree_size}, "
            f"root {self.root_hash} at position {self.sealed_position}"
        )
        if self.resealed:
            text += (
                f"; every signature is valid but the log was RE-SEALED {self.resealed} time(s):"
                f" {self.reason}"
            )
        return text


def _resealed_text(reseal: Reseal) -> str:
    return (
        f"re-sealed at {reseal.signed_at} from tree_size {reseal.old_tree_size} "
        f"(root {reseal.old_root_hash}) to tree_size {reseal.new_tree_size} "
        f"(root {reseal.new_root_hash}), reason: {reseal.reason!r}"
    )


def check_signed(log: ExportLog, public_key: Ed25519PublicKey) -> None:
    """Every head and statement signed by this key; heads since the last re-seal match the log."""
    if not log.signed:
        raise ExportError("the export holds no signed tree head")
    previous: TreeHead | None = None
    pending: Reseal | None = None
    for item in log.signed:
        if not item.verify(public_key):
            what = "re-seal statement" if isinstance(item, Reseal) else f"head {item.tree_size}"
            raise ExportError(f"{what} signed at {item.signed_at}: signature does not verify")
        if isinstance(item, Reseal):
            if previous is not None and (item.old_tree_size, item.old_root_hash) != (
                previous.tree_size,
                previous.root_hash,
            ):
                raise ExportError("a re-seal statement does not start at the head before it")
            pending, previous = item, None
            continue
        if pending is not None and (item.tree_size, item.root_hash) != (
            pending.new_tree_size,
            pending.new_root_hash,
        ):
            raise ExportError("the head after a re-seal statement is not the one it names")
        pending, previous = None, item
    if pending is not None:
        raise ExportError("no head follows the last re-seal statement")
    _check_current(log, log.current)


def _check_current(log: ExportLog, heads: list[TreeHead]) -> None:
    """Each head since the last re-seal: its root recomputed, extending the one before."""
    good = 0
    for head in heads:
        at = f"head of tree_size {head.tree_size} signed at {head.signed_at}"
        if head.tree_size < good:
            raise ExportError(f"{at}: smaller than the head before it")
        if head.tree_size > log.size:
            raise ExportError(
                f"{at}: covers more events than the export holds ({log.size}): events were removed",
                log.positions[-1] if log.positions else None,
            )
        if log.root_at(head.tree_size).hex() != head.root_hash:
            first = log.positions[good] if good < log.size else None
            last = log.positions[head.tree_size - 1] if head.tree_size else None
            raise ExportError(
                f"{at}: its root differs from the events: an event at positions {first}..{last} "
                "was changed, removed, added or moved",
                first,
            )
        expected = log.positions[head.tree_size - 1] if head.tree_size else 0
        if head.position != expected:
            raise ExportError(f"{at}: names position {head.position}, the event is at {expected}")
        good = head.tree_size
    if good != log.size:
        raise ExportError(
            f"events after position {log.positions[good - 1] if good else 0} are not covered "
            "by a signed head",
            log.positions[good],
        )


def check_extends(
    log: ExportLog, old: TreeHead, old_log: ExportLog | None = None, *, what: str = "trusted"
) -> None:
    """The log is an append-only extension of `old` (an earlier export's latest head)."""
    at = f"the {what} head (tree_size {old.tree_size}, signed at {old.signed_at})"
    seen = [item for item in log.signed if isinstance(item, TreeHead)]
    if old not in seen:
        raise ExportError(f"{at} is not among this export's signed heads: heads were removed")
    if old not in log.current:
        reseals = ", ".join(_resealed_text(r) for r in log.reseals)
        raise ExportError(f"the log was re-sealed since {at}: {reseals}")
    if old.tree_size > log.size:
        raise ExportError(
            f"truncated or rolled back: {at} covers {old.tree_size} events, this log {log.size}"
        )
    if log.root_at(old.tree_size).hex() != old.root_hash:
        raise ExportError(f"fork: {_first_change(log, old, old_log)}", None)


def _first_change(log: ExportLog, old: TreeHead, old_log: ExportLog | None) -> str:
    """What differs between the first old.tree_size events of two logs, as precisely as known."""
    if old_log is None:
        return f"the first {old.tree_size} events differ from those the trusted head signed"
    for index in range(old.tree_size):
        if old_log.leaf_node(index) != log.leaf_node(index):
            return (
                f"the event at index {index} (position {old_log.positions[index]} then, "
                f"{log.positions[index]} now) differs from the earlier export"
            )
    return "the earlier export's events differ"  # pragma: no cover - roots differ, so a leaf does


def verify_lines(
    lines: Iterable[str],
    public_key: Ed25519PublicKey,
    *,
    previous: Iterable[str] | None = None,
    trusted: TreeHead | None = None,
) -> Report:
    """Verify an export; with `previous` (an older export) or `trusted`, that it extends it."""
    log = ExportLog()
    try:
        log = read_export(lines)
        check_signed(log, public_key)
        if previous is not None:
            old_log = read_export(previous)
            try:
                check_signed(old_log, public_key)
            except ExportError as error:
                raise ExportError(f"the earlier export does not verify: {error.reason}") from None
            check_extends(log, old_log.current[-1], old_log, what="earlier export's latest")
        if trusted is not None:
            if not trusted.verify(public_key):
                raise ExportError("the trusted head's signature does not verify with this key")
            check_extends(log, trusted)
    except ExportError as error:
        return _report(log, False, error.position, error.reason)
    reseals = log.reseals
    reason = "; ".join(_resealed_text(r) for r in reseals) if reseals else None
    return _report(log, True, None, reason, len(reseals))


def _report(
    log: ExportLog, ok: bool, bad: int | None, reason: str | None, resealed: int = 0
) -> Report:
    heads = log.current
    latest = heads[-1] if heads and ok else None
    return Report(
        verified=ok,
        events_checked=log.size,
        tree_size=latest.tree_size if latest else 0,
        root_hash=latest.root_hash if latest else None,
        sealed_position=latest.position if latest else 0,
        first_bad_position=bad,
        reason=reason,
        resealed=resealed,
    )
