"""``pipeline("question-answering")``: answer spans of a context, scored as transformers scores them.

Each window of ``[CLS] question [SEP] context-part [SEP]`` (long contexts are read in windows of
``max_seq_len`` tokens overlapping by ``doc_stride``) gives start and end probabilities: a softmax over the
``[CLS]`` and context positions, ``[CLS]`` then set to zero. A span's score is ``p_start * p_end`` for
``start <= end < start + max_answer_len``; the ``2 * top_k + 10`` best spans of each window are widened
to whole words (``align_to_words``), and spans giving the same answer (case-insensitively) add up.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from albert_model.modeling import AlbertForQuestionAnswering
from albert_model.pipelines._base import Pipeline, check_positive_int, check_text

__all__ = ["QuestionAnsweringPipeline"]

WORD_START = "\u2581"


class QuestionAnsweringPipeline(Pipeline):
    """``{"score", "start", "end", "answer"}``: ``answer`` is ``context[start:end]``, whole words with
    ``align_to_words`` (the default). ``top_k > 1`` gives a list of up to ``top_k`` answers (a dict when only
    one exists, as in transformers); ``handle_impossible_answer`` adds the empty answer
    ``{"start": 0, "end": 0, "answer": ""}`` scored ``p_start[CLS] * p_end[CLS]``.

    Inputs: ``question=``/``context=`` (strings, or lists: a list of questions with one context is asked
    of that context), a ``{"question", "context"}`` dict, a list of dicts, or two positional strings.
    """

    task = "question-answering"
    model_class = AlbertForQuestionAnswering

    def predict(
        self,
        inputs: Any = None,
        second: str | None = None,
        /,
        *,
        question: str | list[str] | None = None,
        context: str | list[str] | None = None,
        top_k: int = 1,
        doc_stride: int | None = None,
        max_answer_len: int = 15,
        max_seq_len: int | None = None,
        max_question_len: int = 64,
        handle_impossible_answer: bool = False,
        align_to_words: bool = True,
        batch_size: int | None = None,
    ) -> Any:
        """Find the best answer spans of each context; what calling the pipeline runs.

        Args:
            inputs: positional, instead of ``question=``/``context=``: a ``{"question": str, "context": str}``
                dict (exactly these keys), a list (or tuple) of such dicts, or the question string itself when
                ``second`` is given.
            second: positional, with a question string as ``inputs``: the context string
                (``qa("Who?", "Ann wrote it.")``).
            question: the question, or a list of questions; given with ``context``, never with positional
                inputs. A list of questions with one context string asks each of that context.
            context: the text to find answers in, or a list of texts as long as the list of questions.
                Questions and contexts must be non-empty strings with at least one token once normalised.
            top_k: how many answers to return per example, an int >= 1.
            doc_stride: tokens that consecutive windows of a long context overlap by, an int >= 0 smaller
                than the room a window leaves for the context; None is ``min(max_seq_len // 2, 128)``.
            max_answer_len: the longest answer, in tokens, an int >= 1 (before widening to whole words).
            max_seq_len: tokens per window, question and special tokens included, an int >= 1 up to the
                model's maximum length; None is ``min(maximum length, 384)``.
            max_question_len: the question is cut to this many tokens, an int >= 1.
            handle_impossible_answer: True also offers the empty answer ``{"start": 0, "end": 0,
                "answer": ""}`` (the model pointing at ``[CLS]``), ranked with the others by its score.
            align_to_words: True (the default) widens each span to the whole words it touches, and ranks
                ``2 * top_k + 10`` candidate spans per window to leave room for those that merge; False
                returns the token spans as they are.
            batch_size: windows per forward pass for this call; None uses the pipeline's ``batch_size``.

        Returns:
            For one example, ``{"score": float, "start": int, "end": int, "answer": str}`` where ``answer``
            is ``context[start:end]`` and ``score`` the summed probability of the spans giving that answer
            (case-insensitively); with ``top_k > 1``, a list of up to ``top_k`` such dicts, best first (a dict
            alone when only one answer exists, as in transformers). For a list of examples, a list of those
            in input order.

        Raises:
            TypeError: inputs of another form than those above, or a question or context that is not a
                string.
            ValueError: positional inputs given with ``question=``/``context=``, one of the two missing,
                lists of different lengths, a dict with other keys, an empty question or context (or one
                with no tokens once normalised), an option that is not a positive int, ``max_seq_len``
                beyond the model's maximum length or too small to hold the question and some context, or a
                ``doc_stride`` too large for windows to advance.
        """
        questions, contexts, batched = _examples(inputs, second, question, context)
        check_positive_int("top_k", top_k)
        check_positive_int("max_answer_len", max_answer_len)
        check_positive_int("max_question_len", max_question_len)
        if max_seq_len is None:
            max_seq_len = min(self.max_length, 384)
        check_positive_int("max_seq_len", max_seq_len)
        if max_seq_len > self.max_length:
            raise ValueError(f"max_seq_len={max_seq_len} exceeds the model's maximum length ({self.max_length})")
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        check_positive_int("doc_stride", doc_stride, minimum=0)
        if doc_stride > max_seq_len:
            raise ValueError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len})")

        def encode(examples: list[tuple[str, str]], index: int) -> list[dict[str, Any]]:
            return self._windows(
                [q for q, _ in examples],
                [c for _, c in examples],
                max_seq_len,
                doc_stride,
                max_question_len,
                batched,
                index,
            )

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            out = self.model(**batch)
            return list(zip(out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy(), strict=False))

        pre_topk = top_k * 2 + 10 if align_to_words else top_k

        def finish(examples: list[tuple[str, str]], rows: list[dict[str, Any]], outs: list[Any]) -> list[Any]:
            answers: list[list[dict[str, Any]]] = [[] for _ in examples]
            null = [1_000_000.0] * len(examples)
            for row, (start_logits, end_logits) in zip(rows, outs, strict=False):
                i, offset, at, n = row["example"], row["offset"], row["at"], row["length"]
                keep = np.concatenate([[0], np.arange(at, at + n)])  # [CLS] and the context
                p_start, p_end = _softmax(start_logits[keep]), _softmax(end_logits[keep])
                null[i] = min(null[i], float(p_start[0] * p_end[0]))
                for s, e, score in _best_spans(p_start[1:], p_end[1:], pre_topk, max_answer_len):
                    begin, end = row["words"].span(offset + s, offset + e, align_to_words)
                    _add(answers[i], examples[i][1], begin, end, score)
            results = []
            for i, found in enumerate(answers):
                if handle_impossible_answer:
                    found.append({"score": null[i], "start": 0, "end": 0, "answer": ""})
                best = sorted(found, key=lambda a: a["score"], reverse=True)[:top_k]
                results.append(best[0] if len(best) == 1 else best)
            return results

        results = self._stream(list(zip(questions, contexts, strict=False)), encode, step, finish, batch_size)
        return results if batched else results[0]

    def _windows(
        self,
        questions: list[str],
        contexts: list[str],
        max_seq_len: int,
        doc_stride: int,
        max_question_len: int,
        batched: bool,
        index: int = 0,
    ) -> list[dict[str, Any]]:
        """Model rows (``[CLS] q [SEP] window [SEP]``), each with its ``example`` (an index into
        ``questions``), the ``offset`` of its window's first context token, the position (``at``) and
        ``length`` of the window in the row, and the context's ``words``. ``index``: the place of
        ``questions[0]`` in the call, for messages."""
        q_ids = self.tokenizer(questions, add_special_tokens=False)["input_ids"]
        with warnings.catch_warnings():  # long contexts are expected here: they are read in windows
            warnings.simplefilter("ignore")
            c_enc = self.tokenizer(contexts, add_special_tokens=False, return_offsets_mapping=True)
        rows: list[dict[str, Any]] = []
        for i, (q, c) in enumerate(zip(q_ids, c_enc["input_ids"], strict=False)):
            where = f" {index + i}" if batched else ""
            for name, ids, text in (("question", q, questions[i]), ("context", c, contexts[i])):
                if not ids:
                    raise ValueError(
                        f"{name}{where} ({text!r:.40}) has no tokens once normalised (accents and "
                        f"control characters are dropped): there is nothing to read"
                    )
            q = q[:max_question_len]
            room = max_seq_len - len(q) - 3
            if room < 1:
                raise ValueError(
                    f"max_seq_len={max_seq_len} is too small for question{where}: it takes {len(q)} "
                    f"tokens (max_question_len={max_question_len}) and 3 special tokens, which leaves "
                    f"no room for the context; raise max_seq_len or lower max_question_len"
                )
            if len(c) > room and doc_stride >= room:
                raise ValueError(
                    f"doc_stride={doc_stride} must be smaller than the part of a window left for the "
                    f"context{where} ({room} tokens of max_seq_len={max_seq_len}), or windows would "
                    f"not advance; lower doc_stride or raise max_seq_len"
                )
            pieces = self.tokenizer.convert_ids_to_tokens(c)
            words = _Words(contexts[i], [pieces] if isinstance(pieces, str) else pieces, c_enc["offset_mapping"][i])
            start = 0
            while True:
                window = c[start : start + room]
                ids = self.tokenizer.build_inputs_with_special_tokens(q, window)
                types = self.tokenizer.create_token_type_ids_from_sequences(q, window)
                rows.append(
                    {
                        "input_ids": ids,
                        "token_type_ids": types,
                        "example": i,
                        "offset": start,
                        "at": len(q) + 2,
                        "length": len(window),
                        "words": words,
                    }
                )
                if start + room >= len(c):
                    break
                start += room - doc_stride
        return rows


class _Words:
    """Character spans of a context's tokens and of the words they belong to (a word starts at a ``▁``)."""

    def __init__(self, text: str, pieces: list[str], offsets: list[tuple[int, int]]) -> None:
        self.text, self.offsets = text, offsets
        n = len(pieces)
        starts = [j == 0 or p.startswith(WORD_START) for j, p in enumerate(pieces)]
        self.first = [0] * n  # first token of each token's word
        self.last = [0] * n  # last token of each token's word
        for j in range(n):
            self.first[j] = j if starts[j] else self.first[j - 1]
        for j in reversed(range(n)):
            self.last[j] = j if j == n - 1 or starts[j + 1] else self.last[j + 1]

    def span(self, s: int, e: int, align_to_words: bool) -> tuple[int, int]:
        """Characters of tokens ``s..e`` (or of their whole words), without the space a ``▁`` stands for."""
        if align_to_words:
            s, e = self.first[s], self.last[e]
        begin, end = self.offsets[s][0], self.offsets[e][1]
        while begin < end and self.text[begin].isspace():
            begin += 1
        return begin, end


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max())
    out: np.ndarray = shifted / shifted.sum()
    return out


