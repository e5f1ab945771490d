"""Converting a SentencePiece model into a Rust ``tokenizers.Tokenizer`` that tokenizes canonically.

Where transformers' converter drifts from SentencePiece, this one follows it:

* user-defined pieces (``( ) " - . \u2013 £ €`` (U+2013:
  en dash)) stay inside the Unigram model with SentencePiece's own
  bonus score (``length * max_score - 0.1``), instead of becoming added tokens that split the text;
* ALBERT's preprocessing is generated from :mod:`albert_tok.rules._text` (Python's whitespace set, combining
  classes, quotes, lower-casing), then SentencePiece's ``nmt_nfkc`` charsmap, then SentencePiece's own
  whitespace handling (strip, collapse, dummy prefix only on non-empty text);
* added and special tokens are split from the text before this tokenizer sees it
  (:mod:`albert_tok.api._added_tokens`); a saved ``tokenizer.json`` lists them with their options
  (:func:`register_added_tokens`) for other libraries.

Rust's ``Precompiled`` normaliser looks up whole grapheme clusters shorter than 6 bytes and, when only a
prefix of one has a mapping, drops the rest of the cluster; SentencePiece maps character by character.
Texts that may hold such a cluster are found by :func:`albert_tok.rules._digit_comma.grapheme_risk_pattern` and
encoded by
SentencePiece. The digit-comma rule cannot be expressed in a Unigram model;
:class:`albert_tok.api._fast.AlbertTokenizerFast` applies it after the Rust encoder from
:func:`albert_tok.rules._digit_comma.digit_comma_table`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

from tokenizers import AddedToken as RustAddedToken
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from albert_tok.engines._spm_model import ModelFormatError, PieceType, SentencePieceModel, parse_model
from albert_tok.rules import (
    SPIECE_UNDERLINE,
    AddedToken,
    Preprocessing,
    SpecialTokens,
    class_pattern,
    combining_class,
    grapheme_extenders,
    template_post_processor,
    whitespace_class,
)

__all__ = [
    "build_normalizer",
    "build_tokenizer",
    "hidden_piece",
    "register_added_tokens",
    "sentencepiece_rows_pattern",
    "tokenizer_from_spiece",
    "tokenizer_json_bytes",
    "unicode_table_gaps",
]

_FLT_MIN = 1.1754943508222875e-38  # SentencePiece starts max_score at FLT_MIN


# SentencePiece never segments text into these pieces; the Rust Unigram model matches every piece it holds.
_UNMATCHABLE = (PieceType.UNKNOWN, PieceType.CONTROL, PieceType.UNUSED)


def hidden_piece(piece: str) -> str:
    """The name a piece that text must never match (``<pad>``, ``[CLS]``, ``<unk>``...) takes inside the Rust
    model that encodes text between added tokens: with a leading space, which no pre-tokenized text holds
    (spaces are ``▁`` by then). Its id and score are kept; tokens are named from this package's own list.

    Args:
        piece: The piece's own name, as the ``spiece.model`` holds it.

    Returns:
        ``piece`` with one space in front.
    """
    return " " + piece


def _unigram_vocab(model: SentencePieceModel, hide_unmatchable: bool = False) -> list[tuple[str, float]]:
    normal = [p.score for p in model.pieces if p.type == PieceType.NORMAL]
    max_score = max([_FLT_MIN, *normal])
    vocab = []
    for p in model.pieces:
        score = p.score
        if p.type == PieceType.USER_DEFINED:
            # SentencePiece: "User defined symbol receives extra bonus to always be selected."
            score = len(p.piece) * max_score - 0.1
        name = hidden_piece(p.piece) if hide_unmatchable and p.type in _UNMATCHABLE else p.piece
        vocab.append((name, score))
    return vocab


def build_normalizer(model: SentencePieceModel, preprocessing: Preprocessing) -> normalizers.Normalizer:
    """ALBERT preprocessing then SentencePiece normalisation, as one ``tokenizers`` normaliser."""
    steps: list[normalizers.Normalizer] = []
    if preprocessing.do_lower_case:
        steps.append(normalizers.Lowercase())  # per character, like text.lower_per_char
    if preprocessing.remove_space:
        steps += [normalizers.Replace(Regex(whitespace_class() + "+"), " "), normalizers.Strip()]
    steps += [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
    if not preprocessing.keep_accents:
        steps += [normalizers.NFKD(), normalizers.Replace(Regex(combining_class()), "")]
    if preprocessing.do_lower_case:
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


def build_tokenizer(
    model: SentencePieceModel,
    specials: SpecialTokens,
    preprocessing: Preprocessing | None = None,
    added: Mapping[int, AddedToken] | None = None,
) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` giving SentencePiece's canonical ALBERT ids (before the digit rule).

    Without ``added`` it has no added tokens at all: :class:`albert_tok.api._fast.AlbertTokenizerFast` splits text
    on added tokens itself (:mod:`albert_tok.api._added_tokens`) and gives this tokenizer the text between them,
    which must never match a control or unknown piece (text glued to a ``single_word`` token can spell
    ``<pad>``), so those pieces are renamed (:func:`hidden_piece`). With ``added`` (id -> token, the special
    tokens included) every token is registered with its options and id and every piece keeps its name, for
    a ``tokenizer.json`` that other libraries load.
    """
    vocab = _unigram_vocab(model, hide_unmatchable=added is None)
    tok = Tokenizer(models.Unigram(vocab, model.unk_id, False))
    tok.normalizer = build_normalizer(model, preprocessing or Preprocessing())
    # No piece has an inner "▁", so splitting before each "▁" only bounds the Viterbi lattice.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="never", split=True)
    tok.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="always", split=True)
    if added is not None:
        register_added_tokens(tok, specials, added)
    return tok


