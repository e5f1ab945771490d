"""One tokenizer call's batch, after encoding: its checked options, its rows, and their padded form.

:class:`albert_tok.api._base.AlbertTokenizerBase` encodes texts into :class:`Encoded` sequences; :func:`build_rows`
truncates them (or cuts them into overlapping windows, ``return_overflowing_tokens``) and adds special tokens,
giving :class:`Rows`; :func:`arrays` pads the rows into numpy arrays in one vectorised pass, computing only
the fields that were asked for; :func:`format_encoding` returns lists, arrays or tensors as transformers does,
with the token-level information (word ids, sequence ids, offsets) attached to the :class:`BatchEncoding`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from albert_tok.api._alignment import Alignment, word_ids_of
from albert_tok.api._encoding import BatchEncoding, to_tensors
from albert_tok.rules import (
    PAIR_LAYOUT,
    SINGLE_LAYOUT,
    Offsets,
    Padding,
    Side,
    Truncation,
    build_layout,
    layout_masks,
    num_special_tokens,
    padded_length,
    truncate_pair,
    windows,
)

__all__ = ["CallOptions", "Encoded", "Rows", "arrays", "build_rows", "format_encoding", "join"]

T = TypeVar("T")


@dataclass(frozen=True)
class CallOptions:
    """The checked arguments of one ``__call__`` (what :meth:`AlbertTokenizerBase._check_call` returns)."""

    add_special_tokens: bool = True
    padding: Padding = Padding.DO_NOT_PAD
    truncation: Truncation = Truncation.DO_NOT_TRUNCATE
    max_length: int | None = None  # set whenever truncating or padding to max_length
    stride: int = 0
    pad_to_multiple_of: int | None = None
    padding_side: Side = Side.RIGHT
    truncation_side: Side = Side.RIGHT
    return_tensors: str | None = None
    return_token_type_ids: bool = True
    return_attention_mask: bool = True
    return_overflowing_tokens: bool = False
    return_special_tokens_mask: bool = False
    return_offsets_mapping: bool = False
    return_length: bool = False


class Encoded:
    """A batch of texts' tokens before truncation and special tokens: ids per text and, when known, character
    offsets per token and the given word each token belongs to (``is_split_into_words``).

    The ids are held as lists (``ids``) or as one flat array with the length of each text (:meth:`from_flat`,
    what the hot path makes: a padded batch is filled from it without any per-text list); each form is made
    from the other when first asked for.
    """

    def __init__(
        self, ids: list[list[int]], offsets: list[Offsets] | None = None, words: list[list[int]] | None = None
    ) -> None:
        self._ids: list[list[int]] | None = ids
        self.offsets = offsets
        self.words = words
        self._flat: np.ndarray | None = None
        self._lengths: np.ndarray | None = None

    @classmethod
    def from_flat(cls, flat: np.ndarray, lengths: np.ndarray) -> Encoded:
        out = cls([])
        out._ids, out._flat, out._lengths = None, flat, lengths
        return out

    @property
    def ids(self) -> list[list[int]]:
        if self._ids is None:
            assert self._flat is not None and self._lengths is not None
            values = self._flat.tolist()
            ends = np.cumsum(self._lengths).tolist()
            self._ids = [values[end - size : end] for end, size in zip(ends, self._lengths.tolist(), strict=False)]
        return self._ids

    @property
    def lengths(self) -> np.ndarray:
        """The number of tokens of each text."""
        if self._lengths is None:
            self._lengths = _lengths(self.ids)
        return self._lengths

    @property
    def flat(self) -> np.ndarray:
        """Every text's ids, one after the other."""
        if self._flat is None:
            ids = self.ids
            self._flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(self.lengths.sum()))
        return self._flat


