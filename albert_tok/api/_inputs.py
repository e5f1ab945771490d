"""What a tokenizer call accepts as text, checked up front: a str, a list of str, pairs, pre-split words.

:func:`check_texts` turns ``__call__``'s ``text``/``text_pair`` (and ``batch_encode_plus``'s list of pairs,
:func:`split_pairs`) into one validated form, or raises ``TypeError``/``ValueError`` naming the offending item
and what is accepted. Nothing here tokenizes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Inputs", "check_texts", "split_pairs"]

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Inputs:
    """Checked input of one call: whether it was a batch, the first and (for pairs) second texts, and for
    ``is_split_into_words`` the words of each text (then ``texts`` holds the words joined by spaces)."""

    batched: bool
    texts: list[str]
    pairs: list[str] | None
    words: list[list[str]] | None = None
    pair_words: list[list[str]] | None = None


def _check_str(item: Any, where: str, what: str) -> str:
    if not isinstance(item, str):
        kind = "a nested list" if isinstance(item, (list, tuple)) else type(item).__name__
        raise TypeError(f"{where} is {kind} ({item!r:.60}); every item must be a str{what}")
    if not item.isascii():
        bad = _SURROGATE.search(item)
        if bad is not None:
            raise ValueError(
                f"{where} is not valid UTF-8: lone surrogate U+{ord(bad.group()):04X} at "
                f"index {bad.start()}; decode bytes with errors='replace' or remove it"
            )
    return item


def _check_items(value: Sequence[Any], name: str) -> list[str]:
    """Every item a str that can be encoded as UTF-8 (``text[i]`` names the item in errors). A batch of
    plain str is checked with a few whole-batch calls; the item-by-item loop only runs to name a bad item."""
    items = list(value)
    if set(map(type, items)) <= {str}:
        joined = "".join(items)
        if joined.isascii():  # O(1) for str
            return items
        try:
            joined.encode("utf-8")  # fails exactly on a lone surrogate
        except UnicodeEncodeError:
            pass
        else:
            return items
    return [
        _check_str(item, f"{name}[{i}]", " (pass is_split_into_words=True for lists of words)")
        for i, item in enumerate(items)
    ]


def _check_words(value: Any, name: str) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"{name} must be a list of words (str) with is_split_into_words=True, got "
            f"{type(value).__name__} ({value!r:.60})"
        )
    return [_check_str(w, f"{name}[{i}]", " (a word)") for i, w in enumerate(value)]


def check_texts(text: Any, text_pair: Any, is_split_into_words: bool = False) -> Inputs:
    """Validate ``text``/``text_pair``. A single str (or, with ``is_split_into_words``, a single list of
    words) is an unbatched input of one item."""
    if is_split_into_words:
        return _check_words_input(text, text_pair)
    if isinstance(text, str):
        if text_pair is not None and not isinstance(text_pair, str):
            raise TypeError(f"text is a str, so text_pair must be a str or None, got {type(text_pair).__name__}")
        return Inputs(
            False, _check_items([text], "text"), None if text_pair is None else _check_items([text_pair], "text_pair")
        )
    if isinstance(text, (list, tuple)):
        texts = _check_items(text, "text")
        if text_pair is None:
            return Inputs(True, texts, None)
        if not isinstance(text_pair, (list, tuple)):
            raise TypeError(
                f"text is a list, so text_pair must be a list of str or None, got {type(text_pair).__name__}"
            )
        pairs = _check_items(text_pair, "text_pair")
        if len(pairs) != len(texts):
            raise ValueError(f"text has {len(texts)} items but text_pair has {len(pairs)}; they must match")
        return Inputs(True, texts, pairs)
    raise TypeError(f"text must be a str or a list of str, got {type(text).__name__} ({text!r:.60})")


def _check_words_input(text: Any, text_pair: Any) -> Inputs:
    if not isinstance(text, (list, tuple)) or not text:
        raise ValueError(
            f"with is_split_into_words=True, text must be a non-empty list of words or a list of "
            f"such lists, got {text!r:.60}"
        )
    batched = isinstance(text[0], (list, tuple))
    words = [_check_words(t, f"text[{i}]") for i, t in enumerate(text)] if batched else [_check_words(text, "text")]
    pair_words = None
    if text_pair is not None:
        if batched:
            if not isinstance(text_pair, (list, tuple)) or len(text_pair) != len(words):
                raise ValueError(
                    f"text is a batch of {len(words)} word lists, so text_pair must be as many word "
                    f"lists, got {text_pair!r:.60}"
                )
            pair_words = [_check_words(t, f"text_pair[{i}]") for i, t in enumerate(text_pair)]
        else:
            pair_words = [_check_words(text_pair, "text_pair")]
    return Inputs(
        batched,
        [" ".join(w) for w in words],
        None if pair_words is None else [" ".join(w) for w in pair_words],
        words,
        pair_words,
    )


def split_pairs(batch: Any, is_split_into_words: bool) -> tuple[list[Any], list[Any] | None]:
    """``batch_encode_plus``'s input (texts, or ``(text, text_pair)`` tuples) as (texts, pairs)."""
    if not isinstance(batch, (list, tuple)):
        raise TypeError(f"batch_text_or_text_pairs must be a list, got {type(batch).__name__} ({batch!r:.60})")
    texts: list[Any] = []
    pairs: list[Any] = []
    for i, item in enumerate(batch):
        single = not isinstance(item, (list, tuple)) or (
            is_split_into_words and not (item and isinstance(item[0], (list, tuple)))
        )
        if single:
            texts.append(item)
            pairs.append(None)
        elif len(item) == 2:
            texts.append(item[0])
            pairs.append(item[1])
        else:
            raise ValueError(f"batch_text_or_text_pairs[{i}] has {len(item)} items; a pair has 2 (text, text_pair)")
    has_pair = [p is not None for p in pairs]
    if any(has_pair) and not all(has_pair):
        raise ValueError("batch_text_or_text_pairs mixes single texts and pairs; pass all pairs or no pairs")
    return texts, pairs if any(has_pair) else None