def _best_spans(p_start: np.ndarray, p_end: np.ndarray, k: int, max_answer_len: int) -> list[tuple[int, int, float]]:
    """The ``k`` best ``(start, end, p_start * p_end)`` with ``start <= end < start + max_answer_len``."""
    n = len(p_start)
    scores = np.outer(p_start, p_end)  # (n, n)
    index = np.arange(n)
    valid = (index[None, :] >= index[:, None]) & (index[None, :] - index[:, None] < max_answer_len)
    flat = np.where(valid, scores, -1.0).ravel()
    k = min(k, int(valid.sum()))
    if k == 0:
        return []
    top = np.argpartition(-flat, k - 1)[:k]
    top = top[np.argsort(-flat[top], kind="stable")]
    return [(int(f // n), int(f % n), float(flat[f])) for f in top]


def _add(found: list[dict[str, Any]], context: str, begin: int, end: int, score: float) -> None:
    """Add a span's score to the answer with the same text (case-insensitive), or list a new answer."""
    answer = context[begin:end]
    for known in found:
        if known["answer"].lower() == answer.lower():
            known["score"] += score
            return
    found.append({"score": score, "start": begin, "end": end, "answer": answer})


def _examples(inputs: Any, second: Any, question: Any, context: Any) -> tuple[list[str], list[str], bool]:
    """``(questions, contexts, batched)`` from any of the accepted input forms, each text checked."""
    if inputs is not None and (question is not None or context is not None):
        raise ValueError("pass either question=/context= or positional inputs, not both")
    if inputs is not None:
        if second is not None:
            if not (isinstance(inputs, str) and isinstance(second, str)):
                raise TypeError("two positional inputs are (question, context) strings")
            pairs, batched = [{"question": inputs, "context": second}], False
        elif isinstance(inputs, dict):
            pairs, batched = [inputs], False
        elif isinstance(inputs, (list, tuple)):
            pairs, batched = list(inputs), True
        else:
            raise TypeError(
                f"question answering takes question= and context=, a {{'question', 'context'}} dict or "
                f"a list of them, got {type(inputs).__name__}"
            )
        questions, contexts = [], []
        for i, item in enumerate(pairs):
            where = f"inputs[{i}]" if batched else "inputs"
            if not isinstance(item, dict):
                raise TypeError(f"{where} must be a {{'question', 'context'}} dict, got {type(item).__name__}")
            missing = [k for k in ("question", "context") if k not in item]
            if missing or set(item) - {"question", "context"}:
                raise ValueError(f"{where} must have exactly the keys 'question' and 'context', got {sorted(item)}")
            questions.append(item["question"])
            contexts.append(item["context"])
    elif question is None or context is None:
        raise ValueError("question answering needs both question= and context= (or a {'question', 'context'} dict)")
    elif isinstance(question, str) and isinstance(context, str):
        questions, contexts, batched = [question], [context], False
    elif isinstance(question, (list, tuple)) and isinstance(context, str):
        questions, contexts, batched = list(question), [context] * len(question), True
    elif isinstance(question, (list, tuple)) and isinstance(context, (list, tuple)):
        if len(question) != len(context):
            raise ValueError(f"{len(question)} questions but {len(context)} contexts; they must match")
        questions, contexts, batched = list(question), list(context), True
    else:
        raise TypeError(
            f"question= and context= must be strings or lists of strings (a list of questions may share "
            f"one context), got {type(question).__name__} and {type(context).__name__}"
        )
    for i, (q, c) in enumerate(zip(questions, contexts, strict=False)):
        suffix = f"[{i}]" if batched else ""
        check_text(f"question{suffix}", q, allow_empty=False)
        check_text(f"context{suffix}", c, allow_empty=False)
    return questions, contexts, batched
