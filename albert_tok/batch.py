"""One tokenizer call's batch, after encoding: its checked options, its rows, and their padded form.

:class:`albert_tok.base.AlbertTokenizerBase` encodes texts into :class:`Rows` (ids with special tokens,
offsets, the lengths of the two sequences per row); :func:`arrays` pads them into numpy arrays in one
vectorised pass and :func:`format_encoding` returns lists, arrays or tensors as transformers does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .encoding import BatchEncoding, to_tensors
from .offsets import Offsets
from .padding import Padding, Truncation, padded_length
from .special_tokens import build_layout, layout_masks, num_special_tokens

__all__ = ["CallOptions", "Rows", "arrays", "format_encoding", "join"]


@dataclass(frozen=True)
class CallOptions:
    """The checked arguments of one ``__call__`` (what :meth:`AlbertTokenizerBase._check_call` returns)."""

    add_special_tokens: bool = True
    padding: Padding = Padding.DO_NOT_PAD
    truncation: Truncation = Truncation.DO_NOT_TRUNCATE
    max_length: int | None = None  # set whenever truncating or padding to max_length
    pad_to_multiple_of: int | None = None
    return_tensors: str | None = None
    return_token_type_ids: bool = True
    return_attention_mask: bool = True
    return_special_tokens_mask: bool = False
    return_offsets_mapping: bool = False
    return_length: bool = False


@dataclass
class Rows:
    """Encoded rows before padding: ids with special tokens, offsets (when asked for) and the lengths
    of the first and second sequence in each row (after truncation)."""

    input_ids: list[list[int]]
    offsets: list[Offsets] | None
    len_a: np.ndarray
    len_b: np.ndarray | None
    add_special_tokens: bool

    @property
    def lengths(self) -> np.ndarray:
        n_special = num_special_tokens(self.len_b is not None) if self.add_special_tokens else 0
        return self.len_a + n_special + (0 if self.len_b is None else self.len_b)

    def sequence_ids(self, row: int) -> list[int | None]:
        """0 over the first sequence, 1 over the second, None over special tokens (unpadded)."""
        a: list[int | None] = [0] * int(self.len_a[row])
        b: list[int | None] | None = None if self.len_b is None else [1] * int(self.len_b[row])
        if self.add_special_tokens:
            return build_layout(a, b, None, None)
        return a + (b or [])


def join(a: list[Any], b: list[Any] | None, cls: Any, sep: Any, add_special_tokens: bool) -> list[Any]:
    return build_layout(a, b, cls, sep) if add_special_tokens else a + (b or [])


def arrays(rows: Rows, options: CallOptions, pad_id: int) -> tuple[int, dict[str, np.ndarray]]:
    """Step 3: the padded width and the requested fields as ``(rows, width)`` int64 arrays
    (``input_ids`` only when padding or making tensors; unpadded rows keep their lists)."""
    n = len(rows.input_ids)
    lengths = rows.lengths
    longest = int(lengths.max()) if n else 0
    padded = options.padding is not Padding.DO_NOT_PAD and n > 0
    width = longest
    if padded:
        width = max(padded_length(longest, options.padding, options.max_length, options.pad_to_multiple_of), longest)
    if options.return_tensors is not None and not padded and n and int(lengths.min()) != longest:
        raise ValueError(f"cannot make tensors: rows have different lengths ({int(lengths.min())}.."
                         f"{longest}); pass padding=True (or padding='max_length')")
    valid = np.arange(width)[None, :] < lengths[:, None]
    types, special = layout_masks(rows.len_a, rows.len_b, width, options.add_special_tokens)
    out: dict[str, np.ndarray] = {}
    if padded or options.return_tensors is not None:
        ids = np.full((n, width), pad_id, dtype=np.int64)
        ids[valid] = np.fromiter(itertools.chain.from_iterable(rows.input_ids), dtype=np.int64,
                                 count=int(lengths.sum()))
        out["input_ids"] = ids
    if options.return_token_type_ids:
        out["token_type_ids"] = types
    if options.return_attention_mask:
        out["attention_mask"] = valid.astype(np.int64)
    if options.return_special_tokens_mask:
        out["special_tokens_mask"] = special
    return width, out


def format_encoding(rows: Rows, fields: dict[str, np.ndarray], width: int, options: CallOptions,
                    batched: bool) -> BatchEncoding:
    """Step 4: lists, arrays or tensors, one row unwrapped for a single text."""
    n = len(rows.input_ids)
    padded = options.padding is not Padding.DO_NOT_PAD and n > 0
    data: dict[str, Any] = {}
    if options.return_tensors is not None:
        data.update(fields)
    elif padded:
        data.update({name: arr.tolist() for name, arr in fields.items()})
    else:
        lengths = rows.lengths
        data["input_ids"] = rows.input_ids
        for name, arr in fields.items():
            data[name] = [arr[i, :lengths[i]].tolist() for i in range(n)]
    if rows.offsets is not None:
        data["offset_mapping"] = [row + [(0, 0)] * (width - len(row)) for row in rows.offsets] if padded \
            else rows.offsets
    if options.return_length:
        data["length"] = rows.lengths.tolist()
    if not batched:
        data = {name: value[0] for name, value in data.items()}
    return BatchEncoding(to_tensors(data, options.return_tensors, batched))
