"""``pipeline("feature-extraction")``: the encoder's last hidden state for each input, or with ``pooling=`` one
pooled vector per input (the sentence-embedding pipeline's)."""

from __future__ import annotations

from typing import Any

import torch

from albert_model.modeling import AlbertModel
from albert_model.pipelines._base import Pipeline, as_batch, check_text
from albert_model.pipelines._sentence_embedding import POOLINGS, check_normalize, check_pooling, embed

__all__ = ["FeatureExtractionPipeline"]


class FeatureExtractionPipeline(Pipeline):
    """``(1, tokens, hidden)`` per input, as nested lists (transformers' shape), or a tensor with
    ``return_tensors=True``. With ``pooling=`` (``"cls"``, ``"mean"``, ``"max"``), the pooled vectors of
    ``pipeline("sentence-embedding")`` instead."""

    task = "feature-extraction"
    model_class = AlbertModel

    @classmethod
    def _check_defaults(cls, defaults: dict[str, Any]) -> None:
        _check_options(defaults.get("pooling"), defaults.get("normalize"))

    def predict(
        self,
        inputs: str | list[str],
        return_tensors: bool = False,
        batch_size: int | None = None,
        pooling: str | None = None,
        normalize: bool | None = None,
    ) -> Any:
        """The hidden states of the last layer for each text, or their pooled vectors; what calling the
        pipeline runs.

        Each text is encoded with ``[CLS]``/``[SEP]`` and cut to the model's maximum length (the tokenizer's
        ``model_max_length``, within ``max_position_embeddings``); padding is not part of any result.

        Args:
            inputs: one text, or a list (or tuple) of texts; an empty string is accepted (its ``[CLS]`` and
                ``[SEP]`` are encoded).
            return_tensors: False (the default) returns nested Python lists, as transformers does (with
                ``pooling``, NumPy arrays); True returns a float32 CPU ``torch.Tensor``.
            batch_size: texts per forward pass for this call; None uses the pipeline's ``batch_size``. Results
                do not depend on it beyond float rounding.
            pooling: None (the default) returns every token's vector; ``"mean"``, ``"max"`` or ``"cls"`` returns
                one pooled vector per text, as ``pipeline("sentence-embedding")`` does.
            normalize: with ``pooling``, True (None: the default) divides each vector by its L2 norm and False
                keeps it as pooled; without ``pooling`` only None or False (token vectors are never normalised).

        Returns:
            Without ``pooling``: for one text, its features of shape ``(1, tokens, hidden_size)`` (``tokens``
            counting ``[CLS]`` and ``[SEP]``); for a list, a list of those in input order. With ``pooling``:
            a float32 ``np.ndarray`` (a ``torch.Tensor`` with ``return_tensors=True``) of shape
            ``(hidden_size,)`` for one text, ``(len(inputs), hidden_size)`` for a list.

        Raises:
            TypeError: ``inputs`` is neither a str nor a list of str, or ``normalize`` is not None or a bool.
            ValueError: ``batch_size`` is not a positive int, ``pooling`` is not None or one of ``"cls"``,
                ``"mean"``, ``"max"``, or ``normalize=True`` comes without ``pooling``.
        """
        texts, batched = as_batch(inputs)
        for i, text in enumerate(texts):
            check_text(f"inputs[{i}]" if batched else "inputs", text)
        if _check_options(pooling, normalize):
            vectors = embed(self, texts, str(pooling), normalize is not False, batch_size)
            pooled = vectors if batched else vectors[0]
            return torch.from_numpy(pooled) if return_tensors else pooled

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


def _check_options(pooling: Any, normalize: Any) -> bool:
    """Whether ``pooling`` asks for pooled vectors; raises for a bad ``pooling`` or ``normalize``."""
    if normalize is not None:
        check_normalize(normalize)
    if pooling is None:
        if normalize:
            raise ValueError(
                f"normalize=True applies to pooled vectors: pass pooling= as well (one of "
                f"{', '.join(map(repr, POOLINGS))}), or use pipeline('sentence-embedding')"
            )
        return False
    check_pooling(pooling)
    return True
