"""Fine-tuning data: reading the files users have and turning them into model features (no torch here).

Readers, one per task, each checking its file up front (a regular UTF-8 file: a directory, a device or a
FIFO is refused before anything is read) and raising one :class:`DataError` that names the file, the line and
the fix:

* :func:`read_table` -- CSV, TSV (GLUE style: no quoting) or JSON Lines, one text or a text pair and a label;
* :func:`read_conll` -- CoNLL-style files: a token per line, its tag in the last column, a blank line (or a
  ``-DOCSTART-`` line) between sentences;
* :func:`read_squad` -- SQuAD JSON: the official nested layout (v1.1, or v2.0 with ``is_impossible``), or the
  flat one of Hugging Face ``datasets`` (``{"id", "question", "context", "answers": {"text", "answer_start"}}``
  records under ``"data"``, or one per line in a ``.jsonl`` file);
* :func:`read_multiple_choice` -- SWAG-style rows (``sent1``, ``sent2``, ``ending0``..., ``label``) or
  RACE-style records (``article``, ``question``, ``options``, ``answer``), encoded by
  :func:`encode_multiple_choice` as one row per choice, the same pairs the multiple-choice pipeline scores.

:func:`label_set` decides what the labels are, from the user's ``problem_type`` or from all labels agreeing
(the rule is in its docstring): integer labels are their own ids, other strings are names (kept in
``id2label``, sorted, ``O`` first for tags), real numbers mean regression; one odd label is an error naming its
line, never a change of task. The encoders return one dict of lists per feature; question answering cuts long
contexts into windows of ``max_length`` tokens overlapping by ``stride`` and :func:`squad_predictions` maps the
windows' logits back to answer text.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from albert_model import _tasks
from albert_model._config import MAX_LABELS
from albert_tok.api import MODEL_INPUT_NAMES
from albert_tok.io import first_invalid_utf8, load_json, regular_file
from albert_tok.rules import pad_batch

__all__ = [
    "MAX_CLASS_ID",
    "MAX_FIELD_CHARS",
    "MULTIPLE_CHOICE_FORMATS",
    "PROBLEM_TYPES",
    "RACE_CONTEXT",
    "SWAG_CONTEXT",
    "SWAG_QUESTION",
    "TABLE_FORMATS",
    "ChoiceExample",
    "DataError",
    "LabelSet",
    "QAExample",
    "Sentence",
    "TextExample",
    "choice_pairs",
    "encode_classification",
    "encode_multiple_choice",
    "encode_squad",
    "encode_token_classification",
    "label_ids",
    "label_set",
    "pad_choices",
    "pipeline_inputs",
    "read_conll",
    "read_multiple_choice",
    "read_squad",
    "read_table",
    "squad_predictions",
    "tag_ids",
]

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
"""File suffixes :func:`read_table` reads and the format each one means."""

PROBLEM_TYPES = ("regression", "single_label_classification")
"""What ``problem_type`` (``--problem-type``) may say text-classification labels are."""

MAX_FIELD_CHARS = 1 << 24
"""The longest CSV/TSV field read (16 Mi characters: far past the csv module's default of 131,072 and any
text a model reads). A longer one is refused naming its record: usually an unclosed quote running on."""

MAX_CLASS_ID = 10_000
"""Without ``--num-labels``, integer class ids must be below this (and below 100 times the number of
distinct ids): a date, a score or a typo written as a label is refused before a label table is made."""


class DataError(ValueError):
    """A problem in a data file: ``str(error)`` is ``FILE:LINE: problem; fix``."""

    def __init__(self, path: str | os.PathLike[str], line: int, problem: str, fix: str) -> None:
        self.path, self.line, self.problem, self.fix = os.fspath(path), line, problem, fix
        super().__init__(f"{self.path}:{line}: {problem}; {fix}")


# -- reading files ----------------------------------------------------------------------------------------
def _data_file(path: str | os.PathLike[str]) -> str:
    return regular_file(path, "data file")


def _not_utf8(path: str) -> DataError:
    """The first line of ``path`` that is not UTF-8 (called after decoding failed somewhere in it)."""
    bad = first_invalid_utf8(path)
    if bad is None:
        return DataError(path, 1, "not UTF-8 text", "save the file as UTF-8")
    return DataError(
        path,
        bad.line,
        f"not UTF-8 text ({bad.reason} at byte {bad.column + 1} of the line: {bad.excerpt!r})",
        "save the file as UTF-8",
    )


@contextmanager
def _utf8(path: str) -> Iterator[None]:
    """Reading ``path`` inside: invalid UTF-8 becomes a :class:`DataError` naming its line."""
    try:
        yield
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def _json(text: str, path: str, line: int, fix: str, unique_keys: bool = False) -> Any:
    """``text``, which starts on line ``line`` of ``path``, parsed with its nesting bounded (``load_json``);
    with ``unique_keys`` a key repeated in an object is an error (json keeps the last without a word)."""
    source = f"{path}:{line}"
    try:
        return load_json(text, source, _unique_keys if unique_keys else None)
    except _DuplicateKey as exc:
        raise DataError(path, line, f"key {exc.args[0]!r} appears twice in this object", "give each key once") from None
    except ValueError as exc:  # load_json's "SOURCE: problem", or int's own for a number of over 4300 digits
        message = str(exc)
        if not message.startswith(f"{source}: "):
            raise DataError(path, line, f"a number too long to read ({message.split(':')[0]})", fix) from None
        cause = exc.__cause__
        at = line + cause.lineno - 1 if isinstance(cause, json.JSONDecodeError) else line
        raise DataError(path, at, message.removeprefix(f"{source}: "), fix) from None


# -- text classification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextExample:
    text: str
    text_pair: str | None
    label: str | None  # as written in the file; label_set() decides what it means
    line: int


def _jsonl_rows(path: str, fh: Any) -> Iterator[tuple[int, dict[str, Any], list[str]]]:
    fix = 'JSON Lines files hold one JSON object per line, e.g. {"text": "...", "label": "pos"}'
    for number, text in enumerate(fh, 1):
        if not text.strip():
            continue
        row = _json(text, path, number, fix, unique_keys=True)
        if not isinstance(row, dict):
            raise DataError(path, number, f"a JSON {type(row).__name__}, not an object", fix)
        yield number, row, list(row)


def _rows(path: str, fmt: str, wanted: Sequence[str]) -> Iterator[tuple[int, dict[str, Any], list[str]]]:
    """(line, row, columns) for each record; ``columns`` are the header's (or the JSON object's keys).
    ``wanted``: the columns read, which the header must name once each."""
    with _utf8(path), open(path, encoding="utf-8-sig", newline="") as fh:  # a BOM is not part of a column name
        if fmt == "jsonl":
            yield from _jsonl_rows(path, fh)
            return
        limit = csv.field_size_limit(MAX_FIELD_CHARS)  # the module's limit is global: restored below
        try:
            reader = csv.DictReader(
                fh,
                delimiter="\t" if fmt == "tsv" else ",",
                quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL,
            )
            start = 1
            try:
                columns = list(reader.fieldnames or [])
                for name in wanted:
                    if columns.count(name) > 1:
                        raise DataError(
                            path,
                            1,
                            f"column {name!r} appears {columns.count(name)} times in the header {columns}",
                            "give each column its own name",
                        )
                while True:
                    start = reader.line_num + 1
                    row = next(reader, None)
                    if row is None:
                        break
                    if None in row:  # DictReader puts surplus fields under the key None
                        raise DataError(
                            path,
                            reader.line_num,
                            f"{len(columns) + len(row[None])} fields but the header has {len(columns)}",
                            "quote fields that contain the delimiter, or fix the row",
                        )
                    if any(value is None for value in row.values()):
                        raise DataError(
                            path,
                            reader.line_num,
                            f"{sum(v is not None for v in row.values())} fields but the header has {len(columns)}",
                            "fill in the missing fields",
                        )
                    yield reader.line_num, row, columns
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise DataError(
                        path,
                        start,
                        f"a field of over {MAX_FIELD_CHARS} characters starts in the record of this line",
                        "an unclosed quote runs a field on over the lines after "
                        "it: close it, or double the quotes inside quoted fields",
                    ) from None
                raise DataError(
                    path, start, f"not readable as {fmt.upper()} ({exc})", "fix the quoting of this record"
                ) from None
        finally:
            csv.field_size_limit(limit)


def read_table(
    path: str | os.PathLike[str],
    text_column: str = "text",
    text_pair_column: str | None = None,
    label_column: str | None = "label",
) -> list[TextExample]:
    """Text-classification examples of a CSV, TSV or JSON Lines file (format from the suffix:
    :data:`TABLE_FORMATS`). ``label_column=None`` reads texts only (for prediction)."""
    path = _data_file(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in TABLE_FORMATS:
        raise DataError(
            path,
            1,
            f"unknown table format {suffix or '(no suffix)'!r}",
            f"name the file with one of {', '.join(TABLE_FORMATS)}",
        )
    fmt = TABLE_FORMATS[suffix]
    wanted = [
        ("text", "--text-column", text_column),
        ("text pair", "--text-pair-column", text_pair_column),
        ("label", "--label-column", label_column),
    ]
    examples = []
    for number, row, columns in _rows(path, fmt, [name for _, _, name in wanted if name is not None]):
        for what, flag, name in wanted:
            if name is not None and name not in row:
                where = "the header has" if fmt != "jsonl" else "this object has"
                raise DataError(
                    path,
                    1 if fmt != "jsonl" else number,
                    f"no {what} column {name!r} ({where} {columns})",
                    f"pass {flag} with one of {columns}",
                )
        values = {}
        for what, _flag, name in wanted:
            value = row[name] if name is not None else None
            if name is not None and (value is None or (isinstance(value, (dict, list, bool)))):
                raise DataError(
                    path,
                    number,
                    f"column {name!r} holds {value!r}",
                    f"give every row a {what} (a string{' or number' if what == 'label' else ''})",
                )
            values[what] = None if value is None else str(value)
        if values["label"] is not None and not values["label"].strip():
            raise DataError(path, number, f"empty label in column {label_column!r}", "give every row a label")
        examples.append(TextExample(values["text"] or "", values["text pair"], values["label"], number))
    if not examples:
        raise DataError(path, 1, "no examples", "the file needs a header line and at least one row")
    return examples


@dataclass(frozen=True)
class LabelSet:
    """How labels become ids: ``kind`` is ``"int"`` (the label is the id), ``"str"`` (a name) or ``"float"``
    (regression, one output)."""

    kind: str
    id2label: dict[int, str]

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in self.id2label.items()}

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    def config_overrides(self) -> dict[str, Any]:
        """The ``config.json`` keys of a model trained on these labels."""
        return {
            "num_labels": self.num_labels,
            "id2label": dict(self.id2label),
            "label2id": self.label2id,
            "problem_type": "regression" if self.kind == "float" else "single_label_classification",
        }


_INT = re.compile(r"[+-]?\d+")
_INT_DIGITS = 18  # longer integer texts are far past any class id, and int() refuses over 4300 digits


def _kind(value: str) -> str:
    """What a label's text is: ``"int"`` (digits), ``"whole"`` (a real number of integer value written as
    one: ``1.0``, ``2e0``), ``"real"`` (any other finite number), ``"nonfinite"`` (nan, inf) or ``"name"``."""
    text = value.strip()
    if _INT.fullmatch(text):
        return "int"
    try:
        number = float(text)
    except ValueError:
        return "name"
    if not math.isfinite(number):
        return "nonfinite"
    return "whole" if number.is_integer() else "real"


def _class_id(value: str) -> int:
    """The class id of an ``"int"`` or ``"whole"`` label. Ids of over 18 digits come back as +-2**63 (no
    range check lets them through, and ``int`` of over 4300 digits would raise without naming the line)."""
    text = value.strip()
    if _INT.fullmatch(text):
        digits = text.lstrip("+-").lstrip("0")
        return int(text) if len(digits) <= _INT_DIGITS else (-1 if text.startswith("-") else 1) * 2**63
    number = float(text)
    return int(number) if abs(number) < 2**63 else (-1 if number < 0 else 1) * 2**63


def _show(text: str, quote: bool = True) -> str:
    """A label as messages show it: at most 40 characters (a 5000-digit label would fill the screen)."""
    if len(text) > 40:
        return f"{text[:20]!r}... ({len(text)} characters)"
    return repr(text) if quote else text.strip()


def _is_default_name(i: int, name: str) -> bool:
    return name == f"LABEL_{i}"


_NONFINITE_FIX = "give the row its label (nan and inf are missing or broken values, not labels), or drop the row"


def _check_problem_type(problem_type: str | None) -> None:
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise ValueError(
            f"problem_type must be one of {PROBLEM_TYPES} or None (read from the labels), got {problem_type!r}"
        )


def _decide(labels: Sequence[tuple[str, int]], path: str, problem_type: str | None) -> str:
    """The LabelSet kind of text-classification ``labels`` ("int", "str" or "float"); raises naming the
    line of a label that does not fit the stated ``problem_type``, or that disagrees with the others."""
    kinds = [_kind(value) for value, _ in labels]
    fix_type = (
        "fix the label, or say what the labels are with --problem-type single_label_classification "
        "(class ids or names) or --problem-type regression (real numbers)"
    )
    for (value, line), kind in zip(labels, kinds, strict=False):
        if kind == "nonfinite":
            raise DataError(
                path, line, f"label {_show(value)} is not a finite number (a missing value?)", _NONFINITE_FIX
            )
    if problem_type == "regression":
        for (value, line), kind in zip(labels, kinds, strict=False):
            if kind == "name":
                raise DataError(
                    path,
                    line,
                    f"label {_show(value)} is not a finite number, and --problem-type is regression",
                    "give every row a real number",
                )
        return "float"
    if problem_type == "single_label_classification":
        return "int" if all(k in ("int", "whole") for k in kinds) else "str"
    names = sum(k == "name" for k in kinds)
    if 0 < names < len(kinds):  # names and numbers: the rarer kind is the odd one out (a tie: the later one)
        names_odd = names < len(kinds) - names or (2 * names == len(kinds) and kinds[0] != "name")
        i = next(i for i, k in enumerate(kinds) if (k == "name") == names_odd)
        value, line = labels[i]
        problem = (
            f"label {_show(value)} is not a number, but the other labels are"
            if names_odd
            else f"label {_show(value)} is a number, but the other labels are class names"
        )
        raise DataError(path, line, problem, fix_type)
    if names:
        return "str"
    if "real" in kinds:
        return "float"  # a real number that is no integer: regression, whatever else is whole
    if "whole" in kinds:  # 1.0 among class ids, or whole numbers written as reals: class ids or scores?
        i = kinds.index("whole")
        value, line = labels[i]
        among = "integer class ids" if "int" in kinds else "whole numbers written as real numbers"
        raise DataError(
            path,
            line,
            f"label {_show(value)} is a real number of integer value among {among}: class "
            f"{_class_id(value)} or a score?",
            fix_type,
        )
    return "int"


def label_set(
    labels: Sequence[tuple[str, int]],
    path: str,
    num_labels: int | None = None,
    base: dict[int, str] | None = None,
    tags: bool = False,
    problem_type: str | None = None,
) -> LabelSet:
    """The :class:`LabelSet` of ``labels`` (``(label, line)`` pairs of training file ``path``).

    ``problem_type`` (``--problem-type``, text classification only) says what the labels are; every label
    must fit it: ``"regression"`` takes finite numbers, ``"single_label_classification"`` integer class ids
    (``1.0`` is class 1) or, when any label is not one, class names (every label as written). Without it, all
    labels must agree: all integers are class ids, all names are class names, all numbers with at least one
    that is not a whole number are regression; a name among numbers (or a number among names), a ``1.0`` among
    integers (or labels that are all whole numbers written as reals) is an error naming that label's line.
    ``nan`` and ``inf`` are never labels. Class ids are checked before a table of them is made: at most
    ``MAX_CLASS_ID`` and 100 times the number of distinct ids without ``num_labels``, below ``num_labels``
    (``--num-labels``, at most ``config.MAX_LABELS``) with it. A training set of one class (or of one
    regression value) is refused: it trains to zero loss and learns nothing.

    ``num_labels`` must agree with the data; ``base`` is the pretrained config's ``id2label``: when it has real
    names covering every label, its ids are kept. ``tags`` (token classification: names) puts ``O`` first.
    """
    if num_labels is not None and (
        not isinstance(num_labels, int) or isinstance(num_labels, bool) or not 1 <= num_labels <= MAX_LABELS
    ):
        raise ValueError(f"num_labels must be an int in [1, {MAX_LABELS}], got {num_labels!r}")
    _check_problem_type(problem_type)
    if tags and problem_type is not None:
        raise ValueError(
            f"problem_type applies to text classification only; tags are class names (got {problem_type!r})"
        )
    if not labels:
        raise DataError(path, 1, "no labels", "the training data needs labelled examples")
    kind = "str" if tags else _decide(labels, path, problem_type)
    fix_count = "drop --num-labels (it is read from the data) or fix the labels"
    one_class = (
        "a classifier needs examples of at least two classes (with one it trains to zero loss and learns nothing)"
    )
    if kind == "float":
        values = [float(v) for v, _ in labels]
        for (text, line), value in zip(labels, values, strict=False):
            if not math.isfinite(value):  # digits past the float range
                raise DataError(path, line, f"label {_show(text)} is too large for a real number", "fix the label")
        if num_labels not in (None, 1):
            line = next((n for v, n in labels if _kind(v) == "real"), labels[0][1])
            raise DataError(
                path,
                line,
                f"labels are real numbers (regression, one output) but --num-labels is {num_labels}",
                fix_count,
            )
        if len(set(values)) == 1:
            raise DataError(
                path,
                labels[0][1],
                f"every label is {values[0]:g}: a regression needs labels that differ",
                "add examples with other values",
            )
        return LabelSet("float", {0: "LABEL_0"})
    if kind == "int":
        ids = [_class_id(v) for v, _ in labels]
        for (text, line), value in zip(labels, ids, strict=False):
            if value < 0:
                raise DataError(
                    path, line, f"label {_show(text, False)} is negative", "integer labels are class ids 0, 1, ..."
                )
        top_index = max(range(len(ids)), key=ids.__getitem__)  # the first of the largest id
        top, (top_text, top_line) = ids[top_index], labels[top_index]
        distinct = len(set(ids))
        if num_labels is not None and top >= num_labels:
            raise DataError(
                path,
                top_line,
                f"label {_show(top_text, False)} is out of range for --num-labels "
                f"{num_labels} (ids 0..{num_labels - 1})",
                fix_count,
            )
        bound = min(MAX_CLASS_ID, 100 * distinct)
        if num_labels is None and top >= bound:
            raise DataError(
                path,
                top_line,
                f"label {_show(top_text, False)} is a class id far above the others "
                f"({distinct} distinct ids; without --num-labels ids must be below "
                f"{bound})",
                "class ids are 0, 1, ...: fix the label, or pass "
                "--num-labels N for ids 0..N-1 (--problem-type regression "
                "for scores)",
            )
        if distinct == 1:
            raise DataError(
                path,
                labels[0][1],
                f"every label is class {top} (one class): {one_class}",
                "add examples of another class",
            )
        count = num_labels or top + 1
        named = (
            base if base and len(base) == count and not all(_is_default_name(i, s) for i, s in base.items()) else None
        )
        return LabelSet("int", dict(named) if named else {i: f"LABEL_{i}" for i in range(count)})
    names: dict[str, int] = {}  # name -> line of first use
    for name, line in labels:
        names.setdefault(name, line)
    if base and set(names) <= set(base.values()) and (num_labels is None or num_labels == len(base)):
        if len(names) == 1:
            raise DataError(
                path,
                labels[0][1],
                f"every label is {_show(labels[0][0])} (one class): {one_class}",
                "add examples of another class",
            )
        return LabelSet("str", dict(base))
    ordered = sorted(names, key=lambda s: (s != "O", s)) if tags else sorted(names)
    if num_labels is not None and num_labels != len(ordered):
        line = names[ordered[num_labels]] if len(ordered) > num_labels else 1
        raise DataError(
            path,
            line,
            f"the data has {len(ordered)} label names {ordered[:20]} but --num-labels is {num_labels}",
            fix_count,
        )
    if len(ordered) == 1:
        what = "tag" if tags else "label"
        raise DataError(
            path,
            labels[0][1],
            f"every {what} is {_show(ordered[0])} (one class): {one_class}",
            f"add examples of another {'tag' if tags else 'class'}",
        )
    return LabelSet("str", dict(enumerate(ordered)))


def label_ids(
    labels: Sequence[tuple[str, int]], path: str, label_set: LabelSet, problem_type: str | None = None
) -> list[int | float]:
    """Each ``(label, line)`` as its id (or float value), checked against ``label_set`` (made from the
    training files, with the same ``problem_type``): an unknown name, an id out of range or a label of
    another kind raises naming the line."""
    _check_problem_type(problem_type)
    out: list[int | float] = []
    table = label_set.label2id
    ids = ("int", "whole") if problem_type == "single_label_classification" else ("int",)
    for value, line in labels:
        kind = _kind(value)
        if label_set.kind == "float":
            if kind not in ("int", "whole", "real") or not math.isfinite(float(value)):
                what = "a number" if kind == "name" else "a finite number"
                raise DataError(
                    path,
                    line,
                    f"label {_show(value)} is not {what} but the training labels are (regression)",
                    "use numeric labels in every file",
                )
            out.append(float(value))
        elif label_set.kind == "int":
            if kind not in ids or not 0 <= _class_id(value) < label_set.num_labels:
                raise DataError(
                    path,
                    line,
                    f"label {_show(value)} is not a class id 0..{label_set.num_labels - 1} of the training data",
                    "fix the label or add it to the training data",
                )
            out.append(_class_id(value))
        else:
            if value not in table:
                raise DataError(
                    path,
                    line,
                    f"label {_show(value)} does not occur in the training data (labels: {sorted(table)[:20]})",
                    "fix the label or add examples of it to the training data",
                )
            out.append(table[value])
    return out


def encode_classification(
    tokenizer: Any, examples: Sequence[TextExample], labels: Sequence[int | float] | None, max_length: int
) -> list[dict[str, Any]]:
    """One feature per example: ``input_ids``, ``token_type_ids``, ``attention_mask`` and ``labels``."""
    texts = [e.text for e in examples]
    pairs = [e.text_pair or "" for e in examples] if any(e.text_pair is not None for e in examples) else None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
    features = [{k: enc[k][i] for k in MODEL_INPUT_NAMES} for i in range(len(texts))]
    if labels is not None:
        for feature, label in zip(features, labels, strict=False):
            feature["labels"] = label
    return features


# -- token classification -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sentence:
    tokens: list[str]
    tags: list[str]
    line: int  # of the first token


def read_conll(path: str | os.PathLike[str]) -> list[Sentence]:
    """Sentences of a CoNLL-style file: ``TOKEN [other columns] TAG`` per line (spaces or tabs), a blank line
    or ``-DOCSTART-`` between sentences."""
    path = _data_file(path)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    first = 0
    with _utf8(path), open(path, encoding="utf-8-sig") as fh:
        for number, text in enumerate(fh, 1):
            columns = text.split()
            if not columns or columns[0] == "-DOCSTART-":
                if tokens:
                    sentences.append(Sentence(tokens, tags, first))
                tokens, tags = [], []
                continue
            if len(columns) < 2:
                raise DataError(
                    path,
                    number,
                    f"{text.strip()!r} has no tag column",
                    "CoNLL lines are 'TOKEN [other columns] TAG' separated by spaces or tabs, with a "
                    "blank line between sentences: add the tag (e.g. O)",
                )
            if not tokens:
                first = number
            tokens.append(columns[0])
            tags.append(columns[-1])
    if tokens:
        sentences.append(Sentence(tokens, tags, first))
    if not sentences:
        raise DataError(path, 1, "no sentences", "write a token and its tag per line, a blank line between sentences")
    return sentences


def tag_ids(sentences: Sequence[Sentence], path: str, labels: LabelSet) -> list[list[int]]:
    """Tags as ids; a tag the training data does not have raises naming its line."""
    table = labels.label2id
    out = []
    for sentence in sentences:
        for i, tag in enumerate(sentence.tags):
            if tag not in table:
                raise DataError(
                    path,
                    sentence.line + i,
                    f"tag {tag!r} does not occur in the training data (tags: {sorted(table)[:20]})",
                    "fix the tag or add examples of it to the training data",
                )
        out.append([table[t] for t in sentence.tags])
    return out


def encode_token_classification(
    tokenizer: Any, sentences: Sequence[Sentence], tags: Sequence[Sequence[int]], max_length: int
) -> list[dict[str, Any]]:
    """One feature per sentence (truncated to ``max_length``); each word's tag goes on its first sub-token,
    the other sub-tokens and the special tokens get -100. ``word_ids`` is kept for evaluation."""
    enc = tokenizer([s.tokens for s in sentences], is_split_into_words=True, truncation=True, max_length=max_length)
    features = []
    for i, ids in enumerate(tags):
        words = enc.word_ids(i)
        labels, previous = [], None
        for word in words:
            labels.append(-100 if word is None or word == previous else ids[word])
            previous = word
        features.append(
            {
                "input_ids": enc["input_ids"][i],
                "token_type_ids": enc["token_type_ids"][i],
                "attention_mask": enc["attention_mask"][i],
                "labels": labels,
                "word_ids": words,
            }
        )
    return features


# -- question answering -------------------------------------------------------------------------------
@dataclass(frozen=True)
class QAExample:
    id: str
    question: str
    context: str
    answers: list[str]  # empty: unanswerable
    answer_starts: list[int]
    line: int


_ID_LINE = re.compile(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _id_lines(raw: str) -> dict[str, int]:
    """The line of each question id in the file's text (for error messages; one pass over the text)."""
    lines: dict[str, int] = {}
    line, position = 1, 0
    for match in _ID_LINE.finditer(raw):
        line += raw.count("\n", position, match.start())
        position = match.start()
        lines.setdefault(match.group(1), line)
    return lines


