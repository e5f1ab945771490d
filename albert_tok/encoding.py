"""``BatchEncoding``: the mapping a tokenizer call returns, and its conversion to arrays and tensors.

torch is imported only when ``return_tensors="pt"`` (or ``.to()``) asks for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TENSOR_TYPES", "BatchEncoding", "to_tensors"]

TENSOR_TYPES = (None, "np", "pt")


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError("return_tensors='pt' needs PyTorch: pip install torch==2.13.0 "
                          "(or use return_tensors='np')") from exc
    return torch


def _rectangular(name: str, rows: list[Any]) -> np.ndarray:
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(f"cannot make a tensor of '{name}': rows have different lengths "
                         f"{sorted(lengths)[:5]}...; pass padding=True (or padding='max_length')")
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
        arr = value if isinstance(value, np.ndarray) else _rectangular(name, value if batched else [value])
        if isinstance(value, np.ndarray) and not batched:
            arr = value[None]
        out[name] = arr
    if return_tensors == "pt":
        torch = _import_torch()
        out = {name: torch.from_numpy(np.ascontiguousarray(arr)) for name, arr in out.items()}
    return out


class BatchEncoding(dict):
    """A ``dict`` of ``input_ids``, ``token_type_ids``, ``attention_mask`` (+ optional fields).

    Fields are also attributes (``enc.input_ids``). ``to(device)`` moves torch tensors.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r}; fields: {sorted(self)}") from None

    def __getstate__(self) -> dict[str, Any]:
        return dict(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.update(state)

    def to(self, device: Any) -> BatchEncoding:
        torch = _import_torch()
        return BatchEncoding({k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.items()})
