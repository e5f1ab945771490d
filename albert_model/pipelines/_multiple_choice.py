"""``pipeline("multiple-choice")``: which of several choices best continues or answers a question.

transformers has no multiple-choice pipeline; this one scores every ``(question, choice)`` pair with
:class:`AlbertForMultipleChoice` and returns ``{"choice", "index", "score", "scores"}`` (softmax over the
choices of one question).
"""

from __future__ import annotations

from typing import Any

import torch

from albert_model.modeling import AlbertForMultipleChoice
from albert_model.pipelines._base import Pipeline, as_batch, check_text
from albert_tok.api import MODEL_INPUT_NAMES

__all__ = ["MultipleChoicePipeline"]


class MultipleChoicePipeline(Pipeline):
    """Inputs: ``{"question": str, "choices": [str, ...]}`` (``question`` may be left out) or a list of them."""

    task = "multiple-choice"
    model_class = AlbertForMultipleChoice

    def predict(self, inputs: dict[str, Any] | list[dict[str, Any]]) -> Any:
        items, batched = as_batch(inputs, item=(dict,))
        results = []
        for i, item in enumerate(items):
            question, choices = _check_item(item, f"inputs[{i}]" if batched else "inputs")
            enc = self.tokenizer(
                [question] * len(choices),
                choices,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
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