def _a(value: Any) -> str:
    """A JSON value's type as messages name it."""
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
        int: "a number",
        float: "a number",
    }.get(type(value), f"a {type(value).__name__}")


_ANSWER_FIX = (
    'answers are [{"text": "...", "answer_start": N}, ...] (N: the character where the text starts in the '
    'context) or, as in datasets, {"text": [...], "answer_start": [...]} with one start per text'
)


def _answers(qa: dict[str, Any], qid: str, path: str, line: int) -> list[tuple[Any, Any]]:
    """The ``(text, answer_start)`` pairs of a question, its ``answers`` checked for shape."""
    answers = qa.get("answers", [])
    if isinstance(answers, dict):  # datasets' layout: {"text": [...], "answer_start": [...]}
        texts, starts = answers.get("text"), answers.get("answer_start")
        if not isinstance(texts, list) or not isinstance(starts, list):
            raise DataError(
                path,
                line,
                f"question {qid!r}: answers 'text' is {_a(texts)} and 'answer_start' {_a(starts)}, not two lists",
                _ANSWER_FIX,
            )
        if len(texts) != len(starts):
            raise DataError(
                path,
                line,
                f"question {qid!r} has {len(texts)} answer texts but {len(starts)} answer_start values",
                "give one answer_start per answer text",
            )
        return list(zip(texts, starts, strict=False))
    if not isinstance(answers, list):
        raise DataError(
            path, line, f"question {qid!r}: 'answers' is {_a(answers)} ({_show(str(answers))}), not a list", _ANSWER_FIX
        )
    pairs = []
    for answer in answers:
        if not isinstance(answer, dict):
            raise DataError(
                path,
                line,
                f"question {qid!r} has an answer that is {_a(answer)}, not an object: {_show(repr(answer), False)}",
                _ANSWER_FIX,
            )
        pairs.append((answer.get("text"), answer.get("answer_start")))
    return pairs


