"""``tokenizer.pad(features)``: padding already-encoded inputs, as transformers' ``PreTrainedTokenizerBase.pad``.

This is what transformers' data collators call (``DataCollatorWithPadding``,
``DataCollatorForTokenClassification``, ``DataCollatorForLanguageModeling``), so the semantics are theirs, key
for key: a list of encodings or a dict of lists (lists, numpy arrays or tensors; tensors make the default
``return_tensors`` their kind), ``input_ids`` padded with the pad id, ``token_type_ids`` with 0,
``attention_mask`` with 0 (created when missing), ``special_tokens_mask`` with 1, every other key (``labels``,
``offset_mapping``...) left alone; the batch is padded to its longest row or to ``max_length``, rounded up to
``pad_to_multiple_of``; nothing is truncated. Tensors are made the way transformers makes them
(``torch.tensor`` of the lists), so dtypes match its batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from albert_tok.api._encoding import TENSOR_TYPES, BatchEncoding, import_torch
from albert_tok.rules import Padding

__all__ = ["pad_features"]

# Fill value per padded key; other keys are left alone (transformers' _pad).
_FILL = {"token_type_ids": 0, "attention_mask": 0, "special_tokens_mask": 1}


def _to_python(value: Any) -> Any:
    """Lists and ints from numpy arrays, tensors and numpy scalars (transformers' ``to_py_obj``)."""
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        if type(value).__module__.startswith("torch"):
            value = value.detach().cpu()
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_to_python(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_python(v) for k, v in value.items()}
    return value


def _tensor_kind(value: Any) -> str | None:
    module = type(value).__module__
    if isinstance(value, (np.ndarray, np.generic)):
        return "np"
    if module.startswith("torch"):
        return "pt"
    if module.startswith("tensorflow"):
        raise ValueError(
            "TensorFlow tensors are not supported by this tokenizer; pass lists, numpy arrays or torch tensors"
        )
    return None


def _as_batch(encoded_inputs: Any, input_name: str) -> dict[str, Any]:
    if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
        keys = list(encoded_inputs[0])
        for i, example in enumerate(encoded_inputs):
            if not isinstance(example, Mapping):
                raise TypeError(
                    f"encoded_inputs[{i}] is {type(example).__name__}; every example must be a dict "
                    f"or BatchEncoding like encoded_inputs[0]"
                )
            missing = [k for k in keys if k not in example]
            if missing:
                raise ValueError(
                    f"encoded_inputs[{i}] has no {missing} (encoded_inputs[0] has {keys}); every "
                    f"example needs the same keys"
                )
        return {key: [example[key] for example in encoded_inputs] for key in keys}
    if isinstance(encoded_inputs, Mapping):
        return dict(encoded_inputs)
    raise TypeError(
        f"encoded_inputs must be a dict/BatchEncoding or a list of them, got "
        f"{type(encoded_inputs).__name__} ({encoded_inputs!r:.60})"
    )


def _pad_row(
    row: dict[str, Any], target: int | None, pad_id: int, input_name: str, left: bool, attention_mask: bool
) -> dict[str, Any]:
    ids = row[input_name]
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise TypeError(f"{input_name} must be a list of int per example, got {ids!r:.60}")
    if attention_mask and "attention_mask" not in row:
        row["attention_mask"] = [1] * len(ids)
    missing = 0 if target is None else target - len(ids)
    if missing <= 0:
        return row
    fills = {input_name: pad_id, **_FILL}
    for key, fill in fills.items():
        if key not in row or (key == "attention_mask" and not attention_mask):
            continue
        row[key] = [fill] * missing + row[key] if left else row[key] + [fill] * missing
    return row


def _target(length: int, padding: Padding, max_length: int | None, multiple: int | None) -> int | None:
    if padding is Padding.DO_NOT_PAD:
        return None
    target = length if padding is Padding.LONGEST else max_length
    if target is not None and multiple is not None and target % multiple:
        target = (target // multiple + 1) * multiple
    return target


def _tensors(data: dict[str, Any], kind: str | None) -> dict[str, Any]:
    """transformers' ``BatchEncoding.convert_to_tensors``: every key, ``torch.tensor``/``np.asarray`` of it."""
    if kind is None:
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        try:
            if kind == "pt":
                torch = import_torch()
                out[key] = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            else:
                if (
                    isinstance(value, (list, tuple))
                    and value
                    and isinstance(value[0], (list, tuple, np.ndarray))
                    and len({len(v) for v in value}) > 1
                ):
                    out[key] = np.asarray([np.asarray(v) for v in value], dtype=object)
                else:
                    out[key] = np.asarray(value)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise ValueError(
                f"cannot make a tensor of '{key}' ({exc}); its rows differ in length or it is not "
                f"numeric: pad it yourself (as transformers' collators pad labels) or leave "
                f"return_tensors=None"
            ) from exc
    return out


def pad_features(
    encoded_inputs: Any,
    *,
    pad_id: int,
    padding: Padding,
    max_length: int | None,
    pad_to_multiple_of: int | None,
    model_max_length: int,
    left: bool,
    return_attention_mask: bool | None,
    return_tensors: str | None,
    input_name: str = "input_ids",
) -> BatchEncoding:
    """The body of ``tokenizer.pad`` (see the module docstring); the tokenizer passes its pad id, its
    ``model_max_length`` (the length for ``padding="max_length"`` without ``max_length``) and its side."""
    if return_tensors not in TENSOR_TYPES:
        raise ValueError(f"return_tensors={return_tensors!r} is not supported; accepted: None, 'np', 'pt'")
    batch = _as_batch(encoded_inputs, input_name)
    if input_name not in batch:
        raise ValueError(f"pad() needs {input_name!r} in each encoding; got the keys {sorted(batch)}")
    required = batch[input_name]
    if required is None or len(required) == 0:
        if return_attention_mask:
            batch["attention_mask"] = []
        return BatchEncoding(batch)
    first = required[0]
    if isinstance(first, (list, tuple)):
        first = next((row[0] for row in required if len(row)), first)
    if not isinstance(first, (int, list, tuple)):
        kind = _tensor_kind(first)
        if kind is None:
            raise TypeError(
                f"{input_name} holds {type(first).__name__}; expected int lists, numpy arrays or torch tensors"
            )
        return_tensors = kind if return_tensors is None else return_tensors
    batch = {key: _to_python(value) for key, value in batch.items()}
    if padding is Padding.MAX_LENGTH and max_length is None:
        max_length = model_max_length
    attention_mask = True if return_attention_mask is None else bool(return_attention_mask)
    required = batch[input_name]
    if not isinstance(required[0], (list, tuple)):  # one encoding, not a batch
        row = _pad_row(
            batch,
            _target(len(required), padding, max_length, pad_to_multiple_of),
            pad_id,
            input_name,
            left,
            attention_mask,
        )
        return BatchEncoding(_tensors(row, return_tensors))
    size = len(required)
    uneven = sorted(k for k, v in batch.items() if not isinstance(v, (list, tuple)) or len(v) != size)
    if uneven:
        raise ValueError(f"{uneven} do not have one entry per example ({size} in {input_name})")
    if padding is Padding.LONGEST:
        max_length, padding = max(len(r) for r in required), Padding.MAX_LENGTH
    target = _target(0, padding, max_length, pad_to_multiple_of)
    rows = [
        _pad_row(
            {k: list(v[i]) if isinstance(v[i], (list, tuple)) else v[i] for k, v in batch.items()},
            target,
            pad_id,
            input_name,
            left,
            attention_mask,
        )
        for i in range(size)
    ]
    out = {key: [row[key] for row in rows] for key in rows[0]}
    return BatchEncoding(_tensors(out, return_tensors))
