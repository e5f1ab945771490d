"""Text in, prediction out: ``pipeline(task, model=DIR)`` for the ALBERT heads.

Every pipeline tokenizes with the fast tokenizer, sorts inputs by length and pads each batch only as far
as it needs, runs the model under ``torch.inference_mode`` and returns results in input order, shaped as
transformers' pipelines return them. Fill-mask projects to the vocabulary only at ``[MASK]`` positions.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from albert_tok import AlbertTokenizerFast

from .heads import (AlbertForMaskedLM, AlbertForMultipleChoice, AlbertForQuestionAnswering,
                    AlbertForSequenceClassification, AlbertForTokenClassification)
from .modeling import AlbertModel, AlbertPreTrainedModel

__all__ = ["DEFAULT_MODEL", "pipeline", "Pipeline", "FillMaskPipeline", "FeatureExtractionPipeline",
           "TextClassificationPipeline", "TokenClassificationPipeline", "QuestionAnsweringPipeline",
           "MultipleChoicePipeline", "TASKS"]

DEFAULT_MODEL = str(Path(__file__).resolve().parent / "default_model")
"""The small ALBERT this package ships (trained by ``albert pretrain``; see its README.md model card)."""


def _as_list(inputs: Any, name: str = "inputs") -> tuple[list[Any], bool]:
    if isinstance(inputs, (str, dict)):
        return [inputs], False
    if isinstance(inputs, (list, tuple)):
        return list(inputs), True
    raise TypeError(f"{name} must be a str or a list of str, got {type(inputs).__name__}")


def _rows(enc: Any, n: int) -> list[dict[str, list[int]]]:
    """Per-row model inputs of a batch encoding (unpadded)."""
    return [{k: enc[k][i] for k in ("input_ids", "token_type_ids", "attention_mask")} for i in range(n)]


class Pipeline:
    """Shared loading, batching and ordering. Subclasses set ``model_class`` and implement ``__call__``."""

    model_class: type[AlbertPreTrainedModel] = AlbertModel

    def __init__(self, model: str | os.PathLike[str] | AlbertPreTrainedModel | None = None,
                 tokenizer: str | os.PathLike[str] | AlbertTokenizerFast | None = None,
                 device: str | torch.device | None = None, dtype: torch.dtype | None = None,
                 batch_size: int = 32) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        source = DEFAULT_MODEL if model is None else model
        if isinstance(source, AlbertPreTrainedModel):
            self.model = source.to(device=device, dtype=dtype).eval()
        else:
            path = os.fspath(source)
            if not os.path.isdir(path):
                raise FileNotFoundError(f"model directory {path!r} does not exist")
            self.model = self.model_class.from_pretrained(path, device=device, dtype=dtype, strict=False)
        if tokenizer is None:
            if isinstance(source, AlbertPreTrainedModel):
                raise ValueError("pass tokenizer= when model is a model object")
            tokenizer = os.fspath(source)
        self.tokenizer = (tokenizer if isinstance(tokenizer, AlbertTokenizerFast)
                          else AlbertTokenizerFast.from_pretrained(tokenizer))
        self.batch_size = batch_size
        self.device = self.model.device

    def _run(self, rows: Sequence[dict[str, list[Any]]], step: Callable[[dict[str, torch.Tensor]], list[Any]]) -> list[Any]:
        """Run ``step`` over ``rows`` (encodings of one sequence each) in length-sorted, per-batch padded
        batches; return its per-row results in the original order."""
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
        results: list[Any] = [None] * len(rows)
        pad = self.tokenizer.pad_token_id
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            width = max(len(rows[i]["input_ids"]) for i in chunk)
            batch: dict[str, torch.Tensor] = {}
            for name, fill in (("input_ids", pad), ("token_type_ids", 0), ("attention_mask", 0)):
                arr = np.full((len(chunk), width), fill, dtype=np.int64)
                for j, i in enumerate(chunk):
                    values = rows[i].get(name) or [1] * len(rows[i]["input_ids"])
                    arr[j, :len(values)] = values
                batch[name] = torch.from_numpy(arr).to(self.device)
            with torch.inference_mode():
                outs = step(batch)
            for j, i in enumerate(chunk):
                results[i] = outs[j]
        return results


class FillMaskPipeline(Pipeline):
    """``[{"score", "token", "token_str", "sequence"}, ...]`` (top ``top_k``) for each ``[MASK]``."""

    model_class = AlbertForMaskedLM

    def __call__(self, inputs: str | Sequence[str], top_k: int = 5) -> list[Any]:
        texts, batched = _as_list(inputs)
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        mask_id = self.tokenizer.mask_token_id
        enc = self.tokenizer(texts, truncation=True)
        rows = _rows(enc, len(texts))
        for text, row in zip(texts, rows):
            if mask_id not in row["input_ids"]:
                raise ValueError(f"no mask token ({self.tokenizer.mask_token}) found in input: {text!r:.80}")
        k = min(top_k, self.tokenizer.vocab_size)

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            where = batch["input_ids"] == mask_id
            logits = self.model(**batch, masked_positions=where).logits.float()  # (N masks, V)
            probs = logits.softmax(-1)
            scores, ids = probs.topk(k, dim=-1)
            counts = where.sum(1).tolist()
            out, pos = [], 0
            for n in counts:
                out.append((scores[pos:pos + n].cpu(), ids[pos:pos + n].cpu()))
                pos += n
            return out

        raw = self._run(rows, step)
        results = []
        for row, (scores, ids) in zip(rows, raw):
            input_ids = row["input_ids"]
            mask_positions = [i for i, t in enumerate(input_ids) if t == mask_id]
            per_mask = []
            for m, position in enumerate(mask_positions):
                answers = []
                for score, token in zip(scores[m].tolist(), ids[m].tolist()):
                    filled = list(input_ids)
                    filled[position] = token
                    answers.append({"score": score, "token": token,
                                    "token_str": self.tokenizer.decode([token]),
                                    "sequence": self.tokenizer.decode(filled, skip_special_tokens=True)})
                per_mask.append(answers)
            results.append(per_mask[0] if len(per_mask) == 1 else per_mask)
        return results if batched else results[0]


class FeatureExtractionPipeline(Pipeline):
    """The last hidden state of each input, ``(1, tokens, hidden)`` as nested lists (or tensors)."""

    model_class = AlbertModel

    def __call__(self, inputs: str | Sequence[str], return_tensors: bool = False) -> list[Any]:
        texts, batched = _as_list(inputs)
        enc = self.tokenizer(texts, truncation=True)
        rows = _rows(enc, len(texts))

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            hidden = self.model(**batch).last_hidden_state.float().cpu()
            lengths = batch["attention_mask"].sum(1).tolist()
            return [hidden[j:j + 1, :n] for j, n in enumerate(lengths)]

        out = [t if return_tensors else t.tolist() for t in self._run(rows, step)]
        return out if batched else out[0]


class TextClassificationPipeline(Pipeline):
    """``{"label", "score"}`` per input (``top_k`` > 1 or None: a list of them, best first).

    Inputs are texts or ``{"text": ..., "text_pair": ...}``. Scores are a softmax, or a sigmoid for
    one-label and multi-label models.
    """

    model_class = AlbertForSequenceClassification

    def __call__(self, inputs: Any, top_k: int | None = 1) -> list[Any]:
        items, batched = _as_list(inputs)
        firsts, seconds = [], []
        for item in items:
            if isinstance(item, dict):
                if "text" not in item:
                    raise ValueError(f"a dict input needs 'text' (and optionally 'text_pair'), got keys {list(item)}")
                firsts.append(item["text"])
                seconds.append(item.get("text_pair"))
            else:
                firsts.append(item)
                seconds.append(None)
        rows = []
        for a, b in zip(firsts, seconds):
            rows.extend(_rows(self.tokenizer([a], None if b is None else [b], truncation=True), 1))
        cfg = self.model.config
        sigmoid = cfg.num_labels == 1 or cfg.problem_type == "multi_label_classification"

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            logits = self.model(**batch).logits.float()
            return list((logits.sigmoid() if sigmoid else logits.softmax(-1)).cpu())

        results = []
        n = cfg.num_labels if top_k is None else min(top_k, cfg.num_labels)
        for scores in self._run(rows, step):
            ranked = sorted(((cfg.id2label[i], float(s)) for i, s in enumerate(scores.tolist())), key=lambda x: -x[1])
            answer = [{"label": label, "score": score} for label, score in ranked[:n]]
            results.append(answer[0] if top_k == 1 else answer)
        return results if batched else results[0]


class TokenClassificationPipeline(Pipeline):
    """Entities per input: ``{"entity", "score", "index", "word", "start", "end"}`` per token
    (``aggregation_strategy="none"``), or word pieces merged into ``{"entity_group", "score", "word",
    "start", "end"}`` (``"simple"``: adjacent tokens of one entity; ``"first"``: a word takes its first
    piece's label). Labels in ``ignore_labels`` are dropped."""

    model_class = AlbertForTokenClassification

    def __call__(self, inputs: str | Sequence[str], aggregation_strategy: str = "simple",
                 ignore_labels: Sequence[str] = ("O",)) -> list[Any]:
        if aggregation_strategy not in ("none", "simple", "first"):
            raise ValueError(f"aggregation_strategy={aggregation_strategy!r}; accepted: 'none', 'simple', 'first'")
        texts, batched = _as_list(inputs)
        enc = self.tokenizer(texts, truncation=True, return_offsets_mapping=True)
        rows = _rows(enc, len(texts))

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            return list(self.model(**batch).logits.float().softmax(-1).cpu())

        id2label = self.model.config.id2label
        results = []
        for i, probs in enumerate(self._run(rows, step)):
            text, ids, offsets = texts[i], rows[i]["input_ids"], enc["offset_mapping"][i]
            tokens = []
            for index, (token_id, (s, e)) in enumerate(zip(ids, offsets)):
                if token_id in (self.tokenizer.cls_token_id, self.tokenizer.sep_token_id):
                    continue
                p = probs[index]
                label_id = int(p.argmax())
                while s < e and text[s].isspace():
                    s += 1
                piece = self.tokenizer.convert_ids_to_tokens(token_id)
                tokens.append({"entity": id2label[label_id], "score": float(p[label_id]), "index": index,
                               "word": text[s:e], "start": s, "end": e, "new_word": piece.startswith("\u2581"),
                               "probs": p})
            results.append(self._aggregate(text, tokens, aggregation_strategy, set(ignore_labels)))
        return results if batched else results[0]

    def _aggregate(self, text: str, tokens: list[dict[str, Any]], strategy: str, ignore: set[str]) -> list[Any]:
        if strategy == "none":
            return [{k: t[k] for k in ("entity", "score", "index", "word", "start", "end")}
                    for t in tokens if t["entity"] not in ignore]
        if strategy == "first":  # every piece of a word takes the label of its first piece
            id2label = self.model.config.id2label
            for t in tokens:
                if t["new_word"] or not tokens or t is tokens[0]:
                    head = t
                else:
                    label_id = int(head["probs"].argmax())
                    t["entity"], t["score"] = id2label[label_id], float(t["probs"][label_id])
        groups: list[list[dict[str, Any]]] = []
        for t in tokens:
            tag = t["entity"].split("-", 1)[-1]
            begins = t["entity"].startswith("B-")
            if groups and groups[-1][-1]["entity"].split("-", 1)[-1] == tag and not begins:
                groups[-1].append(t)
            else:
                groups.append([t])
        out = []
        for g in groups:
            tag = g[0]["entity"].split("-", 1)[-1]
            if g[0]["entity"] in ignore or tag in ignore:
                continue
            start, end = g[0]["start"], g[-1]["end"]
            out.append({"entity_group": tag, "score": float(np.mean([t["score"] for t in g])),
                        "word": text[start:end], "start": start, "end": end})
        return out


class QuestionAnsweringPipeline(Pipeline):
    """``{"score", "start", "end", "answer"}``: the best span of ``context`` (character offsets into it).

    Long contexts are read in windows of ``max_seq_len`` tokens overlapping by ``doc_stride``."""

    model_class = AlbertForQuestionAnswering

    def __call__(self, question: str | Sequence[str] | None = None, context: str | Sequence[str] | None = None,
                 *, max_seq_len: int = 384, doc_stride: int = 128, max_answer_len: int = 15) -> Any:
        if question is None or context is None:
            raise ValueError("question answering needs question= and context=")
        questions, batched = _as_list(question, "question")
        contexts, _ = _as_list(context, "context")
        if len(contexts) != len(questions):
            raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts; they must match")
        if doc_stride >= max_seq_len:
            raise ValueError(f"doc_stride ({doc_stride}) must be smaller than max_seq_len ({max_seq_len})")
        q_ids = self.tokenizer(questions, add_special_tokens=False)["input_ids"]
        with warnings.catch_warnings():  # long contexts are expected here: they are read in windows
            warnings.simplefilter("ignore")
            c_enc = self.tokenizer(contexts, add_special_tokens=False, return_offsets_mapping=True)
        rows, owners = [], []
        for i, (q, c) in enumerate(zip(q_ids, c_enc["input_ids"])):
            q = q[: max_seq_len // 2]
            room = max_seq_len - len(q) - 3
            step_ = max(1, room - doc_stride) if len(c) > room else room
            start = 0
            while True:
                window = c[start:start + room]
                ids = self.tokenizer.build_inputs_with_special_tokens(q, window)
                types = self.tokenizer.create_token_type_ids_from_sequences(q, window)
                rows.append({"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)})
                owners.append((i, start, len(q) + 2, len(window)))
                if start + room >= len(c):
                    break
                start += step_

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            out = self.model(**batch)
            return list(zip(out.start_logits.float().cpu(), out.end_logits.float().cpu()))

        best: dict[int, dict[str, Any]] = {}
        for (i, offset, first, n), (start_logits, end_logits) in zip(owners, self._run(rows, step)):
            span = slice(first, first + n)
            p_start = start_logits[span].softmax(-1)
            p_end = end_logits[span].softmax(-1)
            scores = torch.triu(p_start[:, None] * p_end[None, :])
            scores = torch.tril(scores, diagonal=max_answer_len - 1)
            flat = int(scores.argmax())
            s_tok, e_tok = divmod(flat, n) if n else (0, 0)
            score = float(scores.view(-1)[flat]) if n else 0.0
            offsets = c_enc["offset_mapping"][i]
            s_char = offsets[offset + s_tok][0] if n else 0
            e_char = offsets[offset + e_tok][1] if n else 0
            text = contexts[i]
            while s_char < e_char and text[s_char].isspace():
                s_char += 1
            if i not in best or score > best[i]["score"]:
                best[i] = {"score": score, "start": s_char, "end": e_char, "answer": text[s_char:e_char]}
        results = [best[i] for i in range(len(questions))]
        return results if batched else results[0]


class MultipleChoicePipeline(Pipeline):
    """For ``{"question": str, "choices": [str, ...]}``: ``{"choice", "index", "score", "scores"}``."""

    model_class = AlbertForMultipleChoice

    def __call__(self, inputs: dict[str, Any] | Sequence[dict[str, Any]]) -> Any:
        items, batched = _as_list(inputs)
        results = []
        for item in items:
            if not isinstance(item, dict) or "choices" not in item or not item["choices"]:
                raise ValueError("multiple-choice inputs are {'question': str, 'choices': [str, ...]}")
            question = item.get("question", "")
            choices = list(item["choices"])
            enc = self.tokenizer([question] * len(choices), choices, padding=True, truncation=True,
                                 return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(**{k: v[None].to(self.device) for k, v in enc.items()}).logits[0].float()
            scores = logits.softmax(-1).tolist()
            index = int(np.argmax(scores))
            results.append({"choice": choices[index], "index": index, "score": scores[index], "scores": scores})
        return results if batched else results[0]


TASKS: dict[str, type[Pipeline]] = {
    "fill-mask": FillMaskPipeline,
    "feature-extraction": FeatureExtractionPipeline,
    "text-classification": TextClassificationPipeline,
    "sentiment-analysis": TextClassificationPipeline,
    "token-classification": TokenClassificationPipeline,
    "ner": TokenClassificationPipeline,
    "question-answering": QuestionAnsweringPipeline,
    "multiple-choice": MultipleChoicePipeline,
}


def pipeline(task: str, model: str | os.PathLike[str] | AlbertPreTrainedModel | None = None,
             tokenizer: str | os.PathLike[str] | AlbertTokenizerFast | None = None,
             device: str | torch.device | None = None, dtype: torch.dtype | None = None,
             batch_size: int = 32) -> Pipeline:
    """A pipeline for ``task`` on ``model`` (a checkpoint directory; ``None`` for :data:`DEFAULT_MODEL`)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; accepted: {', '.join(sorted(TASKS))}")
    return TASKS[task](model=model, tokenizer=tokenizer, device=device, dtype=dtype, batch_size=batch_size)
