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

from .spm_model import SPIECE_UNDERLINE
from .text import class_pattern

__all__ = ["DigitCommaArrays", "deleted_controls_pattern", "digit_comma_table", "grapheme_extenders",
           "grapheme_risk_pattern", "is_digit_comma_piece"]


def is_digit_comma_piece(piece: str) -> bool:
    """The pieces ALBERT re-splits: ending in a comma right after a digit (``▁1,``, ``2010,``)."""
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def digit_comma_table(pieces: list[str], encode: Callable[[str], list[int]],
                      piece_to_id: Callable[[str], int]) -> dict[int, tuple[int, ...]]:
    """ALBERT's digit-comma rule, precomputed per piece: ``{piece id: replacement ids}``.

    A piece like ``▁2010,`` is replaced by the encoding of its digits (``encode`` adds the dummy prefix;
    it is dropped again when the piece had none) followed by ``,``. The replacement pieces always join
    back into the original piece. The rule depends only on the piece, so one table serves every text.
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
        table[pid] = tuple(piece_to_id(p) for p in cur) + (piece_to_id(piece[-1]),)
    return table


class DigitCommaArrays:
    """:func:`digit_comma_table` as arrays, to apply the rule to a whole batch of ids in a few numpy steps."""

    def __init__(self, table: dict[int, tuple[int, ...]], vocab_size: int) -> None:
        if 0 in table:
            raise ValueError("id 0 cannot be a digit-comma piece")  # it stands in for added tokens in apply
        self.size = np.ones(vocab_size, dtype=np.int64)  # ids each id becomes
        self.start = np.arange(vocab_size, dtype=np.int64)  # where they are in values
        extra: list[int] = []
        for pid, replacement in sorted(table.items()):
            self.size[pid] = len(replacement)
            self.start[pid] = vocab_size + len(extra)
            extra.extend(replacement)
        # An id outside the table stands for itself: values[id] == id.
        self.values = np.concatenate([np.arange(vocab_size, dtype=np.int64), np.asarray(extra, dtype=np.int64)])
        self.any = bool(table)

    def apply(self, flat: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rule on ``flat`` (the ids of texts of ``lengths`` one after the other): the new flat ids and
        lengths, or the same arrays when no id is re-split."""
        if not self.any or not flat.size:
            return flat, lengths
        beyond = flat >= len(self.size)  # added tokens: never re-split (looked up as id 0)
        safe = np.where(beyond, 0, flat) if beyond.any() else flat
        sizes = self.size[safe]
        hits = np.flatnonzero(sizes != 1)
        if not hits.size:
            return flat, lengths
        ends = np.cumsum(sizes)
        out = np.repeat(flat, sizes)  # right but where a piece is re-split: those few places are written next
        grown = sizes[hits]
        within = np.arange(int(grown.sum())) - np.repeat(np.cumsum(grown) - grown, grown)
        out[np.repeat(ends[hits] - grown, grown) + within] = self.values[np.repeat(self.start[flat[hits]], grown) + within]
        bounds = np.concatenate([[0], ends])
        text_ends = np.cumsum(lengths)
        return out, bounds[text_ends] - bounds[text_ends - lengths]


@functools.cache
def grapheme_extenders() -> frozenset[str]:
    """Characters that extend a grapheme cluster (marks, joiners, variation selectors, emoji modifiers,
    regional indicators, Hangul jamo, CR): a text without them has only single-character clusters
    (or ones that Rust's ``Precompiled`` handles as SentencePiece does)."""
    extenders = {chr(c) for c in range(sys.maxunicode + 1)
                 if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")}
    extenders |= {"\u200c", "\u200d", "\r"}
    extenders |= {chr(c) for c in (*range(0x1F3FB, 0x1F400), *range(0x1F1E6, 0x1F200),
                                   *range(0x1100, 0x1200), *range(0xA960, 0xA980), *range(0xD7B0, 0xD800))}
    return frozenset(extenders)


@functools.cache
def grapheme_risk_pattern() -> re.Pattern[str]:
    """A regex finding any of :func:`grapheme_extenders`."""
    return class_pattern(grapheme_extenders())


@functools.cache
def deleted_controls_pattern() -> re.Pattern[str]:
    """Control and format characters that are not whitespace (``\\x1b``, U+200E...): normalisers delete
    most of them, and Rust's alignments shift after a deleted one at the start of a text (``\\x1bu`` gets
    ``▁u`` at (0, 1)), so rows holding one take their offsets from SentencePiece."""
    chars = {chr(c) for c in range(sys.maxunicode + 1)
             if unicodedata.category(chr(c)) in ("Cc", "Cf") and not chr(c).isspace()}
    return class_pattern(frozenset(chars))
