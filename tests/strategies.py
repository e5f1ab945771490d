"""Hypothesis strategies for tokenizer tests: the hard cases of ALBERT tokenization in one place."""

from __future__ import annotations

from hypothesis import strategies as st

_PIECES = [
    # accents and compatibility characters
    "é", "É", "ñ", "ü", "ß", "ﬁ", "①", "Ⅷ", "ǅ", "İ", "Σ", "ΟΔΟΣ", "\u0301", "\u0308", "¨", "´", "café",
    # whitespace runs, NBSP, ideographic space, control and zero-width characters
    " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "\x1c", "\x85", "\u200b", "\u200d",
    "\ufeff", "\x00", "\x07",
    # special tokens written in text
    "[MASK]", " [MASK] ", "[CLS]", "[SEP]", "<unk>", "<pad>", "[mask]",
    # digits with commas, quotes, punctuation, user-defined pieces
    "1,000", "2010,", "9,", "3,14", "666", "bbb", "``", "''", '"', "(", ")", "-", "–", "£", "€", ".", ",",
    "!", "?", "'s", "...",
    # CJK, emoji
    "中文", "日本語", "한국어", "😀", "👍🏽", "🇫🇷",
    # words
    "Hello", "world", "ALBERT", "the", "Paris", "photosynthesis", "don't",
]

text = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=4)), max_size=12
).map("".join)
"""Mixed text: ALBERT's hard cases glued together with arbitrary Unicode."""

plain_text = st.lists(
    st.sampled_from([p for p in _PIECES if p not in ("[MASK]", " [MASK] ", "[CLS]", "[SEP]", "<unk>", "<pad>")]
                    + ["a", "b", "x", "7", " "]),
    max_size=12,
).map("".join)
"""Text without special tokens written in it."""

texts = st.lists(text, min_size=1, max_size=6)
