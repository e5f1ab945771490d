"""albert_model: the ALBERT network in PyTorch, loading and saving Hugging Face-format checkpoints.

The names below are imported on first use (PEP 562), so ``import albert_model.cli`` (the ``albert``
command, whose tokenizer commands need no torch) does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names are imported on first use
    from albert_model._config import AlbertConfig as AlbertConfig
    from albert_model.checkpoints import DEFAULT_MODEL as DEFAULT_MODEL
    from albert_model.checkpoints import CheckpointError as CheckpointError
    from albert_model.checkpoints import HeadInitializedWarning as HeadInitializedWarning
    from albert_model.checkpoints import LoadReport as LoadReport
    from albert_model.checkpoints import MissingHeadError as MissingHeadError
    from albert_model.modeling import AlbertForMaskedLM as AlbertForMaskedLM
    from albert_model.modeling import AlbertForMultipleChoice as AlbertForMultipleChoice
    from albert_model.modeling import AlbertForPreTraining as AlbertForPreTraining
    from albert_model.modeling import AlbertForQuestionAnswering as AlbertForQuestionAnswering
    from albert_model.modeling import AlbertForSequenceClassification as AlbertForSequenceClassification
    from albert_model.modeling import AlbertForTokenClassification as AlbertForTokenClassification
    from albert_model.modeling import AlbertModel as AlbertModel
    from albert_model.modeling import AlbertPreTrainedModel as AlbertPreTrainedModel
    from albert_model.onnx import OnnxAlbertModel as OnnxAlbertModel
    from albert_model.onnx import export_onnx as export_onnx
    from albert_model.pipelines import pipeline as pipeline
    from albert_model.training import FinetuneArgs as FinetuneArgs
    from albert_model.training import finetune as finetune

_SOURCES = {
    "AlbertConfig": "._config",
    "AlbertModel": ".modeling",
    "AlbertPreTrainedModel": ".modeling",
    "AlbertForPreTraining": ".modeling",
    "AlbertForMaskedLM": ".modeling",
    "AlbertForSequenceClassification": ".modeling",
    "AlbertForMultipleChoice": ".modeling",
    "AlbertForTokenClassification": ".modeling",
    "AlbertForQuestionAnswering": ".modeling",
    "CheckpointError": ".checkpoints",
    "LoadReport": ".checkpoints",
    "HeadInitializedWarning": ".checkpoints",
    "MissingHeadError": ".checkpoints",
    "export_onnx": ".onnx",
    "OnnxAlbertModel": ".onnx",
    "FinetuneArgs": ".training",
    "finetune": ".training",
    "DEFAULT_MODEL": ".checkpoints",
    "pipeline": ".pipelines",
}

__all__ = [
    "DEFAULT_MODEL",
    "AlbertConfig",
    "AlbertForMaskedLM",
    "AlbertForMultipleChoice",
    "AlbertForPreTraining",
    "AlbertForQuestionAnswering",
    "AlbertForSequenceClassification",
    "AlbertForTokenClassification",
    "AlbertModel",
    "AlbertPreTrainedModel",
    "CheckpointError",
    "FinetuneArgs",
    "HeadInitializedWarning",
    "LoadReport",
    "MissingHeadError",
    "OnnxAlbertModel",
    "export_onnx",
    "finetune",
    "pipeline",
]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
