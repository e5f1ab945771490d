"""The tasks: one table of their names, aliases, model classes and pipelines.

Everything that takes a task name reads :data:`TASK_TABLE`: ``pipeline(task)`` (:data:`albert_model.pipelines.TASKS`),
``albert finetune --task`` (:data:`albert_model.training._finetune.TASKS`, the rows with ``finetune=True``, without
aliases), the ONNX export's ``task=`` (:data:`albert_model.onnx._export.TASK_CLASSES` and ``CLASSES``) and
``albert export-onnx --task``. A new task is one row here plus its module in :mod:`albert_model.pipelines`.

Classes are named, not imported: importing this module imports neither torch nor any pipeline;
:meth:`Task.load_model_class` imports the model classes when it is asked for, and
:mod:`albert_model.pipelines` looks its classes up by :attr:`Task.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from albert_model.modeling import AlbertPreTrainedModel

__all__ = ["TASK_TABLE", "Task", "lookup"]


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
