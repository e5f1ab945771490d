"""``pipeline("feature-extraction")``: the encoder's last hidden state for each input."""

from __future__ import annotations

from typing import Any

import torch

from .modeling import AlbertModel
from .pipeline_base import Pipeline, as_batch, check_text

__all__ = ["FeatureExtractionPipeline"]


class FeatureExtractionPipeline(Pipeline):
    """``(1, tokens, hidden)`` per input, as nested lists (transformers' shape), or a tensor with
    ``return_tensors=True``."""

    task = "feature-extraction"
    model_class = AlbertModel

    def predict(self, inputs: str | list[str], return_tensors: bool = False, batch_size: int | None = None) -> Any:
        texts, batched = as_batch(inputs)
        for i, text in enumerate(texts):
            check_text(f"inputs[{i}]" if batched else "inputs", text)
        rows = self._encode(texts)

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            hidden = self.model(**batch).last_hidden_state.float().cpu()
            lengths = batch["attention_mask"].sum(1).tolist()
            return [hidden[j:j + 1, :n] for j, n in enumerate(lengths)]

        out = [t if return_tensors else t.tolist() for t in self._run(rows, step, batch_size)]
        return out if batched else out[0]
