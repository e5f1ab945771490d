"""Hypothesis strategies for tokenizer tests: the hard cases of ALBERT tokenization in one place."""

from __future__ import annotations

import functools
from pathlib import Path

from hypothesis import strategies as st

from albert_tok.engines._spm_model import PieceType, parse_model
from albert_tok.rules._text import SPIECE_UNDERLINE
from albert_tok.rules._unigram import primitive_root

SPIECE = Path(__file__).resolve().parent.parent / "fixtures" / "spiece.model"

_PIECES = [
    # accents and compatibility characters
    "é",
    "É",
    "ñ",
    "ü",
    "ß",
    "ﬁ",
    "①",
    "Ⅷ",
    "ǅ",
    "İ",
    "Σ",
    "ΟΔΟΣ",
    "\u0301",
    "\u0308",
    "¨",
    "´",
    "café",
    # whitespace runs, NBSP, ideographic space, control and zero-width characters
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\u00a0",
    "\u3000",
    "\u2009",
    "\x1c",
    "\x85",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\x00",
    "\x07",
    # special tokens written in text, and in other cases (lower-casing can turn "<UNK>" into one)
    "[MASK]",
    " [MASK] ",
    "[CLS]",
    "[SEP]",
    "<unk>",
    "<pad>",
    "[mask]",
    "<UNK>",
    "<Pad>",
    "[Mask]",
    "[cls]",
    # digits with commas, quotes, punctuation, user-defined pieces
    "1,000",
    "2010,",
    "9,",
    "3,14",
    "666",
    "bbb",
    "``",
    "''",
    '"',
    "(",
    ")",
    "-",
    "–",
    "£",
    "€",
    ".",
    ",",
    "!",
    "?",
    "'s",
    "...",
    # CJK, emoji
    "中文",
    "日本語",
    "한국어",
    "😀",
    "👍🏽",
    "🇫🇷",
    # words
    "Hello",
    "world",
    "ALBERT",
    "the",
    "Paris",
    "photosynthesis",
    "don't",
]
_SPECIAL_WRITTEN = ("[MASK]", " [MASK] ", "[CLS]", "[SEP]", "<unk>", "<pad>", "<UNK>", "<Pad>", "[Mask]", "[cls]")

numbers = st.from_regex(r"\d{1,7}(,\d{1,3}){0,3},?", fullmatch=True)
"""Numbers for the digit-comma rule (``\\d`` includes non-ASCII digits)."""

# Characters that extend a grapheme cluster: combining marks, joiners, variation selectors, emoji
# modifiers, Hangul jamo, virama clusters.
EXTENDERS = [
    "\u0301",
    "\u0308",
    "\u034f",
    "\u0327",
    "\u200d",
    "\u200c",
    "\ufe0f",
    "\ufe0e",
    "\U000e0100",
    "\U0001f3fd",
    "\u094d",
    "\u0bcd",
    "\u1161",
    "\u11a8",
    "\u3099",
]
grapheme_clusters = st.lists(
    st.sampled_from(
        [
            "क्ष",
            "श्र",
            "த்",
            "각",
            "\u1100\u1161\u11a8",
            "\u1100\u1161",
            "👩\u200d💻",
            "❤\ufe0f",
            "☺\ufe0e",
            "🇫🇷",
            "👍🏽",
            "e\u0301",
            "a\u0308\u0301",
            "\u0915\u094d\u200d",
            "が",
            "か\u3099",
            " ",
            "x",
            "1,",
            *EXTENDERS,
        ]
    ),
    max_size=10,
).map("".join)
"""Grapheme clusters Rust's normaliser and SentencePiece may see differently."""

replacement_then_extenders = st.lists(
    st.tuples(
        st.sampled_from(["\ufffd", "\ue000", "\uf8ff", "\U000f0000", "\U0010fffd", "x", " ", "[MASK]"]),
        st.lists(st.sampled_from(EXTENDERS), max_size=3).map("".join),
    ).map("".join),
    min_size=1,
    max_size=6,
).map("".join)
"""Replacement and private-use characters followed by marks, joiners and variation selectors (#8.3)."""


@functools.cache
def vocabulary() -> tuple[str, ...]:
    """The normal pieces of the fixture vocabulary."""
    model = parse_model(SPIECE.read_bytes())
    return tuple(p.piece for p in model.pieces if p.type == PieceType.NORMAL)


@functools.cache
def _commuting() -> tuple[str, ...]:
    """Pieces that share their primitive root with another piece (``6``, ``66``, ``666``...): tie cases."""
    by_root: dict[str, set[str]] = {}
    for piece in vocabulary():
        word = piece.lstrip(SPIECE_UNDERLINE)
        if word:
            by_root.setdefault(primitive_root(word), set()).add(word)
    return tuple(sorted({w for group in by_root.values() if len(group) > 1 for w in group}))