@dataclass
class Rows:
    """Encoded rows before padding: for each row, the input it comes from (``sample``), where its part of the
    first and second sequence starts in that input's full sequence and how long it is (after truncation or
    windowing), and the special-token ids of the layout. The ids of a row with its special tokens
    (:attr:`input_ids`) are put together only when asked for: a padded numpy batch is filled from the
    sequences directly (:func:`arrays`). Offsets are kept per row when the call asked for them."""

    a: Encoded
    b: Encoded | None
    len_a: np.ndarray
    len_b: np.ndarray | None
    add_special_tokens: bool
    cls_id: int
    sep_id: int
    start_a: np.ndarray | None = None  # None: every part starts at 0
    start_b: np.ndarray | None = None
    sample: np.ndarray | None = None  # None: row i comes from input i
    offsets: list[Offsets] | None = None
    word_rule: tuple[Container[int], Container[int]] | None = None  # (ids starting a word, added-token ids)
    # sample -> character offsets of its first and second sequence, for rows encoded without offsets
    offsets_of: Callable[[int], tuple[Offsets, Offsets | None]] | None = None
    _input_ids: list[list[int]] | None = None

    def __len__(self) -> int:
        return len(self.len_a)

    @property
    def lengths(self) -> np.ndarray:
        n_special = num_special_tokens(self.len_b is not None) if self.add_special_tokens else 0
        return self.len_a + n_special + (0 if self.len_b is None else self.len_b)

    @property
    def input_ids(self) -> list[list[int]]:
        """The ids of each row with its special tokens (unpadded)."""
        if self._input_ids is None:
            self._input_ids = [
                self._join(r, self.a.ids, None if self.b is None else self.b.ids, self.cls_id, self.sep_id)
                for r in range(len(self))
            ]
        return self._input_ids

    def row_ids(self, row: int) -> list[int]:
        """The ids of row ``row`` with its special tokens (without putting the other rows together)."""
        if self._input_ids is not None:
            return self._input_ids[row]
        return self._join(row, self.a.ids, None if self.b is None else self.b.ids, self.cls_id, self.sep_id)

    def _join(self, row: int, full_a: list[list[Any]], full_b: list[list[Any]] | None, cls: Any, sep: Any) -> list[Any]:
        """Row ``row`` of per-token values given per input (ids, offsets), special tokens ``cls``/``sep``."""
        sample = self._sample(row)
        start = 0 if self.start_a is None else int(self.start_a[row])
        part_a = _part(full_a[sample], start, int(self.len_a[row]))
        part_b = None
        if full_b is not None and self.len_b is not None:
            start = 0 if self.start_b is None else int(self.start_b[row])
            part_b = _part(full_b[sample], start, int(self.len_b[row]))
        return join(part_a, part_b, cls, sep, self.add_special_tokens)

    def _layout(self, row: int, a: list[Any], b: list[Any] | None) -> list[Any]:
        return build_layout(a, b, None, None) if self.add_special_tokens else a + (b or [])

    def sequence_ids(self, row: int) -> list[int | None]:
        """0 over the first sequence, 1 over the second, None over special tokens (unpadded)."""
        a: list[int | None] = [0] * int(self.len_a[row])
        b: list[int | None] | None = None if self.len_b is None else [1] * int(self.len_b[row])
        return self._layout(row, a, b)

    def _parts(self, row: int, full: list[list[Any] | None]) -> list[Any]:
        """Row ``row``'s slice of each full sequence in ``full`` (per token values), special tokens None."""
        parts: list[list[Any]] = []
        for values, lengths, starts in zip(full, (self.len_a, self.len_b), (self.start_a, self.start_b), strict=False):
            if values is None or lengths is None:
                continue
            start = 0 if starts is None else int(starts[row])
            parts.append(list(values[start : start + int(lengths[row])]))
        return self._layout(row, parts[0], parts[1] if len(parts) > 1 else None)

    def _sample(self, row: int) -> int:
        return row if self.sample is None else int(self.sample[row])

    def word_ids(self, row: int) -> list[int | None]:
        """The word of each token in its sequence (counted from 0 in each), None over special tokens."""
        sample = self._sample(row)
        full: list[list[Any] | None] = []
        for encoded in (self.a, self.b):
            if encoded is None:
                full.append(None)
            elif encoded.words is not None:
                full.append(encoded.words[sample])
            elif self.word_rule is None:
                raise ValueError("word ids are not available for these rows")
            else:
                full.append(word_ids_of(encoded.ids[sample], *self.word_rule))
        return self._parts(row, full)

    def row_offsets(self, row: int) -> Offsets:
        """Character offsets of row ``row`` (``(0, 0)`` over special tokens), computed now if the call did
        not compute them."""
        if self.offsets is not None:
            return list(self.offsets[row])
        if self.offsets_of is None:
            raise ValueError("character offsets are not available for these rows")
        offs_a, offs_b = self.offsets_of(self._sample(row))
        return [(0, 0) if o is None else o for o in self._parts(row, [offs_a, offs_b])]


def join(a: list[Any], b: list[Any] | None, cls: Any, sep: Any, add_special_tokens: bool) -> list[Any]:
    return build_layout(a, b, cls, sep) if add_special_tokens else a + (b or [])


def _part(seq: list[Any], start: int, length: int) -> list[Any]:
    return seq[start : start + length] if start or length < len(seq) else seq


def _lengths(seqs: list[list[int]]) -> np.ndarray:
    return np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))


