"""One text per call: ``tok("text")``, ``tok(text, pair, return_tensors="pt")``, ``tok.encode(text)``.

The pattern of every ``Dataset.__getitem__``, every unbatched ``datasets.map`` and every request of a server. The
general path (:meth:`albert_tok.api._base.AlbertTokenizerBase.__call__`) is built for batches: validated options
in a dataclass, arrays of lengths, a vectorised fill of padded arrays. On one sentence that set-up costs many
times what SentencePiece takes to encode it, so a call on one str (or one pair of str) with the arguments of
everyday use goes through :func:`one_text_call` instead:

* the arguments are checked by a few comparisons against the values the general path accepts without a warning;
  anything else (an enum member, a bad value, ``max_length`` without ``truncation``, a lone surrogate, words,
  overflowing windows, offsets) returns None, and the general path checks it, warns or raises as it always has;
* the text's ids come as a list from the tokenizer's one-text encoder (:meth:`AlbertTokenizerBase._one_text_ids`:
  SentencePiece on this thread, no arrays), truncated with :func:`albert_tok.rules.truncate_pair`, laid out with
  :func:`albert_tok.rules.build_layout`;
* the fields are lists, or one int64 array whose rows are the fields (``return_tensors="np"``/``"pt"``);
* the token-level answers of the :class:`~albert_tok.BatchEncoding` (``tokens()``, ``word_ids()``,
  ``char_to_token()``...) come from the general path's own rows (:func:`albert_tok.api._batch.build_rows`), built
  the first time one is asked for (:class:`LazyRows`) from what the call captured.

The result is the general path's, field for field and type for type (tests/test_one_text.py compares the two over
texts and argument combinations).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from albert_tok.api._alignment import Alignment
from albert_tok.api._batch import CallOptions, Encoded, Rows, build_rows
from albert_tok.api._encoding import BatchEncoding, import_torch
from albert_tok.api._inputs import Inputs
from albert_tok.rules import (
    MAX_LENGTH_LIMIT,
    PAD_VALUES,
    Offsets,
    Padding,
    Side,
    Truncation,
    build_layout,
    num_special_tokens,
    padded_length,
    truncate_pair,
)

if TYPE_CHECKING:
    from albert_tok.api._base import AlbertTokenizerBase

__all__ = ["ONE_TEXT_KEYWORDS", "LazyRows", "one_text_call"]

# The keyword arguments of __call__ the one-text path takes (encode() passes these on to it; others go the
# general way).
ONE_TEXT_KEYWORDS = frozenset(
    {
        "padding",
        "truncation",
        "max_length",
        "stride",
        "pad_to_multiple_of",
        "padding_side",
        "return_tensors",
        "return_token_type_ids",
        "return_attention_mask",
        "return_special_tokens_mask",
        "return_length",
        "verbose",
    }
)
_PADDINGS = {m.value: m for m in Padding}
_TRUNCATIONS = {m.value: m for m in Truncation}
_SIDES = {m.value: m for m in Side}
_TENSORS = ("np", "pt")
_SPECIAL = (num_special_tokens(False), num_special_tokens(True))
_TYPE_PAD = PAD_VALUES["token_type_ids"]
_MASK_PAD = PAD_VALUES["attention_mask"]
_SPECIAL_PAD = PAD_VALUES["special_tokens_mask"]


class LazyRows:
    """The general path's :class:`~albert_tok.api._batch.Rows` of a one-text call, built on first use.

    Answers what :class:`~albert_tok.api._alignment.Alignment` asks of rows. The rows are built from what the call
    captured (``call``): the tokenizer, the text and pair, their ids before truncation, the settled options
    (``add_special_tokens``, truncation, ``max_length``, truncation side), the special-token ids and the word rule
    (ids that start a word, added tokens) at the time of the call, so that a tokenizer changed afterwards answers
    as the general path's rows would; offsets are encoded again on demand, as the general path's are.
    """

    __slots__ = ("_call", "_rows")

    def __init__(self, call: tuple[Any, ...]) -> None:
        self._call: tuple[Any, ...] | None = call
        self._rows: Rows | None = None

    def _built(self) -> Rows:
        if self._rows is None:
            assert self._call is not None
            tok, text, pair, a, b, add, trunc, max_length, side, cls_id, sep_id, word_start, added = self._call
            options = CallOptions(add_special_tokens=add, truncation=trunc, max_length=max_length, truncation_side=side)
            rows = build_rows(Encoded([a]), None if b is None else Encoded([b]), options, cls_id, sep_id)
            rows.word_rule = (word_start, added)
            rows.offsets_of = tok._offsets_source(Inputs(False, [text], None if pair is None else [pair]))
            self._rows, self._call = rows, None
        return self._rows

    def __len__(self) -> int:
        return 1

    def row_ids(self, row: int) -> list[int]:
        return self._built().row_ids(row)

    def word_ids(self, row: int) -> list[int | None]:
        return self._built().word_ids(row)

    def sequence_ids(self, row: int) -> list[int | None]:
        return self._built().sequence_ids(row)

    def row_offsets(self, row: int) -> Offsets:
        return self._built().row_offsets(row)


def _valid_utf8(text: str) -> bool:
    """No lone surrogate (what :func:`albert_tok.api._inputs.check_texts` refuses) in a non-ASCII text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def one_text_call(
    tok: AlbertTokenizerBase,
    text: str,
    pair: str | None,
    add_special_tokens: Any = True,
    padding: Any = False,
    truncation: Any = None,
    max_length: Any = None,
    stride: Any = 0,
    pad_to_multiple_of: Any = None,
    padding_side: Any = None,
    return_tensors: Any = None,
    return_token_type_ids: Any = None,
    return_attention_mask: Any = None,
    return_special_tokens_mask: Any = False,
    return_length: Any = False,
    verbose: Any = True,
    ids_only: bool = False,
) -> Any:
    """``tok(text, pair, **arguments)`` for one str (and one str ``pair`` or None), or None where the general
    path must make it (see the module docstring); with ``ids_only``, only what the call's ``["input_ids"]`` would
    be (``tok.encode``). Called directly by ``__call__`` or ``encode``: a warning names their caller. The
    arguments come in ``__call__``'s order (it passes them by position: this runs on every call)."""
    # -- the arguments: the values the general path takes as they are, without a warning ----------------------
    if padding is False or padding is None:
        pad = Padding.DO_NOT_PAD
    elif padding is True:
        pad = Padding.LONGEST
    elif type(padding) is str and padding in _PADDINGS:
        pad = _PADDINGS[padding]
    else:
        return None
    if truncation is None:
        if max_length is not None and pad is not Padding.MAX_LENGTH:
            return None  # max_length without truncation: the general path warns, then truncates
        trunc = Truncation.DO_NOT_TRUNCATE
    elif truncation is False:
        trunc = Truncation.DO_NOT_TRUNCATE
    elif truncation is True:
        trunc = Truncation.LONGEST_FIRST
    elif type(truncation) is str and truncation in _TRUNCATIONS:
        trunc = _TRUNCATIONS[truncation]
    else:
        return None
    if padding_side is None:
        side = tok._padding_side
    elif type(padding_side) is str and padding_side in _SIDES:
        side = _SIDES[padding_side]
    else:
        return None
    if (
        (max_length is not None and (type(max_length) is not int or not 1 <= max_length <= MAX_LENGTH_LIMIT))
        or (
            pad_to_multiple_of is not None
            and (type(pad_to_multiple_of) is not int or not 1 <= pad_to_multiple_of <= MAX_LENGTH_LIMIT)
        )
        or type(stride) is not int
        or stride < 0
        or (return_tensors is not None and (type(return_tensors) is not str or return_tensors not in _TENSORS))
        or (not text.isascii() and not _valid_utf8(text))
        or (pair is not None and not pair.isascii() and not _valid_utf8(pair))
    ):
        return None
    add = bool(add_special_tokens)
    n_special = _SPECIAL[pair is not None] if add else 0
    truncating = trunc is not Truncation.DO_NOT_TRUNCATE
    if max_length is None and (truncating or pad is Padding.MAX_LENGTH):
        max_length = tok.model_max_length
    if truncating and max_length < n_special:
        return None  # the general path says why

    # -- the ids -------------------------------------------------------------------------------------------------
    a = tok._one_text_ids(text)
    b = None if pair is None else tok._one_text_ids(pair)
    part_a, part_b = a, b
    len_a = full_a = len(a)
    len_b = full_b = 0 if b is None else len(b)
    truncation_side = tok._truncation_side
    if truncating:
        budget = max_length - n_special
        if b is None:
            if full_a > budget:
                truncate_pair(full_a, None, budget, trunc)  # raises for only_second, as build_rows does
                len_a = budget
        elif full_a + full_b > budget:
            len_a, len_b = truncate_pair(full_a, full_b, budget, trunc)  # type: ignore[assignment]
        if truncation_side is Side.LEFT:
            part_a = a[full_a - len_a :] if len_a != full_a else a
            part_b = b[full_b - len_b :] if b is not None and len_b != full_b else b
        else:
            part_a = a[:len_a] if len_a != full_a else a
            part_b = b[:len_b] if b is not None and len_b != full_b else b
    cls_id = sep_id = 0
    if add:
        cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
        ids = build_layout(part_a, part_b, cls_id, sep_id)
    else:
        ids = part_a + part_b if part_b is not None else list(part_a)
    length = len(ids)
    if not truncating and verbose and length > tok.model_max_length:
        warnings.warn(
            f"Token indices sequence length is longer than the specified maximum sequence "
            f"length for this model ({length} > {tok.model_max_length}). Running this "
            f"sequence through the model will result in indexing errors; pass "
            f"truncation=True.",
            stacklevel=3,
        )

    # -- the fields ---------------------------------------------------------------------------------------------
    padded = pad is not Padding.DO_NOT_PAD
    width = length
    if padded:
        width = max(padded_length(length, pad, max_length, pad_to_multiple_of), length)
    missing = width - length
    left = padded and side is Side.LEFT
    if missing:
        fill = [tok.pad_token_id] * missing
        ids = fill + ids if left else ids + fill
    if ids_only:
        if return_tensors is None:
            return ids
        block = np.array([ids], dtype=np.int64)
        return block if return_tensors == "np" else import_torch().from_numpy(block)
    data: dict[str, Any] = {"input_ids": ids}
    if return_token_type_ids is None or return_token_type_ids:
        if b is None:
            types = [0] * width
        else:
            head = len_a + 2 if add else len_a
            types = _padded([0] * head + [1] * (length - head), _TYPE_PAD, missing, left)
        data["token_type_ids"] = types
    if return_attention_mask is None or return_attention_mask:
        data["attention_mask"] = [1] * length if not missing else _padded([1] * length, _MASK_PAD, missing, left)
    if return_special_tokens_mask:
        special = build_layout([0] * len_a, None if b is None else [0] * len_b, 1, 1) if add else [0] * length
        data["special_tokens_mask"] = _padded(special, _SPECIAL_PAD, missing, left)
    if return_tensors is not None:
        block = np.array(list(data.values()), dtype=np.int64)
        if return_tensors == "pt":
            from_numpy = import_torch().from_numpy
            data = {name: from_numpy(block[k : k + 1]) for k, name in enumerate(data)}
            if return_length:
                data["length"] = from_numpy(np.array([length], dtype=np.int64))
        else:
            data = {name: block[k : k + 1] for k, name in enumerate(data)}
            if return_length:
                data["length"] = np.array([length], dtype=np.int64)
    elif return_length:
        data["length"] = length

    # -- token-level answers, from the general path's rows when asked for ---------------------------------------
    rows = LazyRows(
        (
            tok,
            text,
            pair,
            a,
            b,
            add,
            trunc,
            max_length,
            truncation_side,
            cls_id,
            sep_id,
            tok._word_start_ids,
            tok._added.decoder,
        )
    )
    alignment = Alignment(rows, tok._id_to_token, tok.pad_token)
    alignment.width, alignment.padded, alignment.left = width, padded, left
    return BatchEncoding(data, alignment, 1 if b is None else 2)


def _padded(row: list[int], fill: int, missing: int, left: bool) -> list[int]:
    if not missing:
        return row
    return [fill] * missing + row if left else row + [fill] * missing
