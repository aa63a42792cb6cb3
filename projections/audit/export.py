"""The export (docs/AUDITING.md §8.4): its lines, strict parsing, and verification offline.

An export is JSON Lines: every event in log order, then every signed tree head and re-seal
statement in the order they were signed. Parsing is strict so that what a reader sees is what
was hashed: duplicate keys, unknown or missing fields, floats, `-0` and NaN all fail.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import multiprocessing
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256
from json.scanner import make_scanner
from typing import Any
from uuid import UUID

from projections.audit import merkle
from projections.audit.hashing import FIXED_FIELDS, GENESIS, EventRow, topic_field
from projections.audit.heads import Reseal, TreeHead

_EVENT_KEYS = frozenset(
    {"index", "position", "originator_id", "version", "topic", "state_sha256", "leaf", "chain_hash"}
)
_WITH_STATE = _EVENT_KEYS | {"state"}
_WITH_BASE64 = _EVENT_KEYS | {"state_base64"}


class ExportError(Exception):
    """The export is not what it claims; `position` is the first event known to be bad."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        super().__init__(reason, position)  # both in args: it crosses process boundaries
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


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique,
    parse_int=_integer,
    parse_float=_no_float,
    parse_constant=_no_constant,
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


@functools.lru_cache(maxsize=4096)  # an export names few aggregates, each many times
def _originator(text: str) -> bytes:
    """The 16 bytes of an originator id in canonical UUID form."""
    if not _UUID.match(text):
        raise ValueError("originator_id is not a UUID in canonical form")
    return bytes.fromhex(text.replace("-", ""))


def strict_loads(text: str) -> Any:
    """JSON with no duplicate keys, integers only as numbers, no NaN or Infinity."""
    return _DECODER.decode(text)


def parse_event(record: dict[str, Any]) -> tuple[int, EventRow, tuple[str, str, str]]:
    """(index, event row, claimed hashes) of an event line; TypeError or ValueError if malformed."""
    keys = record.keys()
    if keys != _WITH_STATE and keys != _WITH_BASE64:
        unknown = sorted(keys - _WITH_STATE - _WITH_BASE64)
        missing = sorted(_EVENT_KEYS - keys)
        raise TypeError(f"fields: unknown {unknown}, missing {missing}")
    index, position, version = record["index"], record["position"], record["version"]
    if type(index) is not int or type(position) is not int or type(version) is not int:
        raise TypeError("index, position and version must be integers")
    if not (0 <= position < 2**64 and -(2**63) <= version < 2**63 and index >= 0):
        raise ValueError("index, position or version out of range")
    topic, originator = record["topic"], record["originator_id"]
    claimed = (record["state_sha256"], record["leaf"], record["chain_hash"])
    if type(topic) is not str or type(originator) is not str:
        raise TypeError("topic and originator_id must be text")
    if type(claimed[0]) is not str or type(claimed[1]) is not str or type(claimed[2]) is not str:
        raise TypeError("hashes must be text")
    if len(topic) > 0x3FFF and len(topic.encode("utf-8")) > 0xFFFF:
        raise ValueError("topic longer than 65535 bytes")
    text = record.get("state")
    if text is not None:
        if type(text) is not str:
            raise TypeError("state must be text")
        state = text.encode("utf-8")
    else:
        encoded = record["state_base64"]
        if type(encoded) is not str:
            raise TypeError("state_base64 must be text")
        state = base64.b64decode(encoded, validate=True)
        if base64.b64encode(state).decode("ascii") != encoded:
            raise ValueError("state_base64 is not canonical base64")
    row = (position, _originator(originator), version, topic, state)
    return index, row, claimed


# -- the log an export holds -----------------------------------------------------------------


@dataclass
class ExportLog:
    """An export read and its hashes recomputed: every complete subtree, and what was signed."""

    positions: list[int] = field(default_factory=list)
    levels: list[bytearray] = field(default_factory=lambda: [bytearray()])  # nodes, joined
    signed: list[TreeHead | Reseal] = field(default_factory=list)

    @property
    def size(self) -> int:
        """The number of events."""
        return len(self.positions)

    def root_at(self, size: int) -> bytes:
        """The tree hash of the first `size` events (size ≤ the number of events)."""
        return merkle.fold([self._node(lv, i) for lv, i in merkle.subtrees(0, size)])

    def leaf_node(self, index: int) -> bytes:
        """The tree's hash of the event at `index`."""
        return self._node(0, index)

    def _node(self, level: int, index: int) -> bytes:
        return bytes(self.levels[level][32 * index : 32 * index + 32])

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


#: The C parser's entry point, without `json.loads`'s wrappers; objects come as lists of pairs.
_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(
    json.JSONDecoder(object_pairs_hook=list)  # type: ignore[arg-type]  # the stub's is wrong
)


def _event_record(line: str) -> dict[str, Any] | None:
    """An event line decoded by the C parser when that is provably as strict as `strict_loads`.

    The object's pairs come as a list, so a duplicate key shows as fewer keys in the dict. The
    parser takes `-0` as the integer 0: a line whose index, position or version is 0 goes the
    strict way. Anywhere else a `-0`, a float, NaN, Infinity or a nested object is a value of
    the wrong type, which `parse_event` refuses (and the caller then asks `strict_loads` why).
    None for any other line, and for any line this cannot decide.
    """
    if not line.startswith('{"index"'):
        return None
    try:
        pairs, end = _SCAN(line, 0)
    except (StopIteration, ValueError):
        return None
    if end != len(line) and line[end:] != "\n":
        return None
    record = dict(pairs)
    if len(record) != len(pairs) or not (
        record.get("index") and record.get("position") and record.get("version")
    ):
        return None
    return record


