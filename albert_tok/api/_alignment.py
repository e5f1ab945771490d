"""Token-level information of one tokenizer call: tokens, word ids, sequence ids, character spans.

:class:`Alignment` answers :class:`albert_tok.BatchEncoding`'s ``tokens(i)``, ``word_ids(i)``,
``sequence_ids(i)``, ``char_to_token`` and the other mapping methods of transformers' fast ``BatchEncoding``,
for both tokenizers. It is computed lazily from the encoded rows (a call on 40,000 lines pays nothing for
it unless asked) and turned into plain lists when the encoding is pickled.

A *word* is a run of tokens starting at a piece that starts with ``▁``, at an added or special token
written in the text, or right after one; with ``is_split_into_words`` each given word is one word. Word
indices count from 0 in each sequence of a pair, as transformers does.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any, NamedTuple, Protocol

__all__ = ["Alignment", "CharSpan", "TokenSpan", "word_ids_of"]


class CharSpan(NamedTuple):
    """Characters ``[start, end)`` of the original text."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """Tokens ``[start, end)`` of an encoded row."""

    start: int
    end: int


def word_ids_of(ids: list[int], word_start: Container[int], added: Container[int]) -> list[int]:
    """The word index of each token of one sequence (see the module docstring for what a word is)."""
    out: list[int] = []
    word = -1
    after_added = True
    for token in ids:
        is_added = token in added
        if after_added or is_added or token in word_start:
            word += 1
        out.append(word)
        after_added = is_added
    return out


class RowSource(Protocol):
    """What :class:`Alignment` reads from a batch's rows (:class:`albert_tok.api._batch.Rows`)."""

    def __len__(self) -> int: ...

    def row_ids(self, row: int) -> list[int]:
        """The token ids of ``row``, unpadded."""
        ...

    def word_ids(self, row: int) -> list[int | None]:
        """The word index of each token of ``row``, None for special tokens."""
        ...

    def sequence_ids(self, row: int) -> list[int | None]:
        """The sequence of each token of ``row``, None for special tokens."""
        ...

    def row_offsets(self, row: int) -> list[tuple[int, int]]:
        """The character span of each token of ``row``."""
        ...


