"""Fine-tuning data files and labels: files are regular files, bad bytes and bad shapes are named by file and
line, and the task type (classification or regression) is never changed in silence by one odd label."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
import threading
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import albert_model.training._finetune_data as D
from albert_tok.io._regular import NotARegularFileError

from .conftest import EVAL, SPIECE

SQUAD = EVAL / "squad_sample.json"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def fifo_with_writer(path: Path):
    """A FIFO at ``path`` whose write end this test holds, so opening it never blocks; a reader that read it
    would wait for data until the watchdog closes the write end (10 s): a bug fails, it never hangs."""
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    closed = threading.Event()

    def close() -> None:
        if not closed.is_set():
            closed.set()
            os.close(fd)

    watchdog = threading.Timer(10.0, close)
    watchdog.start()
    try:
        yield path
    finally:
        watchdog.cancel()
        close()


# -- files are files --------------------------------------------------------------------------------------
def _readers():
    from albert_model.training._pretraining_data import read_documents

    return {
        "table": lambda p: D.read_table(p),
        "conll": D.read_conll,
        "squad": D.read_squad,
        "multiple-choice": D.read_multiple_choice,
        "pretraining": read_documents,
    }


@pytest.mark.parametrize("reader", ["table", "conll", "squad", "multiple-choice", "pretraining"])
@pytest.mark.parametrize("special", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_devices_are_not_data_files(reader, special):
    with pytest.raises(NotARegularFileError, match=r"is not a regular file \(it is a device\)"):
        _readers()[reader](special)


@pytest.mark.parametrize("reader", ["table", "conll", "squad", "multiple-choice", "pretraining"])
def test_directories_and_fifos_are_not_data_files(reader, tmp_path):
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(NotARegularFileError, match="a directory"):
        _readers()[reader](str(folder))
    with fifo_with_writer(tmp_path / "pipe.jsonl") as fifo, pytest.raises(NotARegularFileError, match="a FIFO"):
        _readers()[reader](str(fifo))


def test_missing_data_file_still_says_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.read_table(tmp_path / "none.csv")


def test_finetune_train_and_eval_must_be_regular_files(tmp_path):
    import albert_model.training._finetune as F

    good = write(tmp_path / "t.csv", "text,label\na,pos\nb,neg\n")
    for name, files in (("train", ["/dev/null"]), ("eval", [str(tmp_path)])):
        kwargs = {"train": [str(good)], name: files}
        with pytest.raises(NotARegularFileError, match=f"--{name} file .* is not a regular file"):
            F.FinetuneArgs(task="text-classification", output=str(tmp_path / "o"), **kwargs)


@pytest.mark.parametrize("special", ["/dev/zero", "dir", "fifo"])
def test_tokenize_input_must_be_a_regular_file(special, tmp_path, capsys):
    from albert_tok.cli import main

    with contextlib.ExitStack() as stack:
        if special == "dir":
            special = str(tmp_path)
        elif special == "fifo":
            special = str(stack.enter_context(fifo_with_writer(tmp_path / "pipe")))
        assert main(["tokenize", "--input", special, "--model", str(SPIECE.parent)]) == 2
    assert "is not a regular file" in capsys.readouterr().err


# -- JSON depth and SQuAD shapes --------------------------------------------------------------------------
def test_deeply_nested_json_is_a_data_error(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(D.DataError, match=r"deep.json:1: .*nested more than"):
        D.read_squad(write(tmp_path / "deep.json", deep))
    with pytest.raises(D.DataError, match=r"deep.jsonl:2: .*nested more than"):
        first = '{"question": "?", "context": "ab", "answers": []}\n'
        D.read_squad(write(tmp_path / "deep.jsonl", first + deep + "\n"))
    with pytest.raises(D.DataError, match=r"rows.jsonl:3: .*nested more than"):
        D.read_table(write(tmp_path / "rows.jsonl", '{"text": "a", "label": 0}\n\n' + deep + "\n"))
    swag_line = '{"sent1": "a", "ending0": "b", "ending1": "c", "label": 0}\n'
    with pytest.raises(D.DataError, match=r"race.json:1: .*nested more than"):
        D.read_multiple_choice(write(tmp_path / "race.json", deep))
    with pytest.raises(D.DataError, match=r"swag.jsonl:2: .*nested more than"):
        D.read_multiple_choice(write(tmp_path / "swag.jsonl", swag_line + deep + "\n"))


def _squad(qa: dict | None = None, **paragraph) -> dict:
    question = {"id": "q1", "question": "Who?", "answers": [{"text": "John", "answer_start": 0}]}
    question.update(qa or {})
    para = {"context": "John lives in Paris.", "qas": [question]}
    para.update(paragraph)
    return {"version": "v2.0", "data": [{"title": "t", "paragraphs": [para]}]}


@pytest.mark.parametrize(
    "document, words",
    [
        ({"data": {"a": 1}}, ["'data' list"]),
        ({"data": [{"paragraphs": {"context": "x"}}]}, ["data[0].paragraphs", "an object, not a list"]),
        ({"data": [{"paragraphs": ["text"]}]}, ["data[0].paragraphs[0]", "a string, not an object"]),
        (_squad(qas={"id": "q1"}), ["data[0].paragraphs[0].qas", "an object, not a list"]),
        (_squad(context=["John"]), ["'q1'", "'context'"]),
        (_squad({"answers": "John"}), ["'q1'", "'answers' is a string", "not a list"]),
        (_squad({"answers": ["John"]}), ["'q1'", "answer", "'John'"]),
        (_squad({"answers": [{"text": 5, "answer_start": 0}]}), ["'q1'", "'text' string"]),
        (_squad({"answers": [{"text": "John", "answer_start": True}]}), ["'q1'", "integer 'answer_start'"]),
        (_squad({"answers": [{"text": "", "answer_start": 0}]}), ["'q1'", "empty"]),
        (_squad({"answers": [{"text": "J", "answer_start": -20}]}), ["'q1'", "answer_start -20"]),
        (_squad({"is_impossible": "false"}), ["'q1'", "is_impossible", "'false'", "true or false"]),
        (_squad({"is_impossible": 0}), ["'q1'", "is_impossible", "true or false"]),
        (_squad({"answers": []}), ["'q1'", "no answers", "is_impossible"]),
        (_squad({"is_impossible": True}), ["'q1'", "is_impossible", "1 answer"]),
        (
            _squad({"answers": {"text": ["John", "Paris"], "answer_start": [0]}}),
            ["'q1'", "2 answer texts", "1 answer_start"],
        ),
        (_squad({"answers": {"text": "John", "answer_start": 0}}), ["'q1'", "'text'", "list"]),
        (_squad({"id": ["q1"]}), ["'id'", "string"]),
        (_squad({"id": None}), ["'id' None"]),
        (
            {"data": [{"question": "?", "context": "ab", "answers": {"text": [], "answer_start": []}}]},
            ["data[0] has no 'id'"],
        ),
        (
            {
                "data": [
                    {
                        "paragraphs": [
                            {
                                "context": "ab",
                                "qas": [{"id": "x", "question": "?", "is_impossible": True, "answers": []}] * 2,
                            }
                        ]
                    }
                ]
            },
            ["'x'", "twice"],
        ),
    ],
)
def test_wrongly_shaped_squad_is_a_data_error(tmp_path, document, words):
    path = write(tmp_path / "bad.json", json.dumps(document, indent=1))
    with pytest.raises(D.DataError) as info:
        D.read_squad(path)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    for word in words:
        assert word in message, (word, message)


def test_flat_squad_keeps_its_conventions(tmp_path):
    # datasets' layout: no is_impossible, empty answer lists are unanswerable questions
    rows = [
        {"id": "a", "question": "Who?", "context": "John is here.", "answers": {"text": [], "answer_start": []}},
        {
            "id": "b",
            "question": "Who?",
            "context": "John is here.",
            "answers": {"text": ["John", "John"], "answer_start": [0, 0]},
        },
    ]
    examples, version = D.read_squad(write(tmp_path / "flat.jsonl", "".join(json.dumps(r) + "\n" for r in rows)))
    assert [e.answers for e in examples] == [[], ["John", "John"]] and version == 2
    examples, version = D.read_squad(write(tmp_path / "v2.json", json.dumps(_squad({"is_impossible": False}))))
    assert examples[0].answers == ["John"] and version == 2
    impossible = _squad({"is_impossible": True, "answers": [], "plausible_answers": [{"text": "x", "answer_start": 0}]})
    assert D.read_squad(write(tmp_path / "imp.json", json.dumps(impossible)))[0][0].answers == []
    assert len(D.read_squad(SQUAD)[0]) > 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 30) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    """Every place in a JSON value, as key paths."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


