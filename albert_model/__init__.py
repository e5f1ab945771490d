"""albert_model: the ALBERT network in PyTorch, loading and saving Hugging Face-format checkpoints."""

from .checkpoint import CheckpointError, LoadReport
from .config import AlbertConfig
from .heads import (AlbertForMaskedLM, AlbertForMultipleChoice, AlbertForPreTraining, AlbertForQuestionAnswering,
                    AlbertForSequenceClassification, AlbertForTokenClassification)
from .modeling import AlbertModel, AlbertPreTrainedModel
from .pipelines import DEFAULT_MODEL, pipeline

__all__ = ["AlbertConfig", "AlbertModel", "AlbertPreTrainedModel", "AlbertForPreTraining", "AlbertForMaskedLM",
           "AlbertForSequenceClassification", "AlbertForMultipleChoice", "AlbertForTokenClassification",
           "AlbertForQuestionAnswering", "CheckpointError", "LoadReport", "DEFAULT_MODEL", "pipeline"]
