"""The network: embeddings, attention, shared layer groups, :class:`AlbertModel`, the six task
heads, their output dataclasses and :class:`AlbertPreTrainedModel` (loading, saving, resizing).

Names are imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.modeling._heads import AlbertForMaskedLM as AlbertForMaskedLM
    from albert_model.modeling._heads import AlbertForMultipleChoice as AlbertForMultipleChoice
    from albert_model.modeling._heads import AlbertForPreTraining as AlbertForPreTraining
    from albert_model.modeling._heads import AlbertForQuestionAnswering as AlbertForQuestionAnswering
    from albert_model.modeling._heads import AlbertForSequenceClassification as AlbertForSequenceClassification
    from albert_model.modeling._heads import AlbertForTokenClassification as AlbertForTokenClassification
    from albert_model.modeling._heads import AlbertMLMHead as AlbertMLMHead
    from albert_model.modeling._heads import AlbertSOPHead as AlbertSOPHead
    from albert_model.modeling._model import AlbertAttention as AlbertAttention
    from albert_model.modeling._model import AlbertEmbeddings as AlbertEmbeddings
    from albert_model.modeling._model import AlbertLayer as AlbertLayer
    from albert_model.modeling._model import AlbertLayerGroup as AlbertLayerGroup
    from albert_model.modeling._model import AlbertModel as AlbertModel
    from albert_model.modeling._model import AlbertTransformer as AlbertTransformer
    from albert_model.modeling._outputs import AlbertForPreTrainingOutput as AlbertForPreTrainingOutput
    from albert_model.modeling._outputs import BaseModelOutputWithPooling as BaseModelOutputWithPooling
    from albert_model.modeling._outputs import MaskedLMOutput as MaskedLMOutput
    from albert_model.modeling._outputs import ModelOutput as ModelOutput
    from albert_model.modeling._outputs import MultipleChoiceModelOutput as MultipleChoiceModelOutput
    from albert_model.modeling._outputs import QuestionAnsweringModelOutput as QuestionAnsweringModelOutput
    from albert_model.modeling._outputs import SequenceClassifierOutput as SequenceClassifierOutput
    from albert_model.modeling._outputs import TokenClassifierOutput as TokenClassifierOutput
    from albert_model.modeling._pretrained import AlbertPreTrainedModel as AlbertPreTrainedModel

_SOURCES = {
    "AlbertAttention": "._model",
    "AlbertEmbeddings": "._model",
    "AlbertForMaskedLM": "._heads",
    "AlbertForMultipleChoice": "._heads",
    "AlbertForPreTraining": "._heads",
    "AlbertForPreTrainingOutput": "._outputs",
    "AlbertForQuestionAnswering": "._heads",
    "AlbertForSequenceClassification": "._heads",
    "AlbertForTokenClassification": "._heads",
    "AlbertLayer": "._model",
    "AlbertLayerGroup": "._model",
    "AlbertMLMHead": "._heads",
    "AlbertModel": "._model",
    "AlbertPreTrainedModel": "._pretrained",
    "AlbertSOPHead": "._heads",
    "AlbertTransformer": "._model",
    "BaseModelOutputWithPooling": "._outputs",
    "MaskedLMOutput": "._outputs",
    "ModelOutput": "._outputs",
    "MultipleChoiceModelOutput": "._outputs",
    "QuestionAnsweringModelOutput": "._outputs",
    "SequenceClassifierOutput": "._outputs",
    "TokenClassifierOutput": "._outputs",
}
__all__ = [
    "AlbertAttention",
    "AlbertEmbeddings",
    "AlbertForMaskedLM",
    "AlbertForMultipleChoice",
    "AlbertForPreTraining",
    "AlbertForPreTrainingOutput",
    "AlbertForQuestionAnswering",
    "AlbertForSequenceClassification",
    "AlbertForTokenClassification",
    "AlbertLayer",
    "AlbertLayerGroup",
    "AlbertMLMHead",
    "AlbertModel",
    "AlbertPreTrainedModel",
    "AlbertSOPHead",
    "AlbertTransformer",
    "BaseModelOutputWithPooling",
    "MaskedLMOutput",
    "ModelOutput",
    "MultipleChoiceModelOutput",
    "QuestionAnsweringModelOutput",
    "SequenceClassifierOutput",
    "TokenClassifierOutput",
]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
