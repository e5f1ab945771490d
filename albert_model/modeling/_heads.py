"""Task heads on top of :class:`AlbertModel`, each under the checkpoint key ``albert``.

Each class declares its ``head_modules`` (checkpoint key prefixes of its head); loading a class reads its
own to tell a missing head from a broken checkpoint (no class is asked about another's). Losses are computed
only when labels are given; ``-100`` labels are ignored. ``return_dict=False`` returns transformers' tuples.
Sequence classification infers the problem type as transformers does (one label: regression; integer labels:
single-label; float labels: multi-label) without writing it back into the config.

Each ``forward`` takes :meth:`AlbertModel.forward`'s inputs, checked there, plus its labels, and computes
its loss in float32 (sequence classification's regression and multi-label losses in the logits' dtype).
Labels themselves are not checked: a class id out of range fails inside torch's loss. Under
``attn_implementation="varlen"`` a per-token label on a padding position (or any start/end position) keeps
the batch padded, so the loss is the padded model's.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from albert_model._config import AlbertConfig
from albert_model.modeling._linear import linear
from albert_model.modeling._model import AlbertModel, activation, check_positions
from albert_model.modeling._outputs import (
    AlbertForPreTrainingOutput,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from albert_model.modeling._pretrained import AlbertPreTrainedModel
from albert_model.modeling._unpadded import labels_read_padding

__all__ = [
    "AlbertForMaskedLM",
    "AlbertForMultipleChoice",
    "AlbertForPreTraining",
    "AlbertForQuestionAnswering",
    "AlbertForSequenceClassification",
    "AlbertForTokenClassification",
    "AlbertMLMHead",
    "AlbertSOPHead",
]


class AlbertMLMHead(nn.Module):
    """hidden -> embedding_size -> activation -> LayerNorm -> vocabulary (decoder tied to the embeddings).

    In the masked-LM classes ``decoder.weight`` is the word embedding matrix and ``decoder.bias`` is ``bias``
    (the vocabulary bias, which checkpoints store as ``predictions.bias``).

    Args:
        config: ``hidden_size``, ``embedding_size``, ``vocab_size``, ``hidden_act`` (the activation) and
            ``layer_norm_eps``.
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size)
        self.activation = activation(config.hidden_act)

    def transform(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Everything before the vocabulary projection: (..., H) -> (..., E).

        Args:
            hidden_states: ``(..., hidden_size)``: the encoder's states, any leading shape.

        Returns:
            ``(..., embedding_size)``: the states after the dense layer, activation and LayerNorm.
        """
        return self.LayerNorm(self.activation(linear(self.dense, hidden_states)))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Score every vocabulary entry.

        Args:
            hidden_states: ``(..., hidden_size)``: the encoder's states, any leading shape.

        Returns:
            ``(..., vocab_size)``: the logits over the vocabulary, before the softmax.
        """
        return linear(self.decoder, self.transform(hidden_states))


class AlbertSOPHead(nn.Module):
    """Sentence-order prediction: dropout, then a linear layer from the pooled output to ``num_labels`` scores.

    Args:
        config: ``hidden_size``, ``num_labels`` (2 for sentence order: in order, swapped) and
            ``classifier_dropout_prob`` (None: no dropout).
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, pooled_output: torch.Tensor) -> torch.Tensor:
        """Score the sentence order.

        Args:
            pooled_output: ``(batch, hidden_size)``: :class:`AlbertModel`'s ``pooler_output``.

        Returns:
            ``(batch, num_labels)``: the logits, before the softmax.
        """
        return self.classifier(self.dropout(pooled_output))


def _mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=-100)


def _select_masked(
    hidden: torch.Tensor, labels: torch.Tensor | None, masked_positions: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Keep only the rows of ``masked_positions`` (a bool (B, T) mask), so the vocabulary projection runs
    on those positions alone."""
    if masked_positions is None:
        return hidden, labels
    check_positions("masked_positions", masked_positions, tuple(hidden.shape[:2]))
    return hidden[masked_positions], None if labels is None else labels[masked_positions]


class _WithMLMHead(AlbertPreTrainedModel):
    """A class whose ``predictions`` decoder is tied to the word embeddings (weight) and ``predictions.bias``."""

    tied_weights: ClassVar[dict[str, str]] = {
        "predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
        "predictions.decoder.bias": "predictions.bias",
    }
    predictions: AlbertMLMHead

    def get_output_embeddings(self) -> nn.Linear:
        """The vocabulary projection.

        Returns:
            ``predictions.decoder``, an ``nn.Linear`` from ``embedding_size`` to ``vocab_size`` whose weight is
            the word embeddings and whose bias is ``predictions.bias``.
        """
        return self.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        """Replace the decoder; its bias becomes ``predictions.bias``. ``tie_weights()`` re-ties its weight.

        Args:
            new_embeddings: The new ``nn.Linear`` from ``embedding_size`` to the vocabulary. A decoder without a
                bias leaves ``predictions.bias`` as it was. ``config.vocab_size`` is not changed.
        """
        self.predictions.decoder = new_embeddings
        if new_embeddings.bias is not None:
            self.predictions.bias = new_embeddings.bias


class AlbertForPreTraining(_WithMLMHead):
    """Masked LM + sentence-order prediction, as ALBERT was pretrained.

    :class:`AlbertModel` with its pooler under ``albert``, an :class:`AlbertMLMHead` (``predictions``) tied to the
    word embeddings and an :class:`AlbertSOPHead` (``sop_classifier``).

    Args:
        config: The architecture; ``num_labels`` is the number of sentence-order classes (2).

    Raises:
        TypeError: ``config`` is not an :class:`~albert_model.AlbertConfig`.
        ValueError: The parameters alone would not fit in this machine's memory (checked before allocating).
    """

    head_modules = ("predictions", "sop_classifier")
    head_uses_pooler = True

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config)
        self.predictions = AlbertMLMHead(config)
        self.sop_classifier = AlbertSOPHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        sentence_order_label: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        masked_positions: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        """Masked-LM and sentence-order logits, and their summed loss when both labels are given.

        ``masked_positions`` (bool (B, T)) projects only those positions: ``prediction_logits`` is then
        ``(num_masked, vocab_size)`` and ``labels`` are taken at the same positions.

        Args:
            input_ids: ``(batch, sequence)`` int64 token ids in ``[0, vocab_size)``, as the tokenizer returns them.
                Give this or ``inputs_embeds``, not both.
            attention_mask: ``(batch, sequence)``: 1 for a token to attend to, 0 for padding. None attends to every
                token.
            token_type_ids: ``(batch, sequence)`` segment ids in ``[0, type_vocab_size)``: 0 for the first segment,
                1 for the second. None puts every token in segment 0.
            position_ids: ``(batch, sequence)`` positions in ``[0, max_position_embeddings)``. None numbers the
                tokens from 0 in every row.
            inputs_embeds: ``(batch, sequence, embedding_size)`` word embeddings to use instead of looking ``input_ids``
                up. Give this or ``input_ids``, not both.
            labels: ``(batch, sequence)`` int64 token ids in ``[0, vocab_size)`` that the masked positions should
                predict, -100 at the positions left out of the masked-LM loss (usually every unmasked one).
                With ``masked_positions`` only the labels at those positions are read.
            sentence_order_label: ``(batch,)`` int64 in ``[0, num_labels)``: 0 when segment B follows segment A
                as in the text, 1 when the two were swapped. The loss needs both this and ``labels``; either
                alone gives no loss.
            output_attentions: Whether to return each layer's attention weights in ``attentions``. None: the
                config's (off by default).
            output_hidden_states: Whether to return the hidden states after the embeddings and after each step
                in ``hidden_states``. None: the config's (off by default).
            masked_positions: ``(batch, sequence)`` bool, True at the positions to project to the vocabulary
                (the masked ones). None projects every position.
            return_dict: True returns a :class:`~albert_model.modeling.AlbertForPreTrainingOutput`, False its
                ``to_tuple()``: the fields that are not None, in order (``(loss, prediction_logits, sop_logits, ...)``
                with both labels, else ``(prediction_logits, sop_logits, ...)``). None: ``config.return_dict`` (True by
                default).

        Returns:
            An :class:`~albert_model.modeling.AlbertForPreTrainingOutput` (``loss``, ``prediction_logits``
            ``(batch, sequence, vocab_size)`` or ``(num_masked, vocab_size)``, ``sop_logits``
            ``(batch, num_labels)``, and ``hidden_states``/``attentions`` when asked for), or its tuple with
            ``return_dict=False``.

        Raises:
            ValueError: ``masked_positions`` is not a bool tensor of the input's ``(batch, sequence)`` shape; or the
                inputs fail :meth:`AlbertModel.forward`'s checks: both or neither of ``input_ids`` and
                ``inputs_embeds``, a shape that does not match, a sequence longer than ``max_position_embeddings``, an
                id out of its range.
            TypeError: An input that should be a tensor is not, or id tensors that do not hold integers.
        """
        out = self.albert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            inputs_embeds,
            output_attentions,
            output_hidden_states,
            return_dict=True,
            unpad=not labels_read_padding(labels, attention_mask),
        )
        hidden, labels = _select_masked(out.last_hidden_state, labels, masked_positions)
        prediction_logits = self.predictions(hidden)
        sop_logits = self.sop_classifier(out.pooler_output)
        loss = None
        if labels is not None and sentence_order_label is not None:
            loss = _mlm_loss(prediction_logits, labels) + F.cross_entropy(
                sop_logits.view(-1, self.config.num_labels).float(), sentence_order_label.view(-1)
            )
        output = AlbertForPreTrainingOutput(loss, prediction_logits, sop_logits, out.hidden_states, out.attentions)
        return self._returned(output, return_dict)