def register_added_tokens(tok: Tokenizer, specials: SpecialTokens, added: Mapping[int, AddedToken]) -> None:
    """Register ``added`` (id -> token) on ``tok`` in id order, and the ``[CLS] A [SEP]`` post-processor.

    Raises ``ValueError`` if the Rust tokenizer would give a token another id than ``added`` does (ids
    after the vocabulary must follow it without a gap).

    Args:
        tok: The tokenizer to change in place: each token is added (as a special token when it is one, with its
            ``single_word``, ``lstrip``, ``rstrip`` and ``normalized`` options) and its post-processor replaced.
        specials: The special tokens; its ``cls_token`` and ``sep_token`` frame the post-processor's templates
            (``[CLS] A [SEP]`` and ``[CLS] A [SEP] B [SEP]``).
        added: Every added token, the special tokens included, id -> :class:`~albert_tok.rules.AddedToken`.

    Raises:
        ValueError: When ``tok`` gives a token an id other than its key in ``added`` (a gap or a clash after the
            vocabulary), or when ``specials``' ``cls_token`` or ``sep_token`` is not among ``added``.
    """
    for index, token in sorted(added.items()):
        rust = RustAddedToken(
            token.content,
            single_word=token.single_word,
            lstrip=token.lstrip,
            rstrip=token.rstrip,
            normalized=token.normalized,
            special=token.special,
        )
        if token.special:
            tok.add_special_tokens([rust])
        else:
            tok.add_tokens([rust])
        got = tok.token_to_id(token.content)
        if got != index:
            raise ValueError(
                f"added token {token.content!r} has id {index} but tokenizer.json would give it "
                f"{got}; added ids must follow the vocabulary without a gap"
            )
    ids = {t.content: i for i, t in added.items()}
    for name in ("cls_token", "sep_token"):
        if getattr(specials, name) not in ids:
            raise ValueError(f"{name} {getattr(specials, name)!r} is not a token of the vocabulary")
    tok.post_processor = template_post_processor(
        specials.cls_token, ids[specials.cls_token], specials.sep_token, ids[specials.sep_token]
    )