@given(st.data(), _JSON, st.sampled_from(["nested", "flat"]))
def test_any_value_anywhere_in_squad_reads_or_is_a_data_error(data, value, layout):
    if layout == "nested":
        document = _squad({"answers": [{"text": "John", "answer_start": 0}, {"text": "Paris", "answer_start": 14}]})
    else:
        document = {
            "data": [
                {
                    "id": "q",
                    "question": "Where?",
                    "context": "John lives in Paris.",
                    "answers": {"text": ["Paris"], "answer_start": [14]},
                }
            ]
        }
    places = list(_paths(document))
    where = data.draw(st.sampled_from(places[1:]))
    target = document
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "q.json", json.dumps(document))
        try:
            examples, version = D.read_squad(path)
        except D.DataError as exc:
            assert str(exc).startswith(f"{path}:")
            return
    for e in examples:  # whatever was accepted is well formed
        assert isinstance(e.id, str) and isinstance(e.question, str) and isinstance(e.context, str)
        assert len(e.answers) == len(e.answer_starts) and version in (1, 2)
        for text, start in zip(e.answers, e.answer_starts, strict=False):
            assert text and e.context[start : start + len(text)] == text


# -- CSV fields, UTF-8, duplicated columns ----------------------------------------------------------------
def test_a_long_csv_field_is_read_and_the_limit_restored(tmp_path):
    limit = csv.field_size_limit()
    long = "word " * 40_000  # 200,000 characters, over the csv module's default limit
    path = write(tmp_path / "long.csv", f'text,label\n"{long}",pos\nshort,neg\n')
    examples = D.read_table(path)
    assert examples[0].text == long and examples[1].label == "neg"
    assert csv.field_size_limit() == limit