def _event(line: str) -> tuple[int, EventRow, tuple[str, str, str]] | dict[str, Any]:
    """An event line's fields (`parse_event`), or any other line's object; errors as strict ones."""
    record = _event_record(line)
    if record is not None:
        try:
            return parse_event(record)
        except (TypeError, ValueError):
            pass  # the strict parser below finds the first fault, and says it as it would
    record = strict_loads(line)
    if not isinstance(record, dict):
        raise TypeError("a line must be a JSON object")
    return parse_event(record) if "index" in record else record


@dataclass
class Block:
    """What a worker makes of consecutive lines: their events checked among themselves.

    Each event's state hash and leaf are recomputed, and each chain hash after the first is
    checked against the claimed one before it (so a wrong line is found where the sequential
    check would find it); the block's first link, and its order against the block before, are
    left to the caller, who knows the end of that block. The tree's nodes inside the block
    are hashed here too (`merkle.piece_levels`, as if its first event were at `first_index`).
    """

    first_line: int
    first_index: int = 0
    positions: list[int] = field(default_factory=list)
    levels: list[bytes] = field(default_factory=list)
    first_leaf: bytes = b""
    first_chain: str = ""  # the chain hashes claimed by the block's first and last events
    last_chain: str = ""
    signed: list[TreeHead | Reseal] = field(default_factory=list)
    error: ExportError | None = None  # the first problem; lines after it were not read


BLOCK = 10_000
#: Exports at least this long are parsed by two processes (parsing is most of the work).
PARALLEL_LINES = 3 * BLOCK


def _parse_block(first: int, lines: Sequence[str]) -> Block:
    """Parse lines strictly; check each event's hashes and the chain links inside the block."""
    block = Block(first)
    nodes: list[bytes] = []
    try:
        _parse_lines(block, nodes, first, lines)
    except ExportError as error:
        block.error = error  # raised by the caller once the links before it are checked
    if nodes:
        block.levels = merkle.piece_levels(block.first_index, nodes)
    return block


def _parse_lines(block: Block, nodes: list[bytes], first: int, lines: Sequence[str]) -> None:
    topics: dict[str, bytes] = {}  # topics repeat: their hashed encoding, once each
    previous = b""
    index = -1
    positions = block.positions
    for number, line in enumerate(lines, start=first):
        try:
            event = _event(line)
            if isinstance(event, dict):
                parse = Reseal.parse if "reseal" in event else TreeHead.parse
                block.signed.append(parse(event))
                continue
        except (TypeError, ValueError, KeyError) as error:
            raise ExportError(f"line {number}: not a valid export line ({error})") from None
        at, row, claimed = event
        position = row[0]
        if block.signed:
            raise ExportError(f"line {number}: an event after the signed heads")
        if positions and (at != index + 1 or position <= positions[-1]):
            raise ExportError(f"line {number}: event out of log order", position)
        topic = topics.get(row[3])
        if topic is None:
            topic = topics[row[3]] = topic_field(row[3])
        digest = sha256(row[4]).digest()
        leaf = sha256(FIXED_FIELDS.pack(position, row[1], row[2]) + topic + digest).digest()
        mismatch = claimed[0] != digest.hex() or claimed[1] != leaf.hex()
        link = b""
        if nodes:
            link = sha256(previous + leaf).digest()
            mismatch = mismatch or link.hex() != claimed[2]
        elif not mismatch:
            block.first_index, block.first_leaf, block.first_chain = at, leaf, claimed[2]
            try:  # checked by the caller, against the block before, and refused there if not hex
                link = bytes.fromhex(claimed[2])
            except ValueError:
                link = b""
        if mismatch:
            raise ExportError(
                f"position {position}: event does not match its hashes or the chain before it",
                position,
            )
        previous, index = link, at
        positions.append(position)
        nodes.append(sha256(b"\x00" + leaf).digest())
    block.last_chain = previous.hex()


def _blocks(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    block: list[str] = []
    first = 1
    for line in lines:
        block.append(line)
        if len(block) == BLOCK:
            yield first, block
            first += BLOCK
            block = []
    if block:
        yield first, block


def _parsed(lines: Iterable[str]) -> Iterator[Block]:
    """Every line parsed, in order; by two processes for a long export on a machine with two."""
    rest = iter(lines)
    start = list(itertools.islice(rest, PARALLEL_LINES))
    if len(start) < PARALLEL_LINES or (os.cpu_count() or 1) < 2:
        for first, block in _blocks(itertools.chain(start, rest)):
            yield _parse_block(first, block)
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        pending: deque[Future[Block]] = deque()
        for first, block in _blocks(itertools.chain(start, rest)):
            pending.append(pool.submit(_parse_block, first, block))
            if len(pending) > 4:  # bounded read-ahead
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def read_export(lines: Iterable[str]) -> ExportLog:
    """Parse an export strictly and recompute every leaf, chain hash and tree node."""
    log = ExportLog()
    chain = GENESIS.hex()
    for block in _parsed(lines):
        if block.positions:
            first = block.positions[0]
            at = f"line {block.first_line}"
            if log.signed:
                raise ExportError(f"{at}: an event after the signed heads")
            if block.first_index != log.size or (log.size and first <= log.positions[-1]):
                raise ExportError(f"{at}: event out of log order", first)
            link = sha256(bytes.fromhex(chain) + block.first_leaf).hexdigest()
            if link != block.first_chain:
                raise ExportError(
                    f"position {first}: event does not match its hashes or the chain before it",
                    first,
                )
            chain = block.last_chain
            merkle.merge(log.levels, block.first_index, block.levels)
            log.positions.extend(block.positions)
        if block.error is not None:
            raise block.error
        log.signed.extend(block.signed)
    return log