def _qa_example(qa: Any, context: Any, path: str, line: int, where: str, nested: bool) -> QAExample:
    """One question, checked: ``where`` is its place in the file (``data[0].paragraphs[1].qas[2]``, or
    ``line N`` in a ``.jsonl`` file, where a question without an id gets ``N``), ``nested`` whether it is in
    the official layout (where only ``is_impossible`` makes a question unanswerable; in the flat one of
    datasets an empty answer list does)."""
    if not isinstance(qa, dict):
        raise DataError(
            path,
            line,
            f"{where} is {_a(qa)}, not an object",
            "each question is an object with 'id', 'question', 'answers' (and, in the flat layout, 'context')",
        )
    id_fix = "give every question a unique string 'id' (answers are scored by it)"
    if "id" not in qa and not where.startswith("line "):
        raise DataError(path, line, f"{where} has no 'id'", id_fix)
    qid: Any = qa.get("id", str(line))
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str):
        raise DataError(path, line, f"{where} has 'id' {_show(repr(qid), False)}, not a string", id_fix)
    if not isinstance(qa.get("question"), str) or not isinstance(context, str):
        raise DataError(
            path,
            line,
            f"question {qid!r} has 'question' {_a(qa.get('question'))} and 'context' {_a(context)}, not two strings",
            "each question needs 'id', 'question' and (or its paragraph) 'context'",
        )
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise DataError(
            path,
            line,
            f"question {qid!r} has is_impossible {_show(repr(impossible), False)}, which is {_a(impossible)}",
            "write is_impossible as JSON true or false (no quotes)",
        )
    pairs = _answers(qa, qid, path, line)
    if impossible and pairs:
        raise DataError(
            path,
            line,
            f"question {qid!r} is marked is_impossible but has {len(pairs)} answer{'s' if len(pairs) > 1 else ''}",
            "drop its answers (keep them as 'plausible_answers'), or set is_impossible to false",
        )
    if nested and not impossible and not pairs:
        raise DataError(
            path,
            line,
            f"question {qid!r} has no answers and is not marked is_impossible",
            "give it its answers, or set is_impossible to true (SQuAD 2.0)",
        )
    texts, starts = [], []
    for text, start in pairs:
        if not isinstance(text, str) or not isinstance(start, int) or isinstance(start, bool):
            raise DataError(
                path,
                line,
                f"question {qid!r} has an answer without a 'text' string and an integer "
                f"'answer_start': text {_show(repr(text), False)}, answer_start "
                f"{_show(repr(start), False)}",
                "give each answer both",
            )
        if not text:
            raise DataError(path, line, f"question {qid!r} has an empty answer text", "give the answer's text")
        if context[start : start + len(text)] != text or start < 0:
            found = [m.start() for m in re.finditer(re.escape(text), context)]
            fix = (
                f"set answer_start to {min(found, key=lambda s: abs(s - start))} (where the text occurs)"
                if found
                else "the answer text does not occur in the context: fix the text or the context"
            )
            shown = context[start : start + len(text)] if start >= 0 else ""
            raise DataError(
                path,
                line,
                f"answer {text!r} of question {qid!r} has answer_start {start}, but the context there reads {shown!r}",
                fix,
            )
        texts.append(text)
        starts.append(start)
    return QAExample(qid, qa["question"], context, texts, starts, line)


