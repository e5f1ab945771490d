"""Model outputs as dataclasses that are also ordered dicts, like transformers' ``ModelOutput``.

``out.logits``, ``out["logits"]``, ``out[0]`` (the first field that is not None: the loss when labels were
given, else the logits), ``"loss" in out``, ``keys()/values()/items()/get()``, iteration over the keys and
``to_tuple()`` all behave as in transformers, so code written for it (``transformers.Trainer`` tests
``isinstance(outputs, dict)``; ``DataParallel`` rebuilds outputs from ``(key, value)`` pairs) works unchanged.
Fields that are None are not keys. Outputs are registered as pytree nodes for ``torch.export`` and DDP.

Shapes below use ``batch`` and ``sequence`` for the input's sizes, and the config's names for the rest
(``hidden_size``, ``vocab_size``, ``num_labels``, ``num_attention_heads``, ``num_hidden_layers``,
``inner_group_num``). Two fields are shared by every output:

- ``hidden_states`` (only with ``output_hidden_states=True``): a tuple of ``num_hidden_layers + 1`` tensors of
  shape ``(batch, sequence, hidden_size)``: the embeddings projected to ``hidden_size``, then the output of
  each of the ``num_hidden_layers`` steps over the shared layer groups. Under ``attn_implementation="varlen"``
  a packed batch has zeros at its padding positions.
- ``attentions`` (only with ``output_attentions=True``): a tuple of ``num_hidden_layers * inner_group_num``
  tensors of shape ``(batch, num_attention_heads, sequence, sequence)``: each layer's attention weights after
  the softmax (before attention dropout), in the order the layers ran.
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
    go over those entries in field order. Entries cannot be deleted or popped, as in transformers.

    The base of the output dataclasses below; it is not built directly. Setting a field (``out.logits = x``
    or ``out["logits"] = x``) updates both the attribute and the entry. An output built from one iterable of
    ``(field name, value)`` pairs (how ``DataParallel`` gathers dict outputs) takes its fields from those
    pairs. Outputs pickle by their fields.
    """

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
        """``del out[key]``, ``pop``, ``popitem``, ``setdefault`` and ``update``: refused, as transformers does,
        since the entries are the dataclass's fields and must stay in step with its attributes.

        Args:
            *args: Whatever the refused dict method was given; ignored.
            **kwargs: Whatever the refused dict method was given; ignored.

        Returns:
            Nothing: it always raises.

        Raises:
            TypeError: Always, naming the output class and what to do instead (assign ``out.<field>`` or
                ``out["<field>"]``).
        """
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
        """The values that are not None, in field order (what ``return_dict=False`` returns).

        Returns:
            A tuple of the fields that are not None, in the order the dataclass declares them: for a head
            given labels ``(loss, logits, ...)``, without labels ``(logits, ...)``.
        """
        return tuple(self.values())


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    """What :class:`AlbertModel` returns.

    Attributes:
        last_hidden_state: ``(batch, sequence, hidden_size)``: the encoder's output for every token. Under
            ``attn_implementation="varlen"`` a packed batch has zeros at its padding positions.
        pooler_output: ``(batch, hidden_size)``: ``tanh(pooler(last_hidden_state[:, 0]))``, the first token's
            state through the pooler, which the sentence-level heads read; None when the model was built with
            ``add_pooling_layer=False``.
        hidden_states: The hidden states after the embeddings and after each step, when asked for with
            ``output_hidden_states=True``; else None (see the module docstring for the shapes).
        attentions: Each layer's attention weights, when asked for with ``output_attentions=True``; else None
            (see the module docstring for the shapes).
    """

    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class AlbertForPreTrainingOutput(ModelOutput):
    """What :class:`AlbertForPreTraining` returns.

    Attributes:
        loss: Scalar float32 tensor: the masked-LM cross-entropy plus the sentence-order cross-entropy; None
            unless both ``labels`` and ``sentence_order_label`` were given.
        prediction_logits: ``(batch, sequence, vocab_size)``: masked-LM scores over the vocabulary for every
            token, or ``(num_masked, vocab_size)`` for the ``masked_positions`` alone when those were given.
        sop_logits: ``(batch, num_labels)``: sentence-order scores (label 0: segments in their order, label 1:
            swapped).
        hidden_states: The hidden states after the embeddings and after each step, when asked for with
            ``output_hidden_states=True``; else None (see the module docstring for the shapes).
        attentions: Each layer's attention weights, when asked for with ``output_attentions=True``; else None
            (see the module docstring for the shapes).
    """

    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    sop_logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class MaskedLMOutput(ModelOutput):
    """What :class:`AlbertForMaskedLM` returns.

    Attributes:
        loss: Scalar float32 tensor: the masked-LM cross-entropy over the positions whose label is not -100;
            None unless ``labels`` were given.
        logits: ``(batch, sequence, vocab_size)``: scores over the vocabulary for every token, or
            ``(num_masked, vocab_size)`` for the ``masked_positions`` alone when those were given.
        hidden_states: The hidden states after the embeddings and after each step, when asked for with
            ``output_hidden_states=True``; else None (see the module docstring for the shapes).
        attentions: Each layer's attention weights, when asked for with ``output_attentions=True``; else None
            (see the module docstring for the shapes).
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    """What :class:`AlbertForSequenceClassification` returns.

    Attributes:
        loss: Scalar tensor: mean squared error (regression), cross-entropy (single-label) or binary
            cross-entropy with logits (multi-label); None unless ``labels`` were given.
        logits: ``(batch, num_labels)``: one score per label (the predicted value itself for regression with
            one label), before any softmax or sigmoid.
        hidden_states: The hidden states after the embeddings and after each step, when asked for with
            ``output_hidden_states=True``; else None (see the module docstring for the shapes).
        attentions: Each layer's attention weights, when asked for with ``output_attentions=True``; else None
            (see the module docstring for the shapes).
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TokenClassifierOutput(ModelOutput):
    """What :class:`AlbertForTokenClassification` returns.

    Attributes:
        loss: Scalar float32 tensor: the cross-entropy over the tokens whose label is not -100; None unless
            ``labels`` were given.
        logits: ``(batch, sequence, num_labels)``: one score per label for every token, before the softmax.
        hidden_states: The hidden states after the embeddings and after each step, when asked for with
            ``output_hidden_states=True``; else None (see the module docstring for the shapes).
        attentions: Each layer's attention weights, when asked for with ``output_attentions=True``; else None
            (see the module docstring for the shapes).
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    """What :class:`AlbertForQuestionAnswering` returns.

    Attributes:
        loss: Scalar float32 tensor: the mean of the start and end cross-entropies; None unless both
            ``start_positions`` and ``end_positions`` were given.
        start_logits: ``(batch, sequence)``: for each token, the score of the answer span starting there.
        end_logits: ``(batch, sequence)``: for each token, the score of the answer span ending there.
        hidden_states: The hidden states after the embeddings and after each step, when asked for with
            ``output_hidden_states=True``; else None (see the module docstring for the shapes).
        attentions: Each layer's attention weights, when asked for with ``output_attentions=True``; else None
            (see the module docstring for the shapes).
    """

    loss: torch.Tensor | None = None
    start_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class MultipleChoiceModelOutput(ModelOutput):
    """What :class:`AlbertForMultipleChoice` returns.

    Attributes:
        loss: Scalar float32 tensor: the cross-entropy of the right choice; None unless ``labels`` were given.
        logits: ``(batch, num_choices)``: one score per choice, before the softmax.
        hidden_states: As in the module docstring, over the ``batch * num_choices`` flattened sequences:
            ``(batch * num_choices, sequence, hidden_size)`` each, when asked for with
            ``output_hidden_states=True``; else None.
        attentions: As in the module docstring, over the ``batch * num_choices`` flattened sequences, when
            asked for with ``output_attentions=True``; else None.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: Tensors = None
    attentions: Tensors = None
