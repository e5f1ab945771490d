"""``tokenizer.pad(features)``: padding already-encoded inputs, as transformers' ``PreTrainedTokenizerBase.pad``.

This is what transformers' data collators call (``DataCollatorWithPadding``,
``DataCollatorForTokenClassification``, ``DataCollatorForLanguageModeling``), so the semantics are theirs, key
for key: a list of encodings or a dict of lists (lists, numpy arrays or tensors; tensors make the default
``return_tensors`` their kind), ``input_ids`` padded with the pad id, ``token_type_ids`` with 0,
``attention_mask`` with 0 (created when missing), ``special_tokens_mask`` with 1, every other key (``labels``,
``offset_mapping``...) left alone; the batch is padded to its longest row or to ``max_length``, rounded up to
``pad_to_multiple_of``; nothing is truncated. The padding itself is :func:`albert_tok.rules.pad_batch`'s, with
its one table of fill values (:data:`albert_tok.rules.PAD_VALUES`). Tensors are made the way transformers makes
them (``torch.tensor`` of the lists), so dtypes match its batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from albert_tok.api._encoding import TENSOR_TYPES, BatchEncoding, import_torch
from albert_tok.rules import PAD_VALUES, Padding, Side, pad_batch, padded_length

__all__ = ["pad_features"]

# The keys padded besides the ids (with their PAD_VALUES fill); every other key is left alone, labels included:
# transformers' _pad leaves them to the collators, which pad them themselves.
_PADDED = frozenset(PAD_VALUES) - {"labels"}


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
    """The body of ``tokenizer.pad`` (see the module docstring), with the tokenizer's settings passed in.

    Args:
        encoded_inputs: One encoding (a dict of lists) or a batch: a list of dicts or ``BatchEncoding`` with the
            same keys, or a dict of lists; the rows may be lists, numpy arrays or torch tensors.
        pad_id: The tokenizer's pad id, which fills ``input_name``.
        padding: The checked strategy: ``LONGEST`` pads to the longest row, ``MAX_LENGTH`` to ``max_length``,
            ``DO_NOT_PAD`` pads nothing (an attention mask is still made).
        max_length: The length for ``MAX_LENGTH``; None means ``model_max_length``.
        pad_to_multiple_of: When set, the padded length is rounded up to a multiple of it.
        model_max_length: The tokenizer's ``model_max_length``.
        left: True pads before each row (``padding_side="left"``), False after it.
        return_attention_mask: None or True makes an ``attention_mask`` when the inputs have none and pads it;
            False neither makes nor pads one.
        return_tensors: None (lists, unless the inputs were tensors: then their kind), ``"np"`` or ``"pt"``.
        input_name: The key of the token ids (the tokenizer's first model input name).

    Returns:
        The padded encoding, its keys in the order of the inputs' (a made attention mask last).

    Raises:
        ValueError: An unsupported ``return_tensors``, no ``input_name`` in the inputs, examples without the
            same keys, a key without one entry per example, TensorFlow tensors, or values that cannot make a
            tensor (ragged rows of a key that is not padded, such as ``labels``).
        TypeError: The inputs are not a dict or a list of them, or ``input_name`` does not hold int lists,
            numpy arrays or torch tensors.
    """
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
    single = not isinstance(batch[input_name][0], (list, tuple))  # one encoding, not a batch
    if single:
        batch = {key: [value] for key, value in batch.items()}
    else:
        size = len(batch[input_name])
        uneven = sorted(k for k, v in batch.items() if not isinstance(v, (list, tuple)) or len(v) != size)
        if uneven:
            raise ValueError(f"{uneven} do not have one entry per example ({size} in {input_name})")
    rows = {
        key: [list(row) if isinstance(row, (list, tuple)) else row for row in value] for key, value in batch.items()
    }
    ids = rows[input_name]
    for row in ids:
        if not isinstance(row, list) or not all(isinstance(i, int) for i in row):
            raise TypeError(f"{input_name} must be a list of int per example, got {row!r:.60}")
    if attention_mask and "attention_mask" not in rows:
        rows["attention_mask"] = [[1] * len(row) for row in ids]
    if padding is not Padding.DO_NOT_PAD:
        _pad_short_rows(rows, input_name, pad_id, padding, max_length, pad_to_multiple_of, left, attention_mask)
    out = {key: value[0] for key, value in rows.items()} if single else rows
    return BatchEncoding(_tensors(out, return_tensors))


def _pad_short_rows(
    rows: dict[str, list[Any]],
    input_name: str,
    pad_id: int,
    padding: Padding,
    max_length: int | None,
    multiple: int | None,
    left: bool,
    attention_mask: bool,
) -> None:
    """Pad, in place, the examples shorter than the target length (the longest row, or ``max_length``, rounded
    up to ``multiple``) with :func:`albert_tok.rules.pad_batch`: the ids, token types, special-tokens mask and
    (unless ``attention_mask`` is False) attention mask. A row already as long as the target, or longer, is
    left as it is: nothing is truncated, as in transformers, so such a batch stays ragged."""
    ids = rows[input_name]
    target = padded_length(max(map(len, ids)), padding, max_length, multiple)
    short = [i for i, row in enumerate(ids) if len(row) < target]
    if not short:
        return
    names = [k for k in rows if k == input_name or (k in _PADDED and (k != "attention_mask" or attention_mask))]
    padded = pad_batch(
        {name: [rows[name][i] for i in short] for name in names},
        pad_id,
        key=input_name,
        max_length=target,
        side=Side.LEFT if left else Side.RIGHT,
        dtype=None,  # lists keep their values' types, as transformers' pad keeps them
    )
    for name in names:
        for i, row in zip(short, padded[name].tolist(), strict=True):
            rows[name][i] = row
