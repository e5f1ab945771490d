"""``pipeline("text-classification")``: labels and scores, shaped exactly as transformers returns them."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from albert_model.modeling import AlbertForSequenceClassification
from albert_model.pipelines._base import Pipeline, as_batch

__all__ = ["FUNCTIONS", "TextClassificationPipeline"]

FUNCTIONS = ("softmax", "sigmoid", "none")
_UNSET: Any = object()  # top_k not given: transformers' legacy shape (one dict per input)


def _apply(function: str, logits: np.ndarray) -> np.ndarray:
    if function == "sigmoid":
        return 1.0 / (1.0 + np.exp(-logits))
    if function == "softmax":
        shifted = np.exp(logits - logits.max(-1, keepdims=True))
        return shifted / shifted.sum(-1, keepdims=True)
    return logits


class TextClassificationPipeline(Pipeline):
    """Inputs: texts, or ``{"text": ..., "text_pair": ...}`` dicts for pairs.

    Without ``top_k``: ``{"label", "score"}`` per input, a single text giving ``[{"label", "score"}]``.
    With ``top_k`` (an int >= 1, or None for every label): the ``top_k`` best labels per input, best first.
    ``function_to_apply``: ``"softmax"``, ``"sigmoid"`` or ``"none"`` (default: from the config, as
    transformers: none for regression, sigmoid for one label or multi-label, softmax otherwise).
    ``return_all_scores=True`` (deprecated in transformers) is ``top_k=None`` in label order.
    """

    task = "text-classification"
    model_class = AlbertForSequenceClassification

    def predict(
        self,
        inputs: str | dict[str, str] | list[str | dict[str, str]],
        top_k: int | None = _UNSET,
        function_to_apply: str | None = None,
        return_all_scores: bool | None = None,
        batch_size: int | None = None,
    ) -> Any:
        """Classify each text (or text pair); what calling the pipeline runs.

        Each input is encoded with ``[CLS]``/``[SEP]`` (a pair as ``[CLS] text [SEP] text_pair [SEP]``) and
        cut to the model's maximum length. Labels are the names in the model's ``config.id2label``.

        Args:
            inputs: one text, one ``{"text": str, "text_pair": str}`` dict (``text_pair`` optional), or a
                list (or tuple) mixing them.
            top_k: left out, transformers' legacy shape: the best label as one ``{"label", "score"}`` dict
                per input. An int >= 1: the ``top_k`` best labels per input as a list of such dicts, best
                first (fewer when the model has fewer labels). None: every label, best first.
            function_to_apply: how logits become scores: ``"softmax"``, ``"sigmoid"`` or ``"none"`` (the raw
                logits; case does not matter). None (or ``"default"``) decides from the config as transformers
                does: ``"none"`` for ``problem_type="regression"``, ``"sigmoid"`` for multi-label
                classification or a single label, ``"softmax"`` otherwise.
            return_all_scores: deprecated in transformers, with a warning, and read only when ``top_k`` is
                left out: True is every label in label order (not sorted), False the best label.
            batch_size: inputs per forward pass for this call; None uses the pipeline's ``batch_size``.

        Returns:
            Without ``top_k``: for a single text, ``[{"label": str, "score": float}]`` (a list of one, as
            transformers returns it), for a single dict, the dict alone; for a list, one dict per input.
            With ``top_k``: for one input, the list of its best labels; for a list, one such list per input.
            Results come in input order.

        Raises:
            TypeError: ``inputs`` is not a str, a dict or a list of them, or ``text``/``text_pair`` is not a
                string.
            ValueError: ``top_k`` is not None or an int >= 1, ``function_to_apply`` is not one of the names
                above, a dict has no ``text`` or another key, or ``batch_size`` is not a positive int.

        Warns:
            UserWarning: ``return_all_scores`` was given (deprecated; use ``top_k``).
        """
        items, batched = as_batch(inputs, item=(str, dict))
        legacy = top_k is _UNSET
        if not legacy and top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be None (every label) or an int >= 1, got {top_k!r}")
        sort = not legacy
        if legacy:
            top_k = 1
            if return_all_scores is not None:
                warnings.warn(
                    "return_all_scores is deprecated (as in transformers); use top_k=None for every "
                    "label or top_k=1 for the best",
                    UserWarning,
                    stacklevel=3,
                )
                top_k = None if return_all_scores else 1
        function = self._function(function_to_apply)
        texts, pairs = self._split(items, batched)

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            return list(self.model(**batch).logits.float().cpu().numpy())

        id2label = self.model.config.id2label

        def result(logits: np.ndarray) -> Any:
            scores = _apply(function, logits)
            if legacy and top_k == 1:
                best = int(scores.argmax())
                return {"label": id2label[best], "score": float(scores[best])}
            answer = [{"label": id2label[i], "score": float(s)} for i, s in enumerate(scores)]
            if sort:
                answer.sort(key=lambda a: a["score"], reverse=True)
                answer = answer if top_k is None else answer[:top_k]
            return answer

        def encode(window: list[tuple[str, str | None]], _: int) -> list[dict[str, Any]]:
            return self._encode([text for text, _ in window], [pair for _, pair in window])

        results = self._stream(
            list(zip(texts, pairs, strict=False)), encode, step, lambda _, rows, outs: map(result, outs), batch_size
        )
        if batched:
            return results
        # transformers wraps the answer for one text (not for one dict) in a list when top_k is not given
        return [results[0]] if legacy and isinstance(items[0], str) else results[0]

    def _function(self, name: str | None) -> str:
        if name is None or name == "default":
            cfg = self.model.config
            if cfg.problem_type == "regression":
                return "none"
            if cfg.problem_type == "multi_label_classification" or cfg.num_labels == 1:
                return "sigmoid"
            return "softmax"
        if not isinstance(name, str) or name.lower() not in FUNCTIONS:
            raise ValueError(
                f"function_to_apply must be one of {', '.join(map(repr, FUNCTIONS))} (or None), got {name!r}"
            )
        return name.lower()

    @staticmethod
    def _split(items: list[Any], batched: bool) -> tuple[list[str], list[str | None]]:
        texts: list[str] = []
        pairs: list[str | None] = []
        for i, item in enumerate(items):
            where = f"inputs[{i}]" if batched else "inputs"
            if isinstance(item, dict):
                extra = set(item) - {"text", "text_pair"}
                if "text" not in item or extra:
                    raise ValueError(
                        f"{where} is a dict; it takes the keys 'text' and optionally 'text_pair', got {sorted(item)}"
                    )
                text, pair = item["text"], item.get("text_pair")
            elif isinstance(item, str):
                text, pair = item, None
            else:
                raise TypeError(
                    f"{where} must be a str or a {{'text', 'text_pair'}} dict, got "
                    f"{type(item).__name__} (send a text pair as {{'text': ..., 'text_pair': ...}})"
                )
            if not isinstance(text, str) or not (pair is None or isinstance(pair, str)):
                raise TypeError(f"{where}: 'text' and 'text_pair' must be str")
            texts.append(text)
            pairs.append(pair)
        return texts, pairs
