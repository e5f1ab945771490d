"""``pipeline("feature-extraction")``: the encoder's last hidden state for each input."""

from __future__ import annotations

from typing import Any

import torch

from albert_model.modeling import AlbertModel
from albert_model.pipelines._base import Pipeline, as_batch, check_text

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

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            hidden = self.model(**batch).last_hidden_state.float().cpu()
            lengths = batch["attention_mask"].sum(1).tolist()
            # a copy per row: a view would keep the whole padded batch alive for as long as the result
            return [
                hidden[j : j + 1, :n].clone() if return_tensors else hidden[j : j + 1, :n].tolist()
                for j, n in enumerate(lengths)
            ]

        out = self._stream(texts, lambda window, _: self._encode(window), step, lambda _, rows, outs: outs, batch_size)
        return out if batched else out[0]
