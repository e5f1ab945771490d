"""Padding and truncation: strategy names, their validation, and the pure functions that apply them.

Semantics follow Hugging Face tokenizers so users need no new habits: right padding and truncation by
default (``padding_side``/``truncation_side`` "left" is the other choice), ``longest_first`` removes one
token at a time from the longer sequence (the second one on ties), and overflowing windows are cut as
transformers' fast tokenizer cuts them (:func:`windows`).
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

__all__ = [
    "MAX_LENGTH_LIMIT",
    "Padding",
    "Side",
    "Truncation",
    "check_length",
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
    """``value`` if it is None or an int in ``minimum..MAX_LENGTH_LIMIT``; else ``ValueError`` saying so."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_LENGTH_LIMIT:
        raise ValueError(f"{name} must be None or an int from {minimum} to {MAX_LENGTH_LIMIT:,}, got {value!r:.40}")
    return value


E = TypeVar("E", bound=Enum)


class Padding(str, Enum):
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
    """``"right"`` or ``"left"`` (``name`` is the argument, e.g. ``padding_side``); anything else raises."""
    side = _member(Side, value)
    if side is not None:
        return side
    raise ValueError(f"{name}={value!r} is not supported; accepted: 'right', 'left'")


class Truncation(str, Enum):
    DO_NOT_TRUNCATE = "do_not_truncate"
    LONGEST_FIRST = "longest_first"
    ONLY_FIRST = "only_first"
    ONLY_SECOND = "only_second"


def resolve_padding(padding: object) -> Padding:
    """``False``/``None``/``"do_not_pad"``, ``True``/``"longest"`` or ``"max_length"``."""
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
    """``False``/``None``/``"do_not_truncate"``, ``True``/``"longest_first"``, ``"only_first"``,
    ``"only_second"``."""
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

    Raises ``ValueError`` when the chosen strategy cannot reach the budget (e.g. ``only_first`` with a
    first sequence shorter than what must go).
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
    """The length every row is padded to (``longest`` when not padding)."""
    if strategy is Padding.DO_NOT_PAD:
        return longest
    target = max_length if strategy is Padding.MAX_LENGTH and max_length is not None else longest
    target = max(target, longest) if strategy is Padding.LONGEST else target
    if pad_to_multiple_of:
        target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
    return target


def windows(length: int, size: int, stride: int, side: Side = Side.RIGHT) -> list[tuple[int, int]]:
    """``(start, stop)`` windows of ``size`` tokens over a sequence of ``length``, each overlapping the one
    before by ``stride`` tokens, in the order transformers' fast tokenizer returns overflowing rows: from
    the start for right truncation (the last window may be shorter), from the end for left truncation.
    A sequence that fits is one window. Raises ``ValueError`` unless ``0 <= stride < size``."""
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