def tokenizer_from_spiece(
    model_bytes: bytes,
    specials: SpecialTokens,
    preprocessing: Preprocessing,
    source: str = "model_bytes",
    added: Mapping[int, AddedToken] | None = None,
) -> Tokenizer:
    """:func:`build_tokenizer` for serialized ``spiece.model`` bytes; ``source`` names them in errors.

    Args:
        model_bytes: The serialized SentencePiece unigram model.
        specials: The special tokens; their ``[CLS]``/``[SEP]`` frame the post-processor when ``added`` is given.
        preprocessing: ALBERT's preprocessing switches the normaliser is built from.
        source: How error messages name the bytes (a file path, or ``"model_bytes"``, the default).
        added: Every added token, id -> token, for a tokenizer that lists them (a ``tokenizer.json`` for other
            libraries); None (the default) for the tokenizer that only encodes the text between added tokens,
            with the unmatchable pieces renamed by :func:`hidden_piece`.

    Returns:
        The Rust tokenizer giving SentencePiece's canonical ALBERT ids (before the digit-comma rule).

    Raises:
        ValueError: When ``model_bytes`` is not a valid SentencePiece unigram model (the message names
            ``source``), or when ``added`` disagrees with the ids the tokenizer would give (see
            :func:`register_added_tokens`).
    """
    try:
        model = parse_model(model_bytes)
    except ModelFormatError as exc:
        raise ValueError(
            f"{source} is not a valid SentencePiece model ({exc}); expected an ALBERT spiece.model"
        ) from exc
    return build_tokenizer(model, specials, preprocessing, added)


def tokenizer_json_bytes(
    model_bytes: bytes, specials: SpecialTokens, preprocessing: Preprocessing, added: Mapping[int, AddedToken]
) -> bytes:
    """``tokenizer.json`` content for a SentencePiece model, its special and added tokens (id -> token)
    and preprocessing.

    Args:
        model_bytes: The serialized ``spiece.model``.
        specials: The special tokens; ``[CLS]`` and ``[SEP]`` frame the post-processor.
        preprocessing: ALBERT's preprocessing switches the normaliser is built from.
        added: Every added token, the special tokens included, id -> token; each keeps its id and options.

    Returns:
        The tokenizer serialised as pretty-printed JSON, UTF-8 encoded, which ``tokenizers.Tokenizer.from_file``
        and transformers load.

    Raises:
        ValueError: When ``model_bytes`` is not a valid SentencePiece model or ``added`` disagrees with the
            vocabulary's ids (raised by :func:`tokenizer_from_spiece`).
    """
    tok = tokenizer_from_spiece(model_bytes, specials, preprocessing, added=added)
    return tok.to_str(pretty=True).encode("utf-8")


@functools.cache
def unicode_table_gaps() -> frozenset[str]:
    """Characters whose NFKD or lower-case mapping differs between Python's ``unicodedata`` (which the
    canonical tokenizer uses) and the Rust normalisers (built on another Unicode version): U+1FBF0
    SEGMENTED DIGIT ZERO is ``0`` to one and itself to the other. Computed once per process: it scans the
    first four planes of Unicode in Python and runs both Rust normalisers over the candidates."""
    # Only characters Python decomposes, lower-cases, or does not know can differ.
    candidates = [
        c
        for c in map(chr, range(0x40000))
        if not 0xD800 <= ord(c) < 0xE000
        and c != "\n"
        and (unicodedata.decomposition(c) or c.lower() != c or unicodedata.category(c) == "Cn")
    ]
    joined = "\n".join(candidates)  # a newline blocks any interaction between neighbours
    gaps: set[str] = set()
    for rust, python in (
        (normalizers.NFKD(), unicodedata.normalize("NFKD", joined)),
        (normalizers.Lowercase(), joined.lower()),
    ):
        ours = rust.normalize_str(joined).split("\n")
        gaps.update(c for c, a, b in zip(candidates, ours, python.split("\n"), strict=False) if a != b)
    return frozenset(gaps)


@functools.cache
def sentencepiece_rows_pattern() -> re.Pattern[str]:
    """Characters that send a text to SentencePiece itself: grapheme extenders and
    :func:`unicode_table_gaps`."""
    return class_pattern(grapheme_extenders() | unicode_table_gaps())
