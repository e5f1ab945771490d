"""albert_model: the ALBERT network in PyTorch, loading and saving Hugging Face-format checkpoints.

The names below are imported on first use (PEP 562), so ``import albert_model.cli`` (the ``albert``
command, whose tokenizer commands need no torch) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ below imports on first use
    from .checkpoint import HeadInitializedWarning as HeadInitializedWarning
    from .checkpoint import LoadReport as LoadReport
    from .checkpoint import MissingHeadError as MissingHeadError
    from .config import AlbertConfig as AlbertConfig
    from .finetune import FinetuneArgs as FinetuneArgs
    from .finetune import finetune as finetune
    from .heads import AlbertForMaskedLM as AlbertForMaskedLM
    from .heads import AlbertForMultipleChoice as AlbertForMultipleChoice
    from .heads import AlbertForPreTraining as AlbertForPreTraining
    from .heads import AlbertForQuestionAnswering as AlbertForQuestionAnswering
    from .heads import AlbertForSequenceClassification as AlbertForSequenceClassification
    from .heads import AlbertForTokenClassification as AlbertForTokenClassification
    from .modeling import AlbertModel as AlbertModel
    from .onnx_export import export_onnx as export_onnx
    from .onnx_runtime import OnnxAlbertModel as OnnxAlbertModel
    from .pipelines import DEFAULT_MODEL as DEFAULT_MODEL
    from .pipelines import pipeline as pipeline
    from .pretrained import AlbertPreTrainedModel as AlbertPreTrainedModel
    from .weight_files import CheckpointError as CheckpointError

_SOURCES = {
    "AlbertConfig": ".config",
    "AlbertModel": ".modeling",
    "AlbertPreTrainedModel": ".pretrained",
    "AlbertForPreTraining": ".heads",
    "AlbertForMaskedLM": ".heads",
    "AlbertForSequenceClassification": ".heads",
    "AlbertForMultipleChoice": ".heads",
    "AlbertForTokenClassification": ".heads",
    "AlbertForQuestionAnswering": ".heads",
    "CheckpointError": ".weight_files",
    "LoadReport": ".checkpoint",
    "HeadInitializedWarning": ".checkpoint",
    "MissingHeadError": ".checkpoint",
    "export_onnx": ".onnx_export",
    "OnnxAlbertModel": ".onnx_runtime",
    "FinetuneArgs": ".finetune",
    "finetune": ".finetune",
    "DEFAULT_MODEL": ".pipelines",
    "pipeline": ".pipelines",
}

__all__ = list(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name], __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
