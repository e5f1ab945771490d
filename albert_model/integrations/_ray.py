"""Ray Data integration for prediction: run a pipeline as an actor over ``ray.data.Dataset`` batches.

    from albert_model.integrations._ray import PredictBatch

    ds = ray.data.read_text("corpus.txt")            # column "text"
    ds = ds.map_batches(PredictBatch, fn_constructor_kwargs={"task": "fill-mask", "model": "/models/albert"},
                        concurrency=2, batch_size=256, num_gpus=1)   # num_gpus=0 (default) on CPU

Adds a ``prediction`` column holding each result as JSON text (the pipeline's own structure); for sentence
embeddings (``task="sentence-embedding"``, or ``"feature-extraction"`` with ``pooling=``) the column holds
float32 vectors, one ``(hidden_size,)`` row per text::

    ds = ds.map_batches(PredictBatch, fn_constructor_kwargs={"task": "sentence-embedding", "pooling": "mean"})
    ds.take(1)[0]["prediction"]                      # np.ndarray, float32, (hidden_size,)

Extra keywords are the pipeline's call keywords (``top_k=3``, ``pooling="cls"``, ``normalize=False``), checked
when the actor starts; ``backend="onnxruntime"`` runs ONNX Runtime.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

__all__ = ["PredictBatch"]


class PredictBatch:
    """``map_batches`` callable class: one pipeline per actor, loaded once. Only text-in tasks (fill-mask,
    classification, token classification, feature extraction, sentence embedding) fit a single text column.

    Ray builds one per actor from ``fn_constructor_kwargs``; the pipeline is loaded there, once, and every
    batch the actor receives goes through it.

    Args:
        task: a task name or alias :func:`~albert_model.pipelines.pipeline` accepts (``"fill-mask"``,
            ``"text-classification"``, ``"ner"``, ``"feature-extraction"``, ``"sentence-embedding"``).
        model: a checkpoint directory (or, with ``backend="onnxruntime"``, an ``.onnx`` file) readable from
            every worker; None uses the shipped :data:`~albert_model.DEFAULT_MODEL`.
        text_column: the column of each batch that holds the texts; each value is passed through ``str()``.
        device: the pipeline's device (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ...). None with the torch
            backend picks ``"cuda"`` when this worker sees a GPU (ask Ray for one with ``num_gpus=1``) and
            ``"cpu"`` otherwise; None with ONNX Runtime leaves the choice to the pipeline.
        batch_size: how many texts the pipeline runs per forward pass, independent of Ray's
            ``batch_size`` (the rows per ``map_batches`` call); a positive int.
        backend: ``"torch"`` (the default) or ``"onnxruntime"``, which exports the checkpoint's task class
            on first use (see :func:`~albert_model.pipelines.pipeline`).
        **call_kwargs: keywords for every pipeline call (``top_k=3``, ``aggregation_strategy="simple"``,
            ``pooling="mean"``, ``normalize=False``), given to the pipeline as its defaults: an unknown keyword
            or a bad ``pooling`` fails here, in the constructor. :func:`~albert_model.pipelines.pipeline`'s own
            keywords (``quantize="int8"``, ``threads=1``, ``dtype=``, ``revision=``) configure the pipeline.

    Raises:
        ValueError, TypeError, FileNotFoundError, MissingHeadError: whatever
            :func:`~albert_model.pipelines.pipeline` raises for these arguments, in the actor's constructor.
    """

    def __init__(
        self,
        task: str,
        model: str | os.PathLike[str] | None = None,
        text_column: str = "text",
        device: str | None = None,
        batch_size: int = 32,
        backend: str = "torch",
        **call_kwargs: Any,
    ) -> None:
        import torch

        from albert_model.pipelines import FeatureExtractionPipeline, SentenceEmbeddingPipeline, pipeline

        if device is None and backend == "torch":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.pipe = pipeline(task, model=model, device=device, batch_size=batch_size, backend=backend, **call_kwargs)
        self.text_column = text_column
        # one float32 vector per text (a 2-D column) rather than JSON-able results
        self.embeds = isinstance(self.pipe, SentenceEmbeddingPipeline) or (
            isinstance(self.pipe, FeatureExtractionPipeline) and self.pipe.defaults.get("pooling") is not None
        )

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Run the pipeline over one batch.

        Args:
            batch: a Ray Data batch in ``"numpy"`` or ``"default"`` format: column name -> values, one of
                them :attr:`text_column`.

        Returns:
            A new dict with every column of ``batch`` and a ``prediction`` column, in the order of the texts: a
            NumPy object array holding, for each text, the pipeline's result (a dict, or a list of dicts) as
            JSON text; or, for embeddings, a float32 array ``(texts, hidden_size)`` (one vector per row). An
            empty batch gets an empty column (``(0, hidden_size)`` for embeddings).

        Raises:
            KeyError: the batch has no column named :attr:`text_column` (the message lists the columns it
                has).
        """
        if self.text_column not in batch:
            raise KeyError(
                f"the batch has no column {self.text_column!r} (columns: {', '.join(map(str, batch))}); "
                f"pass text_column="
            )
        texts = [str(t) for t in batch[self.text_column]]
        out = dict(batch)
        if self.embeds:  # (texts, hidden_size) float32, also for no texts
            out["prediction"] = self.pipe(texts)
            return out
        results = self.pipe(texts) if texts else []
        out["prediction"] = np.array([json.dumps(r) for r in results], dtype=object)
        return out
