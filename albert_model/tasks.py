"""The tasks: one table of their names, aliases, model classes and pipelines.

Everything that takes a task name reads :data:`TASK_TABLE`: ``pipeline(task)`` (:data:`albert_model.pipelines.TASKS`),
``albert finetune --task`` (:data:`albert_model.finetune.TASKS`, the rows with ``finetune=True``, without
aliases), the ONNX export's ``task=`` (:data:`albert_model.onnx_export.TASK_CLASSES` and ``CLASSES``) and
``albert export-onnx --task``. A new task is one row here plus its ``pipeline_<task>.py`` module.

Classes are named, not imported: importing this module imports neither torch nor any pipeline;
:meth:`Task.load_model_class` and :meth:`Task.load_pipeline_class` import one when it is asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pipeline_base import Pipeline
    from .pretrained import AlbertPreTrainedModel

__all__ = ["TASK_TABLE", "Task", "lookup"]


@dataclass(frozen=True)
class Task:
    """One task: its canonical ``name``, the other ``aliases`` it is accepted under, the ``model_class`` it
    runs (a class name exported by :mod:`albert_model`), its pipeline as ``"module:Class"`` inside
    ``albert_model`` (None: no pipeline, export only), and whether ``albert finetune`` trains it."""

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
        cls: type[AlbertPreTrainedModel] = getattr(importlib.import_module(__package__), self.model_class)
        return cls

    def load_pipeline_class(self) -> type[Pipeline]:
        """The pipeline class (imports its module, and torch); ``LookupError`` for a task without one."""
        if self.pipeline is None:
            raise LookupError(f"task {self.name!r} has no pipeline")
        module, _, name = self.pipeline.partition(":")
        cls: type[Pipeline] = getattr(importlib.import_module(f".{module}", __package__), name)
        return cls


# In the order of the classes (the base model, then the heads as heads.py defines them).
TASK_TABLE: tuple[Task, ...] = (
    Task("feature-extraction", "AlbertModel", pipeline="pipeline_feature_extraction:FeatureExtractionPipeline"),
    Task("pretraining", "AlbertForPreTraining"),
    Task("fill-mask", "AlbertForMaskedLM", pipeline="pipeline_fill_mask:FillMaskPipeline"),
    Task("text-classification", "AlbertForSequenceClassification", aliases=("sentiment-analysis",),
         pipeline="pipeline_text_classification:TextClassificationPipeline", finetune=True),
    Task("multiple-choice", "AlbertForMultipleChoice", pipeline="pipeline_multiple_choice:MultipleChoicePipeline"),
    Task("token-classification", "AlbertForTokenClassification", aliases=("ner",),
         pipeline="pipeline_token_classification:TokenClassificationPipeline", finetune=True),
    Task("question-answering", "AlbertForQuestionAnswering",
         pipeline="pipeline_question_answering:QuestionAnsweringPipeline", finetune=True),
)
"""Every task, each once; a name or alias names one row."""

_BY_NAME: dict[str, Task] = {name: row for row in TASK_TABLE for name in row.names}


def lookup(name: Any) -> Task | None:
    """The row ``name`` (a canonical name or an alias) names, or None."""
    return _BY_NAME.get(name) if isinstance(name, str) else None