class AlbertForMaskedLM(_WithMLMHead):
    """Masked LM head. ``masked_positions`` (a bool mask) projects only those positions to the vocabulary:
    ``logits`` is then ``(num_masked, vocab_size)``.

    :class:`AlbertModel` without its pooler under ``albert``, and an :class:`AlbertMLMHead` (``predictions``)
    whose decoder is tied to the word embeddings.

    Args:
        config: The architecture.

    Raises:
        TypeError: ``config`` is not an :class:`~albert_model.AlbertConfig`.
        ValueError: The parameters alone would not fit in this machine's memory (checked before allocating).
    """

    head_modules = ("predictions",)

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=False)
        self.predictions = AlbertMLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        masked_positions: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        """Vocabulary logits for every position (or the ``masked_positions``), and the loss given ``labels``.

        Args:
            input_ids: ``(batch, sequence)`` int64 token ids in ``[0, vocab_size)``, as the tokenizer returns them.
                Give this or ``inputs_embeds``, not both.
            attention_mask: ``(batch, sequence)``: 1 for a token to attend to, 0 for padding. None attends to every
                token.
            token_type_ids: ``(batch, sequence)`` segment ids in ``[0, type_vocab_size)``: 0 for the first segment,
                1 for the second. None puts every token in segment 0.
            position_ids: ``(batch, sequence)`` positions in ``[0, max_position_embeddings)``. None numbers the
                tokens from 0 in every row.
            inputs_embeds: ``(batch, sequence, embedding_size)`` word embeddings to use instead of looking ``input_ids``
                up. Give this or ``input_ids``, not both.
            labels: ``(batch, sequence)`` int64 token ids in ``[0, vocab_size)`` that the positions should
                predict, -100 at the positions left out of the loss (usually every unmasked one). With
                ``masked_positions`` only the labels at those positions are read. None: no loss.
            output_attentions: Whether to return each layer's attention weights in ``attentions``. None: the
                config's (off by default).
            output_hidden_states: Whether to return the hidden states after the embeddings and after each step
                in ``hidden_states``. None: the config's (off by default).
            masked_positions: ``(batch, sequence)`` bool, True at the positions to project to the vocabulary
                (the masked ones). None projects every position.
            return_dict: True returns a :class:`~albert_model.modeling.MaskedLMOutput`, False its ``to_tuple()``: the
                fields that are not None, in order (``(loss, logits, ...)`` with labels, else ``(logits, ...)``). None:
                ``config.return_dict`` (True by default).

        Returns:
            A :class:`~albert_model.modeling.MaskedLMOutput` (``loss``, ``logits`` ``(batch, sequence,
            vocab_size)`` or ``(num_masked, vocab_size)``, and ``hidden_states``/``attentions`` when asked
            for), or its tuple with ``return_dict=False``.

        Raises:
            ValueError: ``masked_positions`` is not a bool tensor of the input's ``(batch, sequence)`` shape; or the
                inputs fail :meth:`AlbertModel.forward`'s checks: both or neither of ``input_ids`` and
                ``inputs_embeds``, a shape that does not match, a sequence longer than ``max_position_embeddings``, an
                id out of its range.
            TypeError: An input that should be a tensor is not, or id tensors that do not hold integers.
        """
        if masked_positions is not None:
            source = input_ids if input_ids is not None else inputs_embeds
            check_positions("masked_positions", masked_positions, tuple(source.shape[:2]) if source is not None else ())
        out = self.albert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            inputs_embeds,
            output_attentions,
            output_hidden_states,
            return_dict=True,
            unpad=not labels_read_padding(labels, attention_mask),
            rows=masked_positions,  # only the masked positions' states are computed in the last layer
        )
        hidden = out.last_hidden_state
        if masked_positions is not None and labels is not None:
            labels = labels[masked_positions]
        logits = self.predictions(hidden)
        loss = _mlm_loss(logits, labels) if labels is not None else None
        return self._returned(MaskedLMOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class AlbertForSequenceClassification(AlbertPreTrainedModel):
    """One label (or value) per sequence, from the pooled first token: dropout, then a linear layer.

    :class:`AlbertModel` with its pooler under ``albert``, then ``classifier`` (``hidden_size`` to
    ``num_labels``).

    Args:
        config: The architecture; ``num_labels`` (the outputs), ``classifier_dropout_prob`` (None: no
            dropout) and ``problem_type`` (see :meth:`problem_type`).

    Raises:
        TypeError: ``config`` is not an :class:`~albert_model.AlbertConfig`.
        ValueError: The parameters alone would not fit in this machine's memory (checked before allocating).
    """

    head_modules = ("classifier",)
    head_uses_pooler = True

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def problem_type(self, labels: torch.Tensor) -> str:
        """Which loss ``labels`` get, as transformers infers it; the config is not written to.

        Args:
            labels: The labels given to :meth:`forward`; only their dtype is read, and only when
                ``config.problem_type`` is None and ``num_labels`` is above 1.

        Returns:
            ``config.problem_type`` when it is set; else ``"regression"`` with one label,
            ``"single_label_classification"`` for int64 or int32 labels and ``"multi_label_classification"``
            for any other dtype.
        """
        if self.config.problem_type is not None:
            return self.config.problem_type
        if self.config.num_labels == 1:
            return "regression"
        if labels.dtype in (torch.long, torch.int):
            return "single_label_classification"
        return "multi_label_classification"

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        """One score per label for each sequence, and the loss given ``labels``.

        Args:
            input_ids: ``(batch, sequence)`` int64 token ids in ``[0, vocab_size)``, as the tokenizer returns them.
                Give this or ``inputs_embeds``, not both.
            attention_mask: ``(batch, sequence)``: 1 for a token to attend to, 0 for padding. None attends to every
                token.
            token_type_ids: ``(batch, sequence)`` segment ids in ``[0, type_vocab_size)``: 0 for the first segment,
                1 for the second. None puts every token in segment 0.
            position_ids: ``(batch, sequence)`` positions in ``[0, max_position_embeddings)``. None numbers the
                tokens from 0 in every row.
            inputs_embeds: ``(batch, sequence, embedding_size)`` word embeddings to use instead of looking ``input_ids``
                up. Give this or ``input_ids``, not both.
            labels: What the loss compares the logits with, by :meth:`problem_type`: for regression, float
                targets ``(batch,)`` with one label or ``(batch, num_labels)`` (mean squared error); for
                single-label classification, ``(batch,)`` int64 class ids in ``[0, num_labels)`` (cross-entropy,
                a -100 label left out); for multi-label classification, ``(batch, num_labels)`` float targets in
                ``[0, 1]``, 1 where a label applies (binary cross-entropy with logits). None: no loss.
            output_attentions: Whether to return each layer's attention weights in ``attentions``. None: the
                config's (off by default).
            output_hidden_states: Whether to return the hidden states after the embeddings and after each step
                in ``hidden_states``. None: the config's (off by default).
            return_dict: True returns a :class:`~albert_model.modeling.SequenceClassifierOutput`, False its
                ``to_tuple()``: the fields that are not None, in order (``(loss, logits, ...)`` with labels, else
                ``(logits, ...)``). None: ``config.return_dict`` (True by default).

        Returns:
            A :class:`~albert_model.modeling.SequenceClassifierOutput` (``loss``, ``logits``
            ``(batch, num_labels)``, and ``hidden_states``/``attentions`` when asked for), or its tuple with
            ``return_dict=False``.

        Raises:
            ValueError: The inputs fail :meth:`AlbertModel.forward`'s checks: both or neither of ``input_ids``
                and ``inputs_embeds``, a shape that does not match, a sequence longer than
                ``max_position_embeddings``, an id out of its range.
            TypeError: An input that should be a tensor is not, or id tensors that do not hold integers.
        """
        out = self.albert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            inputs_embeds,
            output_attentions,
            output_hidden_states,
            return_dict=True,
        )
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None
        if labels is not None:
            kind = self.problem_type(labels)
            if kind == "regression":
                loss = (
                    F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
                    if self.config.num_labels == 1
                    else F.mse_loss(logits, labels.to(logits.dtype))
                )
            elif kind == "single_label_classification":
                loss = F.cross_entropy(logits.view(-1, self.config.num_labels).float(), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return self._returned(SequenceClassifierOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class AlbertForMultipleChoice(AlbertPreTrainedModel):
    """Inputs of shape ``(batch, num_choices, sequence)``; logits ``(batch, num_choices)``.

    Each choice is encoded as its own sequence (the batch is flattened to ``batch * num_choices`` rows) and
    scored from its pooled first token: dropout, then ``classifier`` (``hidden_size`` to 1).

    Args:
        config: The architecture; ``classifier_dropout_prob`` (None: no dropout). ``num_labels`` is not read.

    Raises:
        TypeError: ``config`` is not an :class:`~albert_model.AlbertConfig`.
        ValueError: The parameters alone would not fit in this machine's memory (checked before allocating).
    """

    head_modules = ("classifier",)
    head_uses_pooler = True

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        """One score per choice, and the loss given ``labels``.

        Args:
            input_ids: ``(batch, num_choices, sequence)`` int64 token ids in ``[0, vocab_size)``, as the tokenizer
                returns them. Give this or ``inputs_embeds``, not both.
            attention_mask: ``(batch, num_choices, sequence)``: 1 for a token to attend to, 0 for padding. None attends
                to every token.
            token_type_ids: ``(batch, num_choices, sequence)`` segment ids in ``[0, type_vocab_size)``: 0 for the first
                segment, 1 for the second. None puts every token in segment 0.
            position_ids: ``(batch, num_choices, sequence)`` positions in ``[0, max_position_embeddings)``. None numbers
                the tokens from 0 in every row.
            inputs_embeds: ``(batch, num_choices, sequence, embedding_size)`` word embeddings to use instead of looking
                ``input_ids`` up. Give this or ``input_ids``, not both.
            labels: ``(batch,)`` int64: the index of the right choice, in ``[0, num_choices)`` (cross-entropy,
                a -100 label left out). None: no loss.
            output_attentions: Whether to return each layer's attention weights in ``attentions``. None: the
                config's (off by default).
            output_hidden_states: Whether to return the hidden states after the embeddings and after each step
                in ``hidden_states``. None: the config's (off by default).
            return_dict: True returns a :class:`~albert_model.modeling.MultipleChoiceModelOutput`, False its
                ``to_tuple()``: the fields that are not None, in order (``(loss, logits, ...)`` with labels, else
                ``(logits, ...)``). None: ``config.return_dict`` (True by default).

        Returns:
            A :class:`~albert_model.modeling.MultipleChoiceModelOutput` (``loss``, ``logits``
            ``(batch, num_choices)``, and ``hidden_states``/``attentions`` over the ``batch * num_choices``
            flattened sequences when asked for), or its tuple with ``return_dict=False``.

        Raises:
            ValueError: Neither ``input_ids`` nor ``inputs_embeds`` is given, or the one read (``input_ids``
                when given) is not 3-D (``inputs_embeds``: 4-D); or the flattened inputs fail
                :meth:`AlbertModel.forward`'s checks: both ``input_ids`` and ``inputs_embeds`` given, a shape
                that does not match, a sequence longer than ``max_position_embeddings``, an id out of its range.
            TypeError: An input that should be a tensor is not, or id tensors that do not hold integers.
        """
        source = input_ids if input_ids is not None else inputs_embeds
        if source is None or source.dim() != (3 if input_ids is not None else 4):
            raise ValueError("multiple choice takes input_ids of shape (batch, num_choices, sequence)")
        num_choices = source.shape[1]

        def flat(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.reshape(-1, *t.shape[2:])

        out = self.albert(
            flat(input_ids),
            flat(attention_mask),
            flat(token_type_ids),
            flat(position_ids),
            flat(inputs_embeds),
            output_attentions,
            output_hidden_states,
            return_dict=True,
        )
        logits = self.classifier(self.dropout(out.pooler_output)).view(-1, num_choices)
        loss = F.cross_entropy(logits.float(), labels) if labels is not None else None
        output = MultipleChoiceModelOutput(loss, logits, out.hidden_states, out.attentions)
        return self._returned(output, return_dict)


class AlbertForTokenClassification(AlbertPreTrainedModel):
    """One label per token (named entities, parts of speech): dropout, then a linear layer on each token's state.

    :class:`AlbertModel` without its pooler under ``albert``, then ``classifier`` (``hidden_size`` to
    ``num_labels``).

    Args:
        config: The architecture; ``num_labels`` (the labels) and ``classifier_dropout_prob`` (None: the
            ``hidden_dropout_prob``, unlike the sequence-level heads).

    Raises:
        TypeError: ``config`` is not an :class:`~albert_model.AlbertConfig`.
        ValueError: The parameters alone would not fit in this machine's memory (checked before allocating).
    """

    head_modules = ("classifier",)

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config, add_pooling_layer=False)
        p = config.classifier_dropout_prob if config.classifier_dropout_prob is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        """One score per label for every token, and the loss given ``labels``.

        Args:
            input_ids: ``(batch, sequence)`` int64 token ids in ``[0, vocab_size)``, as the tokenizer returns them.
                Give this or ``inputs_embeds``, not both.
            attention_mask: ``(batch, sequence)``: 1 for a token to attend to, 0 for padding. None attends to every
                token.
            token_type_ids: ``(batch, sequence)`` segment ids in ``[0, type_vocab_size)``: 0 for the first segment,
                1 for the second. None puts every token in segment 0.
            position_ids: ``(batch, sequence)`` positions in ``[0, max_position_embeddings)``. None numbers the
                tokens from 0 in every row.
            inputs_embeds: ``(batch, sequence, embedding_size)`` word embeddings to use instead of looking ``input_ids``
                up. Give this or ``input_ids``, not both.
            labels: ``(batch, sequence)`` int64 label ids in ``[0, num_labels)``, -100 for the tokens left out of
                the loss (padding, special tokens, the sub-words after a word's first). None: no loss.
            output_attentions: Whether to return each layer's attention weights in ``attentions``. None: the
                config's (off by default).
            output_hidden_states: Whether to return the hidden states after the embeddings and after each step
                in ``hidden_states``. None: the config's (off by default).
            return_dict: True returns a :class:`~albert_model.modeling.TokenClassifierOutput`, False its ``to_tuple()``:
                the fields that are not None, in order (``(loss, logits, ...)`` with labels, else ``(logits, ...)``).
                None: ``config.return_dict`` (True by default).

        Returns:
            A :class:`~albert_model.modeling.TokenClassifierOutput` (``loss``, ``logits``
            ``(batch, sequence, num_labels)``, and ``hidden_states``/``attentions`` when asked for), or its
            tuple with ``return_dict=False``.

        Raises:
            ValueError: The inputs fail :meth:`AlbertModel.forward`'s checks: both or neither of ``input_ids``
                and ``inputs_embeds``, a shape that does not match, a sequence longer than
                ``max_position_embeddings``, an id out of its range.
            TypeError: An input that should be a tensor is not, or id tensors that do not hold integers.
        """
        out = self.albert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            inputs_embeds,
            output_attentions,
            output_hidden_states,
            return_dict=True,
            unpad=not labels_read_padding(labels, attention_mask),
        )
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.config.num_labels).float(), labels.view(-1), ignore_index=-100)
        return self._returned(TokenClassifierOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class AlbertForQuestionAnswering(AlbertPreTrainedModel):
    """Span start/end logits; positions outside the sequence are ignored in the loss.

    :class:`AlbertModel` without its pooler under ``albert``, then ``qa_outputs`` (``hidden_size`` to 2: the
    start and end scores of each token).

    Args:
        config: The architecture, with ``num_labels == 2``.

    Raises:
        ValueError: ``config.num_labels`` is not 2; or the parameters alone would not fit in this machine's
            memory (checked before allocating).
        TypeError: ``config`` is not an :class:`~albert_model.AlbertConfig`.
    """

    head_modules = ("qa_outputs",)

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(f"question answering needs config.num_labels == 2 (start, end), got {config.num_labels}")
        self.albert = AlbertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        """Start and end scores for every token, and the span loss given both positions.

        Args:
            input_ids: ``(batch, sequence)`` int64 token ids in ``[0, vocab_size)``, as the tokenizer returns them.
                Give this or ``inputs_embeds``, not both.
            attention_mask: ``(batch, sequence)``: 1 for a token to attend to, 0 for padding. None attends to every
                token.
            token_type_ids: ``(batch, sequence)`` segment ids in ``[0, type_vocab_size)``: 0 for the first segment,
                1 for the second. None puts every token in segment 0.
            position_ids: ``(batch, sequence)`` positions in ``[0, max_position_embeddings)``. None numbers the
                tokens from 0 in every row.
            inputs_embeds: ``(batch, sequence, embedding_size)`` word embeddings to use instead of looking ``input_ids``
                up. Give this or ``input_ids``, not both.
            start_positions: ``(batch,)`` int64: the index of the answer's first token. A position at or past
                the sequence length is left out of the loss; a negative one counts as 0 (the first token, where
                an unanswerable question points).
            end_positions: ``(batch,)`` int64: the index of the answer's last token (inclusive), read like
                ``start_positions``. The loss needs both; either alone gives no loss.
            output_attentions: Whether to return each layer's attention weights in ``attentions``. None: the
                config's (off by default).
            output_hidden_states: Whether to return the hidden states after the embeddings and after each step
                in ``hidden_states``. None: the config's (off by default).
            return_dict: True returns a :class:`~albert_model.modeling.QuestionAnsweringModelOutput`, False its
                ``to_tuple()``: the fields that are not None, in order (``(loss, start_logits, end_logits, ...)`` with
                both positions, else ``(start_logits, end_logits, ...)``). None: ``config.return_dict`` (True by
                default).

        Returns:
            A :class:`~albert_model.modeling.QuestionAnsweringModelOutput` (``loss``, ``start_logits`` and
            ``end_logits`` ``(batch, sequence)``, and ``hidden_states``/``attentions`` when asked for), or its
            tuple with ``return_dict=False``.

        Raises:
            ValueError: The inputs fail :meth:`AlbertModel.forward`'s checks: both or neither of ``input_ids``
                and ``inputs_embeds``, a shape that does not match, a sequence longer than
                ``max_position_embeddings``, an id out of its range.
            TypeError: An input that should be a tensor is not, or id tensors that do not hold integers.
        """
        # the start/end loss reads every position, padding included: a batch with positions runs padded
        out = self.albert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            inputs_embeds,
            output_attentions,
            output_hidden_states,
            return_dict=True,
            unpad=start_positions is None and end_positions is None,
        )
        logits = self.qa_outputs(out.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = (x.squeeze(-1).contiguous() for x in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored = start_logits.size(1)
            start = start_positions.view(-1).clamp(0, ignored)
            end = end_positions.view(-1).clamp(0, ignored)
            loss = (
                F.cross_entropy(start_logits.float(), start, ignore_index=ignored)
                + F.cross_entropy(end_logits.float(), end, ignore_index=ignored)
            ) / 2
        output = QuestionAnsweringModelOutput(loss, start_logits, end_logits, out.hidden_states, out.attentions)
        return self._returned(output, return_dict)
