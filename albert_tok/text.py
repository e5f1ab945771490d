"""ALBERT's text preprocessing: the single definition of every normalisation rule.

The slow tokenizer runs these rules in Python; the fast tokenizer's normaliser is *generated* from the same
character sets (:func:`whitespace_class`, :func:`combining_class`), so both see the same text. The rules
follow Google's ``tokenization.preprocess_text`` as the published checkpoints were trained with, in the
order the Hugging Face SentencePiece tokenizer applies them:

1. with ``do_lower_case``, every character outside special tokens is lower-cased on its own
   (``str.lower`` per character: no final-sigma rule);
2. the text is split on special tokens written in it; ``[MASK]`` eats the whitespace on its left;
3. each remaining chunk: whitespace runs collapse to one space and the ends are stripped
   (``remove_space``), ````` and ``''`` become ``"``, NFKD and combining marks are dropped unless
   ``keep_accents``, then the chunk is lower-cased (``do_lower_case``);
4. SentencePiece (its own ``nmt_nfkc`` normaliser, dummy prefix) and the digit-comma rule.

This module does not tokenize; it only transforms text.
"""

from __future__ import annotations

import functools
import sys
import unicodedata

__all__ = [
    "PYTHON_WHITESPACE",
    "COMBINING_MARKS",
    "lower_per_char",
    "collapse_whitespace",
    "replace_quotes",
    "strip_accents",
    "preprocess_text",
    "whitespace_class",
    "combining_class",
]

# Every character Python's ``str.split()``/``str.strip()`` treat as whitespace. Rust's notion differs
# (U+001C..U+001F are whitespace only in Python), so the fast normaliser uses this explicit set.
PYTHON_WHITESPACE: frozenset[str] = frozenset(
    chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()
)
# Characters with a non-zero canonical combining class (``unicodedata.combining``), as Google's code
# drops them; tokenizers' ``StripAccents`` drops general category M instead, which is not the same set.
COMBINING_MARKS: frozenset[str] = frozenset(
    chr(c) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))
)
_DROP_COMBINING = dict.fromkeys(map(ord, COMBINING_MARKS))


def lower_per_char(text: str) -> str:
    """Lower-case each character on its own, as transformers' ``tokenize`` does before splitting.

    ``str.lower`` of a whole string applies the final-sigma rule; per character it does not. Only a
    capital sigma can make the two differ, so the common case stays one C call.
    """
    if "\u03a3" not in text:
        return text.lower()
    return "".join(c.lower() for c in text)


def collapse_whitespace(text: str) -> str:
    """Collapse whitespace runs to one space and strip both ends (ALBERT's ``remove_space``)."""
    return " ".join(text.split())


def replace_quotes(text: str) -> str:
    """LaTeX-style quotes as in ALBERT's preprocessing: ````` and ``''`` become ``"``."""
    return text.replace("``", '"').replace("''", '"')


def strip_accents(text: str) -> str:
    """NFKD, then drop every character with a non-zero combining class."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_DROP_COMBINING)


def preprocess_text(
    text: str, *, remove_space: bool = True, keep_accents: bool = False, do_lower_case: bool = True
) -> str:
    """ALBERT's per-chunk preprocessing (step 3 of the module docstring)."""
    if remove_space:
        text = collapse_whitespace(text)
    text = replace_quotes(text)
    if not keep_accents:
        text = strip_accents(text)
    if do_lower_case:
        text = text.lower()
    return text


def char_class(chars: frozenset[str], flavor: str = "oniguruma") -> str:
    """A regex character class matching exactly ``chars``, for Oniguruma (Rust ``tokenizers``) or
    Python's ``re`` (``flavor="python"``)."""
    def esc(code: int) -> str:
        return f"\\x{{{code:X}}}" if flavor == "oniguruma" else f"\\U{code:08X}"

    codes = sorted(map(ord, chars))
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], None]:
        if code is not None and code == prev + 1:
            prev = code
            continue
        parts.append(esc(start) if start == prev else f"{esc(start)}-{esc(prev)}")
        if code is not None:
            start = prev = code
    return "[" + "".join(parts) + "]"


@functools.cache
def whitespace_class() -> str:
    """Oniguruma character class of :data:`PYTHON_WHITESPACE`, for the fast normaliser."""
    return char_class(PYTHON_WHITESPACE)


@functools.cache
def combining_class() -> str:
    """Oniguruma character class of :data:`COMBINING_MARKS`, for the fast normaliser."""
    return char_class(COMBINING_MARKS)
