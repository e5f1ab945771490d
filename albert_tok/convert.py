"""Converting a SentencePiece model into a Rust ``tokenizers.Tokenizer`` that tokenizes canonically.

Where transformers' converter drifts from SentencePiece, this one follows it:

* user-defined pieces (``( ) " - . – £ €``) stay inside the Unigram model with SentencePiece's own
  bonus score (``length * max_score - 0.1``), instead of becoming added tokens that split the text;
* ALBERT's preprocessing is generated from :mod:`albert_tok.text` (Python's whitespace set, combining
  classes, quotes, lower-casing), then SentencePiece's ``nmt_nfkc`` charsmap, then SentencePiece's own
  whitespace handling (strip, collapse, dummy prefix only on non-empty text);
* special tokens are added tokens that are never normalised; ``[MASK]`` strips on its left.

Rust's ``Precompiled`` normaliser looks up whole grapheme clusters shorter than 6 bytes and, when only a
prefix of one has a mapping, drops the rest of the cluster; SentencePiece maps character by character.
Texts that may hold such a cluster are found by :func:`grapheme_risk_pattern` and encoded by SentencePiece.
The digit-comma rule cannot be expressed in a Unigram model; :class:`albert_tok.fast.AlbertTokenizerFast`
applies it after the Rust encoder from :func:`digit_comma_table`.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Callable

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from .special_tokens import SpecialTokens, template_post_processor
from .spm_model import SPIECE_UNDERLINE, PieceType, SentencePieceModel
from .text import char_class, combining_class, whitespace_class

__all__ = ["SPIECE_UNDERLINE", "build_tokenizer", "digit_comma_table", "is_digit_comma_piece",
           "grapheme_risk_pattern"]

_FLT_MIN = 1.1754943508222875e-38  # SentencePiece starts max_score at FLT_MIN


def _unigram_vocab(model: SentencePieceModel) -> list[tuple[str, float]]:
    normal = [p.score for p in model.pieces if p.type == PieceType.NORMAL]
    max_score = max([_FLT_MIN, *normal])
    vocab = []
    for p in model.pieces:
        score = p.score
        if p.type == PieceType.USER_DEFINED:
            # SentencePiece: "User defined symbol receives extra bonus to always be selected."
            score = len(p.piece) * max_score - 0.1
        vocab.append((p.piece, score))
    return vocab


def build_normalizer(model: SentencePieceModel, *, do_lower_case: bool, remove_space: bool,
                     keep_accents: bool) -> normalizers.Normalizer:
    """ALBERT preprocessing then SentencePiece normalisation, as one ``tokenizers`` normaliser."""
    steps: list[normalizers.Normalizer] = []
    if do_lower_case:
        steps.append(normalizers.Lowercase())  # per character, like text.lower_per_char
    if remove_space:
        steps += [normalizers.Replace(Regex(whitespace_class() + "+"), " "), normalizers.Strip()]
    steps += [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
    if not keep_accents:
        steps += [normalizers.NFKD(), normalizers.Replace(Regex(combining_class()), "")]
    if do_lower_case:
        steps.append(normalizers.Lowercase())
    if model.precompiled_charsmap:
        steps.append(normalizers.Precompiled(model.precompiled_charsmap))
    if model.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex("^ +| +$"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    if model.add_dummy_prefix:
        steps.append(normalizers.Prepend(" "))  # Prepend leaves empty text empty, as SentencePiece does
    if model.escape_whitespaces:
        steps.append(normalizers.Replace(" ", SPIECE_UNDERLINE))
    return normalizers.Sequence(steps)


def build_tokenizer(model: SentencePieceModel, specials: SpecialTokens, *, do_lower_case: bool = True,
                    remove_space: bool = True, keep_accents: bool = False) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` giving SentencePiece's canonical ALBERT ids (before the digit rule)."""
    vocab = _unigram_vocab(model)
    tok = Tokenizer(models.Unigram(vocab, model.unk_id, False))
    tok.normalizer = build_normalizer(model, do_lower_case=do_lower_case, remove_space=remove_space,
                                      keep_accents=keep_accents)
    # No piece has an inner "▁", so splitting before each "▁" only bounds the Viterbi lattice.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="never",
                                                 split=True)
    tok.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="always", split=True)
    pieces = {p: i for i, (p, _) in enumerate(vocab)}
    for name in ("cls_token", "sep_token"):
        if getattr(specials, name) not in pieces:
            raise ValueError(f"{name} {getattr(specials, name)!r} is not a piece of the SentencePiece model")
    tok.post_processor = template_post_processor(specials.cls_token, pieces[specials.cls_token],
                                                 specials.sep_token, pieces[specials.sep_token])
    tok.add_special_tokens([
        AddedToken(t, lstrip=specials.lstrip(t), rstrip=False, normalized=False, special=True)
        for t in specials.all_tokens if t in pieces
    ])
    return tok


def is_digit_comma_piece(piece: str) -> bool:
    """The pieces ALBERT re-splits: ending in a comma right after a digit (``▁1,``, ``2010,``)."""
    return len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()


def digit_comma_table(pieces: list[str], encode: Callable[[str], list[int]],
                      piece_to_id: Callable[[str], int]) -> dict[int, tuple[int, ...]]:
    """ALBERT's digit-comma rule, precomputed per piece: ``{piece id: replacement ids}``.

    A piece like ``▁2010,`` is replaced by the encoding of its digits (``encode`` adds the dummy prefix;
    it is dropped again when the piece had none) followed by ``,``. The rule depends only on the piece,
    so one table serves every text.
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


@functools.cache
def grapheme_risk_pattern() -> "re.Pattern[str]":
    """Characters that extend a grapheme cluster (marks, joiners, variation selectors, emoji modifiers,
    regional indicators, Hangul jamo, CR): a text without them has only single-character clusters
    (or ones that Rust's ``Precompiled`` handles as SentencePiece does)."""
    extenders = {chr(c) for c in range(sys.maxunicode + 1)
                 if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")}
    extenders |= {"\u200c", "\u200d", "\r"}
    extenders |= {chr(c) for c in (*range(0x1F3FB, 0x1F400), *range(0x1F1E6, 0x1F200),
                                   *range(0x1100, 0x1200), *range(0xA960, 0xA980), *range(0xD7B0, 0xD800))}
    return re.compile(char_class(frozenset(extenders), "python"))
