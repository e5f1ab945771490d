"""Evaluation metrics of the fine-tuning tasks, in plain Python and numpy (no scikit-learn, seqeval or scipy).

* classification: accuracy and macro-F1 (the unweighted mean of per-class F1 over the classes that occur in
  the labels or the predictions, as scikit-learn's ``f1_score(average="macro")``);
* regression: Pearson and Spearman correlation (Spearman ranks ties by their average, as scipy does);
* token classification: entity-level precision, recall and F1, with entities read from the tags the way
  seqeval's default (conlleval) mode reads them: IOB1, IOB2, IOE and IOBES all work; a tag without a
  ``B-``/``I-``/``E-``/``S-`` prefix (the IO scheme's ``PER``) is read as ``I-PER``;
* question answering: exact match and F1 exactly as the official SQuAD evaluation scripts define them
  (v1.1's, and v2.0's, which counts an empty prediction as right on an unanswerable question);
* multiple choice: accuracy of the highest-scoring choice (ties go to the first, as ``argmax``).

:data:`TASK_METRICS` names what each task's evaluation reports, and :func:`metric_for_best` /
:func:`is_better` decide which of two evaluations is the better one (``--metric-for-best``).

Scores are fractions in [0, 1] except the SQuAD ones, which are percentages as the official scripts print them.
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

Values = Sequence[Any] | np.ndarray
"""A 1-D list or array of predictions or labels."""

__all__ = [
    "LOWER_IS_BETTER",
    "TASK_METRICS",
    "accuracy",
    "classification_metrics",
    "entities",
    "entity_metrics",
    "is_better",
    "macro_f1",
    "metric_for_best",
    "multiple_choice_metrics",
    "normalize_answer",
    "pearson",
    "regression_metrics",
    "reported_metrics",
    "spearman",
    "squad_exact",
    "squad_f1",
    "squad_metrics",
]


# -- classification and regression ----------------------------------------------------------------
def _pair(predictions: Values, labels: Values) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(predictions), np.asarray(labels)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(
            f"predictions and labels must be 1-D and of the same length, got shapes {p.shape} and {y.shape}"
        )
    return p, y


def accuracy(predictions: Values, labels: Values) -> float:
    """Share of predictions equal to their label (0.0 for no examples)."""
    p, y = _pair(predictions, labels)
    return float((p == y).mean()) if len(y) else 0.0


def macro_f1(predictions: Values, labels: Values) -> float:
    """Unweighted mean over classes (those in ``labels`` or ``predictions``) of ``2TP / (2TP + FP + FN)``."""
    p, y = _pair(predictions, labels)
    classes = np.union1d(p, y)
    if not len(classes):
        return 0.0
    scores = []
    for c in classes:
        tp = int(((p == c) & (y == c)).sum())
        wrong = int(((p == c) != (y == c)).sum())  # false positives + false negatives
        scores.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(scores))


def classification_metrics(predictions: Values, labels: Values) -> dict[str, float]:
    return {"accuracy": accuracy(predictions, labels), "macro_f1": macro_f1(predictions, labels)}


def pearson(x: Values, y: Values) -> float:
    """Pearson's r; NaN when either side is constant (undefined, as scipy says)."""
    a, b = _pair(x, y)
    a, b = a.astype(np.float64) - np.mean(a), b.astype(np.float64) - np.mean(b)
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given the average of the ranks they span."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    start = 0
    for end in range(1, len(x) + 1):
        if end == len(x) or sorted_x[end] != sorted_x[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def spearman(x: Values, y: Values) -> float:
    """Spearman's rho: Pearson's r of the (tie-averaged) ranks."""
    a, b = _pair(x, y)
    return pearson(_ranks(a), _ranks(b))


def regression_metrics(predictions: Values, labels: Values) -> dict[str, float]:
    p, y = _pair(predictions, labels)
    return {
        "pearson": pearson(p, y),
        "spearman": spearman(p, y),
        "mse": float(np.mean((p.astype(np.float64) - y) ** 2)) if len(y) else 0.0,
    }


# -- entities (token classification) -------------------------------------------------------------------
_PREFIXES = ("B", "I", "E", "S")


def _split_tag(tag: str) -> tuple[str, str]:
    """(prefix, type): ``B-PER`` -> (B, PER); ``O`` -> (O, ""); ``PER`` (IO scheme) -> (I, PER)."""
    if tag == "O" or not tag:
        return "O", ""
    if len(tag) > 1 and tag[0] in _PREFIXES and tag[1] in "-_":
        return tag[0], tag[2:] or "_"
    return "I", tag


def _ends(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval's end_of_chunk (conlleval's rules)
    return prev in ("E", "S") or (prev in ("B", "I") and tag in ("B", "S", "O")) or (prev != "O" and prev_type != type_)


def _starts(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval's start_of_chunk
    return tag in ("B", "S") or (prev in ("E", "S", "O") and tag in ("E", "I")) or (tag != "O" and prev_type != type_)


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one tag sequence as ``(type, first, last)`` token indices (inclusive)."""
    found = []
    prev, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = _split_tag(tag)
        if _ends(prev, prefix, prev_type, type_):
            found.append((prev_type, begin, i - 1))
        if _starts(prev, prefix, prev_type, type_):
            begin = i
        prev, prev_type = prefix, type_
    return found


def _prf(correct: int, predicted: int, true: int) -> dict[str, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def entity_metrics(predictions: Sequence[Sequence[str]], labels: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Entity-level micro precision/recall/F1 over sentences (an entity counts when type and span both match),
    token accuracy, and the same three scores per entity type under ``per_type``."""
    if len(predictions) != len(labels):
        raise ValueError(f"got {len(predictions)} predicted sentences for {len(labels)} labelled ones")
    correct: collections.Counter[str] = collections.Counter()
    predicted: collections.Counter[str] = collections.Counter()
    true: collections.Counter[str] = collections.Counter()
    right = total = 0
    for i, (p, y) in enumerate(zip(predictions, labels, strict=False)):
        if len(p) != len(y):
            raise ValueError(f"sentence {i}: {len(p)} predicted tags for {len(y)} labelled tokens")
        right += sum(a == b for a, b in zip(p, y, strict=False))
        total += len(y)
        pe, ye = set(entities(p)), set(entities(y))
        for kind, bag in ((pe & ye, correct), (pe, predicted), (ye, true)):
            bag.update(e[0] for e in kind)
    overall = _prf(sum(correct.values()), sum(predicted.values()), sum(true.values()))
    per_type = {t: _prf(correct[t], predicted[t], true[t]) for t in sorted(set(predicted) | set(true))}
    return {**overall, "token_accuracy": right / total if total else 0.0, "per_type": per_type}


# -- SQuAD ----------------------------------------------------------------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation, the articles a/an/the and extra whitespace (both official scripts)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_exact(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def squad_f1(gold: str, prediction: str, version: int = 2) -> float:
    """Token-overlap F1 of one gold answer. v2.0: an empty side scores 1 only if both are empty; v1.1 scores
    any pair without a common token 0."""
    gold_tokens, pred_tokens = normalize_answer(gold).split(), normalize_answer(prediction).split()
    if version == 2 and (not gold_tokens or not pred_tokens):
        return float(gold_tokens == pred_tokens)
    same = sum((collections.Counter(gold_tokens) & collections.Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(answers: dict[str, list[str]], predictions: dict[str, str], version: int = 2) -> dict[str, float]:
    """``exact`` and ``f1`` in percent over the questions of ``answers`` (id -> gold answer texts; an empty list
    for an unanswerable question), each the best over its gold answers, as the official scripts compute them.

    v2.0 drops gold answers that normalise to nothing, treats a question left with none as unanswerable (gold
    ``""``) and adds ``HasAns_``/``NoAns_`` breakdowns; v1.1 needs at least one gold answer per question. A
    question without a prediction scores 0 (v1.1's script warns and does the same).
    """
    if version not in (1, 2):
        raise ValueError(f"version must be 1 (SQuAD v1.1) or 2 (SQuAD v2.0), got {version!r}")
    exact: dict[str, float] = {}
    f1: dict[str, float] = {}
    has_answer: dict[str, bool] = {}
    for qid, golds in answers.items():
        has_answer[qid] = bool(golds)  # v2.0's qid_to_has_ans: the raw answer list, before normalising
        if version == 2:
            golds = [a for a in golds if normalize_answer(a)] or [""]
        elif not golds:
            raise ValueError(f"question {qid!r} has no answer; SQuAD v1.1 scoring needs one (use version=2)")
        if qid not in predictions:
            exact[qid] = f1[qid] = 0.0
            continue
        exact[qid] = max(squad_exact(a, predictions[qid]) for a in golds)
        f1[qid] = max(squad_f1(a, predictions[qid], version) for a in golds)

    def mean(values: list[float]) -> float:
        return 100.0 * sum(values) / len(values) if values else 0.0

    result = {"exact": mean(list(exact.values())), "f1": mean(list(f1.values())), "total": len(answers)}
    if version == 2:
        for name, wanted in (("HasAns", True), ("NoAns", False)):
            ids = [q for q in answers if has_answer[q] == wanted]
            if ids:
                result.update(
                    {
                        f"{name}_exact": mean([exact[q] for q in ids]),
                        f"{name}_f1": mean([f1[q] for q in ids]),
                        f"{name}_total": len(ids),
                    }
                )
    return result


# -- multiple choice --------------------------------------------------------------------------------------
def multiple_choice_metrics(logits: Values, labels: Values) -> dict[str, float]:
    """Accuracy of the highest-scoring choice of each question.

    Args:
        logits: ``(questions, choices)`` scores (logits or probabilities: only their order counts).
        labels: The index of each question's right choice.

    Returns:
        ``{"accuracy": share of questions whose best-scoring choice is the labelled one}`` (0.0 for none).

    Raises:
        ValueError: ``logits`` is not 2-D, its rows do not match the labels, or a label is not a choice index.
    """
    scores, y = np.asarray(logits), np.asarray(labels)
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(
            f"logits must be (questions, choices) and labels (questions,), got shapes {scores.shape} and {y.shape}"
        )
    if len(y) and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= scores.shape[1]):
        raise ValueError(f"labels must be choice indices 0..{scores.shape[1] - 1}, got {y[:10].tolist()}")
    return {"accuracy": accuracy(scores.argmax(axis=1) if len(y) else y, y)}


# -- which evaluation is best ----------------------------------------------------------------------------
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "text-classification": ("loss", "accuracy", "macro_f1", "pearson", "spearman", "mse"),
    "token-classification": ("loss", "precision", "recall", "f1", "token_accuracy"),
    "question-answering": ("loss", "exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1"),
    "multiple-choice": ("loss", "accuracy"),
}
"""The metrics each fine-tuning task's evaluation reports (text classification: accuracy and macro-F1 for
classes, Pearson, Spearman and MSE for regression; the SQuAD ``HasAns_``/``NoAns_`` ones with v2.0 data)."""

LOWER_IS_BETTER = frozenset({"loss", "mse"})
"""Metrics where a smaller value is better; for every other one a larger value is."""


def metric_for_best(task: str, name: str, reported: Sequence[str] | None = None, why: str = "") -> bool:
    """Check ``--metric-for-best NAME`` for ``task`` and say which way it improves.

    Args:
        task: The fine-tuning task (a key of :data:`TASK_METRICS`).
        name: The metric that decides the best checkpoint, as the evaluation names it or with the ``eval_``
            prefix of the final metrics (``accuracy`` or ``eval_accuracy``, as transformers'
            ``metric_for_best_model`` takes either).
        reported: The metrics this run's evaluation will report, once its data is read
            (:func:`reported_metrics`); None checks against every metric of the task.
        why: What decides ``reported`` (``"the labels are real numbers (regression)"``), for the message.

    Returns:
        True when a larger value is better, False when a smaller one is (:data:`LOWER_IS_BETTER`).

    Raises:
        ValueError: An unknown task, a metric the task's evaluation does not report, or one this run's
            evaluation cannot report (each message lists the ones it does).
    """
    if task not in TASK_METRICS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASK_METRICS)}")
    name = _bare(name)
    if name not in TASK_METRICS[task]:
        raise ValueError(
            f"--metric-for-best {name!r} is not a metric of {task}; its evaluation reports "
            f"{', '.join(TASK_METRICS[task])}"
        )
    if reported is not None and name not in reported:
        raise ValueError(
            f"--metric-for-best {name!r} is not reported by this run: {why or 'its data'}, so its evaluation "
            f"reports {', '.join(reported)}; choose one of those"
        )
    return name not in LOWER_IS_BETTER


