"""Padding and truncation: strategy names, their validation, and the pure functions that apply them.

Semantics follow Hugging Face tokenizers so users need no new habits: right padding and truncation by
default (``padding_side``/``truncation_side`` "left" is the other choice), ``longest_first`` removes one
token at a time from the longer sequence (the second one on ties), and overflowing windows are cut as
transformers' fast tokenizer cuts them (:func:`windows`).

Every batch of rows that is padded into arrays is padded by :func:`pad_batch`, with the one table of what
fills each field (:data:`PAD_VALUES`): ``tokenizer.pad()``, the collators, fine-tuning, the pipelines and
pretraining all call it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "MAX_LENGTH_LIMIT",
    "PAD_VALUES",
    "Padding",
    "Side",
    "Truncation",
    "check_length",
    "pad_batch",
    "padded_length",
    "resolve_padding",
    "resolve_side",
    "resolve_truncation",
    "truncate_pair",
    "windows",
]

# The largest max_length, pad_to_multiple_of and model_max_length accepted: far beyond any ALBERT
# (512 positions), and small enough that padding a row to it cannot exhaust memory by accident.
MAX_LENGTH_LIMIT = 1_000_000


def check_length(name: str, value: object, minimum: int = 1) -> int | None:
    """Check a length argument (``max_length``, ``pad_to_multiple_of``, ``model_max_length``).

    Args:
        name: The argument's name, for the message.
        value: The value given.
        minimum: The smallest int accepted (1 by default).

    Returns:
        ``value``, None or an int in ``minimum..MAX_LENGTH_LIMIT``.

    Raises:
        ValueError: ``value`` is a bool, not an int, or outside ``minimum..MAX_LENGTH_LIMIT``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_LENGTH_LIMIT:
        raise ValueError(f"{name} must be None or an int from {minimum} to {MAX_LENGTH_LIMIT:,}, got {value!r:.40}")
    return value


E = TypeVar("E", bound=Enum)


class Padding(str, Enum):
    """How a batch is padded: not at all, to its longest row, or to ``max_length`` (transformers' names)."""

    DO_NOT_PAD = "do_not_pad"
    LONGEST = "longest"
    MAX_LENGTH = "max_length"


class Side(str, Enum):
    """Where padding goes, or which end truncation removes."""

    RIGHT = "right"
    LEFT = "left"


