"""Where Rust's Unigram can differ from SentencePiece: ties between permutations of the same pieces.

SentencePiece scores paths in float32; ``tokenizers`` in float64. When two segmentations of a word use
the same pieces in another order (``66``+``6`` vs ``6``+``66``), the float64 sums are equal and Rust keeps
the first path found, while SentencePiece's float32 rounding decides for its own reasons. Such ties need
two adjacent pieces that commute (both powers of one root string). :meth:`TieDetector.suspects` finds
them in one vectorised pass; the fast tokenizer hands only those rows to SentencePiece itself. Every
other row stays as Rust produced it.
"""

from __future__ import annotations

import numpy as np

from albert_tok.rules._text import SPIECE_UNDERLINE

__all__ = ["TieDetector", "primitive_root"]


def primitive_root(s: str) -> str:
    """The shortest ``r`` with ``s == r * k`` (two strings commute iff they share this root)."""
    n = len(s)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and s[:size] * (n // size) == s:
            return s[:size]
    return s


class TieDetector:
    """Finds adjacent pieces that commute; ``excluded_ids`` (special and unknown tokens) never do.

    Args:
        pieces: The vocabulary in id order. A piece starting with ``▁`` (and an empty one) never commutes:
            the ``▁`` can only begin a word.
        excluded_ids: The ids never to report (special and unknown tokens).
    """

    def __init__(self, pieces: list[str], excluded_ids: frozenset[int]) -> None:
        roots: dict[str, int] = {}
        root_ids = np.full(len(pieces), -1, dtype=np.int64)
        for i, p in enumerate(pieces):
            if i not in excluded_ids and p and not p.startswith(SPIECE_UNDERLINE):
                root_ids[i] = roots.setdefault(primitive_root(p), len(roots))
        self._root_ids = root_ids

    def suspects(self, flat_ids: np.ndarray) -> np.ndarray:
        """Positions ``i`` of a flat id array where ids ``i`` and ``i+1`` commute but differ.

        Args:
            flat_ids: Piece ids, a 1-D int array (the ids of a batch one text after the other); every id must
                be below the vocabulary size given to the constructor.

        Returns:
            The positions, ascending, as an ``int64`` array; empty when fewer than two ids are given. A pair
            spanning the end of one text and the start of the next may be reported too.
        """
        if flat_ids.size < 2:
            return np.zeros(0, dtype=np.int64)
        roots = self._root_ids[flat_ids]
        hit = (roots[:-1] >= 0) & (roots[:-1] == roots[1:]) & (flat_ids[:-1] != flat_ids[1:])
        return np.flatnonzero(hit)
