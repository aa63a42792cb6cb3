"""RFC 6962 / RFC 9162 §2.1 Merkle tree: tree hash, compact ranges, proofs and their checks.

Proofs are assembled from complete subtrees (a node at `level` and `index` covers leaves
`index * 2**level` up to `(index + 1) * 2**level`): every hash a proof needs is the root of
an aligned range, which splits into O(log n) complete subtrees. So a store that keeps the
complete subtrees answers any proof with O(log n) node reads, without rehashing the log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256

#: The root of the empty tree: SHA-256 of the empty string.
EMPTY_ROOT = sha256(b"").digest()

#: A complete subtree: (level, index).
Node = tuple[int, int]
#: A range of leaves [start, end).
Span = tuple[int, int]


def leaf_hash(leaf: bytes) -> bytes:
    """The tree's hash of one leaf: SHA-256(0x00 ‖ leaf)."""
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two strictly below `size` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def subtrees(start: int, end: int) -> list[Node]:
    """The complete subtrees that make up leaves [start, end), left to right."""
    found: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        found.append((level, start >> level))
        start += 1 << level
    return found


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of consecutive subtrees, largest first (the tree hash of an aligned range)."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of leaves (a reference, O(n))."""
    tree = CompactRange()
    for leaf in leaves:
        tree.append(leaf_hash(leaf))
    return tree.root()


class CompactRange:
    """The roots of the complete subtrees covering leaves [0, size): enough to extend the tree."""

    __slots__ = ("nodes", "size")

    def __init__(self) -> None:
        self.size = 0
        self.nodes: list[bytes] = []

    def append(self, hashed: bytes) -> list[tuple[int, int, bytes]]:
        """Add a hashed leaf; the complete subtrees it finished, as (level, index, hash)."""
        index = self.size
        made = [(0, index, hashed)]
        level = 0
        carry = index
        while carry & 1:
            hashed = node_hash(self.nodes.pop(), hashed)
            level += 1
            carry >>= 1
            made.append((level, index >> level, hashed))
        self.nodes.append(hashed)
        self.size = index + 1
        return made

    def root(self) -> bytes:
        """The tree hash of the leaves so far."""
        return fold(self.nodes)


# -- proofs ------------------------------------------------------------------------------------


def inclusion_spans(index: int, size: int) -> list[Span]:
    """The ranges whose tree hashes form a leaf's audit path (RFC 9162 §2.1.3.1), deepest first."""
    if not 0 <= index < size:
        raise ValueError("the leaf index must be below the tree size")
    path: list[Span] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def consistency_spans(first: int, second: int) -> list[Span]:
    """The ranges whose tree hashes form a consistency proof (RFC 9162 §2.1.4.1), deepest first."""
    if not 0 <= first <= second:
        raise ValueError("need 0 <= first <= second")
    if first in (0, second):
        return []
    proof: list[Span] = []
    start, end, m, whole = 0, second, first, True
    while end - start != m:
        k = split(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        proof.append((start, end))
    return proof[::-1]


def nodes_of(spans: Sequence[Span]) -> set[Node]:
    """Every complete subtree the spans need."""
    return {node for start, end in spans for node in subtrees(start, end)}


def span_hashes(spans: Sequence[Span], lookup: Callable[[Node], bytes]) -> list[bytes]:
    """The tree hash of each span from its complete subtrees."""
    return [fold([lookup(node) for node in subtrees(start, end)]) for start, end in spans]


# -- checking proofs (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------


def root_from_inclusion(index: int, size: int, hashed_leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an audit path leads to; ValueError if the path cannot be one for this tree."""
    if not 0 <= index < size:
        raise ValueError("leaf index out of range")
    fn, sn, result = index, size - 1, hashed_leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("audit path too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("audit path too short")
    return result


def verify_inclusion(
    index: int, size: int, hashed_leaf: bytes, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether the audit path proves the leaf at `index` in the tree of `size` with this root."""
    try:
        return root_from_inclusion(index, size, hashed_leaf, path) == expected_root
    except ValueError:
        return False


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether the proof shows the tree of `first` leaves is a prefix of the one of `second`."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for step in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(step, fr)
            sr = node_hash(step, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, step)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# -- every complete subtree of a log read in consecutive pieces --------------------------------


def piece_levels(start: int, hashed: list[bytes]) -> list[bytes]:
    """The complete subtrees inside leaves [start, start + len(hashed)), each level joined.

    Level 0 is the hashed leaves themselves; a level's first node is the first whose leaves
    all lie in the piece (the one across its left edge needs the piece before: see `merge`).
    """
    levels = [b"".join(hashed)]
    nodes, first = hashed, start
    while len(nodes) > 1:
        if first & 1:  # its sibling is in the piece before
            nodes, first = nodes[1:], first + 1
        pairs = zip(nodes[::2], nodes[1::2], strict=False)  # an odd last one waits for the next
        nodes = [sha256(b"\x01" + a + b).digest() for a, b in pairs]
        first >>= 1
        levels.append(b"".join(nodes))
    return levels


def merge(levels: list[bytearray], start: int, piece: list[bytes]) -> None:
    """Extend every level (joined hashes from leaf 0) by a piece's levels from `piece_levels`.

    The nodes across the piece's left edge are hashed here, from the levels below them.
    """
    end = start + len(piece[0]) // 32
    levels[0] += piece[0]
    for level in range(1, end.bit_length()):
        if level == len(levels):
            levels.append(bytearray())
        index = start >> level
        if index << level != start and index < end >> level:
            below = levels[level - 1]
            levels[level] += sha256(b"\x01" + below[64 * index : 64 * index + 64]).digest()
        if level < len(piece):
            levels[level] += piece[level]