def build_rows(a: Encoded, b: Encoded | None, options: CallOptions, cls_id: int, sep_id: int) -> Rows:
    """Step 2b: truncate (or window) each input, giving one row per input (per window with
    ``return_overflowing_tokens``): where each row's parts start and how long they are, as arrays. Single
    sequences are truncated for the whole batch at once; pairs one by one (:func:`truncate_pair`)."""
    n = len(a.lengths)
    n_special = num_special_tokens(b is not None) if options.add_special_tokens else 0
    budget = None
    if options.truncation is not Truncation.DO_NOT_TRUNCATE and options.max_length is not None:
        budget = options.max_length - n_special
    if options.return_overflowing_tokens and budget is not None:
        return _windowed_rows(a, b, options, budget, cls_id, sep_id)
    full_a = a.lengths
    full_b = None if b is None else b.lengths
    len_a, len_b = full_a, full_b
    if budget is not None and full_b is None:
        over = np.flatnonzero(full_a > budget)
        if over.size:
            truncate_pair(int(full_a[over[0]]), None, budget, options.truncation)  # raises for only_second
            len_a = np.minimum(full_a, budget)
    elif budget is not None and full_b is not None:
        len_a, len_b = full_a.copy(), full_b.copy()
        for i in np.flatnonzero(full_a + full_b > budget).tolist():
            len_a[i], len_b[i] = truncate_pair(int(full_a[i]), int(full_b[i]), budget, options.truncation)
    left = options.truncation_side is Side.LEFT
    start_a = full_a - len_a if left else None
    start_b = full_b - len_b if left and full_b is not None and len_b is not None else None
    rows = Rows(a, b, len_a, len_b, options.add_special_tokens, cls_id, sep_id, start_a, start_b)
    if a.offsets is not None:
        rows.offsets = [rows._join(r, a.offsets, None if b is None else b.offsets, (0, 0), (0, 0)) for r in range(n)]
    return rows


def _windowed_rows(a: Encoded, b: Encoded | None, options: CallOptions, budget: int, cls_id: int, sep_id: int) -> Rows:
    """Rows for ``return_overflowing_tokens``: the truncated sequence cut into windows of the kept length
    overlapping by ``stride`` tokens (the second sequence for ``only_second``, the first otherwise; the
    other one whole in each row), in the order transformers' fast tokenizer returns them."""
    if b is not None and options.truncation is Truncation.LONGEST_FIRST:
        raise ValueError(
            "return_overflowing_tokens with a pair of sequences needs truncation='only_first' or "
            "'only_second' (which sequence to cut into windows), not 'longest_first'"
        )
    if b is None and options.truncation is Truncation.ONLY_SECOND:
        raise ValueError(
            "truncation='only_second' needs a text_pair; use 'longest_first' or 'only_first' for single sequences"
        )
    cut_b = options.truncation is Truncation.ONLY_SECOND
    n_special = (options.max_length or 0) - budget
    spans: list[tuple[int, int, int, int, int]] = []  # (input, start_a, len_a, start_b, len_b)
    for i, ids_a in enumerate(a.ids):
        len_b = 0 if b is None else len(b.ids[i])
        cut, other = (len_b, len(ids_a)) if cut_b else (len(ids_a), len_b)
        size = budget - other  # the window of the sequence that is cut
        if cut + other <= budget:
            parts = [(0, cut)]
        else:
            which = "second" if cut_b else "first"
            if size < 1:
                raise ValueError(
                    f"cannot cut the {which} sequence into windows: the other sequence ({other} "
                    f"tokens) and {n_special} special tokens already fill max_length="
                    f"{options.max_length}"
                )
            if options.stride >= size:
                raise ValueError(
                    f"stride={options.stride} must be smaller than the window of the {which} "
                    f"sequence ({size} tokens: max_length less the special tokens and the other "
                    f"sequence)"
                )
            parts = windows(cut, size, options.stride, options.truncation_side)
        for start, stop in parts:
            if cut_b:
                spans.append((i, 0, len(ids_a), start, stop - start))
            else:
                spans.append((i, start, stop - start, 0, len_b))
    table = np.array(spans, dtype=np.int64).reshape(len(spans), 5)
    rows = Rows(
        a,
        b,
        table[:, 2].copy(),
        None if b is None else table[:, 4].copy(),
        options.add_special_tokens,
        cls_id,
        sep_id,
        table[:, 1].copy(),
        None if b is None else table[:, 3].copy(),
        table[:, 0].copy(),
    )
    if a.offsets is not None:
        rows.offsets = [
            rows._join(r, a.offsets, None if b is None else b.offsets, (0, 0), (0, 0)) for r in range(len(spans))
        ]
    return rows


