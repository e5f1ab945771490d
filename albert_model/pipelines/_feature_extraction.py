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
        """The hidden states of the last layer for each text; what calling the pipeline runs.

        Each text is encoded with ``[CLS]``/``[SEP]`` and cut to the model's maximum length (the tokenizer's
        ``model_max_length``, within ``max_position_embeddings``); padding is not part of any result.

        Args:
            inputs: one text, or a list (or tuple) of texts; an empty string is accepted (its ``[CLS]`` and
                ``[SEP]`` are encoded).
            return_tensors: False (the default) returns nested Python lists, as transformers does; True returns
                a float32 CPU ``torch.Tensor`` per text.
            batch_size: texts per forward pass for this call; None uses the pipeline's ``batch_size``. Results
                do not depend on it beyond float rounding.

        Returns:
            For one text, its features of shape ``(1, tokens, hidden_size)`` (``tokens`` counting ``[CLS]``
            and ``[SEP]``); for a list, a list of those in input order.

        Raises:
            TypeError: ``inputs`` is neither a str nor a list of str.
            ValueError: ``batch_size`` is not a positive int.
        """
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