def test_a_field_over_the_limit_names_its_record(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "MAX_FIELD_CHARS", 1000)
    path = write(tmp_path / "open.csv", 'text,label\ngood,pos\n"unclosed quote,neg\n' + "more text\n" * 200)
    with pytest.raises(D.DataError, match=r"open.csv:3: a field of over 1000 characters.*unclosed quote"):
        D.read_table(path)
    assert csv.field_size_limit() != 1000


_FORMATS = {
    "csv": lambda rows: "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows),
    "tsv": lambda rows: "text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows),
    "jsonl": lambda rows: "".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n" for t, lab in rows),
    "conll": lambda rows: "".join(f"{t} {lab}\n" + ("\n" if i % 3 == 2 else "") for i, (t, lab) in enumerate(rows)),
}


@given(
    st.sampled_from(sorted(_FORMATS)),
    st.integers(1, 30),
    st.data(),
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80"]),
)
def test_invalid_utf8_is_named_by_file_and_line(fmt, n, data, bad):
    rows = [(f"word{i}é", "pos" if i % 2 else "neg") for i in range(n)]
    text = _FORMATS[fmt](rows).encode()
    lines = text.split(b"\n")
    first = 1 if fmt in ("csv", "tsv") else 0  # keep the header readable
    victim = data.draw(st.sampled_from([i for i in range(first, len(lines)) if lines[i]]))
    cut = data.draw(st.integers(0, len(lines[victim])))
    lines[victim] = lines[victim][:cut] + bad + lines[victim][cut:]
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / f"data.{fmt}", b"\n".join(lines))
        with pytest.raises(D.DataError, match=rf"data.{fmt}:{victim + 1}: not UTF-8"):
            D.read_conll(path) if fmt == "conll" else D.read_table(path)


def test_invalid_utf8_in_squad_names_the_line(tmp_path):
    text = json.dumps(_squad(), indent=1).encode().replace(b"Paris", b"Par\xffis")
    line = text[: text.index(b"\xff")].count(b"\n") + 1
    with pytest.raises(D.DataError, match=rf"bad.json:{line}: not UTF-8"):
        D.read_squad(write(tmp_path / "bad.json", text))


