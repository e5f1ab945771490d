"""Multiple-choice fine-tuning data (issue #26, item 7): SWAG-style and RACE-style files read into questions,
bad rows named by file and line, choices encoded as the multiple-choice pipeline encodes them, accuracy and the
best-checkpoint rule."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model.training._finetune_data as D
from albert_model import AlbertConfig, AlbertForMultipleChoice, pipeline
from albert_model._tasks import choice_text
from albert_model.training._metrics import (
    TASK_METRICS,
    is_better,
    metric_for_best,
    multiple_choice_metrics,
)
from albert_tok import AlbertTokenizerFast

from . import strategies as S
from .conftest import SPIECE

SWAG_HEADER = [
    "video-id",
    "fold-ind",
    "startphrase",
    "sent1",
    "sent2",
    "gold-source",
    "ending0",
    "ending1",
    "ending2",
    "ending3",
    "label",
]
SWAG_ROWS = [
    ["v1", "0", "A man sits. He", "A man sits.", "He", "gold", "eats.", "runs away.", "sleeps.", "flies.", "2"],
    ["v2", "1", "The cat jumps. It", "The cat jumps.", "It", "gen", "lands.", "sings.", "reads.", "melts.", "0"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


RACE = {
    "example_id": "high1.txt",
    "article": "Tom went to the market. He bought apples.",
    "question": "Tom bought _ .",
    "options": ["apples", "pears", "bread", "milk"],
    "answer": "A",
}


@pytest.fixture(scope="module")
def tok():
    return AlbertTokenizerFast(SPIECE)


# -- reading ------------------------------------------------------------------------------------------
def test_swag_csv_reads_sent1_sent2_endings_and_label(tmp_path):
    examples = D.read_multiple_choice(write_csv(tmp_path / "swag.csv", SWAG_HEADER, SWAG_ROWS))
    assert examples == [
        D.ChoiceExample("A man sits.", "He", ("eats.", "runs away.", "sleeps.", "flies."), 2, 2),
        D.ChoiceExample("The cat jumps.", "It", ("lands.", "sings.", "reads.", "melts."), 0, 3),
    ]


def test_swag_tsv_and_jsonl_read_the_same(tmp_path):
    from_csv = D.read_multiple_choice(write_csv(tmp_path / "s.csv", SWAG_HEADER, SWAG_ROWS))
    from_tsv = D.read_multiple_choice(write_csv(tmp_path / "s.tsv", SWAG_HEADER, SWAG_ROWS, "\t"))
    records = [dict(zip(SWAG_HEADER, row, strict=True)) for row in SWAG_ROWS]
    for r in records:
        r["label"] = int(r["label"])  # JSON Lines: a number
    from_jsonl = D.read_multiple_choice(write_jsonl(tmp_path / "s.jsonl", records))
    assert from_csv == from_tsv
    assert [dataclasses.replace(e, line=e.line + 1) for e in from_jsonl] == from_csv  # no header line


def test_context_or_startphrase_columns_and_any_number_of_endings(tmp_path):
    path = write_csv(
        tmp_path / "c.csv", ["context", "question", "ending0", "ending1", "label"], [["C", "Q", "a", "b", "1"]]
    )
    assert D.read_multiple_choice(path) == [D.ChoiceExample("C", "Q", ("a", "b"), 1, 2)]
    path = write_csv(
        tmp_path / "s.csv", ["startphrase", "ending0", "ending1", "ending2", "label"], [["S", "a", "b", "c", "2"]]
    )
    assert D.read_multiple_choice(path) == [D.ChoiceExample("S", "", ("a", "b", "c"), 2, 2)]


def test_race_layouts_read_the_same_questions(tmp_path):
    second = {**RACE, "question": "Where did Tom go?", "options": ["home", "school", "market", "bed"], "answer": 2}
    expected = [
        D.ChoiceExample(RACE["article"], "Tom bought _ .", ("apples", "pears", "bread", "milk"), 0, 1),
        D.ChoiceExample(RACE["article"], "Where did Tom go?", ("home", "school", "market", "bed"), 2, 1),
    ]
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps([RACE, second]), encoding="utf-8")
    as_data = tmp_path / "data.json"
    as_data.write_text(json.dumps({"data": [RACE, second]}), encoding="utf-8")
    original = tmp_path / "high1.json"  # one article, its questions in parallel lists, as RACE ships
    original.write_text(
        json.dumps(
            {
                "id": "high1.txt",
                "article": RACE["article"],
                "questions": [RACE["question"], second["question"]],
                "options": [RACE["options"], second["options"]],
                "answers": ["A", "C"],
            }
        ),
        encoding="utf-8",
    )
    assert D.read_multiple_choice(as_list) == D.read_multiple_choice(as_data) == D.read_multiple_choice(original)
    assert D.read_multiple_choice(as_list) == expected
    lines = D.read_multiple_choice(write_jsonl(tmp_path / "race.jsonl", [RACE, second]))
    assert [(e.question, e.endings, e.label, e.line) for e in lines] == [
        (e.question, e.endings, e.label, n) for n, e in enumerate(expected, 1)
    ]


def test_without_labels_the_label_fields_are_not_read(tmp_path):
    rows = [[*row[:-1], ""] for row in SWAG_ROWS]  # SWAG's test split: empty labels
    examples = D.read_multiple_choice(write_csv(tmp_path / "t.csv", SWAG_HEADER, rows), labels=False)
    assert [e.label for e in examples] == [None, None]
    with pytest.raises(D.DataError, match=r"t.csv:2: label '' is neither an index nor a letter"):
        D.read_multiple_choice(tmp_path / "t.csv")


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (
            ["sent1", "sent2", "ending0", "ending1", "label"],
            [["c", "q", "a", "b", "2"]],
            r":2: label '2' is out of range for 2 choices",
        ),
        (
            ["sent1", "sent2", "ending0", "ending1", "label"],
            [["c", "q", "a", "b", "-1"]],
            r":2: label '-1' is out of range",
        ),
        (
            ["sent1", "sent2", "ending0", "ending1", "label"],
            [["c", "q", "a", "b", "E"]],
            r":2: label 'E' is out of range .*A\.\.B",
        ),
        (
            ["sent1", "sent2", "ending0", "ending1", "label"],
            [["c", "q", "a", "b", "x1"]],
            r"neither an index nor a letter",
        ),
        (
            ["sent2", "ending0", "ending1", "label"],
            [["q", "a", "b", "0"]],
            r":2: no context column \(one of \['sent1', 'context', 'startphrase'\]\)",
        ),
        (
            ["sent1", "ending0", "ending1"],
            [["c", "a", "b"]],
            r":2: no 'label' column among \['sent1', 'ending0', 'ending1'\]",
        ),
        (
            ["sent1", "ending0", "ending2", "label"],
            [["c", "a", "b", "0"]],
            r"endings are columns \['ending0', 'ending2'\].*without gaps",
        ),
        (["sent1", "ending0", "label"], [["c", "a", "0"]], r"endings are columns \['ending0'\].*at least two"),
        (["sent1", "ending0", "ending1", "label"], [["c", "a", "b", "0"], ["c", "a", "b", "1"]], None),
    ],
)
def test_bad_swag_rows_are_named(tmp_path, header, rows, message):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    if message is None:
        assert len(D.read_multiple_choice(path)) == 2
        return
    with pytest.raises(D.DataError, match=message):
        D.read_multiple_choice(path)


def test_a_different_number_of_endings_names_its_line(tmp_path):
    records = [
        {"sent1": "c", "sent2": "q", "ending0": "a", "ending1": "b", "ending2": "c", "label": 0},
        {"sent1": "c", "sent2": "q", "ending0": "a", "ending1": "b", "label": 0},
    ]
    path = write_jsonl(tmp_path / "n.jsonl", records)
    with pytest.raises(D.DataError, match=r"n.jsonl:2: 2 choices, but the first question's number is 3"):
        D.read_multiple_choice(path)
    good = write_jsonl(tmp_path / "g.jsonl", records[:1])
    with pytest.raises(D.DataError, match=r"g.jsonl:1: 3 choices, but the training data's number is 4"):
        D.read_multiple_choice(good, num_choices=4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer": "F"}, r"line 1 answer 'F' is out of range for 4 choices|:1: answer 'F' is out of range"),
        ({"answer": 4}, r":1: answer '4' is out of range for 4 choices"),
        ({"answer": True}, r":1: answer is a boolean"),
        ({"options": "apples"}, r":1: line 1: 'options' is a string"),
        ({"options": ["only"]}, r":1: line 1: 'options' is a list of 1; give a list of at least two options"),
        ({"options": ["a", 2, "c", "d"]}, r":1: line 1 option 1 is a number, not a string"),
        ({"article": None}, r":1: line 1 'article' is null, not a string"),
        ({"question": None}, r":1: line 1 question is null, not a string"),
    ],
)
def test_bad_race_records_are_named(tmp_path, change, message):
    with pytest.raises(D.DataError, match=message):
        D.read_multiple_choice(write_jsonl(tmp_path / "r.jsonl", [{**RACE, **change}]))


def test_race_records_without_their_keys(tmp_path):
    for drop, message in (
        ("article", "has no 'article'"),
        ("question", "has no 'question'"),
        ("answer", "no 'answer'"),
    ):
        record = {k: v for k, v in RACE.items() if k != drop}
        with pytest.raises(D.DataError, match=message):
            D.read_multiple_choice(write_jsonl(tmp_path / "r.jsonl", [record]))
    assert D.read_multiple_choice(tmp_path / "r.jsonl", labels=False)[0].label is None
    (tmp_path / "x.json").write_text("3", encoding="utf-8")
    with pytest.raises(D.DataError, match=r"x.json:1: the file holds a number"):
        D.read_multiple_choice(tmp_path / "x.json")


def test_unknown_suffix_empty_file_and_bad_json(tmp_path):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(D.DataError, match=r"unknown multiple-choice format '.txt'"):
        D.read_multiple_choice(tmp_path / "a.txt")
    (tmp_path / "e.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(D.DataError, match=r"e.jsonl:1: no questions"):
        D.read_multiple_choice(tmp_path / "e.jsonl")
    (tmp_path / "b.jsonl").write_text(json.dumps(RACE) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(D.DataError, match=r"b.jsonl:2: "):
        D.read_multiple_choice(tmp_path / "b.jsonl")


# -- the input rule -------------------------------------------------------------------------------------
def test_choice_text_fills_a_blank_or_follows_the_question():
    assert choice_text("Tom bought _ .", "apples") == "Tom bought apples ."
    assert choice_text("He ___ home", "went") == "He went home"
    assert choice_text("snake_case _", "x") == "snake_case x"  # an underscore inside a word is no blank
    assert choice_text("He", "eats.") == "He eats."
    assert choice_text("", "eats.") == "eats."


def test_training_and_the_pipeline_share_one_input_rule():
    """One definition in albert_model._tasks, below both: training's names are it, and the pipeline calls it."""
    import inspect

    from albert_model import _tasks
    from albert_model.pipelines import _multiple_choice

    assert D._tasks is _tasks  # training calls the table's choice_pairs and encode_choices, below
    training = inspect.getsource(D.choice_pairs) + inspect.getsource(D.encode_multiple_choice)
    assert "_tasks.choice_pairs(" in training and "_tasks.encode_choices(" in training
    assert _multiple_choice.choice_pairs is _tasks.choice_pairs
    assert _multiple_choice.encode_choices is _tasks.encode_choices
    source = inspect.getsource(_multiple_choice.MultipleChoicePipeline.predict)
    assert "encode_choices(" in source and "self.tokenizer(" not in source
    assert _tasks.choice_pairs("ctx", "", ["a", "b"]) == (["ctx", "ctx"], ["a", "b"])  # the pipeline's case
    assert _tasks.choice_pairs("ctx", "He _ .", ["ran"]) == (["ctx"], ["He ran ."])