def _list(value: Any, where: str, path: str, line: int, fix: str) -> list[Any]:
    if not isinstance(value, list):
        raise DataError(path, line, f"{where} is {_a(value)}, not a list", fix)
    return value


_LAYOUT = (
    'SQuAD files are {"data": [{"paragraphs": [{"context": "...", "qas": [{"id": ..., "question": ..., '
    '"answers": [...]}]}]}]} or, as in datasets, {"data": [{"id", "question", "context", "answers"}, ...]}'
)


def read_squad(path: str | os.PathLike[str]) -> tuple[list[QAExample], int]:
    """The questions of a SQuAD file and the SQuAD version that scores them (2 when the file says so or any
    question is unanswerable, else 1). Every level is checked for shape (``is_impossible`` is a JSON boolean,
    answer lists are lists of equal length, ids are unique); errors name the line of the question's ``id``
    (in a ``.jsonl`` file, its line) and its place in the file."""
    path = _data_file(path)
    with _utf8(path), open(path, encoding="utf-8-sig") as fh:
        raw = fh.read()
    lines = _id_lines(raw)

    def line_of(qa: Any, fallback: int = 1) -> int:
        qid = qa.get("id") if isinstance(qa, dict) else None
        return lines.get(str(qid), fallback) if isinstance(qid, (str, int)) else fallback

    examples: list[QAExample] = []
    if path.lower().endswith(".jsonl"):
        for number, text in enumerate(raw.splitlines(), 1):
            if text.strip():
                record = _json(text, path, number, "one question object per line")
                examples.append(
                    _qa_example(
                        record,
                        record.get("context") if isinstance(record, dict) else None,
                        path,
                        number,
                        f"line {number}",
                        nested=False,
                    )
                )
        version_field: Any = None
    else:
        document = _json(raw, path, 1, "fix the JSON")
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise DataError(path, 1, "no 'data' list at the top level", _LAYOUT)
        version_field = document.get("version")
        for i, item in enumerate(document["data"]):
            if not isinstance(item, dict):
                raise DataError(path, 1, f"data[{i}] is {_a(item)}, not an object", _LAYOUT)
            if "paragraphs" not in item:  # the flat layout of datasets
                examples.append(_qa_example(item, item.get("context"), path, line_of(item), f"data[{i}]", nested=False))
                continue
            paragraphs = _list(item["paragraphs"], f"data[{i}].paragraphs", path, 1, _LAYOUT)
            for j, paragraph in enumerate(paragraphs):
                where = f"data[{i}].paragraphs[{j}]"
                if not isinstance(paragraph, dict):
                    raise DataError(path, 1, f"{where} is {_a(paragraph)}, not an object", _LAYOUT)
                qas = _list(paragraph.get("qas", []), f"{where}.qas", path, 1, _LAYOUT)
                for k, qa in enumerate(qas):
                    examples.append(
                        _qa_example(qa, paragraph.get("context"), path, line_of(qa), f"{where}.qas[{k}]", nested=True)
                    )
    if not examples:
        raise DataError(path, 1, "no questions", "the file needs at least one question")
    seen: dict[str, int] = {}
    for e in examples:
        if e.id in seen:
            raise DataError(
                path,
                e.line,
                f"question id {e.id!r} occurs twice (first on line {seen[e.id]})",
                "give every question its own id (answers are scored by id)",
            )
        seen[e.id] = e.line
    stated = str(version_field or "").lstrip("v")
    version = 2 if stated.startswith("2") or any(not e.answers for e in examples) else 1
    return examples, version


