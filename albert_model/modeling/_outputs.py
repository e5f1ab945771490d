"""Model outputs as dataclasses that are also ordered dicts, like transformers' ``ModelOutput``.

``out.logits``, ``out["logits"]``, ``out[0]`` (the first field that is not None: the loss when labels were
given, else the logits), ``"loss" in out``, ``keys()/values()/items()/get()``, iteration over the keys and
``to_tuple()`` all behave as in transformers, so code written for it (``transformers.Trainer`` tests
``isinstance(outputs, dict)``; ``DataParallel`` rebuilds outputs from ``(key, value)`` pairs) works unchanged.
Fields that are None are not keys. Outputs are registered as pytree nodes for ``torch.export`` and DDP.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import partial
from typing import Any, cast

import torch
import torch.utils._pytree as pytree

__all__ = [
    "AlbertForPreTrainingOutput",
    "BaseModelOutputWithPooling",
    "MaskedLMOutput",
    "ModelOutput",
    "MultipleChoiceModelOutput",
    "QuestionAnsweringModelOutput",
    "SequenceClassifierOutput",
    "TokenClassifierOutput",
]

Tensors = tuple[torch.Tensor, ...] | None
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # per output class, filled on first use (outputs are hot)


def _flatten(output: ModelOutput) -> tuple[list[Any], list[str]]:
    return list(output.values()), list(output.keys())


def _unflatten(values: Iterable[Any], context: list[str], output_type: type) -> ModelOutput:
    return output_type(**dict(zip(context, values, strict=False)))


class ModelOutput(OrderedDict):
    """Dataclass fields mirrored as dict entries (the ones that are not None); integer and slice indexing
    go over those entries in field order. Entries cannot be deleted or popped, as in transformers."""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        pytree.register_pytree_node(
            cls, _flatten, partial(_unflatten, output_type=cls), serialized_type_name=f"{cls.__module__}.{cls.__name__}"
        )

    def __post_init__(self) -> None:
        cls = type(self)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        values = self.__dict__
        first = values[names[0]]
        if first is not None and not isinstance(first, torch.Tensor) and all(values[n] is None for n in names[1:]):
            pairs = list(first.items()) if isinstance(first, dict) else None
            if pairs is None and isinstance(first, Iterable) and not isinstance(first, (str, bytes)):
                pairs = list(first)
            if pairs is not None and all(isinstance(p, tuple) and len(p) == 2 and p[0] in names for p in pairs):
                # OutputClass((key, value), ...): how DataParallel's gather rebuilds a dict output
                object.__setattr__(self, names[0], None)
                for key, value in pairs:
                    object.__setattr__(self, key, value)
        for name in names:
            value = values[name]
            if value is not None:
                OrderedDict.__setitem__(self, name, value)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return OrderedDict.__getitem__(self, key)
        return self.to_tuple()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        OrderedDict.__setitem__(self, key, value)
        object.__setattr__(self, key, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if value is not None and name in self:
            OrderedDict.__setitem__(self, name, value)
        object.__setattr__(self, name, value)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{type(self).__name__} entries are its fields; they cannot be deleted, popped or "
            f"updated in bulk (assign out.<field> or out['<field>'] instead)"
        )

    __delitem__ = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment, unused-ignore]

    def __reduce__(self) -> Any:
        # pickle by fields: OrderedDict's default would call cls() without the required first field
        rebuild, _, *rest = cast(tuple[Any, ...], super().__reduce__())
        return (rebuild, tuple(getattr(self, f.name) for f in fields(self)), *rest)  # type: ignore[arg-type]

    def to_tuple(self) -> tuple[Any, ...]:
        """The values that are not None, in field order (what ``return_dict=False`` returns)."""
        return tuple(self.values())


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class AlbertForPreTrainingOutput(ModelOutput):
    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    sop_logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class MaskedLMOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TokenClassifierOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    loss: torch.Tensor | None = None
    start_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class MultipleChoiceModelOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None