def _fill_sequence(
    out: np.ndarray, seqs: Encoded, rows: Rows, starts: np.ndarray | None, lengths: np.ndarray, column: np.ndarray
) -> None:
    """Copy each row's part of its input's sequence (``starts``/``lengths``, per row) into ``out`` from
    ``column`` (per row), in a few numpy operations over all tokens of the batch."""
    total = int(lengths.sum())
    if not total:
        return
    sizes, flat = seqs.lengths, seqs.flat
    # token k of the batch is token k - first[row] of its row: one arange plus one per-row offset repeated
    # over the row's tokens gives each index (cheaper than the position within the row, then the index)
    first = np.cumsum(lengths) - lengths
    count = np.arange(total)
    width = out.shape[1]
    # one flat index per token: row * width + column + position within the row
    target = np.repeat(np.arange(len(lengths)) * width + column - first, lengths)
    target += count
    if total == len(flat) and rows.sample is None and starts is None:
        out.reshape(-1)[target] = flat
        return
    begin = np.cumsum(sizes) - sizes  # where each input's tokens start in flat
    if rows.sample is not None:
        begin = begin[rows.sample]
    if starts is not None:
        begin = begin + starts
    out.reshape(-1)[target] = flat[count + np.repeat(begin - first, lengths)]


def _fill_ids(out: np.ndarray, rows: Rows, shift: np.ndarray | None) -> None:
    """The ids of every row, special tokens included, written into ``out`` (already holding the pad id),
    following the one definition of the layout (:data:`SINGLE_LAYOUT`/:data:`PAIR_LAYOUT`)."""
    n = len(rows)
    cursor = np.zeros(n, dtype=np.int64) if shift is None else shift.copy()
    if rows.add_special_tokens:
        layout = SINGLE_LAYOUT if rows.b is None else PAIR_LAYOUT
    else:
        layout = (("A", 0),) if rows.b is None else (("A", 0), ("B", 1))
    everyone = np.arange(n)
    for name, _ in layout:
        if name == "A":
            _fill_sequence(out, rows.a, rows, rows.start_a, rows.len_a, cursor)
            cursor = cursor + rows.len_a
        elif name == "B":
            assert rows.b is not None and rows.len_b is not None
            _fill_sequence(out, rows.b, rows, rows.start_b, rows.len_b, cursor)
            cursor = cursor + rows.len_b
        else:
            out[everyone, cursor] = rows.cls_id if name == "cls" else rows.sep_id
            cursor = cursor + 1


def arrays(rows: Rows, options: CallOptions, pad_id: int) -> tuple[int, np.ndarray | None, dict[str, np.ndarray]]:
    """Step 3: the padded width, each row's left padding (None when padding is on the right) and the
    requested fields as ``(rows, width)`` int64 arrays; a field that was not asked for is not computed.
    Unpadded rows returned as lists need no arrays at all."""
    n = len(rows)
    lengths = rows.lengths
    longest = int(lengths.max()) if n else 0
    padded = options.padding is not Padding.DO_NOT_PAD and n > 0
    width = longest
    if padded:
        width = max(padded_length(longest, options.padding, options.max_length, options.pad_to_multiple_of), longest)
    if options.return_tensors is not None and not padded and n and int(lengths.min()) != longest:
        raise ValueError(
            f"cannot make tensors: rows have different lengths ({int(lengths.min())}.."
            f"{longest}); pass padding=True (or padding='max_length')"
        )
    out: dict[str, np.ndarray] = {}
    if not padded and options.return_tensors is None:
        return width, None, out
    shift = width - lengths if padded and options.padding_side is Side.LEFT else None
    mask: Callable[[], np.ndarray] | None = None
    if options.return_attention_mask and n * width >= _MASK_ON_ANOTHER_CORE:
        # Both fills are memory-bound and numpy lets go of the GIL while it copies: on a large batch the mask
        # is written on another core while this one writes the ids.
        mask = _on_another_thread(attention_mask, lengths, width, shift is not None)
    # zeros come from calloc: the kernel zeroes each page on first write, which saves a pass over the batch
    ids = np.zeros((n, width), dtype=np.int64) if pad_id == 0 else np.full((n, width), pad_id, dtype=np.int64)
    _fill_ids(ids, rows, shift)
    out["input_ids"] = ids
    types, special = layout_masks(
        rows.len_a,
        rows.len_b,
        width,
        options.add_special_tokens,
        shift=shift,
        types=options.return_token_type_ids,
        special=options.return_special_tokens_mask,
    )
    if types is not None:
        out["token_type_ids"] = types
    if options.return_attention_mask:
        out["attention_mask"] = mask() if mask is not None else attention_mask(lengths, width, shift is not None)
    if special is not None:
        out["special_tokens_mask"] = special
    return width, shift, out


