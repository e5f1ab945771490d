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
    single text, as transformers does)."""
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
        """The tokens of row ``batch_index`` (padding included)."""
        return self._aligned("tokens").tokens(batch_index)

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The word each token belongs to (None for special tokens and padding)."""
        return self._aligned("word_ids").word_ids(batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 for the first sequence's tokens, 1 for the second's, None for special tokens and padding."""
        return self._aligned("sequence_ids").sequence_ids(batch_index)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        row, k = _indices(batch_or_token_index, token_index)
        return self._aligned("token_to_sequence").token_to_sequence(row, k)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        row, k = _indices(batch_or_token_index, token_index)
        return self._aligned("token_to_word").token_to_word(row, k)

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        row, k = _indices(batch_or_token_index, token_index)
        return self._aligned("token_to_chars").token_to_chars(row, k)

    def word_to_tokens(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> TokenSpan | None:
        row, k = _indices(batch_or_word_index, word_index)
        return self._aligned("word_to_tokens").word_to_tokens(row, k, sequence_index)

    def word_to_chars(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> CharSpan | None:
        row, k = _indices(batch_or_word_index, word_index)
        return self._aligned("word_to_chars").word_to_chars(row, k, sequence_index)

    def char_to_token(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        row, k = _indices(batch_or_char_index, char_index)
        return self._aligned("char_to_token").char_to_token(row, k, sequence_index)

    def char_to_word(
        self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0
    ) -> int | None:
        row, k = _indices(batch_or_char_index, char_index)
        return self._aligned("char_to_word").char_to_word(row, k, sequence_index)

    def to(self, *args: Any, **kwargs: Any) -> BatchEncoding:
        """Move tensors to a device (``.to("cuda")``, ``.to(device, non_blocking=True)``), in place; with a
        dtype (``.to(torch.bfloat16)``, ``.to("cuda", dtype=...)``) only floating tensors are cast, never
        the integer ids and masks. Returns this encoding."""
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