def encode_squad(
    tokenizer: Any, examples: Sequence[QAExample], max_length: int, stride: int, path: str = ""
) -> list[dict[str, Any]]:
    """Question + context windows of at most ``max_length`` tokens, overlapping by ``stride`` tokens.

    Each feature has the model inputs, ``start_positions``/``end_positions`` of the (first) answer, or of
    ``[CLS]`` when the window does not hold it or the question has none, ``example_index`` and ``offsets``
    (character spans of context tokens, None elsewhere) for :func:`squad_predictions`.
    """
    overhead = 3  # [CLS] question [SEP] context [SEP]
    questions = tokenizer([e.question.lstrip() for e in examples], add_special_tokens=False)["input_ids"]
    for e, ids in zip(examples, questions, strict=False):
        length = len(ids)
        if length + overhead + stride >= max_length:
            raise DataError(
                path,
                e.line,
                f"question {e.id!r} is {length} tokens: with the special tokens and a "
                f"window overlap of {stride} it leaves no room for context in --max-seq-length "
                f"{max_length}",
                "raise --max-seq-length, lower --doc-stride or shorten the question",
            )
    enc = tokenizer(
        [e.question.lstrip() for e in examples],
        [e.context for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features = []
    for i, sample in enumerate(enc["overflow_to_sample_mapping"]):
        example = examples[sample]
        sequence = enc.sequence_ids(i)
        offsets = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][i], sequence, strict=False)]
        start = end = 0  # [CLS]
        if example.answers:
            first_char = example.answer_starts[0]
            last_char = first_char + len(example.answers[0])
            context = [j for j, s in enumerate(sequence) if s == 1]
            if context and offsets[context[0]][0] <= first_char and offsets[context[-1]][1] >= last_char:  # type: ignore[index]
                start = next(j for j in reversed(context) if offsets[j][0] <= first_char)  # type: ignore[index]
                end = next(j for j in context if offsets[j][1] >= last_char)  # type: ignore[index]
        features.append(
            {
                "input_ids": enc["input_ids"][i],
                "token_type_ids": enc["token_type_ids"][i],
                "attention_mask": enc["attention_mask"][i],
                "start_positions": start,
                "end_positions": end,
                "example_index": sample,
                "offsets": offsets,
            }
        )
    return features