vocabulary_text = st.lists(
    st.one_of(
        st.sampled_from(vocabulary()).map(lambda p: p.replace(SPIECE_UNDERLINE, " ")), st.sampled_from(_commuting())
    ),
    min_size=1,
    max_size=12,
).map("".join)
"""Concatenations of real vocabulary pieces, and of pieces that commute (``66`` + ``6``)."""

long_text = st.one_of(
    st.tuples(st.sampled_from(["word", "x", "66", "1,000", "é", "中", " [MASK]", "ab"]), st.integers(400, 700)).map(
        lambda t: " ".join([t[0]] * t[1])
    ),
    st.tuples(st.sampled_from(["a", "6", "-", "ab"]), st.integers(500, 1500)).map(lambda t: t[0] * t[1]),
    st.lists(st.sampled_from(_PIECES), min_size=250, max_size=400).map(" ".join),
)
"""Texts near and over 512 tokens, and long repeats of one character or piece."""

text = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=4), numbers, grapheme_clusters), max_size=12).map(
    "".join
)
"""Mixed text: ALBERT's hard cases glued together with arbitrary Unicode."""

plain_text = st.lists(
    st.sampled_from([p for p in _PIECES if p not in _SPECIAL_WRITTEN] + ["a", "b", "x", "7", " "]),
    max_size=12,
).map("".join)
"""Text without special tokens written in it."""

_ASCII_PIECES = [p for p in _PIECES if p.isascii() and p.isprintable()] + ["   ", " x ", "A", "7,", ",5"]
ascii_text = st.lists(
    st.one_of(
        st.sampled_from(_ASCII_PIECES),
        st.from_regex(r"[0-9]{1,7}(,[0-9]{1,3}){0,3},?", fullmatch=True),
        st.sampled_from([p for p in _commuting() if p.isascii()]),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=4),
    ),
    max_size=12,
).map("".join)
"""Printable ASCII text (most lines of most corpora): words, runs of spaces, quotes, digit commas, commuting
pieces, special tokens written in text."""

any_text = st.one_of(text, vocabulary_text, grapheme_clusters, replacement_then_extenders, numbers)
"""Every kind of short text above."""

texts = st.lists(text, min_size=1, max_size=6)


# -- added tokens ------------------------------------------------------------------------------------
ADDED_TOKENS: tuple[tuple[str, dict[str, bool]], ...] = (
    ("new_tok", {}),  # a new id
    ("Hello", {}),  # normalized: stored lower-cased, a piece already
    ("<ent>", {"lstrip": True, "rstrip": True}),  # swallows whitespace on both sides
    ("ab", {}),  # inside words ("abc", "tab")
    ("x y", {}),  # holds a space
    ("[E]", {"single_word": True}),  # not a token where glued to text
    ("\u2581the", {}),  # a piece of the vocabulary, written with its "▁"
    ("WORLD", {"normalized": False}),  # not lower-cased: never matches a lower-cased text
    ("é", {}),  # an accent, NFKD-stripped in the text around it
    ("1,", {"rstrip": True}),  # a digit-comma piece
)
"""Tokens :func:`add_test_tokens` adds with ``add_tokens`` (content, AddedToken options)."""
ADDED_SPECIAL_TOKENS: tuple[tuple[str, dict[str, bool]], ...] = (
    ("<e1>", {}),
    ("</E1>", {"single_word": True}),
    ("[ent]", {"lstrip": True}),
)
"""Tokens :func:`add_test_tokens` adds as ``additional_special_tokens``."""


def add_test_tokens(tok, token_type=None):
    """Add :data:`ADDED_TOKENS` and :data:`ADDED_SPECIAL_TOKENS` to ``tok`` (ours or transformers'); options
    are passed as ``token_type`` objects (default: albert_tok.AddedToken). Returns ``tok``."""
    if token_type is None:
        from albert_tok import AddedToken as token_type
    tok.add_tokens([token_type(c, **o) if o else c for c, o in ADDED_TOKENS])
    tok.add_special_tokens(
        {"additional_special_tokens": [token_type(c, **o) if o else c for c, o in ADDED_SPECIAL_TOKENS]}
    )
    return tok


_ADDED_CONTENTS = [c for c, _ in ADDED_TOKENS + ADDED_SPECIAL_TOKENS]
added_token_text = st.lists(
    st.one_of(
        st.sampled_from(_ADDED_CONTENTS),
        st.sampled_from(_ADDED_CONTENTS).map(str.upper),
        st.sampled_from(_ADDED_CONTENTS).map(str.lower),
        st.tuples(
            st.sampled_from(["", " ", "  ", "\t", "x", "İ"]),
            st.sampled_from(_ADDED_CONTENTS),
            st.sampled_from(["", " ", "\n", "y", "s"]),
        ).map("".join),
        st.sampled_from(_PIECES),
        st.text(max_size=3),
    ),
    max_size=10,
).map("".join)
"""Text mixing :data:`ADDED_TOKENS` (in other cases, glued to text, between whitespace) with hard cases."""