def test_a_duplicated_column_that_is_read_is_an_error(tmp_path):
    with pytest.raises(D.DataError, match=r"dup.csv:1: column 'label' appears 2 times in the header"):
        D.read_table(write(tmp_path / "dup.csv", "text,label,label\na,pos,neg\nb,neg,pos\n"))
    with pytest.raises(D.DataError, match=r"dup.tsv:1: column 'text' appears 2 times"):
        D.read_table(write(tmp_path / "dup.tsv", "text\tlabel\ttext\na\tpos\tb\n"))
    with pytest.raises(D.DataError, match=r"dup.jsonl:2: key 'label' appears twice"):
        D.read_table(
            write(tmp_path / "dup.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 0, "label": 1}\n')
        )
    # columns nobody reads may repeat (a spreadsheet's trailing empty columns)
    assert len(D.read_table(write(tmp_path / "ok.csv", "text,label,,\na,pos,,\nb,neg,,\n"))) == 2


# -- labels: the task type is never changed by one odd label ---------------------------------------------
def _pairs(values, first_line=2):
    return [(v, first_line + i) for i, v in enumerate(values)]


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity", "n/a", "0.5x", "", "?"])
def test_one_odd_label_among_real_numbers_is_named(bad):
    values = ["0.5", "1.25", "3", bad, "2.75"]
    with pytest.raises(D.DataError) as info:
        D.label_set(_pairs(values), "sts.csv")
    assert str(info.value).startswith("sts.csv:5: ")


@given(
    st.lists(st.floats(-5, 5, allow_nan=False).map(lambda x: f"{x:.3f}"), min_size=2, max_size=30).filter(
        lambda v: any(float(x) != int(float(x)) for x in v) and len(set(v)) > 1
    ),
    st.data(),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "x", "3.o", "1,5", "--1"]),
)
def test_any_bad_label_among_regression_labels_names_its_line(values, data, bad):
    at = data.draw(st.integers(0, len(values)))
    values = [*values[:at], bad, *values[at:]]
    pairs = _pairs(values)
    with pytest.raises(D.DataError) as info:
        D.label_set(pairs, "f")
    assert str(info.value).startswith(f"f:{at + 2}: ")
    assert D.label_set(_pairs([v for v in values if v != bad]), "f").kind == "float"


@given(st.lists(st.integers(0, 4).map(str), min_size=2, max_size=30).filter(lambda v: len(set(v)) > 1), st.data())
def test_one_real_written_whole_number_among_class_ids_is_named(values, data):
    at = data.draw(st.integers(0, len(values)))
    values = [*values[:at], "1.0", *values[at:]]
    with pytest.raises(D.DataError) as info:
        D.label_set(_pairs(values), "f")
    assert str(info.value).startswith(f"f:{at + 2}: ") and "--problem-type" in str(info.value)
    # the user's word settles it
    forced = D.label_set(_pairs(values), "f", problem_type="single_label_classification")
    assert forced.kind == "int"
    assert D.label_ids(_pairs(values), "f", forced, problem_type="single_label_classification")[at] == 1
    assert D.label_set(_pairs(values), "f", problem_type="regression").kind == "float"


@pytest.mark.parametrize(
    "values, line, words",
    [
        (["pos", "neg", "pos", "3", "neg"], 5, ["'3'", "a number", "class names", "--problem-type"]),
        (["0", "1", "1", "neg", "0"], 5, ["'neg'", "not a number", "--problem-type"]),
        (["pos", "nan", "neg"], 3, ["'nan'", "missing"]),
        (["1.0", "2.0", "3.0"], 2, ["'1.0'", "--problem-type"]),
    ],
)
def test_labels_of_two_kinds_are_an_error_naming_the_odd_one(values, line, words):
    with pytest.raises(D.DataError) as info:
        D.label_set(_pairs(values), "f")
    message = str(info.value)
    assert message.startswith(f"f:{line}: ")
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("values, tags", [(["pos", "pos"], False), (["1", "1", "1"], False), (["O", "O"], True)])
def test_one_class_is_refused(values, tags):
    with pytest.raises(D.DataError, match=r"^f:2: .*one class"):
        D.label_set(_pairs(values), "f", tags=tags)


def test_one_class_is_refused_whatever_the_model_or_num_labels_say():
    with pytest.raises(D.DataError, match="one class"):
        D.label_set(_pairs(["pos", "pos"]), "f", base={0: "neg", 1: "pos"})
    with pytest.raises(D.DataError, match="one class"):
        D.label_set(_pairs(["1", "1"]), "f", num_labels=2)
    with pytest.raises(D.DataError, match=r"every label is 0.5"):
        D.label_set(_pairs(["0.5", "0.50", "5e-1"]), "f")


