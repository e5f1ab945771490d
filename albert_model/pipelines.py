"""Text in, prediction out: ``pipeline(task, model=DIR)`` for the ALBERT heads.

Every pipeline reads its inputs a window at a time (16 batches by default), tokenizes the window with the
fast tokenizer, sorts it by length and pads each batch only as far as it needs, runs the model (PyTorch under ``torch.inference_mode``, or ONNX Runtime with
``backend="onnxruntime"``) and returns results in input order, shaped as transformers' pipelines return
them. Fill-mask projects to the vocabulary only at ``[MASK]`` positions. A checkpoint without the task's
head (the shipped masked-LM model asked to classify) is refused with :class:`MissingHeadError`.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from albert_tok import AlbertTokenizerFast

from .checkpoint import MissingHeadError
from .pipeline_base import BACKENDS, DEFAULT_MODEL, Pipeline, resolve_device
from .pipeline_feature_extraction import FeatureExtractionPipeline
from .pipeline_fill_mask import FillMaskPipeline
from .pipeline_multiple_choice import MultipleChoicePipeline
from .pipeline_question_answering import QuestionAnsweringPipeline
from .pipeline_text_classification import TextClassificationPipeline
from .pipeline_token_classification import TokenClassificationPipeline
from .tasks import TASK_TABLE

__all__ = ["BACKENDS", "DEFAULT_MODEL", "TASKS", "FeatureExtractionPipeline", "FillMaskPipeline", "MissingHeadError",
           "MultipleChoicePipeline", "Pipeline", "QuestionAnsweringPipeline", "TextClassificationPipeline",
           "TokenClassificationPipeline", "pipeline", "resolve_device"]

TASKS: dict[str, type[Pipeline]] = {name: row.load_pipeline_class() for row in TASK_TABLE if row.pipeline
                                     for name in row.names}
"""The names and aliases ``pipeline()`` accepts and the class each one builds: the rows of
:data:`albert_model.tasks.TASK_TABLE` that have a pipeline."""


def pipeline(task: str, model: str | os.PathLike[str] | Any = None,
             tokenizer: str | os.PathLike[str] | AlbertTokenizerFast | None = None,
             device: str | int | torch.device | None = None, dtype: torch.dtype | None = None,
             batch_size: int = 32, backend: str = "torch", quantize: str | None = None,
             threads: int | None = None, **defaults: Any) -> Pipeline:
    """A pipeline for ``task`` on ``model``: a checkpoint directory (``None``: :data:`DEFAULT_MODEL`), a model
    object (with ``tokenizer=``), or, with ``backend="onnxruntime"``, an ``.onnx`` file from
    :func:`~albert_model.onnx_export.export_onnx` or an ``OnnxAlbertModel``.

    ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, a ``torch.device``, or transformers' ints (``-1`` is the
    CPU, ``N >= 0`` is ``cuda:N``). ``backend="onnxruntime"`` exports the directory's task class on first use
    into ``DIR/onnx/`` (reused while the weights are unchanged) and runs it with ONNX Runtime on ``threads``
    intra-op threads (default 2; 1 to 256, more than the cores only slows it down); ``quantize="int8"`` uses
    int8 weights. Other keywords are defaults for every call (``pipeline("ner", aggregation_strategy="simple")``).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; accepted: {', '.join(sorted(TASKS))}")
    return TASKS[task](model=model, tokenizer=tokenizer, device=device, dtype=dtype, batch_size=batch_size,
                       backend=backend, quantize=quantize, threads=threads, **defaults)