def test_encoding_is_run_swags_and_the_labels_come_along(tok):
    example = D.ChoiceExample("A man sits.", "He", ("eats.", "runs away."), 1, 2)
    (feature,) = D.encode_multiple_choice(tok, [example], max_length=64)
    expected = tok(["A man sits."] * 2, ["He eats.", "He runs away."], truncation=True, max_length=64)
    assert feature["input_ids"] == expected["input_ids"]
    assert feature["token_type_ids"] == expected["token_type_ids"]
    assert feature["attention_mask"] == expected["attention_mask"]
    assert feature["labels"] == 1
    (unlabelled,) = D.encode_multiple_choice(tok, [D.ChoiceExample("c", "", ("a", "b"), None, 1)], 16)
    assert "labels" not in unlabelled


@settings(max_examples=30)
@given(
    context=S.plain_text,
    question=S.plain_text,
    endings=st.lists(S.plain_text, min_size=2, max_size=4),
    max_length=st.integers(8, 40),
)
def test_each_choice_is_cls_context_sep_choice_sep_cut_longest_first(tok, context, question, endings, max_length):
    example = D.ChoiceExample(context, question, tuple(endings), 0, 1)
    (feature,) = D.encode_multiple_choice(tok, [example], max_length)
    cls, sep = tok.cls_token_id, tok.sep_token_id
    assert len(feature["input_ids"]) == len(endings)
    for ending, ids, types in zip(endings, feature["input_ids"], feature["token_type_ids"], strict=True):
        a = tok(context, add_special_tokens=False)["input_ids"]
        b = tok(choice_text(question, ending), add_special_tokens=False)["input_ids"]
        while len(a) + len(b) + 3 > max_length:  # longest-first: the longer side (the second on a tie) loses one
            if len(a) > len(b):
                a = a[:-1]
            else:
                b = b[:-1]
        assert ids == [cls, *a, sep, *b, sep]
        assert types == [0] * (len(a) + 2) + [1] * (len(b) + 1)