@pytest.mark.parametrize(
    "problem_type, values, line, words",
    [
        ("regression", ["0.5", "2", "pos"], 4, ["'pos'", "not a finite number"]),
        ("regression", ["0.5", "inf"], 3, ["'inf'"]),
        ("single_label_classification", ["0", "1", "nan"], 4, ["'nan'", "missing"]),
        ("single_label_classification", ["0", "-1"], 3, ["negative"]),
    ],
)
def test_a_stated_problem_type_must_fit_every_label(problem_type, values, line, words):
    with pytest.raises(D.DataError) as info:
        D.label_set(_pairs(values), "f", problem_type=problem_type)
    assert str(info.value).startswith(f"f:{line}: ")
    for word in words:
        assert word in str(info.value)


def test_a_stated_problem_type_decides_ambiguous_labels():
    assert D.label_set(_pairs(["0", "1", "2"]), "f", problem_type="regression").kind == "float"
    mixed = D.label_set(_pairs(["pos", "3", "neg"]), "f", problem_type="single_label_classification")
    assert mixed.kind == "str" and sorted(mixed.id2label.values()) == ["3", "neg", "pos"]
    with pytest.raises(ValueError, match="problem_type must be one of"):
        D.label_set(_pairs(["0", "1"]), "f", problem_type="multi_label_classification")
    with pytest.raises(ValueError, match="problem_type"):
        D.label_set(_pairs(["O", "B-X"]), "f", tags=True, problem_type="regression")


_KIND = {"int": "single_label_classification", "str": "single_label_classification", "float": "regression"}