def reported_metrics(
    task: str, label_kind: str | None = None, squad_version: int = 1, answered: tuple[bool, bool] = (True, False)
) -> tuple[str, ...]:
    """The metrics an evaluation of ``task`` reports for data of this kind (a subset of :data:`TASK_METRICS`).

    Args:
        task: The fine-tuning task (a key of :data:`TASK_METRICS`).
        label_kind: Text classification: the label set's kind, ``"float"`` for regression (Pearson,
            Spearman, MSE), anything else for classes (accuracy, macro-F1).
        squad_version: Question answering: 2 adds the ``HasAns_``/``NoAns_`` breakdowns.
        answered: Question answering, SQuAD v2.0: whether the evaluation set has answerable questions and
            whether it has unanswerable ones (each breakdown is reported only over questions it has).

    Returns:
        The metric names, in :data:`TASK_METRICS` order.
    """
    names = TASK_METRICS[task]
    if task == "text-classification":
        kept = {"loss", "pearson", "spearman", "mse"} if label_kind == "float" else {"loss", "accuracy", "macro_f1"}
        return tuple(n for n in names if n in kept)
    if task == "question-answering":
        prefixes = [p for p, has in zip(("HasAns_", "NoAns_"), answered, strict=True) if has and squad_version == 2]
        return tuple(n for n in names if "_" not in n or n.startswith(tuple(prefixes)))
    return names


def is_better(name: str, value: float, best: float | None) -> bool:
    """Whether an evaluation's ``value`` of metric ``name`` beats the ``best`` so far.

    Args:
        name: The metric (its direction from :data:`LOWER_IS_BETTER`), with or without the ``eval_`` prefix.
        value: The new evaluation's value.
        best: The best value so far; None when there is none yet.

    Returns:
        True when ``value`` is strictly better than ``best`` (a tie keeps the earlier checkpoint), or when
        there is no best yet and ``value`` is a number; a NaN is never better, and any number beats a NaN best.
    """
    if math.isnan(value):
        return False
    if best is None or math.isnan(best):
        return True
    return value < best if _bare(name) in LOWER_IS_BETTER else value > best


def _bare(name: str) -> str:
    return name.removeprefix("eval_")