def squad_predictions(
    examples: Sequence[QAExample],
    features: Sequence[dict[str, Any]],
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    version: int,
    n_best: int = 20,
    max_answer_length: int = 30,
    null_threshold: float = 0.0,
) -> dict[str, str]:
    """Answer text per question id from the windows' logits (as transformers' ``run_qa`` post-processing):
    the best-scoring span of context tokens (start + end logit) over all windows of the question, at most
    ``max_answer_length`` tokens; with SQuAD v2 the empty answer when the lowest ``[CLS]`` score beats it by
    more than ``null_threshold``."""
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    for feature, starts, ends in zip(features, start_logits, end_logits, strict=False):
        k, offsets = feature["example_index"], feature["offsets"]
        context = examples[k].context
        null[k] = min(null.get(k, math.inf), float(starts[0] + ends[0]))
        top_starts = np.argsort(starts)[::-1][:n_best]
        top_ends = np.argsort(ends)[::-1][:n_best]
        for s in top_starts:
            for e in top_ends:
                if s >= len(offsets) or e >= len(offsets) or offsets[s] is None or offsets[e] is None:
                    continue
                if e < s or e - s + 1 > max_answer_length:
                    continue
                score = float(starts[s] + ends[e])
                if k not in best or score > best[k][0]:
                    best[k] = (score, context[offsets[s][0] : offsets[e][1]].strip())
    answers = {}
    for k, example in enumerate(examples):
        score, text = best.get(k, (-math.inf, ""))
        if version == 2 and k in null and null[k] > score + null_threshold:
            text = ""
        answers[example.id] = text
    return answers


# -- multiple choice ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChoiceExample:
    """One multiple-choice question: a context, an optional question (or start of the continuation), the
    endings to choose from, and the index of the right one (None when read without labels)."""

    context: str
    question: str
    endings: tuple[str, ...]
    label: int | None
    line: int


SWAG_CONTEXT = ("sent1", "context", "startphrase")
"""SWAG-style context columns, the first present one read: ``sent1`` (SWAG and run_swag), ``context``, or
``startphrase`` (SWAG's whole first sentence, when there is no ``sent1``)."""
SWAG_QUESTION = ("sent2", "question")
"""SWAG-style columns that start every ending (run_swag's ``sent2`` header), optional; read only with the
context column they go with: ``sent2`` with ``sent1``, ``question`` with ``context``."""
RACE_CONTEXT = ("article", "context")
"""RACE-style keys of the passage a question is about."""
MULTIPLE_CHOICE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
"""File suffixes :func:`read_multiple_choice` reads and the format each one means."""

