"""``BatchEncoding``: the mapping a tokenizer call returns, and its conversion to arrays and tensors.

torch is imported only when ``return_tensors="pt"`` (or ``.to()``) asks for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from albert_tok.api._alignment import Alignment, CharSpan, TokenSpan

__all__ = ["MODEL_INPUT_NAMES", "TENSOR_TYPES", "BatchEncoding", "import_torch", "to_tensors"]

TENSOR_TYPES = (None, "np", "pt")
MODEL_INPUT_NAMES: tuple[str, ...] = ("input_ids", "token_type_ids", "attention_mask")
"""The fields of an encoding that an ALBERT model takes, in transformers' ``model_input_names`` order: the one
definition that the tokenizers, collators, pipelines and fine-tuning read."""


def import_torch() -> Any:
    """torch, imported on first use: the one place ``albert_tok`` imports it (see docs/architecture.md).

    Returns:
        The ``torch`` module.

    Raises:
        ImportError: torch is not installed; the message says how to install it or to use ``"np"``.
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError(
            "return_tensors='pt' needs PyTorch: pip install torch==2.13.0 (or use return_tensors='np')"
        ) from exc
    return torch


def _rectangular(name: str, rows: list[Any]) -> np.ndarray:
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(
            f"cannot make a tensor of '{name}': rows have different lengths "
            f"{sorted(lengths)[:5]}...; pass padding=True (or padding='max_length')"
        )
    if name == "offset_mapping":
        return np.asarray(rows, dtype=np.int64).reshape(len(rows), -1, 2)
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), -1)


def to_tensors(data: dict[str, Any], return_tensors: str | None, batched: bool) -> dict[str, Any]:
    """Convert list-valued fields to ``np.ndarray`` or ``torch.Tensor`` (adding a batch axis for a
    single text, as transformers does).

    Args:
        data: The fields of one call: lists of rows (``batched``) or one row, or arrays already built.
        return_tensors: None to return ``data`` unchanged, ``"np"`` for int64 numpy arrays, ``"pt"`` for
            torch tensors sharing the arrays' memory.
        batched: Whether ``data`` holds rows of a batch (True) or one text's values (False: a batch axis of
            one is added).

    Returns:
        ``data`` itself for None, else a new dict of arrays or tensors; ``offset_mapping`` gets a last axis
        of 2.

    Raises:
        ValueError: ``return_tensors`` is not None, ``"np"`` or ``"pt"``, or a field's rows have different
            lengths (the message suggests padding).
        ImportError: ``"pt"`` without torch installed.
    """
    if return_tensors not in TENSOR_TYPES:
        raise ValueError(f"return_tensors={return_tensors!r} is not supported; accepted: None, 'np', 'pt'")
    if return_tensors is None:
        return data
    out: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, np.ndarray):
            arr = value if batched else value[None]
        elif name in ("length", "overflow_to_sample_mapping"):
            arr = np.asarray(value if batched else [value], dtype=np.int64)
        else:
            arr = _rectangular(name, value if batched else [value])
        out[name] = arr
    if return_tensors == "pt":
        torch = import_torch()
        out = {name: torch.from_numpy(np.ascontiguousarray(arr)) for name, arr in out.items()}
    return out