# Elements of a padded batch from which its attention mask is made on a thread of its own (about 8 MB: the
# thread costs well under a millisecond against several for the fill).
_MASK_ON_ANOTHER_CORE = 1 << 20


def _on_another_thread(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``fn(*args)`` on a new thread; the returned function waits for it and gives its result (or raises
    what it raised). A thread per call, not a pool: a pool's idle threads do not survive ``fork`` (data-loader
    workers), and work queued to them there would never run."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn(*args))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, name="albert_tok-attention-mask", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had (a thread limit, interpreter shutdown): run it here
        value = fn(*args)
        return lambda: value

    def result() -> T:
        thread.join()
        if not outcome:
            raise RuntimeError(f"{getattr(fn, '__name__', fn)!s} stopped on its thread without a result")
        if isinstance(outcome[0], Exception):
            raise outcome[0]
        return outcome[0]

    return result


def attention_mask(lengths: np.ndarray, width: int, left: bool = False) -> np.ndarray:
    """``(rows, width)`` int64: 1 on each row's first ``lengths`` columns (its last ones with ``left``), 0 on
    padding. Each row is copied from a window over ``width`` ones beside ``width`` zeros, one copy per row:
    about 1.5x faster than a comparison cast to int64, which matters on a padded batch of 100 MB."""
    ones, zeros = np.ones(width, dtype=np.int64), np.zeros(width, dtype=np.int64)
    if left:
        return sliding_window_view(np.concatenate([zeros, ones]), width)[lengths]
    return sliding_window_view(np.concatenate([ones, zeros]), width)[width - lengths]


def _row_lists(rows: Rows, options: CallOptions) -> dict[str, list[list[int]]]:
    """The requested fields of unpadded rows as lists, straight from the row lengths (no arrays)."""
    data: dict[str, list[list[int]]] = {"input_ids": rows.input_ids}
    lengths = rows.lengths.tolist()
    len_a = rows.len_a.tolist()
    len_b = None if rows.len_b is None else rows.len_b.tolist()
    add = options.add_special_tokens
    if options.return_token_type_ids:
        if len_b is None:
            data["token_type_ids"] = [[0] * k for k in lengths]
        else:
            head = 2 if add else 0
            data["token_type_ids"] = [
                [0] * (la + head) + [1] * (k - la - head) for la, k in zip(len_a, lengths, strict=False)
            ]
    if options.return_attention_mask:
        data["attention_mask"] = [[1] * k for k in lengths]
    if options.return_special_tokens_mask:
        if len_b is None:
            data["special_tokens_mask"] = [join([0] * la, None, 1, 1, add) for la in len_a]
        else:
            data["special_tokens_mask"] = [
                join([0] * la, [0] * lb, 1, 1, add) for la, lb in zip(len_a, len_b, strict=False)
            ]
    return data


def format_encoding(
    rows: Rows,
    fields: dict[str, np.ndarray],
    width: int,
    shift: np.ndarray | None,
    options: CallOptions,
    batched: bool,
    alignment: Alignment | None,
) -> BatchEncoding:
    """Step 4: lists, arrays or tensors, one row unwrapped for a single text (unless it overflowed into
    several rows, as transformers' fast tokenizer keeps the batch axis then)."""
    n = len(rows)
    padded = options.padding is not Padding.DO_NOT_PAD and n > 0
    data: dict[str, Any] = {}
    if options.return_tensors is not None:
        data.update(fields)
    elif padded:
        data.update({name: arr.tolist() for name, arr in fields.items()})
    else:
        data.update(_row_lists(rows, options))
    if rows.offsets is not None:
        if padded:
            pads = (width - rows.lengths).tolist()
            left = shift is not None
            data["offset_mapping"] = [
                [(0, 0)] * k + row if left else row + [(0, 0)] * k for row, k in zip(rows.offsets, pads, strict=False)
            ]
        else:
            data["offset_mapping"] = rows.offsets
    if options.return_length:
        data["length"] = rows.lengths.tolist()
    if options.return_overflowing_tokens and rows.sample is not None:
        data["overflow_to_sample_mapping"] = rows.sample.tolist()
        batched = True
    if not batched:
        data = {name: value[0] for name, value in data.items()}
    if alignment is not None:
        alignment.width, alignment.padded, alignment.left = width, padded, shift is not None
    return BatchEncoding(to_tensors(data, options.return_tensors, batched), alignment=alignment)