def _member(enum: type[E], value: object) -> E | None:
    """The member of ``enum`` that ``value`` is, or whose value it is (a str); None for anything else."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        for member in enum:
            if value == member.value:
                return member
    return None


def resolve_side(name: str, value: object) -> Side:
    """A side given as a :class:`Side` or its value.

    Args:
        name: The argument's name, for the message (``padding_side``, ``truncation_side``).
        value: ``"right"``, ``"left"`` or a :class:`Side`.

    Returns:
        The :class:`Side`.

    Raises:
        ValueError: ``value`` is anything else.
    """
    side = _member(Side, value)
    if side is not None:
        return side
    raise ValueError(f"{name}={value!r} is not supported; accepted: 'right', 'left'")


class Truncation(str, Enum):
    """How a pair (or one sequence) is cut to ``max_length``: not at all, one token at a time from the longer
    sequence, or only from the first or only from the second (transformers' names)."""

    DO_NOT_TRUNCATE = "do_not_truncate"
    LONGEST_FIRST = "longest_first"
    ONLY_FIRST = "only_first"
    ONLY_SECOND = "only_second"


def resolve_padding(padding: object) -> Padding:
    """The padding strategy of a ``padding=`` argument, as transformers reads it.

    Args:
        padding: ``False``/``None``/``"do_not_pad"``, ``True``/``"longest"``, ``"max_length"``, or a
            :class:`Padding`.

    Returns:
        The :class:`Padding`.

    Raises:
        ValueError: ``padding`` is anything else.
    """
    if padding is None or padding is False:
        return Padding.DO_NOT_PAD
    if padding is True:
        return Padding.LONGEST
    member = _member(Padding, padding)
    if member is not None:
        return member
    raise ValueError(
        f"padding={padding!r} is not a padding strategy; accepted: False, True, "
        + ", ".join(repr(m.value) for m in Padding)
    )


def resolve_truncation(truncation: object) -> Truncation:
    """The truncation strategy of a ``truncation=`` argument, as transformers reads it.

    Args:
        truncation: ``False``/``None``/``"do_not_truncate"``, ``True``/``"longest_first"``, ``"only_first"``,
            ``"only_second"``, or a :class:`Truncation`.

    Returns:
        The :class:`Truncation`.

    Raises:
        ValueError: ``truncation`` is anything else.
    """
    if truncation is None or truncation is False:
        return Truncation.DO_NOT_TRUNCATE
    if truncation is True:
        return Truncation.LONGEST_FIRST
    member = _member(Truncation, truncation)
    if member is not None:
        return member
    raise ValueError(
        f"truncation={truncation!r} is not a truncation strategy; accepted: False, True, "
        + ", ".join(repr(m.value) for m in Truncation)
    )


def truncate_pair(len0: int, len1: int | None, budget: int, strategy: Truncation) -> tuple[int, int | None]:
    """New lengths of the two sequences so that together they fit in ``budget`` tokens.

    ``longest_first`` removes one token at a time from the longer sequence (the second one on ties), in
    closed form; a pair keeps at least one token of a sequence that ``only_first``/``only_second`` cuts.

    Args:
        len0: The length of the first sequence.
        len1: The length of the second sequence; None for a single sequence.
        budget: The tokens the sequences may have together (``max_length`` less the special tokens).
        strategy: How to cut; ``DO_NOT_TRUNCATE`` returns the lengths unchanged.

    Returns:
        ``(len0, len1)`` after truncation (``len1`` None when it was None).

    Raises:
        ValueError: The strategy cannot reach the budget: ``only_first`` or ``only_second`` with a sequence
            shorter than what must go, or ``only_second`` without a second sequence.
    """
    total = len0 + (len1 or 0)
    excess = total - budget
    if excess <= 0 or strategy is Truncation.DO_NOT_TRUNCATE:
        return len0, len1
    if len1 is None or strategy is Truncation.ONLY_FIRST:
        if strategy is Truncation.ONLY_SECOND:
            raise ValueError(
                "truncation='only_second' needs a text_pair; use 'longest_first' or 'only_first' for single sequences"
            )
        # A pair keeps at least one token of the sequence it cuts, as both of transformers' tokenizers
        # insist (a single sequence may be cut to nothing, as their fast tokenizer does).
        if excess > len0 or (len1 is not None and excess == len0):
            raise ValueError(
                f"cannot truncate the first sequence ({len0} tokens) by {excess} tokens to "
                f"fit max_length; use truncation='longest_first' or a larger max_length"
            )
        return len0 - excess, len1
    if strategy is Truncation.ONLY_SECOND:
        if excess >= len1:
            raise ValueError(
                f"cannot truncate the second sequence ({len1} tokens) by {excess} tokens to "
                f"fit max_length; use truncation='longest_first' or a larger max_length"
            )
        return len0, len1 - excess
    # longest_first, closed form of "remove one token from the longer, the second on ties"
    diff = len0 - len1
    if diff > 0:
        step = min(diff, excess)
        len0, excess = len0 - step, excess - step
    elif diff < 0:
        step = min(-diff, excess)
        len1, excess = len1 - step, excess - step
    len1 -= (excess + 1) // 2
    len0 -= excess // 2
    return len0, len1


def padded_length(longest: int, strategy: Padding, max_length: int | None, pad_to_multiple_of: int | None) -> int:
    """The length every row is padded to.

    Args:
        longest: The longest row of the batch.
        strategy: ``LONGEST`` pads to ``longest``, ``MAX_LENGTH`` to ``max_length`` (to ``longest`` when it is
            None), ``DO_NOT_PAD`` returns ``longest`` as it is.
        max_length: The length for ``MAX_LENGTH``.
        pad_to_multiple_of: When set (and padding), the length is rounded up to a multiple of it.

    Returns:
        The padded length; with ``MAX_LENGTH`` it may be shorter than ``longest`` (nothing is truncated here:
        the caller decides).
    """
    if strategy is Padding.DO_NOT_PAD:
        return longest
    target = max_length if strategy is Padding.MAX_LENGTH and max_length is not None else longest
    target = max(target, longest) if strategy is Padding.LONGEST else target
    if pad_to_multiple_of:
        target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
    return target


PAD_VALUES: Mapping[str, int] = MappingProxyType(
    {"token_type_ids": 0, "attention_mask": 0, "special_tokens_mask": 1, "labels": -100}
)
"""What fills the padding of each field, as transformers pads them: token type 0, attention 0 (padding is not
attended to), special-tokens mask 1 (padding is not a token of the text, so a masker never picks it) and
labels -100 (the ``ignore_index`` of torch's cross-entropy: padding adds nothing to the loss). The token ids
are filled with the tokenizer's pad id, which is not a constant: :func:`pad_batch` takes it."""


def pad_batch(
    fields: Mapping[str, Sequence[Sequence[Any]]],
    pad_id: int,
    *,
    key: str = "input_ids",
    max_length: int | None = None,
    pad_to_multiple_of: int | None = None,
    side: Side = Side.RIGHT,
    attention_mask: bool = False,
    other: int | None = None,
    dtype: DTypeLike | None = np.int64,
) -> dict[str, np.ndarray]:
    """Pad rows of different lengths into one ``(rows, width)`` array per field.

    The rows of ``key`` (the token ids) decide the width: the longest of them, or ``max_length``, rounded up
    to a multiple of ``pad_to_multiple_of`` (:func:`padded_length`). Each row keeps its values in order, at
    the start of its array row (``side`` right) or at the end (``side`` left), and the cells around them hold
    the field's fill value: the pad id for ``key``, :data:`PAD_VALUES` for the fields it names.

    Args:
        fields: Field name to its rows, one row (a list, tuple or 1-D numpy array of numbers) per example;
            every field has one row per example and must include ``key``.
        pad_id: The tokenizer's pad id, which fills the rows of ``key``.
        key: The field of token ids, ``"input_ids"`` by default: its rows decide the width and, with
            ``attention_mask``, the mask.
        max_length: None pads to the longest row of ``key``; an int pads every row to that length, and a row
            of any field longer than it is an error (nothing is truncated here).
        pad_to_multiple_of: When set, the width is rounded up to a multiple of it (None: no rounding).
        side: ``Side.RIGHT`` (the default) puts the padding after each row, ``Side.LEFT`` before it.
        attention_mask: True adds an ``"attention_mask"`` field, 1 over each row of ``key`` and 0 over its
            padding, when ``fields`` has none (a given mask is padded like any field).
        other: The fill value of fields that are neither ``key`` nor in :data:`PAD_VALUES`; None (the
            default) makes such a field an error.
        dtype: The dtype of the arrays, int64 by default (values are cast to it, as numpy casts on
            assignment). None keeps the values as they are: a field whose values are all ints (or that has
            none) is int64, any other an object array holding each value and the fill unchanged, as a list
            would (floats stay floats, ``True`` stays ``True``).

    Returns:
        One array per field, in the order of ``fields`` (the attention mask made by ``attention_mask`` last),
        each of shape ``(rows, width)``.

    Raises:
        ValueError: ``key`` is not in ``fields``; a field has another number of rows than ``key``, rows that
            are not flat, or a row longer than the width; a field has no fill value (see ``other``).
    """
    if key not in fields:
        raise ValueError(f"pad_batch needs the {key!r} rows; got the fields {sorted(fields)}")
    rows = fields[key]
    lengths = _sizes(rows)
    longest = int(lengths.max()) if len(rows) else 0
    width = padded_length(
        longest, Padding.LONGEST if max_length is None else Padding.MAX_LENGTH, max_length, pad_to_multiple_of
    )
    left = side is Side.LEFT
    out: dict[str, np.ndarray] = {}
    for name, field_rows in fields.items():
        if len(field_rows) != len(rows):
            raise ValueError(f"{name!r} has {len(field_rows)} rows but {key!r} has {len(rows)}; one row per example")
        fill = pad_id if name == key else PAD_VALUES.get(name, other)
        if fill is None:
            raise ValueError(f"no fill value for {name!r}: pad only {key!r} and {sorted(PAD_VALUES)}, or pass other=")
        out[name] = _pad_field(name, field_rows, fill, width, left, dtype)
    if attention_mask and "attention_mask" not in out:
        columns = np.arange(width)[None, :]
        inside = columns >= (width - lengths)[:, None] if left else columns < lengths[:, None]
        mask = np.where(inside, 1, PAD_VALUES["attention_mask"])
        out["attention_mask"] = mask.astype(np.int64 if dtype is None else dtype, copy=False)
    return out


def _sizes(rows: Sequence[Sequence[Any]]) -> np.ndarray:
    return np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))


