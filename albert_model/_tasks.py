"""The tasks: one table of their names, aliases, model classes and pipelines.

Everything that takes a task name reads :data:`TASK_TABLE`: ``pipeline(task)`` (:data:`albert_model.pipelines.TASKS`),
``albert finetune --task`` (:data:`albert_model.training._finetune.TASKS`, the rows with ``finetune=True``, without
aliases), the ONNX export's ``task=`` (:data:`albert_model.onnx._export.TASK_CLASSES` and ``CLASSES``) and
``albert export-onnx --task``. A new task is one row here plus its module in :mod:`albert_model.pipelines`.

It also holds the multiple-choice input rule (:func:`choice_pairs`, :func:`encode_choices`), the one definition
that ``pipeline("multiple-choice")`` and ``albert finetune --task multiple-choice`` both encode with, so that a
model is called with the input ids it was trained on.

Classes are named, not imported: importing this module imports neither torch nor any pipeline;
:meth:`Task.load_model_class` imports the model classes when it is asked for, and
:mod:`albert_model.pipelines` looks its classes up by :attr:`Task.pipeline`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from albert_model.modeling import AlbertPreTrainedModel

__all__ = ["TASK_TABLE", "Task", "choice_pairs", "choice_text", "encode_choices", "lookup"]


@dataclass(frozen=True)
class Task:
    """One task: its canonical ``name``, the other ``aliases`` it is accepted under, the ``model_class`` it
    runs (a class name exported by :mod:`albert_model.modeling`), the name of its pipeline class in
    :mod:`albert_model.pipelines` (None: no pipeline, export only), and whether ``albert finetune`` trains it."""

    name: str
    model_class: str
    aliases: tuple[str, ...] = ()
    pipeline: str | None = None
    finetune: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name, then the aliases."""
        return (self.name, *self.aliases)

    def load_model_class(self) -> type[AlbertPreTrainedModel]:
        """The model class (imports torch)."""
        from albert_model import modeling

        cls: type[AlbertPreTrainedModel] = getattr(modeling, self.model_class)
        return cls


# In the order of the classes (the base model, then the heads as heads.py defines them).
TASK_TABLE: tuple[Task, ...] = (
    Task("feature-extraction", "AlbertModel", pipeline="FeatureExtractionPipeline"),
    Task("sentence-embedding", "AlbertModel", pipeline="SentenceEmbeddingPipeline"),
    Task("pretraining", "AlbertForPreTraining"),
    Task("fill-mask", "AlbertForMaskedLM", pipeline="FillMaskPipeline"),
    Task(
        "text-classification",
        "AlbertForSequenceClassification",
        aliases=("sentiment-analysis",),
        pipeline="TextClassificationPipeline",
        finetune=True,
    ),
    Task("multiple-choice", "AlbertForMultipleChoice", pipeline="MultipleChoicePipeline", finetune=True),
    Task(
        "token-classification",
        "AlbertForTokenClassification",
        aliases=("ner",),
        pipeline="TokenClassificationPipeline",
        finetune=True,
    ),
    Task("question-answering", "AlbertForQuestionAnswering", pipeline="QuestionAnsweringPipeline", finetune=True),
)
"""Every task, each once; a name or alias names one row."""

_BY_NAME: dict[str, Task] = {name: row for row in TASK_TABLE for name in row.names}


def lookup(name: Any) -> Task | None:
    """The row ``name`` (a canonical name or an alias) names, or None."""
    return _BY_NAME.get(name) if isinstance(name, str) else None


# -- the multiple-choice input rule ---------------------------------------------------------------------------
_BLANK = re.compile(r"(?<!\w)_+(?!\w)")  # a cloze blank: a run of underscores that is no part of a word


def choice_text(question: str, ending: str) -> str:
    """The second segment of one choice: the question with the ending in its blank, or followed by it.

    A RACE cloze question holds a blank (a run of underscores standing alone, ``"He went to _ ."``), which
    the ending fills (every blank, as transformers' RACE example did); any other question, or SWAG's start
    of the continuation (``sent2``), is followed by a space and the ending; an empty question gives the
    ending alone.

    Args:
        question: The question or start of the continuation (may be empty).
        ending: The choice's text.

    Returns:
        The text that follows ``[SEP]`` for this choice.
    """
    if _BLANK.search(question):
        return _BLANK.sub(lambda _: ending, question)
    if not question.strip():
        return ending
    return f"{question} {ending}"


def choice_pairs(context: str, question: str, endings: Sequence[str]) -> tuple[list[str], list[str]]:
    """The ``(first, second)`` text pairs of one question's choices, as the tokenizer takes them: the
    context for every choice, and :func:`choice_text` of each ending.

    The pipeline's ``{"question": Q, "choices": C}`` is ``choice_pairs(Q, "", C)``, which is ``([Q] * len(C), C)``.

    Args:
        context: The passage or first sentence, the first segment of every choice.
        question: The question or start of the continuation (may be empty).
        endings: The choices.

    Returns:
        Two lists of ``len(endings)`` strings.
    """
    return [context] * len(endings), [choice_text(question, e) for e in endings]


def encode_choices(
    tokenizer: Any, firsts: Sequence[str], seconds: Sequence[str], max_length: int, **kwargs: Any
) -> Any:
    """Encode choice pairs (of :func:`choice_pairs`) as ``[CLS] first [SEP] second [SEP]``, cut to
    ``max_length`` tokens longest-first (the longer segment loses a token at a time), as transformers'
    ``run_swag`` encodes them.

    Args:
        tokenizer: The tokenizer (slow or fast).
        firsts: The first segments.
        seconds: The second segments, as many.
        max_length: The longest row in tokens, special tokens included.
        **kwargs: Passed on to the tokenizer (``padding``, ``return_tensors``).

    Returns:
        The tokenizer's encoding of the pairs.
    """
    return tokenizer(list(firsts), list(seconds), truncation=True, max_length=max_length, **kwargs)