def test_pad_choices_shapes_and_values(tok):
    examples = [
        D.ChoiceExample("short", "", ("a", "b", "c"), 2, 1),
        D.ChoiceExample("a much longer context than the other", "q", ("x y z", "w", "v"), 0, 2),
    ]
    features = D.encode_multiple_choice(tok, examples, 32)
    batch = D.pad_choices(features, tok.pad_token_id)
    width = max(len(r) for f in features for r in f["input_ids"])
    assert list(batch) == ["input_ids", "token_type_ids", "attention_mask", "labels"]
    assert batch["input_ids"].shape == (2, 3, width) and batch["input_ids"].dtype == np.int64
    assert batch["labels"].tolist() == [2, 0]
    for i, f in enumerate(features):
        for j, row in enumerate(f["input_ids"]):
            assert batch["input_ids"][i, j, : len(row)].tolist() == row
            assert (batch["input_ids"][i, j, len(row) :] == tok.pad_token_id).all()
            assert batch["attention_mask"][i, j].sum() == len(row)
    odd = D.encode_multiple_choice(tok, [D.ChoiceExample("c", "", ("a", "b"), 0, 3)], 32)
    with pytest.raises(ValueError, match=r"same number of choices, got \[2, 3\]"):
        D.pad_choices(features + odd, tok.pad_token_id)
    with pytest.raises(ValueError, match="at least one feature"):
        D.pad_choices([], 0)


