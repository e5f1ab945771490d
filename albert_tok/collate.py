"""Batch collators for training: dynamic right padding, and ALBERT's pretraining masking.

torch is imported only when a collator is called with ``return_tensors="pt"`` (the default), so data
pipelines that import :mod:`albert_tok` stay free of it. The pretraining recipe in
:mod:`albert_model.pretrain` uses :class:`PretrainingCollator`; there is no second implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .encoding import to_tensors
from .padding import Padding, padded_length
from .special_tokens import layout_masks

__all__ = ["PaddingCollator", "PretrainingCollator", "ngram_mask"]


def _pad_rows(rows: Sequence[Sequence[int]], value: int, width: int) -> np.ndarray:
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


@dataclass
class PaddingCollator:
    """Pads a list of encodings (``{"input_ids": [...], ...}``) to the longest in the batch, rounded up
    to ``pad_to_multiple_of``. Keeps every other list-valued field, padded with 0 (labels with -100)."""

    pad_token_id: int = 0
    pad_to_multiple_of: int | None = None
    return_tensors: str | None = "pt"

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if not features:
            raise ValueError("cannot collate an empty batch")
        lengths = [len(f["input_ids"]) for f in features]
        width = padded_length(max(lengths), Padding.LONGEST, None, self.pad_to_multiple_of)
        out: dict[str, Any] = {}
        for name in features[0]:
            values = [f[name] for f in features]
            if isinstance(values[0], (list, tuple, np.ndarray)):
                fill = self.pad_token_id if name == "input_ids" else -100 if name == "labels" else 0
                out[name] = _pad_rows(values, fill, width)
            else:
                out[name] = np.asarray(values)
        if "attention_mask" not in out:
            out["attention_mask"] = (np.arange(width)[None, :] < np.asarray(lengths)[:, None]).astype(np.int64)
        return to_tensors(out, self.return_tensors, True)


def ngram_mask(length: int, candidates: np.ndarray, budget: int, max_ngram: int,
               rng: np.random.Generator) -> np.ndarray:
    """Boolean mask choosing about ``budget`` of the ``candidates`` positions in n-gram spans.

    As in the ALBERT paper, n is drawn with probability proportional to 1/n for n = 1..max_ngram; a span
    never leaves the candidate positions (special and padding tokens are never masked).
    """
    mask = np.zeros(length, dtype=bool)
    allowed = np.zeros(length, dtype=bool)
    allowed[candidates] = True
    weights = 1.0 / np.arange(1, max_ngram + 1)
    weights /= weights.sum()
    order = rng.permutation(candidates)
    chosen = 0
    for start in order:
        if chosen >= budget:
            break
        n = int(rng.choice(max_ngram, p=weights)) + 1
        n = min(n, budget - chosen)
        span = np.arange(start, min(start + n, length))
        span = span[allowed[span] & ~mask[span]]
        mask[span] = True
        chosen += len(span)
    return mask


@dataclass
class PretrainingCollator:
    """ALBERT pretraining batches from ``(segment_a, segment_b, is_swapped)`` examples of token ids.

    Builds ``[CLS] A [SEP] B [SEP]``, pads, masks ``mlm_probability`` of the non-special tokens in n-gram
    spans (80% ``[MASK]``, 10% a random token, 10% unchanged) and returns ``input_ids``,
    ``attention_mask``, ``token_type_ids``, ``labels`` (-100 where not masked) and
    ``sentence_order_label`` (1 when A and B were swapped).
    """

    cls_token_id: int
    sep_token_id: int
    mask_token_id: int
    pad_token_id: int
    vocab_size: int
    first_normal_id: int = 5
    mlm_probability: float = 0.15
    max_ngram: int = 3
    pad_to_multiple_of: int | None = None
    seed: int = 0
    return_tensors: str | None = "pt"

    def __post_init__(self) -> None:
        if not 0.0 < self.mlm_probability < 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if self.max_ngram < 1:
            raise ValueError(f"max_ngram must be >= 1, got {self.max_ngram}")
        self._rng = np.random.default_rng(self.seed)

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, **kwargs: Any) -> "PretrainingCollator":
        return cls(cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id,
                   mask_token_id=tokenizer.mask_token_id, pad_token_id=tokenizer.pad_token_id,
                   vocab_size=tokenizer.vocab_size, **kwargs)

    def __call__(self, examples: Sequence[tuple[Sequence[int], Sequence[int], int]]) -> dict[str, Any]:
        if not examples:
            raise ValueError("cannot collate an empty batch")
        rows = [[self.cls_token_id, *a, self.sep_token_id, *b, self.sep_token_id] for a, b, _ in examples]
        len_a = np.array([len(a) for a, _, _ in examples], dtype=np.int64)
        len_b = np.array([len(b) for _, b, _ in examples], dtype=np.int64)
        width = padded_length(max(map(len, rows)), Padding.LONGEST, None, self.pad_to_multiple_of)
        ids = _pad_rows(rows, self.pad_token_id, width)
        types, special = layout_masks(len_a, len_b, width)
        lengths = len_a + len_b + 3
        attention = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        labels = np.full_like(ids, -100)
        for i in range(len(rows)):
            candidates = np.flatnonzero((special[i] == 0) & (attention[i] == 1) & (ids[i] >= self.first_normal_id))
            if candidates.size == 0:
                continue
            budget = max(1, int(round(candidates.size * self.mlm_probability)))
            chosen = ngram_mask(width, candidates, budget, self.max_ngram, self._rng)
            labels[i, chosen] = ids[i, chosen]
            roll = self._rng.random(int(chosen.sum()))
            where = np.flatnonzero(chosen)
            ids[i, where[roll < 0.8]] = self.mask_token_id
            random_pos = where[(roll >= 0.8) & (roll < 0.9)]
            ids[i, random_pos] = self._rng.integers(self.first_normal_id, self.vocab_size, random_pos.size)
        out = {"input_ids": ids, "attention_mask": attention, "token_type_ids": types, "labels": labels,
               "sentence_order_label": np.array([int(s) for _, _, s in examples], dtype=np.int64)}
        return to_tensors(out, self.return_tensors, True)
