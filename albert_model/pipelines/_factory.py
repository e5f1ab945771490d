"""``pipeline(task, ...)``: the task table's name or alias to a pipeline of its class."""

from __future__ import annotations

import os
from typing import Any

import torch

from albert_model._tasks import TASK_TABLE
from albert_model.pipelines._base import Pipeline
from albert_model.pipelines._feature_extraction import FeatureExtractionPipeline
from albert_model.pipelines._fill_mask import FillMaskPipeline
from albert_model.pipelines._multiple_choice import MultipleChoicePipeline
from albert_model.pipelines._question_answering import QuestionAnsweringPipeline
from albert_model.pipelines._text_classification import TextClassificationPipeline
from albert_model.pipelines._token_classification import TokenClassificationPipeline
from albert_tok import AlbertTokenizerFast

__all__ = ["TASKS", "pipeline"]

_CLASSES: dict[str, type[Pipeline]] = {
    cls.__name__: cls
    for cls in (
        FeatureExtractionPipeline,
        FillMaskPipeline,
        MultipleChoicePipeline,
        QuestionAnsweringPipeline,
        TextClassificationPipeline,
        TokenClassificationPipeline,
    )
}
TASKS: dict[str, type[Pipeline]] = {
    name: _CLASSES[row.pipeline] for row in TASK_TABLE if row.pipeline for name in row.names
}
"""The names and aliases ``pipeline()`` accepts and the class each one builds: the rows of
:data:`albert_model._tasks.TASK_TABLE` that have a pipeline."""


def pipeline(
    task: str,
    model: str | os.PathLike[str] | Any = None,
    tokenizer: str | os.PathLike[str] | AlbertTokenizerFast | None = None,
    device: str | int | torch.device | None = None,
    dtype: torch.dtype | None = None,
    batch_size: int = 32,
    backend: str = "torch",
    quantize: str | None = None,
    threads: int | None = None,
    **defaults: Any,
) -> Pipeline:
    """A pipeline for ``task`` on ``model``: a checkpoint directory (``None``: :data:`DEFAULT_MODEL`), a model
    object (with ``tokenizer=``), or, with ``backend="onnxruntime"``, an ``.onnx`` file from
    :func:`~albert_model.onnx._export.export_onnx` or an ``OnnxAlbertModel``.

    ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, a ``torch.device``, or transformers' ints (``-1`` is the
    CPU, ``N >= 0`` is ``cuda:N``). ``backend="onnxruntime"`` exports the directory's task class on first use
    into ``DIR/onnx/`` (reused while the weights are unchanged) and runs it with ONNX Runtime on ``threads``
    intra-op threads (default 2; 1 to 256, more than the cores only slows it down); ``quantize="int8"`` uses
    int8 weights. Other keywords are defaults for every call (``pipeline("ner", aggregation_strategy="simple")``).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; accepted: {', '.join(sorted(TASKS))}")
    return TASKS[task](
        model=model,
        tokenizer=tokenizer,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        backend=backend,
        quantize=quantize,
        threads=threads,
        **defaults,
    )
