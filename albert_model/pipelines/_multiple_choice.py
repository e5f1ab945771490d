"""``pipeline("multiple-choice")``: which of several choices best continues or answers a question.

transformers has no multiple-choice pipeline; this one scores every ``(question, choice)`` pair with
:class:`AlbertForMultipleChoice` and returns ``{"choice", "index", "score", "scores"}`` (softmax over the
choices of one question).
"""

from __future__ import annotations

from typing import Any

import torch

from albert_model._tasks import choice_pairs, encode_choices
from albert_model.modeling import AlbertForMultipleChoice
from albert_model.pipelines._base import Pipeline, as_batch, check_text
from albert_tok.api import MODEL_INPUT_NAMES

__all__ = ["MultipleChoicePipeline"]


class MultipleChoicePipeline(Pipeline):
    """Inputs: ``{"question": str, "choices": [str, ...]}`` (``question`` may be left out) or a list of them."""

    task = "multiple-choice"
    model_class = AlbertForMultipleChoice

    def predict(self, inputs: dict[str, Any] | list[dict[str, Any]]) -> Any:
        """Score every choice of each question and pick the best; what calling the pipeline runs.

        Each ``(question, choice)`` pair is encoded as ``[CLS] question [SEP] choice [SEP]`` and cut to the
        model's maximum length (:func:`albert_model._tasks.encode_choices`, the rule ``albert finetune`` trains
        with); the choices of one question run together in one forward pass.

        Args:
            inputs: one ``{"question": str, "choices": [str, ...]}`` dict or a list (or tuple) of them.
                ``choices`` is a non-empty list (or tuple) of strings; ``question`` may be left out (the
                empty string), for choices that are continuations alone. No other key is accepted.

        Returns:
            For one dict, ``{"choice": the best choice's text, "index": its position in ``choices``,
            "score": its probability, "scores": the probability of every choice, in the order given}``
            (a softmax over the choices of that question); for a list, a list of those in input order.

        Raises:
            TypeError: ``inputs`` is neither a dict nor a list of dicts, ``choices`` is not a list (a
                string is refused, not read as one choice per character), or a question or choice is not a
                string.
            ValueError: a dict without ``choices``, with another key, or with no choice (the message names
                the input).
        """
        items, batched = as_batch(inputs, item=(dict,))
        results = []
        for i, item in enumerate(items):
            question, choices = _check_item(item, f"inputs[{i}]" if batched else "inputs")
            firsts, seconds = choice_pairs(question, "", choices)  # the rule training encodes with
            enc = encode_choices(self.tokenizer, firsts, seconds, self.max_length, padding=True, return_tensors="pt")
            batch = {k: enc[k][None].to(self.device) for k in MODEL_INPUT_NAMES}
            with torch.inference_mode():
                logits = self.model(**batch).logits[0].float()
            scores = logits.softmax(-1).tolist()
            index = max(range(len(scores)), key=scores.__getitem__)
            results.append({"choice": choices[index], "index": index, "score": scores[index], "scores": scores})
        return results if batched else results[0]


def _check_item(item: Any, where: str) -> tuple[str, list[str]]:
    if not isinstance(item, dict) or "choices" not in item or set(item) - {"question", "choices"}:
        raise ValueError(
            f"{where}: multiple-choice inputs are {{'question': str, 'choices': [str, ...]}}, got {item!r:.80}"
        )
    choices = item["choices"]
    if isinstance(choices, str) or not isinstance(choices, (list, tuple)):
        raise TypeError(
            f"{where}['choices'] must be a list of strings, got {type(choices).__name__} "
            f"{choices!r:.40} (a string would be read as one choice per character)"
        )
    if not choices:
        raise ValueError(f"{where}['choices'] is empty; give at least one choice")
    for j, choice in enumerate(choices):
        check_text(f"{where}['choices'][{j}]", choice)
    question = item.get("question", "")
    check_text(f"{where}['question']", question)
    return question, list(choices)
