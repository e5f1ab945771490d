"""SentencePiece behaviours that a Rust Unigram model cannot express, as pure rules over pieces and text.

Both tokenizers read these; none of them needs the Rust ``tokenizers`` library, so the slow tokenizer
loads and encodes without importing it.

* the digit-comma rule: ALBERT re-splits a piece ending in a comma right after a digit (``▁2010,`` ->
  ``▁2010`` ``,``); :func:`digit_comma_table` precomputes it per piece, :class:`DigitCommaArrays` applies it
  to a whole batch;
* grapheme clusters: Rust's ``Precompiled`` normaliser maps short clusters as a whole where SentencePiece
  maps character by character; :func:`grapheme_risk_pattern` finds the texts that may hold one.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable

import numpy as np

from albert_tok.rules._text import SPIECE_UNDERLINE, class_pattern

__all__ = [
    "DigitCommaArrays",
    "deleted_controls_pattern",
    "digit_comma_table",
    "grapheme_extenders",
    "grapheme_risk_pattern",
    "is_digit_comma_piece",
]


def is_digit_comma_piece(piece: str) -> bool:
    """The pieces ALBERT re-splits: ending in a comma right after a digit (``▁1,``, ``2010,``)."""
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def digit_comma_table(
    pieces: list[str], encode: Callable[[str], list[int]], piece_to_id: Callable[[str], int]
) -> dict[int, tuple[int, ...]]:
    """ALBERT's digit-comma rule, precomputed per piece: ``{piece id: replacement ids}``.

    A piece like ``▁2010,`` is replaced by the encoding of its digits (``encode`` adds the dummy prefix;
    it is dropped again when the piece had none) followed by ``,``. The replacement pieces always join
    back into the original piece. The rule depends only on the piece, so one table serves every text.

    Args:
        pieces: The vocabulary in id order.
        encode: Encodes a text into piece ids with the tokenizer's own model and normalisation, adding the
            dummy prefix (SentencePiece's ``encode``).
        piece_to_id: The id of a piece of the vocabulary (the comma and each piece ``encode`` yields).

    Returns:
        A new dict from the id of each piece ending in a comma right after a digit to the ids that replace it,
        the comma's id last; pieces the rule leaves alone are absent.
    """
    table: dict[int, tuple[int, ...]] = {}
    for pid, piece in enumerate(pieces):
        if not is_digit_comma_piece(piece):
            continue
        cur = [pieces[i] for i in encode(piece[:-1].replace(SPIECE_UNDERLINE, ""))]
        if piece[0] != SPIECE_UNDERLINE and cur and cur[0][0] == SPIECE_UNDERLINE:
            if len(cur[0]) == 1:
                cur = cur[1:]
            else:
                cur[0] = cur[0][1:]
        table[pid] = (*tuple(piece_to_id(p) for p in cur), piece_to_id(piece[-1]))
    return table


class DigitCommaArrays:
    """:func:`digit_comma_table` as arrays, to apply the rule to a whole batch of ids in a few numpy steps.

    Args:
        table: The table :func:`digit_comma_table` built for this vocabulary, piece id -> replacement ids.
        vocab_size: The number of pieces in the vocabulary; ids at or above it (added tokens) are never
            re-split.
    """

    def __init__(self, table: dict[int, tuple[int, ...]], vocab_size: int) -> None:
        # whether an id is re-split; one entry more, False, for every id beyond the vocabulary (added tokens,
        # which are never re-split: np.take clips them to it)
        self.resplit = np.zeros(vocab_size + 1, dtype=bool)
        self.size = np.ones(vocab_size, dtype=np.int64)  # ids each id becomes
        self.start = np.zeros(vocab_size, dtype=np.int64)  # where they are in values
        values: list[int] = []
        for pid, replacement in sorted(table.items()):
            self.resplit[pid] = True
            self.size[pid] = len(replacement)
            self.start[pid] = len(values)
            values.extend(replacement)
        self.values = np.asarray(values, dtype=np.int64)
        self.any = bool(table)

    def apply(self, flat: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rule on ``flat`` (the ids of texts of ``lengths`` one after the other): the new flat ids and
        lengths, or the same arrays when no id is re-split. Re-split pieces are rare (a number glued to a
        comma), so only the places they are at are touched: one lookup over the batch, then one insert.

        Args:
            flat: The ids of every text of the batch, one text after the other, a 1-D int array (not changed).
            lengths: How many ids each text has in ``flat``, in order; a 1-D int array summing to ``flat``'s
                length (not changed).

        Returns:
            ``(ids, lengths)``: the ids with each re-split piece replaced by its replacement ids, and each
            text's new length (``lengths``' dtype); ``flat`` and ``lengths`` themselves when nothing changes.
        """
        if not self.any or not flat.size:
            return flat, lengths
        hits = np.flatnonzero(np.take(self.resplit, flat, mode="clip"))
        if not hits.size:
            return flat, lengths
        hit_ids = flat[hits]
        grown = self.size[hit_ids] - 1  # ids each hit adds after its first
        first = self.values[self.start[hit_ids]]
        # the ids after the first of each replacement, in order
        within = np.arange(int(grown.sum())) - np.repeat(np.cumsum(grown) - grown, grown)
        rest = self.values[np.repeat(self.start[hit_ids] + 1, grown) + within]
        out = np.insert(flat, np.repeat(hits + 1, grown), rest)
        out[hits + np.cumsum(grown) - grown] = first  # where each hit is after the ids added before it
        text = np.searchsorted(np.cumsum(lengths), hits, side="right")
        return out, lengths + np.bincount(text, weights=grown, minlength=len(lengths)).astype(lengths.dtype)


@functools.cache
def grapheme_extenders() -> frozenset[str]:
    """Characters that extend a grapheme cluster (marks, joiners, variation selectors, emoji modifiers,
    regional indicators, Hangul jamo, CR): a text without them has only single-character clusters
    (or ones that Rust's ``Precompiled`` handles as SentencePiece does)."""
    extenders = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")}
    extenders |= {"\u200c", "\u200d", "\r"}
    extenders |= {
        chr(c)
        for c in (
            *range(0x1F3FB, 0x1F400),
            *range(0x1F1E6, 0x1F200),
            *range(0x1100, 0x1200),
            *range(0xA960, 0xA980),
            *range(0xD7B0, 0xD800),
        )
    }
    return frozenset(extenders)


@functools.cache
def grapheme_risk_pattern() -> re.Pattern[str]:
    """A regex finding any of :func:`grapheme_extenders`."""
    return class_pattern(grapheme_extenders())


@functools.cache
def deleted_controls_pattern(whitespace_too: bool = False) -> re.Pattern[str]:
    """Control and format characters that are not whitespace (``\\x1b``, U+200E...): normalisers delete
    most of them, and Rust's alignments shift after a deleted one at the start of a text (``\\x1bu`` gets
    ``▁u`` at (0, 1)), so rows holding one take their offsets from SentencePiece. ``whitespace_too``: the
    whitespace controls as well, for a tokenizer whose preprocessing keeps whitespace (``remove_space``
    off): the charsmap then sees them, and deletes ``\\x1c``-``\\x1f`` (``\\x1c[`` gets ``▁[`` at (0, 1))."""
    chars = {
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cc", "Cf") and (whitespace_too or not chr(c).isspace())
    }
    return class_pattern(frozenset(chars))
