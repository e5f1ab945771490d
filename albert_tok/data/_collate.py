"""Batch collator for training: dynamic right padding.

torch is imported only when the collator is called with ``return_tensors="pt"`` (the default), so data
pipelines that import :mod:`albert_tok` stay free of it. ALBERT's pretraining collator (n-gram masking,
sentence order) lives beside the recipe that uses it: :mod:`albert_model.training._pretraining_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from albert_tok.api import to_tensors
from albert_tok.rules import Padding, padded_length

__all__ = ["PaddingCollator"]


def _pad_rows(rows: Sequence[Sequence[int]], value: int, width: int) -> np.ndarray:
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
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