_ENDING = re.compile(r"ending(\d+)")
_MC_LAYOUTS = (
    "multiple-choice rows are SWAG-style ({'sent1', 'sent2', 'ending0', 'ending1', ..., 'label'}; CSV, TSV or "
    "JSON Lines) or RACE-style ({'article', 'question', 'options': [...], 'answer': 'A'}; JSON or JSON Lines)"
)


def choice_pairs(example: ChoiceExample) -> tuple[list[str], list[str]]:
    """The ``(first, second)`` text pairs of an example's choices, as the tokenizer takes them: the context
    for every choice, and ``choice_text`` of each ending (:func:`albert_model._tasks.choice_pairs`, the rule the
    pipeline encodes with too).

    The multiple-choice pipeline encodes ``{"question": Q, "choices": C}`` as the pairs ``([Q] * len(C), C)``
    with the same truncation, so a model trained on these features is called with
    :func:`pipeline_inputs` of the example.

    Args:
        example: The question.

    Returns:
        Two lists of ``len(example.endings)`` strings.
    """
    return _tasks.choice_pairs(example.context, example.question, example.endings)


def pipeline_inputs(example: ChoiceExample) -> dict[str, Any]:
    """What ``pipeline("multiple-choice")`` takes for ``example`` so that it sees the input ids training saw.

    Args:
        example: The question.

    Returns:
        ``{"question": the context, "choices": [choice_text(question, ending), ...]}``.
    """
    first, second = choice_pairs(example)
    return {"question": first[0] if first else example.context, "choices": second}


def _choice_label(value: Any, count: int, path: str, line: int, key: str) -> int:
    """The index of the right ending: an integer (or its digits) 0..count-1, or a letter A.. (RACE's answer)."""
    letters = "".join(chr(ord("A") + i) for i in range(min(count, 26)))
    accepted = f"an index 0..{count - 1} or a letter {letters[0]}..{letters[-1]}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DataError(
            path, line, f"{key} is {_a(value)} {_show(repr(value), False)}", f"write the {key} as {accepted}"
        )
    text = str(value).strip()
    if len(text) == 1 and text.isalpha() and text.isascii():
        index = ord(text.upper()) - ord("A")
    elif _INT.fullmatch(text):
        index = _class_id(text)
    else:
        raise DataError(path, line, f"{key} {_show(text)} is neither an index nor a letter", f"write it as {accepted}")
    if not 0 <= index < count:
        raise DataError(
            path,
            line,
            f"{key} {_show(text)} is out of range for {count} choices",
            f"write it as {accepted}, or fix the number of choices",
        )
    return index


def _text(value: Any, what: str, path: str, line: int) -> str:
    if not isinstance(value, str):
        raise DataError(path, line, f"{what} is {_a(value)}, not a string", f"give every row its {what} as text")
    return value


def _swag_example(row: dict[str, Any], columns: list[str], path: str, line: int, labels: bool) -> ChoiceExample:
    context_key = next((k for k in SWAG_CONTEXT if k in row), None)
    if context_key is None:
        raise DataError(
            path,
            line,
            f"no context column (one of {list(SWAG_CONTEXT)}) among {columns}",
            _MC_LAYOUTS,
        )
    question_key = {"sent1": "sent2", "context": "question"}.get(context_key)
    numbers = sorted(int(m.group(1)) for k in row if (m := _ENDING.fullmatch(k)))
    if numbers != list(range(len(numbers))) or len(numbers) < 2:
        raise DataError(
            path,
            line,
            f"the endings are columns {[f'ending{n}' for n in numbers]}",
            "give at least two endings, named ending0, ending1, ... without gaps",
        )
    endings = tuple(_text(row[f"ending{n}"], f"ending{n}", path, line) for n in numbers)
    question = row.get(question_key, "") if question_key else ""
    label = None
    if labels:
        if "label" not in row:
            raise DataError(path, line, f"no 'label' column among {columns}", "give every row its right ending's index")
        label = _choice_label(row["label"], len(endings), path, line, "label")
    return ChoiceExample(
        _text(row[context_key], context_key, path, line),
        _text(question if question is not None else "", question_key or "question", path, line),
        endings,
        label,
        line,
    )


def _race_examples(record: dict[str, Any], path: str, line: int, where: str, labels: bool) -> list[ChoiceExample]:
    """The questions of one RACE-style record: one question (``question``, ``options``, ``answer``, as in
    Hugging Face's ``race``) or a whole article as the original files hold it (``questions``, ``options`` a
    list per question, ``answers``)."""
    context_key = next((k for k in RACE_CONTEXT if k in record), None)
    if context_key is None:
        raise DataError(path, line, f"{where} has no 'article' (keys: {sorted(record)[:10]})", _MC_LAYOUTS)
    context = _text(record[context_key], f"{where} {context_key!r}", path, line)
    if "questions" in record:  # the original layout: one article, its questions in parallel lists
        questions, options, answers = record["questions"], record.get("options"), record.get("answers")
        if not isinstance(questions, list) or not isinstance(options, list) or len(options) != len(questions):
            raise DataError(
                path,
                line,
                f"{where}: 'questions' is {_a(questions)} and 'options' {_a(options)}, not lists of equal length",
                "give one list of options per question",
            )
        if labels and (not isinstance(answers, list) or len(answers) != len(questions)):
            raise DataError(
                path,
                line,
                f"{where}: 'answers' is not a list of one answer per question",
                "give every question its answer",
            )
        items = [
            {"question": q, "options": o, "answer": answers[i] if isinstance(answers, list) and labels else None}
            for i, (q, o) in enumerate(zip(questions, options, strict=True))
        ]
    else:
        items = [record]
    examples = []
    for i, item in enumerate(items):
        at = where if len(items) == 1 and "questions" not in record else f"{where} question {i}"
        if "question" not in item:
            raise DataError(path, line, f"{at} has no 'question'", _MC_LAYOUTS)
        options = item.get("options")
        if not isinstance(options, list) or len(options) < 2:
            raise DataError(
                path,
                line,
                f"{at}: 'options' is {_a(options)}{f' of {len(options)}' if isinstance(options, list) else ''}",
                "give a list of at least two options",
            )
        endings = tuple(_text(o, f"{at} option {j}", path, line) for j, o in enumerate(options))
        label = None
        if labels:
            if "answer" not in item:
                raise DataError(
                    path, line, f"{at} has no 'answer'", "give every question its answer (A, B, ... or 0, 1, ...)"
                )
            label = _choice_label(item["answer"], len(endings), path, line, "answer")
        examples.append(
            ChoiceExample(context, _text(item["question"], f"{at} question", path, line), endings, label, line)
        )
    return examples