class BatchEncoding(dict):
    """A ``dict`` of ``input_ids``, ``token_type_ids``, ``attention_mask`` (+ optional fields).

    Fields are also attributes (``enc.input_ids``). A tokenizer call also answers token-level questions, as
    transformers' fast ``BatchEncoding`` does: ``tokens(i)``, ``word_ids(i)``, ``sequence_ids(i)``,
    ``char_to_token``, ``token_to_chars``, ``word_to_tokens``, ``token_to_word``... (for both tokenizers;
    see :mod:`albert_tok.api._alignment`). ``encodings`` is None: there are no Rust ``Encoding`` objects. An
    encoding made by ``pad()`` or from a plain dict has no token-level answers (``is_fast`` is False).

    Token-level methods take transformers' indices: with one index it is a position in row 0 (the usual
    case for one text), with two the first is the row (``batch_index``) and the second the position.
    Negative row and token indices count from the end.

    Args:
        data: The fields, copied into this mapping; None (the default) makes an empty encoding.
        alignment: What answers the token-level methods, set by the tokenizers; None (the default) makes an
            encoding without them.
        n_sequences: 1 for single texts, 2 for pairs, None (the default) when not made by a tokenizer call.
    """

    def __init__(
        self, data: dict[str, Any] | None = None, alignment: Alignment | None = None, n_sequences: int | None = None
    ) -> None:
        super().__init__(data or {})
        self._alignment = alignment
        self._n_sequences = n_sequences

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_alignment", "_n_sequences"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r}; fields: {sorted(self)}") from None

    def __reduce__(self) -> tuple[Any, ...]:
        return BatchEncoding, (dict(self), self._alignment, self._n_sequences)

    @property
    def data(self) -> dict[str, Any]:
        """The fields (this mapping itself), as transformers' ``BatchEncoding.data``."""
        return self

    @property
    def encodings(self) -> None:
        """Always None: there are no Rust ``tokenizers.Encoding`` objects behind this encoding."""
        return None

    @property
    def is_fast(self) -> bool:
        """Whether token-level answers (``word_ids()``, ``char_to_token()``...) are available."""
        return self._alignment is not None

    @property
    def n_sequences(self) -> int | None:
        """1 for single texts, 2 for pairs, None for an encoding not made by a tokenizer call."""
        return self._n_sequences

    def _aligned(self, what: str) -> Alignment:
        if self._alignment is None:
            raise ValueError(
                f"{what}() is only available for a BatchEncoding returned by a tokenizer call "
                f"(not one made by pad() or from a dict)"
            )
        return self._alignment

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The tokens of row ``batch_index`` (padding included).

        Args:
            batch_index: The row; 0 (the default) is the only row of a single text.

        Returns:
            One token string per position, special tokens and the pad token included.

        Raises:
            IndexError: the row index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        return self._aligned("tokens").tokens(batch_index)

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The word each token belongs to (None for special tokens and padding).

        Args:
            batch_index: The row; 0 (the default) is the only row of a single text.

        Returns:
            One word index or None per position. Words count from 0 in each sequence of a pair.

        Raises:
            IndexError: the row index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        return self._aligned("word_ids").word_ids(batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 for the first sequence's tokens, 1 for the second's, None for special tokens and padding.

        Args:
            batch_index: The row; 0 (the default) is the only row of a single text.

        Returns:
            One sequence index or None per position.

        Raises:
            IndexError: the row index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        return self._aligned("sequence_ids").sequence_ids(batch_index)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """Which sequence a token belongs to.

        Args:
            batch_or_token_index: The token's position in row 0, or the row when ``token_index`` is given.
            token_index: The token's position in that row; None (the default) for the one-index form.

        Returns:
            0 or 1 (the second text of a pair); None for a special token or padding.

        Raises:
            IndexError: the row or the token index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        row, k = _indices(batch_or_token_index, token_index)
        return self._aligned("token_to_sequence").token_to_sequence(row, k)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """Which word of its sequence a token belongs to.

        Args:
            batch_or_token_index: The token's position in row 0, or the row when ``token_index`` is given.
            token_index: The token's position in that row; None (the default) for the one-index form.

        Returns:
            The word index within the token's sequence; None for a special token or padding.

        Raises:
            IndexError: the row or the token index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        row, k = _indices(batch_or_token_index, token_index)
        return self._aligned("token_to_word").token_to_word(row, k)

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        """The characters of the original text a token came from.

        Args:
            batch_or_token_index: The token's position in row 0, or the row when ``token_index`` is given.
            token_index: The token's position in that row; None (the default) for the one-index form.

        Returns:
            ``CharSpan(start, end)`` in the text of the token's own sequence (the offset mapping's entry);
            None for a special token or padding.

        Raises:
            IndexError: the row or the token index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        row, k = _indices(batch_or_token_index, token_index)
        return self._aligned("token_to_chars").token_to_chars(row, k)

    def word_to_tokens(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> TokenSpan | None:
        """The tokens a word was split into.

        Args:
            batch_or_word_index: The word index in row 0, or the row when ``word_index`` is given.
            word_index: The word index in that row; None (the default) for the one-index form.
            sequence_index: Which text of a pair the word is in: 0 (the default) or 1.

        Returns:
            ``TokenSpan(start, end)``, the positions of the word's first token and one past its last; None
            when the sequence has no such word.

        Raises:
            IndexError: the row index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        row, k = _indices(batch_or_word_index, word_index)
        return self._aligned("word_to_tokens").word_to_tokens(row, k, sequence_index)

    def word_to_chars(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> CharSpan | None:
        """The characters of the original text a word covers.

        Args:
            batch_or_word_index: The word index in row 0, or the row when ``word_index`` is given.
            word_index: The word index in that row; None (the default) for the one-index form.
            sequence_index: Which text of a pair the word is in: 0 (the default) or 1.

        Returns:
            ``CharSpan(start, end)`` from the start of the word's first token to the end of its last, in
            that sequence's text; None when the sequence has no such word.

        Raises:
            IndexError: the row index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        row, k = _indices(batch_or_word_index, word_index)
        return self._aligned("word_to_chars").word_to_chars(row, k, sequence_index)

    def char_to_token(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        """The token that covers a character of the original text.

        Args:
            batch_or_char_index: The character index in row 0's text, or the row when ``char_index`` is
                given.
            char_index: The character index in that row's text; None (the default) for the one-index form.
            sequence_index: Which text of a pair the character is in: 0 (the default) or 1.

        Returns:
            The position of the first token of that sequence whose character span holds the character; None
            when no token does (whitespace, a character dropped by preprocessing, an index past the text).

        Raises:
            IndexError: the row index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        row, k = _indices(batch_or_char_index, char_index)
        return self._aligned("char_to_token").char_to_token(row, k, sequence_index)

    def char_to_word(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        """The word that covers a character of the original text.

        Args:
            batch_or_char_index: The character index in row 0's text, or the row when ``char_index`` is
                given.
            char_index: The character index in that row's text; None (the default) for the one-index form.
            sequence_index: Which text of a pair the character is in: 0 (the default) or 1.

        Returns:
            The word index of the token :meth:`char_to_token` finds; None when no token covers the character.

        Raises:
            IndexError: the row index is out of range (negative indices count from the end).
            ValueError: the encoding was not made by a tokenizer call (``pad()``, a plain dict), or it was
                pickled before this row's answer was computed.
        """
        row, k = _indices(batch_or_char_index, char_index)
        return self._aligned("char_to_word").char_to_word(row, k, sequence_index)

    def to(self, *args: Any, **kwargs: Any) -> BatchEncoding:
        """Move tensors to a device (``.to("cuda")``, ``.to(device, non_blocking=True)``), in place; with a
        dtype (``.to(torch.bfloat16)``, ``.to("cuda", dtype=...)``) only floating tensors are cast, never
        the integer ids and masks. Returns this encoding.

        Fields that are not torch tensors (lists, numpy arrays) are left as they are.

        Args:
            *args: Positionally, a device (a str such as ``"cuda:0"``, an int, a ``torch.device``) and/or a
                ``torch.dtype``, in any order; a later one of the same kind wins, and either wins over
                the keyword of its kind.
            **kwargs: ``device`` and ``dtype`` as above, and ``non_blocking`` (default False), passed on to
                ``Tensor.to`` for an asynchronous copy from pinned memory.

        Returns:
            This same encoding, its tensors replaced.

        Raises:
            TypeError: a keyword other than ``device``, ``dtype`` and ``non_blocking``, or a positional
                argument that is neither a device nor a dtype.
            ImportError: torch is not installed.
        """
        torch = import_torch()
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        non_blocking = bool(kwargs.pop("non_blocking", False))
        if kwargs:
            raise TypeError(f"unexpected argument(s) {sorted(kwargs)}; accepted: device, dtype, non_blocking")
        for arg in args:
            if isinstance(arg, torch.dtype):
                dtype = arg
            elif isinstance(arg, (str, int, torch.device)):
                device = arg
            else:
                raise TypeError(f"to() takes a device (str, int, torch.device) or a torch.dtype, got {arg!r:.40}")
        for name, value in self.items():
            if isinstance(value, torch.Tensor):
                cast = dtype if dtype is not None and torch.is_floating_point(value) else None
                self[name] = value.to(device=device, dtype=cast, non_blocking=non_blocking)
        return self


def _indices(first: int, second: int | None) -> tuple[int, int]:
    """transformers' convention: one index means row 0; two mean (row, index)."""
    return (0, first) if second is None else (first, second)
