"""``pipeline("token-classification")`` (``"ner"``): a label per token, or per word or entity.

transformers' semantics: ``aggregation_strategy="none"`` gives ``{"entity", "score", "index", "word",
"start", "end"}`` per token (``word`` is the piece, ``▁`` included; ``start``/``end`` are the tokenizer's
offsets, which include the space a ``▁`` stands for); the others give ``{"entity_group", "score", "word",
"start", "end"}``. ``"simple"`` groups adjacent tokens of one entity (``B-``/``I-`` tags); ``"first"``,
``"average"`` and ``"max"`` first give each word one label (its first piece's, the mean of its pieces'
scores, or its most confident piece's), then group words. A word starts at a piece with the tokenizer's
``▁`` word start (an unknown piece is a word of its own). Labels in ``ignore_labels`` are dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from albert_model.modeling import AlbertForTokenClassification
from albert_model.pipelines._base import Pipeline, as_batch, check_text

__all__ = ["STRATEGIES", "TokenClassificationPipeline"]

STRATEGIES = ("none", "simple", "first", "average", "max")
WORD_START = "\u2581"


def _tag(label: str) -> tuple[str, str]:
    """``("B" or "I", entity)`` of a label; labels without a prefix count as inside."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


class TokenClassificationPipeline(Pipeline):
    """A label per token, or per word or entity; see the module docstring and :meth:`predict`."""

    task = "token-classification"
    model_class = AlbertForTokenClassification

    def predict(
        self,
        inputs: str | list[str],
        aggregation_strategy: str = "none",
        ignore_labels: list[str] | tuple[str, ...] | None = None,
        batch_size: int | None = None,
    ) -> list[Any]:
        """Label the tokens (or words, or entities) of each text; what calling the pipeline runs.

        Each text is encoded with ``[CLS]``/``[SEP]`` (which get no label) and cut to the model's maximum
        length; labels are the names in the model's ``config.id2label``, scores their softmax probability.

        Args:
            inputs: one text or a list (or tuple) of texts.
            aggregation_strategy: ``"none"`` (the default): one result per token. ``"simple"``: adjacent
                tokens of one entity (``B-X`` then ``I-X``; a label without prefix counts as ``I-``) form one
                group. ``"first"``, ``"average"``, ``"max"``: each word first takes one label (its first
                piece's, the one with the highest mean of its pieces' scores, or its most confident piece's),
                then words are grouped as ``"simple"`` groups tokens. Case does not matter.
            ignore_labels: labels whose results are dropped, compared with ``entity`` (per token) or
                ``entity_group`` (the label without its ``B-``/``I-`` prefix); None drops ``"O"``, and an
                empty list drops nothing.
            batch_size: texts per forward pass for this call; None uses the pipeline's ``batch_size``.

        Returns:
            For one text, a list of dicts in text order: with ``"none"``, ``{"entity", "score", "index",
            "word", "start", "end"}`` per token (``index`` its position in the encoded row, ``word`` the
            piece with its ``▁``, ``start``/``end`` the tokenizer's character offsets); otherwise
            ``{"entity_group", "score", "word", "start", "end"}`` per group, ``score`` the mean of its
            members' scores and ``word`` its pieces joined as text. For a list of texts, one such list per
            text, in input order.

        Raises:
            ValueError: ``aggregation_strategy`` is not one of the five names, or ``batch_size`` is not a
                positive int.
            TypeError: ``inputs`` is neither a str nor a list of str.
        """
        strategy = aggregation_strategy.lower() if isinstance(aggregation_strategy, str) else aggregation_strategy
        if strategy not in STRATEGIES:
            raise ValueError(
                f"aggregation_strategy={aggregation_strategy!r}; accepted: {', '.join(map(repr, STRATEGIES))}"
            )
        ignore = {"O"} if ignore_labels is None else set(ignore_labels)
        texts, batched = as_batch(inputs)
        for i, text in enumerate(texts):
            check_text(f"inputs[{i}]" if batched else "inputs", text)

        def encode(window: list[str], _: int) -> list[dict[str, Any]]:
            return self._encode(window, return_offsets_mapping=True, return_special_tokens_mask=True)

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            logits = self.model(**batch).logits.float().cpu().numpy()
            shifted = np.exp(logits - logits.max(-1, keepdims=True))
            return list(shifted / shifted.sum(-1, keepdims=True))

        def finish(window: list[str], rows: list[dict[str, Any]], outs: list[Any]) -> list[Any]:
            found = []
            for text, row, scores in zip(window, rows, outs, strict=False):
                entities = self._aggregate(self._tokens(text, row, scores), strategy)
                found.append([e for e in entities if e.get("entity", e.get("entity_group")) not in ignore])
            return found

        results = self._stream(texts, encode, step, finish, batch_size)
        return results if batched else results[0]

    def _tokens(self, text: str, row: dict[str, Any], scores: np.ndarray) -> list[dict[str, Any]]:
        """One record per non-special token: piece, scores, offsets, and whether it continues a word."""
        out: list[dict[str, Any]] = []
        pieces = self.tokenizer.convert_ids_to_tokens(row["input_ids"])
        unk = self.tokenizer.unk_token_id
        for index, (token_id, piece, special, (start, end)) in enumerate(
            zip(row["input_ids"], pieces, row["special_tokens_mask"], row["offset_mapping"], strict=False)
        ):
            if special:
                continue
            is_unk = token_id == unk
            out.append(
                {
                    "word": text[start:end] if is_unk else piece,
                    "scores": scores[index],
                    "start": start,
                    "end": end,
                    "index": index,
                    "subword": bool(out) and not is_unk and not piece.startswith(WORD_START),
                }
            )
        return out

    def _label(self, scores: np.ndarray) -> tuple[str, float]:
        best = int(scores.argmax())
        return self.model.config.id2label[best], float(scores[best])

    def _aggregate(self, tokens: list[dict[str, Any]], strategy: str) -> list[dict[str, Any]]:
        if strategy in ("none", "simple"):
            entities = []
            for t in tokens:
                label, score = self._label(t["scores"])
                entities.append(
                    {
                        "entity": label,
                        "score": score,
                        "index": t["index"],
                        "word": t["word"],
                        "start": t["start"],
                        "end": t["end"],
                        "pieces": [t["word"]],
                    }
                )
            if strategy == "none":
                return [{k: v for k, v in e.items() if k != "pieces"} for e in entities]
            return self._group(entities)
        words: list[list[dict[str, Any]]] = []
        for t in tokens:
            if words and t["subword"]:
                words[-1].append(t)
            else:
                words.append([t])
        return self._group([self._word(w, strategy) for w in words])

    def _word(self, pieces: list[dict[str, Any]], strategy: str) -> dict[str, Any]:
        if strategy == "first":
            label, score = self._label(pieces[0]["scores"])
        elif strategy == "max":
            label, score = self._label(max(pieces, key=lambda p: p["scores"].max())["scores"])
        else:
            label, score = self._label(np.nanmean(np.stack([p["scores"] for p in pieces]), axis=0))
        return {
            "entity": label,
            "score": score,
            "start": pieces[0]["start"],
            "end": pieces[-1]["end"],
            "pieces": [p["word"] for p in pieces],
        }

    def _group(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Adjacent entities of one tag, a ``B-`` starting a new group."""
        groups: list[list[dict[str, Any]]] = []
        for e in entities:
            bi, tag = _tag(e["entity"])
            if groups and bi != "B" and _tag(groups[-1][-1]["entity"])[1] == tag:
                groups[-1].append(e)
            else:
                groups.append([e])
        return [
            {
                "entity_group": _tag(g[0]["entity"])[1],
                "score": float(np.nanmean([e["score"] for e in g])),
                "word": self.tokenizer.convert_tokens_to_string([p for e in g for p in e["pieces"]]),
                "start": g[0]["start"],
                "end": g[-1]["end"],
            }
            for g in groups
        ]