def _pad_field(
    name: str, rows: Sequence[Sequence[Any]], fill: int, width: int, left: bool, dtype: DTypeLike | None
) -> np.ndarray:
    """``rows`` in a ``(len(rows), width)`` array filled with ``fill`` around them (see :func:`pad_batch`)."""
    sizes = _sizes(rows)
    if len(rows) and int(sizes.max()) > width:
        longest = int(np.argmax(sizes))
        raise ValueError(
            f"{name!r} row {longest} has {int(sizes[longest])} values, more than the {width} the batch is padded to"
        )
    if dtype is None:
        values = np.asarray(list(itertools.chain.from_iterable(rows)))
        dtype = np.int64 if values.dtype.kind == "i" or not values.size else object
    out = np.full((len(rows), width), fill, dtype=dtype)
    # a copy per row: numpy converts a list row in C, which is cheaper than making one flat array first
    for i, row in enumerate(rows):
        size = len(row)
        if not size:
            continue
        try:
            if left:
                out[i, width - size :] = row
            else:
                out[i, :size] = row
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name!r} row {i} is not a flat list of numbers ({exc})") from None
    return out


def windows(length: int, size: int, stride: int, side: Side = Side.RIGHT) -> list[tuple[int, int]]:
    """``(start, stop)`` windows of ``size`` tokens over a sequence of ``length``, each overlapping the one
    before by ``stride`` tokens, in the order transformers' fast tokenizer returns overflowing rows: from
    the start for right truncation (the last window may be shorter), from the end for left truncation.
    A sequence that fits is one window.

    Args:
        length: The length of the sequence.
        size: The tokens per window.
        stride: The tokens each window shares with the one before.
        side: ``Side.RIGHT`` (the default) starts at the beginning, ``Side.LEFT`` at the end.

    Returns:
        The windows as ``(start, stop)`` pairs, in transformers' order.

    Raises:
        ValueError: ``stride`` is negative or not smaller than ``size``.
    """
    if not 0 <= stride < size:
        raise ValueError(f"stride={stride} must be at least 0 and smaller than the window ({size} tokens)")
    if length <= size:
        return [(0, length)]
    step = size - stride
    out: list[tuple[int, int]] = []
    if side is Side.RIGHT:
        for start in range(0, length, step):
            stop = min(start + size, length)
            out.append((start, stop))
            if stop == length:
                break
    else:
        for last in range(length - 1, -1, -step):
            stop = last + 1
            start = max(stop - size, 0)
            out.append((start, stop))
            if start == 0:
                break
    return out
