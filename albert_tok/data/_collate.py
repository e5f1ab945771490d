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
from albert_tok.rules import pad_batch

__all__ = ["PaddingCollator"]


@dataclass
class PaddingCollator:
    """Pads a list of encodings (``{"input_ids": [...], ...}``) on the right to the longest in the batch.

    Every list-valued field is padded by :func:`albert_tok.rules.pad_batch` with the one table of fill values
    (:data:`albert_tok.rules.PAD_VALUES`): ``input_ids`` with ``pad_token_id``, ``labels`` with -100,
    ``special_tokens_mask`` with 1, ``token_type_ids`` and ``attention_mask`` with 0, and any other field
    with 0. Other values (one number per example, such as a class label) become one array. An
    ``attention_mask`` is made when the encodings have none.

    Args:
        pad_token_id: The id that fills ``input_ids``; the tokenizer's ``pad_token_id`` (0 by default, the
            ``<pad>`` of ALBERT's vocabulary).
        pad_to_multiple_of: When set, the padded length is rounded up to a multiple of it (8 suits tensor
            cores); None (the default) pads to the longest row exactly.
        return_tensors: ``"pt"`` (the default) for torch tensors, ``"np"`` for numpy arrays, None for the
            numpy arrays as they are made.
    """

    pad_token_id: int = 0
    pad_to_multiple_of: int | None = None
    return_tensors: str | None = "pt"

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Collate ``features`` into one padded batch.

        Args:
            features: One encoding per example, each a mapping with ``input_ids`` and the same fields as the
                first; a field is padded when its value in the first example is a list, tuple or numpy array.

        Returns:
            Field name to an int64 ``(examples, width)`` tensor or array for padded fields and a tensor or array
            of one value per example for the others, with ``attention_mask`` added when missing.

        Raises:
            ValueError: ``features`` is empty, or a field's row is longer than the padded ``input_ids``.
        """
        if not features:
            raise ValueError("cannot collate an empty batch")
        rows: dict[str, list[Any]] = {}
        values: dict[str, Any] = {}
        for name in features[0]:
            column = [f[name] for f in features]
            if isinstance(column[0], (list, tuple, np.ndarray)):
                rows[name] = column
            else:
                values[name] = np.asarray(column)
        padded = pad_batch(
            rows, self.pad_token_id, pad_to_multiple_of=self.pad_to_multiple_of, attention_mask=True, other=0
        )
        out = {name: padded[name] if name in padded else values[name] for name in features[0]}
        if "attention_mask" not in out:
            out["attention_mask"] = padded["attention_mask"]
        return to_tensors(out, self.return_tensors, True)
