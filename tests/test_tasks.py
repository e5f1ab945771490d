"""One definition per concept: the task table (``albert_model/_tasks.py``) that pipelines, ``albert finetune``,
the ONNX export and the ``albert`` command read, and the model input names (``albert_tok.api._encoding``)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import albert_model.training._finetune as F
from albert_model import _tasks as tasks
from albert_model import cli, pipelines
from albert_model.onnx import _export as onnx_export
from albert_tok import AlbertTokenizer
from albert_tok.api._encoding import MODEL_INPUT_NAMES

from .conftest import ROOT

# What each reader accepted when each kept a table of its own: the table must give exactly these.
PIPELINE_NAMES = {
    "fill-mask",
    "feature-extraction",
    "text-classification",
    "sentiment-analysis",
    "token-classification",
    "ner",
    "question-answering",
    "multiple-choice",
    "sentence-embedding",  # a task added since (issue 27): the AlbertModel, pooled
}
EXPORT_NAMES = PIPELINE_NAMES | {"pretraining"}
FINETUNE_NAMES = [
    "text-classification",
    "multiple-choice",  # offered since its set-up and a CLI run were tested (issue 26)
    "token-classification",
    "question-answering",
]


def test_every_reader_accepts_what_it_accepted_before():
    assert set(pipelines.TASKS) == PIPELINE_NAMES
    assert set(onnx_export.TASK_CLASSES) == EXPORT_NAMES
    assert list(F.TASKS) == FINETUNE_NAMES  # no aliases: `albert finetune --task ner` stays refused
    assert (
        set(cli._EXPORT_TASKS.split(", "))
        == {t.name for t in tasks.TASK_TABLE}
        == EXPORT_NAMES - {"ner", "sentiment-analysis"}
    )
    assert pipelines.TASKS["ner"] is pipelines.TokenClassificationPipeline
    assert pipelines.TASKS["sentiment-analysis"] is pipelines.TextClassificationPipeline
    assert onnx_export.TASK_CLASSES["ner"] == "AlbertForTokenClassification"
    assert onnx_export.TASK_CLASSES["sentence-embedding"] == onnx_export.TASK_CLASSES["feature-extraction"]
    assert F.TASKS["question-answering"].__name__ == "AlbertForQuestionAnswering"
    assert list(onnx_export.CLASSES) == [
        "AlbertModel",
        "AlbertForPreTraining",
        "AlbertForMaskedLM",
        "AlbertForSequenceClassification",
        "AlbertForMultipleChoice",
        "AlbertForTokenClassification",
        "AlbertForQuestionAnswering",
    ]


def test_the_table_agrees_with_the_pipeline_classes():
    """A row's pipeline class says the row's task name and takes the row's model class."""
    for row in tasks.TASK_TABLE:
        model_class = row.load_model_class()
        assert model_class.__name__ == row.model_class
        if row.pipeline is None:
            continue
        cls = pipelines.TASKS[row.name]
        assert cls.__name__ == row.pipeline, row
        assert cls.task == row.name, row
        assert cls.model_class is model_class, row


def test_names_are_unique_and_lookup_finds_aliases():
    every = [name for row in tasks.TASK_TABLE for name in row.names]
    assert len(every) == len(set(every))
    assert tasks.lookup("ner") is tasks.lookup("token-classification")
    assert tasks.lookup("summarization") is None
    assert tasks.lookup(["ner"]) is None  # not a name (pipeline() and resolve_class say what is accepted)


def test_importing_the_table_imports_no_torch():
    code = (
        "import sys; import albert_model._tasks as t; t.lookup('ner'); "
        "assert 'torch' not in sys.modules, 'torch imported'; assert 'albert_model.pipelines' not in sys.modules"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


PACKAGES = [ROOT / "albert_tok", ROOT / "albert_model"]


def _sources():
    return sorted(p for package in PACKAGES for p in package.rglob("*.py"))


def test_task_names_and_aliases_are_spelled_out_only_in_the_table():
    """An alias or a task-to-class pair written anywhere else is a second table."""
    pair = re.compile(r"""["'](?:ner|sentiment-analysis|pretraining)["']\s*:""")
    for path in _sources():
        if path.name == "_tasks.py":
            continue
        text = path.read_text()
        assert not pair.search(text), f"{path.relative_to(ROOT)} maps a task name: read albert_model._tasks"
        assert '"sentiment-analysis"' not in text, f"{path.relative_to(ROOT)} spells an alias"


# Still spelled out in a file another change owns (not checked here); drop it from this set when that file
# reads albert_tok.api._encoding.MODEL_INPUT_NAMES.
_PENDING: set[str] = set()


@pytest.mark.parametrize(
    "path", [p for p in _sources() if str(p.relative_to(ROOT)) not in _PENDING], ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_model_input_names_are_spelled_out_once(path):
    """No tuple or list literal other than ``MODEL_INPUT_NAMES`` holds all three input names."""
    relative = str(path.relative_to(ROOT))
    names = set(MODEL_INPUT_NAMES)
    literals = [
        m.group(0)
        for m in re.finditer(r"[(\[][^()\[\]{}]*[)\]]", path.read_text())
        if names <= set(re.findall(r"""["']([a-z_]+)["']""", m.group(0)))
    ]
    allowed = 1 if relative == "albert_tok/api/_encoding.py" else 0
    assert len(literals) == allowed, f"{relative}: {literals} spells out the model input names again"


def test_the_input_names_are_what_transformers_lists():
    assert MODEL_INPUT_NAMES == ("input_ids", "token_type_ids", "attention_mask")
    assert AlbertTokenizer.model_input_names == list(MODEL_INPUT_NAMES)
    for cls in onnx_export.CLASSES:  # the graphs take the same three (in the traced forward's order), plus an index
        names = onnx_export.input_names(cls)
        assert set(names[:3]) == set(MODEL_INPUT_NAMES)
        assert names[3:] == (["masked_index"] if cls in ("AlbertForMaskedLM", "AlbertForPreTraining") else [])
    assert onnx_export.input_names("AlbertModel") == ["input_ids", "attention_mask", "token_type_ids"]  # files
    # already exported take this order: it stays
