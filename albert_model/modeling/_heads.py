"""Task heads on top of :class:`AlbertModel`, each under the checkpoint key ``albert``.

Each class declares its ``head_modules`` (checkpoint key prefixes of its head); loading a class reads its
own to tell a missing head from a broken checkpoint (no class is asked about another's). Losses are computed only
when labels are given; ``-100`` labels
are ignored. ``return_dict=False`` returns transformers' tuples. Sequence classification
infers the problem type as transformers does (one label: regression; integer labels: single-label;
float labels: multi-label) without writing it back into the config.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from albert_model._config import AlbertConfig
from albert_model.modeling._model import AlbertModel, activation
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
    """hidden -> embedding_size -> activation -> LayerNorm -> vocabulary (decoder tied to the embeddings)."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size)
        self.activation = activation(config.hidden_act)

    def transform(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Everything before the vocabulary projection: (..., H) -> (..., E)."""
        return self.LayerNorm(self.activation(self.dense(hidden_states)))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))


class AlbertSOPHead(nn.Module):
    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, pooled_output: torch.Tensor) -> torch.Tensor:
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
    if masked_positions.shape != hidden.shape[:2] or masked_positions.dtype != torch.bool:
        raise ValueError(
            f"masked_positions must be a bool tensor of shape {tuple(hidden.shape[:2])}, "
            f"got {masked_positions.dtype} {tuple(masked_positions.shape)}"
        )
    return hidden[masked_positions], None if labels is None else labels[masked_positions]


class _WithMLMHead(AlbertPreTrainedModel):
    """A class whose ``predictions`` decoder is tied to the word embeddings (weight) and ``predictions.bias``."""

    tied_weights: ClassVar[dict[str, str]] = {
        "predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
        "predictions.decoder.bias": "predictions.bias",
    }
    predictions: AlbertMLMHead

    def get_output_embeddings(self) -> nn.Linear:
        return self.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        """Replace the decoder; its bias becomes ``predictions.bias``. ``tie_weights()`` re-ties its weight."""
        self.predictions.decoder = new_embeddings
        if new_embeddings.bias is not None:
            self.predictions.bias = new_embeddings.bias


class AlbertForPreTraining(_WithMLMHead):
    """Masked LM + sentence-order prediction, as ALBERT was pretrained."""

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
        """``masked_positions`` (bool (B, T)) projects only those positions: ``prediction_logits`` is then
        ``(num_masked, vocab_size)`` and ``labels`` are taken at the same positions."""
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
    ``logits`` is then ``(num_masked, vocab_size)``."""

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
        logits = self.predictions(hidden)
        loss = _mlm_loss(logits, labels) if labels is not None else None
        return self._returned(MaskedLMOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class AlbertForSequenceClassification(AlbertPreTrainedModel):
    head_modules = ("classifier",)
    head_uses_pooler = True

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__(config)
        self.albert = AlbertModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob or 0.0)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def problem_type(self, labels: torch.Tensor) -> str:
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
    """Inputs of shape ``(batch, num_choices, sequence)``; logits ``(batch, num_choices)``."""

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
    """Span start/end logits; positions outside the sequence are ignored in the loss."""

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
