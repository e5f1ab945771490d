"""``pipeline("sentence-embedding")``: one float32 vector per text, pooled from the encoder's last hidden state.

The pooling rules are sentence-transformers' ``Pooling`` modes: ``"mean"`` averages the hidden states of the
text's tokens (the attention mask's ones, ``[CLS]`` and ``[SEP]`` included), ``"max"`` takes their
element-wise maximum, ``"cls"`` the hidden state of ``[CLS]`` (``last_hidden_state[:, 0]``). Padding never
takes part, so a text's vector does not depend on the texts batched with it, the batch size or the length
sorting beyond float rounding. ``normalize=True`` divides each vector by its L2 norm (cosine similarity is
then a dot product).

ALBERT's pooler output (``tanh(dense([CLS]))``) is not offered: its weights are trained only for
sentence-order prediction during pretraining, a masked-LM or fine-tuned checkpoint usually has none (they
would be random), and sentence-transformers' ALBERT models pool ``"mean"``.

Feature extraction pools through the same function when given ``pooling=``
(:class:`~albert_model.pipelines._feature_extraction.FeatureExtractionPipeline`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from albert_model.modeling import AlbertModel
from albert_model.pipelines._base import Pipeline, as_batch, check_text

__all__ = ["POOLINGS", "SentenceEmbeddingPipeline", "check_normalize", "check_pooling", "embed", "pool"]

POOLINGS = ("cls", "mean", "max")
"""The ``pooling=`` values: the ``[CLS]`` hidden state, the mean or the maximum over the text's tokens."""


def check_pooling(pooling: Any) -> str:
    """Check a ``pooling=`` value.

    Args:
        pooling: The value given.

    Returns:
        ``pooling``, one of :data:`POOLINGS`.

    Raises:
        ValueError: ``pooling`` is not one of :data:`POOLINGS` (any other value or type; the message lists them).
    """
    if not isinstance(pooling, str) or pooling not in POOLINGS:
        hint = " (ALBERT's pooler output is not offered: its weights are trained for sentence order only)"
        raise ValueError(
            f"pooling must be one of {', '.join(map(repr, POOLINGS))}, got {pooling!r}"
            + (hint if pooling == "pooler" else "")
        )
    return pooling


def check_normalize(normalize: Any) -> bool:
    """Check a ``normalize=`` value.

    Args:
        normalize: The value given.

    Returns:
        ``normalize`` as a bool.

    Raises:
        TypeError: ``normalize`` is not a bool (a NumPy bool is accepted).
    """
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    return bool(normalize)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """One vector per row of a padded batch, from its non-padding positions only.

    Args:
        hidden: The last hidden state, ``(batch, tokens, hidden)``.
        attention_mask: 1 at the text's tokens, 0 at padding, ``(batch, tokens)``.
        pooling: One of :data:`POOLINGS`.

    Returns:
        ``(batch, hidden)``, in ``hidden``'s dtype.
    """
    if pooling == "cls":
        return hidden[:, 0]
    padding = (attention_mask == 0).unsqueeze(-1)  # (B, T, 1)
    if pooling == "max":
        return hidden.masked_fill(padding, float("-inf")).amax(1)
    # masked_fill, not a product: whatever a padding position holds (even inf or nan) cannot leak in
    total = hidden.masked_fill(padding, 0.0).sum(1)
    count = attention_mask.sum(1, keepdim=True).clamp(min=1).to(hidden.dtype)
    return total / count


def embed(pipe: Pipeline, texts: list[str], pooling: str, normalize: bool, batch_size: int | None) -> np.ndarray:
    """The pooled vectors of ``texts`` through ``pipe``'s model, in input order.

    Args:
        pipe: A loaded pipeline whose model returns ``last_hidden_state`` (torch or ONNX Runtime).
        texts: The texts, already checked.
        pooling: One of :data:`POOLINGS`, already checked.
        normalize: True divides each vector by its L2 norm.
        batch_size: Texts per forward pass; None uses the pipeline's.

    Returns:
        A C-contiguous float32 array ``(len(texts), hidden_size)``; ``(0, hidden_size)`` for no texts.
    """

    def step(batch: dict[str, torch.Tensor]) -> list[Any]:
        hidden = pipe.model(**batch).last_hidden_state.float()  # pooled in float32 whatever the model's dtype
        vectors = pool(hidden, batch["attention_mask"].to(hidden.device), pooling)
        if normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2.0, dim=-1)
        return list(vectors.cpu().numpy())

    rows = pipe._stream(texts, lambda window, _: pipe._encode(window), step, lambda _, r, outs: outs, batch_size)
    if not rows:
        return np.zeros((0, pipe.model.config.hidden_size), dtype=np.float32)
    return np.ascontiguousarray(np.stack(rows), dtype=np.float32)


class SentenceEmbeddingPipeline(Pipeline):
    """One float32 vector per text: the encoder's last hidden state pooled (``"mean"`` by default) and
    L2-normalised (by default), as sentence-transformers computes it.

    A text is encoded with ``[CLS]``/``[SEP]`` and cut to the model's maximum length, as in the other
    pipelines. The pipeline's ``pooling=`` and ``normalize=`` are checked when it is built.
    """

    task = "sentence-embedding"
    model_class = AlbertModel

    @classmethod
    def _check_defaults(cls, defaults: dict[str, Any]) -> None:
        if "pooling" in defaults:
            check_pooling(defaults["pooling"])
        if "normalize" in defaults:
            check_normalize(defaults["normalize"])

    def predict(
        self,
        inputs: str | list[str],
        pooling: str = "mean",
        normalize: bool = True,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """The embedding of each text; what calling the pipeline runs.

        Args:
            inputs: one text, or a list (or tuple) of texts; an empty string is accepted (its ``[CLS]`` and
                ``[SEP]`` are encoded).
            pooling: ``"mean"`` (the default: the mean of the text's token vectors, ``[CLS]`` and ``[SEP]``
                included), ``"max"`` (their element-wise maximum) or ``"cls"`` (the ``[CLS]`` vector).
            normalize: True (the default) divides each vector by its L2 norm; False returns it as pooled.
            batch_size: texts per forward pass for this call; None uses the pipeline's ``batch_size``. Results
                do not depend on it beyond float rounding.

        Returns:
            For one text, a float32 ``np.ndarray`` of shape ``(hidden_size,)``; for a list, one of shape
            ``(len(inputs), hidden_size)`` with the rows in input order (``(0, hidden_size)`` for an empty
            list).

        Raises:
            TypeError: ``inputs`` is neither a str nor a list of str, or ``normalize`` is not a bool.
            ValueError: ``pooling`` is not one of :data:`POOLINGS`, or ``batch_size`` is not a positive int.
        """
        texts, batched = as_batch(inputs)
        for i, text in enumerate(texts):
            check_text(f"inputs[{i}]" if batched else "inputs", text)
        vectors = embed(self, texts, check_pooling(pooling), check_normalize(normalize), batch_size)
        return vectors if batched else vectors[0]
