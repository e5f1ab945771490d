"""Text in, prediction out: ``pipeline(task, model=DIR)`` for the ALBERT heads.

Every pipeline reads its inputs a window at a time (16 batches by default), tokenizes the window with the
fast tokenizer, sorts it by length and pads each batch only as far as it needs, runs the model (PyTorch under
``torch.inference_mode``, or ONNX Runtime with
``backend="onnxruntime"``) and returns results in input order, shaped as transformers' pipelines return
them. Fill-mask projects to the vocabulary only at ``[MASK]`` positions; sentence embedding (and feature
extraction given ``pooling=``) pools the last hidden state into one float32 vector per text. A checkpoint
without the task's head (the shipped masked-LM model asked to classify) is refused with
:class:`MissingHeadError`.

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from albert_model._lazy import lazy_exports

if TYPE_CHECKING:
    from albert_model.checkpoints._shipped import DEFAULT_MODEL as DEFAULT_MODEL
    from albert_model.checkpoints._state_dict import MissingHeadError as MissingHeadError
    from albert_model.pipelines._base import BACKENDS as BACKENDS
    from albert_model.pipelines._base import Pipeline as Pipeline
    from albert_model.pipelines._base import resolve_device as resolve_device
    from albert_model.pipelines._factory import TASKS as TASKS
    from albert_model.pipelines._factory import pipeline as pipeline
    from albert_model.pipelines._feature_extraction import FeatureExtractionPipeline as FeatureExtractionPipeline
    from albert_model.pipelines._fill_mask import FillMaskPipeline as FillMaskPipeline
    from albert_model.pipelines._multiple_choice import MultipleChoicePipeline as MultipleChoicePipeline
    from albert_model.pipelines._question_answering import QuestionAnsweringPipeline as QuestionAnsweringPipeline
    from albert_model.pipelines._sentence_embedding import POOLINGS as POOLINGS
    from albert_model.pipelines._sentence_embedding import SentenceEmbeddingPipeline as SentenceEmbeddingPipeline
    from albert_model.pipelines._text_classification import TextClassificationPipeline as TextClassificationPipeline
    from albert_model.pipelines._token_classification import TokenClassificationPipeline as TokenClassificationPipeline

_SOURCES = {
    "BACKENDS": "._base",
    "DEFAULT_MODEL": "albert_model.checkpoints._shipped",
    "FeatureExtractionPipeline": "._feature_extraction",
    "FillMaskPipeline": "._fill_mask",
    "MissingHeadError": "albert_model.checkpoints._state_dict",
    "MultipleChoicePipeline": "._multiple_choice",
    "Pipeline": "._base",
    "POOLINGS": "._sentence_embedding",
    "QuestionAnsweringPipeline": "._question_answering",
    "SentenceEmbeddingPipeline": "._sentence_embedding",
    "TASKS": "._factory",
    "TextClassificationPipeline": "._text_classification",
    "TokenClassificationPipeline": "._token_classification",
    "pipeline": "._factory",
    "resolve_device": "._base",
}
__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "POOLINGS",
    "TASKS",
    "FeatureExtractionPipeline",
    "FillMaskPipeline",
    "MissingHeadError",
    "MultipleChoicePipeline",
    "Pipeline",
    "QuestionAnsweringPipeline",
    "SentenceEmbeddingPipeline",
    "TextClassificationPipeline",
    "TokenClassificationPipeline",
    "pipeline",
    "resolve_device",
]
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
