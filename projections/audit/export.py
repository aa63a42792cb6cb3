"""The export (docs/AUDITING.md §8.4): its lines, strict parsing, and verification offline.

An export is JSON Lines: every event in log order, then every signed tree head and re-seal
statement in the order they were signed. Parsing is strict so that what a reader sees is what
was hashed: duplicate keys, unknown or missing fields, floats, `-0` and NaN all fail.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from projections.audit import merkle
from projections.audit.hashing import ChainBuilder, EventRow
from projections.audit.heads import Reseal, TreeHead

_EVENT_KEYS = frozenset(
    {"index", "position", "originator_id", "version", "topic", "state_sha256", "leaf", "chain_hash"}
)
_WITH_STATE = _EVENT_KEYS | {"state"}
_WITH_BASE64 = _EVENT_KEYS | {"state_base64"}


class ExportError(Exception):
    """The export is not what it claims; `position` is the first event known to be bad."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position


# -- writing ---------------------------------------------------------------------------------


def dumps(record: dict[str, Any]) -> str:
    """One line of JSON, compact, newline-terminated."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def event_line(index: int, row: EventRow, hashes: Sequence[str]) -> str:
    """An event's line: the stored event with its index and (state_sha256, leaf, chain_hash)."""
    position, originator, version, topic, state = row
    record: dict[str, Any] = {
        "index": index,
        "position": position,
        "originator_id": str(UUID(bytes=originator)),
        "version": version,
        "topic": topic,
    }
    try:
        record["state"] = state.decode("utf-8")
    except UnicodeDecodeError:
        record["state_base64"] = base64.b64encode(state).decode("ascii")
    record |= dict(zip(("state_sha256", "leaf", "chain_hash"), hashes, strict=True))
    return dumps(record)


def signed_line(item: TreeHead | Reseal) -> str:
    """A head's or a re-seal statement's line."""
    return dumps(item.as_dict())


# -- strict parsing --------------------------------------------------------------------------


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        names = [name for name, _ in pairs]
        raise ValueError(f"duplicate key {next(n for n in names if names.count(n) > 1)!r}")
    return record


def _integer(text: str) -> int:
    if text == "-0":
        raise ValueError("-0 is not a canonical number")
    return int(text)


def _no_float(text: str) -> Any:
    raise ValueError(f"{text} is not an integer")


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def strict_loads(text: str) -> Any:
    """JSON with no duplicate keys, integers only as numbers, no NaN or Infinity."""
    return json.loads(
        text,
        object_pairs_hook=_unique,
        parse_int=_integer,
        parse_float=_no_float,
        parse_constant=_no_constant,
    )


def _typed(record: dict[str, Any], name: str, kind: type) -> Any:
    value = record[name]
    if type(value) is not kind:
        raise TypeError(f"{name} must be {kind.__name__}")
    return value


def parse_event(record: dict[str, Any]) -> tuple[int, EventRow, tuple[str, str, str]]:
    """(index, event row, claimed hashes) of an event line; TypeError or ValueError if malformed."""
    keys = record.keys()
    if keys != _WITH_STATE and keys != _WITH_BASE64:
        unknown = sorted(keys - _WITH_STATE - _WITH_BASE64)
        missing = sorted(_EVENT_KEYS - keys)
        raise TypeError(f"fields: unknown {unknown}, missing {missing}")
    index, position = _typed(record, "index", int), _typed(record, "position", int)
    version = _typed(record, "version", int)
    if not (0 <= position < 2**64 and -(2**63) <= version < 2**63 and index >= 0):
        raise ValueError("index, position or version out of range")
    topic = _typed(record, "topic", str)
    if len(topic.encode("utf-8")) > 0xFFFF:
        raise ValueError("topic longer than 65535 bytes")
    originator = _typed(record, "originator_id", str)
    if str(UUID(originator)) != originator:
        raise ValueError("originator_id is not a UUID in canonical form")
    if "state" in record:
        state = _typed(record, "state", str).encode("utf-8")
    else:
        encoded = _typed(record, "state_base64", str)
        state = base64.b64decode(encoded, validate=True)
        if base64.b64encode(state).decode("ascii") != encoded:
            raise ValueError("state_base64 is not canonical base64")
    claimed = tuple(_typed(record, name, str) for name in ("state_sha256", "leaf", "chain_hash"))
    row = (position, UUID(originator).bytes, version, topic, state)
    return index, row, (claimed[0], claimed[1], claimed[2])


# -- the log an export holds -----------------------------------------------------------------


@dataclass
class ExportLog:
    """An export read and its hashes recomputed: every complete subtree, and what was signed."""

    positions: list[int] = field(default_factory=list)
    levels: list[list[bytes]] = field(default_factory=lambda: [[]])
    signed: list[TreeHead | Reseal] = field(default_factory=list)

    @property
    def size(self) -> int:
        """The number of events."""
        return len(self.positions)

    def root_at(self, size: int) -> bytes:
        """The tree hash of the first `size` events (size ≤ the number of events)."""
        return merkle.fold([self.levels[lv][i] for lv, i in merkle.subtrees(0, size)])

    def leaf_node(self, index: int) -> bytes:
        """The tree's hash of the event at `index`."""
        return self.levels[0][index]

    @property
    def current(self) -> list[TreeHead]:
        """The heads signed since the last re-seal (all heads if there was none)."""
        heads: list[TreeHead] = []
        for item in self.signed:
            heads = [] if isinstance(item, Reseal) else [*heads, item]
        return heads

    @property
    def reseals(self) -> list[Reseal]:
        """Every re-seal statement."""
        return [item for item in self.signed if isinstance(item, Reseal)]


def read_export(lines: Iterable[str]) -> ExportLog:
    """Parse an export strictly and recompute every leaf, chain hash and tree node."""
    log = ExportLog()
    chain = ChainBuilder()
    tree = merkle.CompactRange()
    levels = log.levels
    for number, line in enumerate(lines, start=1):
        try:
            record = strict_loads(line)
            if not isinstance(record, dict):
                raise TypeError("a line must be a JSON object")
            if "index" in record:
                if log.signed:
                    raise ExportError(f"line {number}: an event after the signed heads")
                index, row, claimed = parse_event(record)
            else:
                signed = Reseal.parse(record) if "reseal" in record else TreeHead.parse(record)
                log.signed.append(signed)
                continue
        except (TypeError, ValueError, KeyError) as error:
            raise ExportError(f"line {number}: not a valid export line ({error})") from None
        position = row[0]
        if index != log.size or (log.size and position <= chain.position):
            raise ExportError(f"line {number}: event out of log order", position)
        hashes = chain.hashes(row)
        if claimed != (hashes[0].hex(), hashes[1].hex(), hashes[2].hex()):
            raise ExportError(
                f"position {position}: event does not match its hashes or the chain before it",
                position,
            )
        chain.accept(position, hashes[2])
        log.positions.append(position)
        for level, _index, node in tree.append(merkle.leaf_hash(hashes[1])):
            if level == len(levels):
                levels.append([])
            levels[level].append(node)
    return log
