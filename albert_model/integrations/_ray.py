"""Ray Data integration for prediction: run a pipeline as an actor over ``ray.data.Dataset`` batches.

    from albert_model.integrations._ray import PredictBatch

    ds = ray.data.read_text("corpus.txt")            # column "text"
    ds = ds.map_batches(PredictBatch, fn_constructor_kwargs={"task": "fill-mask", "model": "/models/albert"},
                        concurrency=2, batch_size=256, num_gpus=1)   # num_gpus=0 (default) on CPU

Adds a ``prediction`` column holding each result as JSON text (the pipeline's own structure). Extra
keywords are the pipeline's call keywords (``top_k=3``); ``backend="onnxruntime"`` runs ONNX Runtime.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

__all__ = ["PredictBatch"]


class PredictBatch:
    """``map_batches`` callable class: one pipeline per actor, loaded once. Only text-in tasks (fill-mask,
    classification, token classification, feature extraction) fit a single text column."""

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

        from albert_model.pipelines import pipeline

        if device is None and backend == "torch":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.pipe = pipeline(task, model=model, device=device, batch_size=batch_size, backend=backend)
        self.text_column = text_column
        self.call_kwargs = call_kwargs

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self.text_column not in batch:
            raise KeyError(
                f"the batch has no column {self.text_column!r} (columns: {', '.join(map(str, batch))}); "
                f"pass text_column="
            )
        texts = [str(t) for t in batch[self.text_column]]
        results = self.pipe(texts, **self.call_kwargs) if texts else []
        out = dict(batch)
        out["prediction"] = np.array([json.dumps(r) for r in results], dtype=object)
        return out