class Alignment:
    """Per-row tokens, word ids, sequence ids and offsets of one call, padding included.

    ``rows`` are the unpadded rows and ``id_to_token`` names a token id; :func:`albert_tok.api._batch.format_encoding`
    sets ``width`` (the padded length), ``padded`` and ``left`` (padding on the left). Answers are computed
    on first use and kept; pickling keeps only the answers already computed (the rows and the tokenizer
    stay behind), so ask before pickling what is needed after.
    """

    def __init__(
        self,
        rows: RowSource | None,
        id_to_token: Callable[[int], str] | None,
        pad_token: str = "<pad>",
        size: int | None = None,
    ) -> None:
        self.rows = rows
        self.id_to_token = id_to_token
        self.pad_token = pad_token
        self.size = len(rows) if rows is not None else size or 0
        self.width = 0
        self.padded = False
        self.left = False
        self._cache: dict[tuple[str, int], list[Any]] = {}

    def __len__(self) -> int:
        return self.size

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (self.pad_token, self.size, self.width, self.padded, self.left, self._cache)

    def _pad(self, values: list[Any], fill: Any) -> list[Any]:
        missing = self.width - len(values) if self.padded else 0
        if missing <= 0:
            return values
        return [fill] * missing + values if self.left else values + [fill] * missing

    def _get(self, kind: str, row: int) -> list[Any]:
        n = self.size
        if not -n <= row < n:
            raise IndexError(f"batch index {row} is out of range for {n} rows")
        key = (kind, row % n)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if self.rows is None:
            raise ValueError(
                f"{kind} of row {row % n} were not asked for before this BatchEncoding was pickled "
                f"(token-level answers are kept only once computed)"
            )
        row %= n
        values: list[Any]
        if kind == "tokens":
            assert self.id_to_token is not None
            values = self._pad([self.id_to_token(i) for i in self.rows.row_ids(row)], self.pad_token)
        elif kind == "word_ids":
            values = self._pad(self.rows.word_ids(row), None)
        elif kind == "sequence_ids":
            values = self._pad(self.rows.sequence_ids(row), None)
        else:
            values = self._pad(self.rows.row_offsets(row), (0, 0))
        self._cache[key] = values
        return values

    # -- per row -------------------------------------------------------------------------------------
    def tokens(self, row: int) -> list[str]:
        """The token strings of ``row``, padded with the pad token; IndexError for a row out of range."""
        return self._get("tokens", row)

    def word_ids(self, row: int) -> list[int | None]:
        """The word index of each token of ``row``, None for special tokens and padding."""
        return self._get("word_ids", row)

    def sequence_ids(self, row: int) -> list[int | None]:
        """The sequence (0 or 1) of each token of ``row``, None for special tokens and padding."""
        return self._get("sequence_ids", row)

    def offsets(self, row: int) -> list[tuple[int, int]]:
        """The ``(start, end)`` character span of each token of ``row``, ``(0, 0)`` for padding."""
        return self._get("offsets", row)

    # -- mappings (transformers' fast BatchEncoding semantics) ---------------------------------------
    def token_to_sequence(self, row: int, token: int) -> int | None:
        """:meth:`albert_tok.BatchEncoding.token_to_sequence` of ``row``; IndexError for a token out of range."""
        seq = self.sequence_ids(row)
        return seq[_index(token, len(seq))]

    def token_to_word(self, row: int, token: int) -> int | None:
        """:meth:`albert_tok.BatchEncoding.token_to_word` of ``row``."""
        words = self.word_ids(row)
        return words[_index(token, len(words))]

    def token_to_chars(self, row: int, token: int) -> CharSpan | None:
        """:meth:`albert_tok.BatchEncoding.token_to_chars` of ``row``."""
        seq = self.sequence_ids(row)
        k = _index(token, len(seq))
        if seq[k] is None:
            return None
        start, end = self.offsets(row)[k]
        return CharSpan(start, end)

    def word_to_tokens(self, row: int, word: int, sequence: int = 0) -> TokenSpan | None:
        """:meth:`albert_tok.BatchEncoding.word_to_tokens` of ``row``."""
        hits = [
            k
            for k, (w, s) in enumerate(zip(self.word_ids(row), self.sequence_ids(row), strict=False))
            if w == word and s == sequence
        ]
        return TokenSpan(hits[0], hits[-1] + 1) if hits else None

    def word_to_chars(self, row: int, word: int, sequence: int = 0) -> CharSpan | None:
        """:meth:`albert_tok.BatchEncoding.word_to_chars` of ``row``."""
        span = self.word_to_tokens(row, word, sequence)
        if span is None:
            return None
        offsets = self.offsets(row)
        return CharSpan(offsets[span.start][0], offsets[span.end - 1][1])

    def char_to_token(self, row: int, char: int, sequence: int = 0) -> int | None:
        """:meth:`albert_tok.BatchEncoding.char_to_token` of ``row``."""
        for k, ((start, end), s) in enumerate(zip(self.offsets(row), self.sequence_ids(row), strict=False)):
            if s == sequence and start <= char < end:
                return k
        return None

    def char_to_word(self, row: int, char: int, sequence: int = 0) -> int | None:
        """:meth:`albert_tok.BatchEncoding.char_to_word` of ``row``."""
        token = self.char_to_token(row, char, sequence)
        return None if token is None else self.word_ids(row)[token]


def _index(k: int, n: int) -> int:
    if not -n <= k < n:
        raise IndexError(f"token index {k} is out of range for a row of {n} tokens")
    return k % n


def _restore(
    pad_token: str, size: int, width: int, padded: bool, left: bool, cache: dict[tuple[str, int], list[Any]]
) -> Alignment:
    out = Alignment(None, None, pad_token, size)
    out.width, out.padded, out.left = width, padded, left
    out._cache = cache
    return out