def test_the_pipeline_scores_what_training_encodes(tmp_path, tok):
    torch.manual_seed(0)
    config = AlbertConfig(
        vocab_size=tok.vocab_size,
        embedding_size=8,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=24,
        max_position_embeddings=64,
    )
    AlbertForMultipleChoice(config).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    mc = pipeline("multiple-choice", model=str(tmp_path))
    model = AlbertForMultipleChoice.from_pretrained(tmp_path)
    examples = [
        D.ChoiceExample("Tom went to the market.", "Tom bought _ .", ("apples", "a very long answer indeed"), 0, 1),
        D.ChoiceExample("A man sits.", "He", ("eats.", "runs away.", "sleeps."), 2, 2),
    ]
    for example in examples:
        feature = D.encode_multiple_choice(tok, [example], mc.max_length)
        batch = {k: torch.from_numpy(v) for k, v in D.pad_choices(feature, tok.pad_token_id).items()}
        with torch.inference_mode():
            logits = model(**batch).logits[0]
        got = mc(D.pipeline_inputs(example))["scores"]
        torch.testing.assert_close(torch.tensor(got), logits.softmax(-1), rtol=1e-5, atol=1e-6)


# -- metrics ----------------------------------------------------------------------------------------------
def test_multiple_choice_accuracy():
    logits = np.array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 3.0, 2.0]])
    assert multiple_choice_metrics(logits, [1, 0, 0, 2]) == {"accuracy": 0.75}  # a tie goes to the first
    assert multiple_choice_metrics(np.zeros((0, 4)), np.zeros(0, dtype=int)) == {"accuracy": 0.0}
    with pytest.raises(ValueError, match=r"labels must be choice indices 0\.\.2"):
        multiple_choice_metrics(logits, [1, 0, 3, 2])
    with pytest.raises(ValueError, match="must be \\(questions, choices\\)"):
        multiple_choice_metrics(logits[0], [1])


@given(st.lists(st.lists(st.floats(-5, 5), min_size=3, max_size=3), min_size=1, max_size=20), st.data())
def test_accuracy_counts_the_argmax(rows, data):
    labels = data.draw(st.lists(st.integers(0, 2), min_size=len(rows), max_size=len(rows)))
    right = sum(int(np.argmax(r)) == y for r, y in zip(rows, labels, strict=True))
    assert multiple_choice_metrics(np.array(rows), labels)["accuracy"] == pytest.approx(right / len(rows))


def test_metric_for_best_directions_and_choices():
    assert metric_for_best("multiple-choice", "accuracy") is True
    assert metric_for_best("text-classification", "mse") is False
    assert metric_for_best("question-answering", "loss") is False
    assert metric_for_best("multiple-choice", "eval_loss") is False  # the final metrics' names work too
    with pytest.raises(
        ValueError, match=r"'f1' is not a metric of multiple-choice; its evaluation reports loss, accuracy"
    ):
        metric_for_best("multiple-choice", "f1")
    with pytest.raises(ValueError, match="unknown task 'summarization'"):
        metric_for_best("summarization", "loss")
    assert set(TASK_METRICS) == {"text-classification", "token-classification", "question-answering", "multiple-choice"}


def test_is_better_keeps_the_first_of_ties_and_never_takes_nan():
    assert is_better("accuracy", 0.5, None)
    assert is_better("accuracy", 0.6, 0.5) and not is_better("accuracy", 0.5, 0.5)
    assert is_better("loss", 0.4, 0.5) and not is_better("loss", 0.6, 0.5)
    assert is_better("eval_loss", 0.4, 0.5) and not is_better("eval_mse", 0.6, 0.5)
    assert not is_better("loss", math.nan, None) and not is_better("accuracy", math.nan, 0.1)
    assert is_better("loss", 3.0, math.nan)
