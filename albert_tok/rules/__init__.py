"""The rules of ALBERT tokenization, each defined once and shared by both tokenizers.

Pure definitions with no engine behind them: ALBERT's text preprocessing (:class:`Preprocessing`), the
digit-comma rule a Rust Unigram model cannot express, the ``[CLS] A [SEP] (B [SEP])`` layout with its masks
and token types (:class:`SpecialTokens`), padding and truncation, the offset contract, how SentencePiece and
Rust break score ties, and what an added token is (:class:`AddedToken`). Imports nothing above it.
"""

from albert_tok.rules._added_token import AddedToken
from albert_tok.rules._digit_comma import (
    DigitCommaArrays,
    deleted_controls_pattern,
    digit_comma_table,
    grapheme_extenders,
)
from albert_tok.rules._offsets import Offsets, normaliser_predicates, remap_offsets, settle_offsets, space_pieces
from albert_tok.rules._padding import (
    MAX_LENGTH_LIMIT,
    PAD_VALUES,
    Padding,
    Side,
    Truncation,
    check_length,
    pad_batch,
    padded_length,
    resolve_padding,
    resolve_side,
    resolve_truncation,
    truncate_pair,
    windows,
)
from albert_tok.rules._special_tokens import (
    PAIR_LAYOUT,
    SINGLE_LAYOUT,
    SpecialTokens,
    build_inputs,
    build_layout,
    layout_masks,
    num_special_tokens,
    special_tokens_mask,
    template_post_processor,
    token_type_ids,
)
from albert_tok.rules._text import (
    PYTHON_WHITESPACE,
    SPIECE_UNDERLINE,
    Preprocessing,
    class_pattern,
    combining_class,
    lower_per_char,
    whitespace_class,
)
from albert_tok.rules._unigram import TieDetector

__all__ = [
    "MAX_LENGTH_LIMIT",
    "PAD_VALUES",
    "PAIR_LAYOUT",
    "PYTHON_WHITESPACE",
    "SINGLE_LAYOUT",
    "SPIECE_UNDERLINE",
    "AddedToken",
    "DigitCommaArrays",
    "Offsets",
    "Padding",
    "Preprocessing",
    "Side",
    "SpecialTokens",
    "TieDetector",
    "Truncation",
    "build_inputs",
    "build_layout",
    "check_length",
    "class_pattern",
    "combining_class",
    "deleted_controls_pattern",
    "digit_comma_table",
    "grapheme_extenders",
    "layout_masks",
    "lower_per_char",
    "normaliser_predicates",
    "num_special_tokens",
    "pad_batch",
    "padded_length",
    "remap_offsets",
    "resolve_padding",
    "resolve_side",
    "resolve_truncation",
    "settle_offsets",
    "space_pieces",
    "special_tokens_mask",
    "template_post_processor",
    "token_type_ids",
    "truncate_pair",
    "whitespace_class",
    "windows",
]
