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
from albert_model.pipelines._sentence_embedding import SentenceEmbeddingPipeline
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
        SentenceEmbeddingPipeline,
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

    The pipeline loads the task's class (:data:`TASKS`) and refuses a checkpoint or model object whose task
    head was initialised at random rather than answer with noise. Calling it runs the class's ``predict``
    (its arguments and results are documented there): one input gives one result, a list gives a list in
    input order, read a window of batches at a time so that memory does not grow with the number of inputs.

    Example:
        >>> from albert_model import pipeline
        >>> unmask = pipeline("fill-mask")  # the shipped DEFAULT_MODEL, on the CPU
        >>> answers = unmask("The capital of France is [MASK].", top_k=3)
        >>> len(answers), sorted(answers[0])
        (3, ['score', 'sequence', 'token', 'token_str'])
        >>> classify = pipeline("text-classification", model="my-finetuned-albert")  # doctest: +SKIP
        >>> classify(["great film", "dull film"])  # doctest: +SKIP
        [{'label': ..., 'score': ...}, {'label': ..., 'score': ...}]

    Args:
        task: a task name or alias, one of the keys of :data:`TASKS` (the rows of
            :data:`~albert_model._tasks.TASK_TABLE` that have a pipeline: feature extraction, sentence embedding,
            fill-mask, text classification, token classification, question answering and multiple choice, and
            their aliases).
        model: a checkpoint directory or a Hugging Face repo id (``"albert/albert-base-v2"``, resolved in the
            standard cache: see :func:`albert_tok.io.resolve_directory`) with a trained head for the task
            (None: :data:`DEFAULT_MODEL`, whose pretraining heads serve fill-mask, feature extraction and
            sentence embedding only); a model object of the task's class, loaded by ``from_pretrained`` or built
            in code (``tokenizer=`` is then required); or, with
            ``backend="onnxruntime"``, an ``.onnx`` file or an ``OnnxAlbertModel``.
        tokenizer: a tokenizer directory, a repo id or an :class:`AlbertTokenizerFast`; None uses ``model``'s directory
            (for an ``.onnx`` file, its folder, or the checkpoint above a cache's ``onnx/`` folder).
        device: where the model runs: None (a directory is loaded on the CPU, a model object stays where it
            is), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, a ``torch.device``, or an int as transformers
            takes it (``-1`` the CPU, ``N >= 0`` ``cuda:N``). A device this machine does not have is refused.
        dtype: the dtype to load or cast the torch model to (``torch.bfloat16``); None keeps float32 for a
            directory and the object's own dtype for a model object. ONNX Runtime takes None or float32 only.
        batch_size: inputs per forward pass, a positive int (a call's ``batch_size=`` overrides it); results
            do not depend on it beyond float rounding.
        backend: ``"torch"`` (the default) or ``"onnxruntime"`` (an ``OnnxAlbertModel`` given as ``model``
            selects it by itself).
        quantize: with ``backend="onnxruntime"`` and a directory, ``"int8"`` exports and runs int8 encoder
            weights; None runs float32. Not accepted by the torch backend.
        threads: with ``backend="onnxruntime"``, ONNX Runtime's intra-op threads, 1 to 256; None is 2. Not
            accepted by the torch backend.
        **defaults: keyword arguments of the task's ``predict`` used by every call unless the call gives
            them (``top_k=3``, ``aggregation_strategy="simple"``); also transformers' loading keywords for a
            repo id (``revision``, ``token``, ``cache_dir``, ``local_files_only``, ``force_download``) and
            ``torch_dtype`` (the same as ``dtype``).

    Returns:
        A :class:`Pipeline` of the task's class (``FillMaskPipeline`` for ``"fill-mask"``, ...), loaded and
        ready to call.

    Raises:
        ValueError: an unknown ``task``, ``backend``, ``device`` or ``batch_size``, ``quantize``/``threads``
            with the torch backend, a ``dtype`` other than float32 with ONNX Runtime, an ``.onnx`` file with
            the torch backend, no tokenizer found, or a checkpoint that cannot be loaded.
        MissingHeadError: the checkpoint or model object has no trained weights for the task's head.
        TypeError: ``model`` is a model object of another class than the task's, or of an unsupported type,
            or a keyword in ``**defaults`` is not an argument of the task's ``predict``.
        FileNotFoundError: the model directory or file does not exist.
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