@given(
    st.lists(
        st.one_of(
            st.integers(0, 6).map(str),
            st.sampled_from(["pos", "neg", "meh"]),
            st.floats(-3, 3, allow_nan=False).map(lambda x: f"{x:.2f}"),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_an_inferred_type_is_the_one_the_flag_would_give(values):
    try:
        inferred = D.label_set(_pairs(values), "f")
    except D.DataError:
        return
    assert D.label_set(_pairs(values), "f", problem_type=_KIND[inferred.kind]) == inferred
    kinds = {"name" if not v.replace(".", "").lstrip("-").isdigit() else "real" if "." in v else "int" for v in values}
    assert kinds == {"name"} or "name" not in kinds  # names and numbers never mix
    assert len({float(v) for v in values} if inferred.kind == "float" else set(values)) >= 2


@pytest.mark.parametrize("huge", ["1000000", "20240101", str(10**12), "9" * 5000])
def test_huge_class_ids_are_refused_before_anything_label_sized(huge):
    tracemalloc.start()
    try:
        with pytest.raises(D.DataError) as info:
            D.label_set(_pairs(["0", "1", "1", huge, "0"]), "f")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith("f:5: ") and "--num-labels" in str(info.value)
    assert peak < 1_000_000


def test_num_labels_bounds_the_ids_and_is_bounded():
    assert D.label_set(_pairs(["0", "1", "500"]), "f", num_labels=501).num_labels == 501
    with pytest.raises(ValueError, match="num_labels must be"):
        D.label_set(_pairs(["0", "1"]), "f", num_labels=10**12)


@given(st.lists(st.integers(0, 10**9), min_size=2, max_size=12).filter(lambda v: len(set(v)) > 1))
def test_accepted_class_ids_give_a_bounded_label_set(ids):
    try:
        labels = D.label_set(_pairs([str(i) for i in ids]), "f")
    except D.DataError as exc:
        assert max(ids) >= D.MAX_CLASS_ID or max(ids) >= 100 * len(set(ids))
        assert str(exc).startswith(f"f:{ids.index(max(ids)) + 2}: ")  # the largest id is named
        return
    assert labels.num_labels == max(ids) + 1 <= min(D.MAX_CLASS_ID, 100 * len(set(ids)))


def test_jsonl_number_labels_are_checked_like_text(tmp_path):
    path = write(
        tmp_path / "l.jsonl", '{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n{"text": "c", "label": NaN}\n'
    )
    rows = D.read_table(path)
    with pytest.raises(D.DataError, match=r"l.jsonl:3: label 'nan'"):
        D.label_set([(e.label, e.line) for e in rows], str(path))
    path = write(tmp_path / "big.jsonl", '{"text": "a", "label": 0}\n{"text": "b", "label": ' + "7" * 5000 + "}\n")
    with pytest.raises(D.DataError, match=r"big.jsonl:2: "):
        D.read_table(path)


def test_eval_labels_follow_the_same_rules():
    floats = D.label_set(_pairs(["0.5", "1.5"]), "t")
    with pytest.raises(D.DataError, match=r"^e:3: label 'nan' is not a finite number"):
        D.label_ids(_pairs(["0.25", "nan"]), "e", floats)
    ints = D.label_set(_pairs(["0", "1"]), "t")
    with pytest.raises(D.DataError, match=r"^e:2: label '1.0' is not a class id"):
        D.label_ids(_pairs(["1.0"]), "e", ints)
    assert D.label_ids(_pairs(["1.0"]), "e", ints, problem_type="single_label_classification") == [1]


def test_finetune_problem_type_flag(tmp_path):
    import albert_model.training._finetune as F

    train = write(tmp_path / "t.csv", "text,label\na,0\nb,1\nc,2\n")
    common = {"task": "text-classification", "train": [str(train)], "output": str(tmp_path / "o")}
    assert F.FinetuneArgs(**common, problem_type="regression").problem_type == "regression"
    with pytest.raises(ValueError, match="--problem-type must be one of"):
        F.FinetuneArgs(**common, problem_type="multi_label")
    with pytest.raises(ValueError, match="--problem-type"):
        F.FinetuneArgs(**{**common, "task": "token-classification"}, problem_type="regression")
    ns = F.build_parser().parse_args(
        ["--task", "text-classification", "--train", str(train), "--output", "o", "--problem-type", "regression"]
    )
    assert F.args_from_namespace(ns).problem_type == "regression"


def test_finetune_reads_labels_with_the_stated_problem_type(tmp_path, fast):
    import albert_model.training._finetune as F

    train = write(tmp_path / "t.csv", "text,label\na,0\nb,1\nc,2\nd,1.0\n")
    common = {"task": "text-classification", "train": [str(train)], "output": str(tmp_path / "o")}
    with pytest.raises(D.DataError, match=r"t.csv:5: .*--problem-type"):
        F._read(F.FinetuneArgs(**common), fast, [str(train)], None, None)
    features, _, labels = F._read(F.FinetuneArgs(**common, problem_type="regression"), fast, [str(train)], None, None)
    assert labels.kind == "float" and [f["labels"] for f in features] == [0.0, 1.0, 2.0, 1.0]
    features, _, labels = F._read(
        F.FinetuneArgs(**common, problem_type="single_label_classification"), fast, [str(train)], None, None
    )
    assert labels.kind == "int" and [f["labels"] for f in features] == [0, 1, 2, 1]


def test_pretraining_text_names_the_line_of_invalid_utf8(tmp_path):
    from albert_model.training._pretraining_data import read_documents

    path = write(tmp_path / "c.txt", b"one\ntwo\n\nth\xffree\n")
    with pytest.raises(ValueError, match=r"c.txt:4: not UTF-8"):
        read_documents(str(path))


def test_tokenize_input_names_the_file_offset_and_line_of_invalid_utf8(tmp_path, capsys):
    from albert_tok.cli import main

    good = "".join(f"line number {i}\n" for i in range(20_000))  # past one decoded block of text
    path = write(tmp_path / "in.txt", good.encode() + b"bad \xff byte\n")
    assert main(["tokenize", "--input", str(path), "--model", str(SPIECE.parent)]) == 2
    assert f"is not UTF-8 (byte offset {len(good) + 4}) on line 20001" in capsys.readouterr().err


@pytest.mark.parametrize(
    "second, line, words",
    [
        ("sentence\tlabel\nfine\tpositive\n", 2, "'positive' is not a number"),
        ("sentence\tlabel\nfine\t0\nodd\tnan\n", 3, "'nan' is not a finite number"),
    ],
)
def test_a_label_error_names_the_file_it_is_in(tmp_path, second, line, words):
    """With several --train files the label set is made from all of them; an error names the file and line
    of the label it is about (it named the first file with the other file's line)."""
    import albert_model.training._finetune as F
    from albert_tok import AlbertTokenizerFast

    a = write(tmp_path / "a.tsv", "sentence\tlabel\nx\t0\ny\t1\nz\t0\nw\t1\n")
    b = write(tmp_path / "b.tsv", second)
    args = F.FinetuneArgs(
        task="text-classification", train=[str(a), str(b)], output=str(tmp_path / "o"), text_column="sentence"
    )
    with pytest.raises(D.DataError) as info:
        F._read(args, AlbertTokenizerFast(SPIECE), args.train, None, None)
    assert (info.value.path, info.value.line) == (str(b), line)
    assert words in info.value.problem
