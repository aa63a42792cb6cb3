"""An independent RFC 6962 / RFC 9162 §2.1 reference: tree hash and proof checks, by recursion.

Written from the RFC's definitions, sharing no code with `projections.audit`: proofs are
checked by rebuilding the roots along the RFC's own recursion (PATH and SUBPROOF), not by the
bit-twiddling of §2.1.3.2 and §2.1.4.2 that the production code uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from hashlib import sha256


def hash_leaf(data: bytes) -> bytes:
    """MTH of one entry."""
    return sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """An interior node."""
    return sha256(b"\x01" + left + right).digest()


def largest_power_below(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of entries."""
    if not entries:
        return sha256(b"").digest()
    if len(entries) == 1:
        return hash_leaf(entries[0])
    k = largest_power_below(len(entries))
    return hash_children(mth(entries[:k]), mth(entries[k:]))


def inclusion_root(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root the audit path leads to from `leaf` (already hashed); None if it cannot fit."""
    steps = iter(path)

    def walk(m: int, n: int) -> bytes | None:
        if n == 1:
            return leaf
        k = largest_power_below(n)
        below = walk(m, k) if m < k else walk(m - k, n - k)
        sibling = next(steps, None)
        if below is None or sibling is None:
            return None
        return hash_children(below, sibling) if m < k else hash_children(sibling, below)

    if not 0 <= index < size:
        return None
    found = walk(index, size)
    return found if next(steps, None) is None else None


def consistent(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether the proof shows the tree of `first` entries is a prefix of that of `second`."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    steps: Iterator[bytes] = iter(proof)

    def sub(m: int, n: int, whole: bool) -> tuple[bytes, bytes] | None:
        # (root of the old part of this subtree, root of the whole subtree)
        if m == n:
            if whole:
                return first_root, first_root
            node = next(steps, None)
            return None if node is None else (node, node)
        k = largest_power_below(n)
        if m <= k:
            inner = sub(m, k, whole)
            right = next(steps, None)
            if inner is None or right is None:
                return None
            return inner[0], hash_children(inner[1], right)
        inner = sub(m - k, n - k, False)
        left = next(steps, None)
        if inner is None or left is None:
            return None
        return hash_children(left, inner[0]), hash_children(left, inner[1])

    found = sub(first, second, True)
    if found is None or next(steps, None) is not None:
        return False
    return found[0] == first_root and found[1] == second_root