def read_multiple_choice(
    path: str | os.PathLike[str], labels: bool = True, num_choices: int | None = None
) -> list[ChoiceExample]:
    """Multiple-choice questions of a SWAG-style or RACE-style file (format from the suffix:
    :data:`MULTIPLE_CHOICE_FORMATS`).

    SWAG-style rows (CSV, TSV, JSON Lines; transformers' ``run_swag`` and the SWAG dataset): the context in
    ``sent1`` (else ``context``, else ``startphrase``), an optional start of the continuation in ``sent2``
    (``question`` with ``context``), the endings in ``ending0``, ``ending1``, ... (at least two, no gap) and
    ``label``, the right ending's index. RACE-style records (JSON Lines, or a JSON file holding one record, a
    list of them or ``{"data": [...]}``; the RACE dataset): ``article`` (or ``context``), ``question``,
    ``options`` (a list) and ``answer``; or an article with its questions as the original RACE files hold
    it: ``questions``, ``options`` (a list per question) and ``answers``. A JSON Lines file may mix the two.
    Labels are an index (``0``, ``"2"``) or a letter (``"A"``) within the number of choices.

    Args:
        path: The data file.
        labels: False reads questions without their answers (for prediction): label fields are not read.
        num_choices: The number of choices every question must have (the training files'); None: that of
            the first question.

    Returns:
        The questions in file order, each with as many endings as the first (or ``num_choices``).

    Raises:
        DataError: The file has a problem: an unknown suffix, a missing column or key, fewer than two or a
            different number of endings, a label out of range, a field that is not text, no questions; the
            message names the file, the line and the fix.
        NotARegularFileError: ``path`` is a directory, a device or a FIFO.
        FileNotFoundError: ``path`` does not exist.
    """
    path = _data_file(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in MULTIPLE_CHOICE_FORMATS:
        raise DataError(
            path,
            1,
            f"unknown multiple-choice format {suffix or '(no suffix)'!r}",
            f"name the file with one of {', '.join(MULTIPLE_CHOICE_FORMATS)}",
        )
    fmt = MULTIPLE_CHOICE_FORMATS[suffix]
    examples: list[ChoiceExample] = []
    if fmt == "json":
        with _utf8(path), open(path, encoding="utf-8-sig") as fh:
            document = _json(fh.read(), path, 1, "fix the JSON", unique_keys=True)
        records = document.get("data") if isinstance(document, dict) and "data" in document else document
        records = [records] if isinstance(records, dict) else records
        if not isinstance(records, list):
            raise DataError(path, 1, f"the file holds {_a(records)}", _MC_LAYOUTS)
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise DataError(path, 1, f"record {i} is {_a(record)}, not an object", _MC_LAYOUTS)
            examples.extend(_race_examples(record, path, 1, f"record {i}", labels))
    else:
        wanted = (*SWAG_CONTEXT, *SWAG_QUESTION, "label")
        for number, row, columns in _rows(path, fmt, wanted):
            if fmt == "jsonl" and ("options" in row or "questions" in row):
                examples.extend(_race_examples(row, path, number, f"line {number}", labels))
            else:
                examples.append(_swag_example(row, columns, path, number, labels))
    if not examples:
        raise DataError(path, 1, "no questions", "the file needs at least one question")
    expected = num_choices if num_choices is not None else len(examples[0].endings)
    for e in examples:
        if len(e.endings) != expected:
            source = "the training data's" if num_choices is not None else "the first question's"
            raise DataError(
                path,
                e.line,
                f"{len(e.endings)} choices, but {source} number is {expected}",
                "give every question the same number of choices",
            )
    return examples


def encode_multiple_choice(tokenizer: Any, examples: Sequence[ChoiceExample], max_length: int) -> list[dict[str, Any]]:
    """One feature per question: each model input a list of ``num_choices`` rows, one per choice, encoded as
    ``[CLS] context [SEP] choice_text(question, ending) [SEP]`` (:func:`choice_pairs`) and cut to
    ``max_length`` tokens longest-first (the longer segment loses a token at a time), as transformers'
    ``run_swag`` and the multiple-choice pipeline encode them; ``labels`` when the examples have them.

    Args:
        tokenizer: The tokenizer (slow or fast).
        examples: The questions, all with the same number of endings.
        max_length: The longest row in tokens, special tokens included.

    Returns:
        Features ``{"input_ids": [[...], ...], "token_type_ids": ..., "attention_mask": ..., "labels": int}``,
        rows unpadded (:func:`pad_choices` pads a batch).
    """
    firsts: list[str] = []
    seconds: list[str] = []
    for example in examples:
        first, second = choice_pairs(example)
        firsts.extend(first)
        seconds.extend(second)
    enc = _tasks.encode_choices(tokenizer, firsts, seconds, max_length) if firsts else {}
    features: list[dict[str, Any]] = []
    start = 0
    for example in examples:
        stop = start + len(example.endings)
        feature: dict[str, Any] = {k: [list(enc[k][i]) for i in range(start, stop)] for k in MODEL_INPUT_NAMES}
        if example.label is not None:
            feature["labels"] = example.label
        features.append(feature)
        start = stop
    return features


def pad_choices(features: Sequence[dict[str, Any]], pad_id: int) -> dict[str, np.ndarray]:
    """A batch of multiple-choice features as int64 arrays: each model input ``(batch, num_choices, width)``,
    padded on the right to the longest row of the batch (``input_ids`` with ``pad_id``, the others with 0, by
    :func:`albert_tok.rules.pad_batch`), and ``labels`` ``(batch,)`` when the features have them.

    Args:
        features: Features of :func:`encode_multiple_choice`, all with the same number of choices.
        pad_id: The tokenizer's pad id.

    Returns:
        ``input_ids``, ``token_type_ids``, ``attention_mask`` (and ``labels``), in that order.

    Raises:
        ValueError: No features, or features with different numbers of choices.
    """
    if not features:
        raise ValueError("pad_choices needs at least one feature")
    counts = {len(f["input_ids"]) for f in features}
    if len(counts) != 1:
        raise ValueError(f"features of one batch must have the same number of choices, got {sorted(counts)}")
    choices = counts.pop()
    rows = {k: [row for f in features for row in f[k]] for k in MODEL_INPUT_NAMES}
    padded = pad_batch(rows, pad_id)
    batch = {k: v.reshape(len(features), choices, -1) for k, v in padded.items()}
    if "labels" in features[0]:
        batch["labels"] = np.asarray([f["labels"] for f in features], dtype=np.int64)
    return batch
