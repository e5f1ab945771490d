"""Fine-tuning data: reading the files users have and turning them into model features (no torch here).

Readers, one per task, each checking its file up front and raising one :class:`DataError` that names the
file, the line and the fix:

* :func:`read_table` -- CSV, TSV (GLUE style: no quoting) or JSON Lines, one text or a text pair and a label;
* :func:`read_conll` -- CoNLL-style files: a token per line, its tag in the last column, a blank line (or a
  ``-DOCSTART-`` line) between sentences;
* :func:`read_squad` -- SQuAD JSON: the official nested layout (v1.1, or v2.0 with ``is_impossible``), or the
  flat one of Hugging Face ``datasets`` (``{"id", "question", "context", "answers": {"text", "answer_start"}}``
  records under ``"data"``, or one per line in a ``.jsonl`` file).

:func:`label_set` decides the label ids: integer labels are their own ids, other strings are names (kept in
``id2label``, sorted, ``O`` first for tags), real numbers mean regression. The encoders return one dict of
lists per feature; question answering cuts long contexts into windows of ``max_length`` tokens overlapping
by ``stride`` and :func:`squad_predictions` maps the windows' logits back to answer text.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "TABLE_FORMATS",
    "DataError",
    "LabelSet",
    "QAExample",
    "Sentence",
    "TextExample",
    "encode_classification",
    "encode_squad",
    "encode_token_classification",
    "label_ids",
    "label_set",
    "read_conll",
    "read_squad",
    "read_table",
    "squad_predictions",
    "tag_ids",
]

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
"""File suffixes :func:`read_table` reads and the format each one means."""


class DataError(ValueError):
    """A problem in a data file: ``str(error)`` is ``FILE:LINE: problem; fix``."""

    def __init__(self, path: str | os.PathLike[str], line: int, problem: str, fix: str) -> None:
        self.path, self.line, self.problem, self.fix = os.fspath(path), line, problem, fix
        super().__init__(f"{self.path}:{line}: {problem}; {fix}")


# -- text classification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextExample:
    text: str
    text_pair: str | None
    label: str | None  # as written in the file; label_set() decides what it means
    line: int


def _rows(path: str, fmt: str) -> Iterator[tuple[int, dict[str, Any], list[str]]]:
    """(line, row, columns) for each record; ``columns`` are the header's (or the JSON object's keys)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:  # utf-8-sig: a BOM is not part of a column name
        if fmt == "jsonl":
            for number, text in enumerate(fh, 1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DataError(path, number, f"not a JSON object ({exc.msg})",
                                    "JSON Lines files hold one JSON object per line") from exc
                if not isinstance(row, dict):
                    raise DataError(path, number, f"a JSON {type(row).__name__}, not an object",
                                    'write one object per line, e.g. {"text": "...", "label": "pos"}')
                yield number, row, list(row)
            return
        reader = csv.DictReader(fh, delimiter="\t" if fmt == "tsv" else ",",
                                quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
        columns = list(reader.fieldnames or [])
        for row in reader:
            if None in row:  # DictReader puts surplus fields under the key None
                raise DataError(path, reader.line_num, f"{len(columns) + len(row[None])} fields but the header "
                                f"has {len(columns)}", "quote fields that contain the delimiter, or fix the row")
            if any(value is None for value in row.values()):
                raise DataError(path, reader.line_num, f"{sum(v is not None for v in row.values())} fields but the "
                                f"header has {len(columns)}", "fill in the missing fields")
            yield reader.line_num, row, columns


def read_table(path: str | os.PathLike[str], text_column: str = "text", text_pair_column: str | None = None,
               label_column: str | None = "label") -> list[TextExample]:
    """Text-classification examples of a CSV, TSV or JSON Lines file (format from the suffix:
    :data:`TABLE_FORMATS`). ``label_column=None`` reads texts only (for prediction)."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in TABLE_FORMATS:
        raise DataError(path, 1, f"unknown table format {suffix or '(no suffix)'!r}",
                        f"name the file with one of {', '.join(TABLE_FORMATS)}")
    fmt = TABLE_FORMATS[suffix]
    wanted = [("text", "--text-column", text_column), ("text pair", "--text-pair-column", text_pair_column),
              ("label", "--label-column", label_column)]
    examples = []
    for number, row, columns in _rows(path, fmt):
        for what, flag, name in wanted:
            if name is not None and name not in row:
                where = "the header has" if fmt != "jsonl" else "this object has"
                raise DataError(path, 1 if fmt != "jsonl" else number,
                                f"no {what} column {name!r} ({where} {columns})",
                                f"pass {flag} with one of {columns}")
        values = {}
        for what, flag, name in wanted:
            value = row[name] if name is not None else None
            if name is not None and (value is None or (isinstance(value, (dict, list, bool)))):
                raise DataError(path, number, f"column {name!r} holds {value!r}",
                                f"give every row a {what} (a string{' or number' if what == 'label' else ''})")
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
        return {"num_labels": self.num_labels, "id2label": dict(self.id2label), "label2id": self.label2id,
                "problem_type": "regression" if self.kind == "float" else "single_label_classification"}


_INT = re.compile(r"[+-]?\d+")


def _kind(value: str) -> str:
    text = value.strip()
    if _INT.fullmatch(text):
        return "int"
    try:
        return "float" if math.isfinite(float(text)) else "str"
    except ValueError:
        return "str"


def _is_default_name(i: int, name: str) -> bool:
    return name == f"LABEL_{i}"


def label_set(labels: Sequence[tuple[str, int]], path: str, num_labels: int | None = None,
              base: dict[int, str] | None = None, tags: bool = False) -> LabelSet:
    """The :class:`LabelSet` of ``labels`` (``(label, line)`` pairs of training file ``path``).

    ``num_labels`` (``--num-labels``) must agree with the data; ``base`` is the pretrained config's
    ``id2label``: when it has real names covering every label, its ids are kept. ``tags`` puts ``O`` first.
    """
    if num_labels is not None and (not isinstance(num_labels, int) or num_labels < 1):
        raise ValueError(f"num_labels must be a positive int, got {num_labels!r}")
    kinds = {_kind(value) for value, _ in labels}
    kind = "str" if tags or "str" in kinds else "float" if "float" in kinds else "int"
    fix_count = "drop --num-labels (it is read from the data) or fix the labels"
    if kind == "float":
        if num_labels not in (None, 1):
            line = next(n for v, n in labels if _kind(v) == "float")
            raise DataError(path, line, f"labels are real numbers (regression, one output) but --num-labels is "
                                        f"{num_labels}", fix_count)
        return LabelSet("float", {0: "LABEL_0"})
    if kind == "int":
        values = [(int(v), n) for v, n in labels]
        for value, line in values:
            if value < 0:
                raise DataError(path, line, f"label {value} is negative", "integer labels are class ids 0, 1, ...")
            if num_labels is not None and value >= num_labels:
                raise DataError(path, line, f"label {value} is out of range for --num-labels {num_labels} (ids "
                                            f"0..{num_labels - 1})", fix_count)
        count = num_labels or max(2, max(v for v, _ in values) + 1)  # one class would mean regression
        named = base if base and len(base) == count and not all(_is_default_name(i, s) for i, s in base.items()) \
            else None
        return LabelSet("int", dict(named) if named else {i: f"LABEL_{i}" for i in range(count)})
    names: dict[str, int] = {}  # name -> line of first use
    for name, line in labels:
        names.setdefault(name, line)
    if base and set(names) <= set(base.values()) and (num_labels is None or num_labels == len(base)):
        return LabelSet("str", dict(base))
    ordered = sorted(names, key=lambda s: (s != "O", s)) if tags else sorted(names)
    if num_labels is not None and num_labels != len(ordered):
        line = names[ordered[num_labels]] if len(ordered) > num_labels else 1
        raise DataError(path, line, f"the data has {len(ordered)} label names {ordered[:20]} but --num-labels is "
                                    f"{num_labels}", fix_count)
    return LabelSet("str", dict(enumerate(ordered)))


def label_ids(labels: Sequence[tuple[str, int]], path: str, label_set: LabelSet) -> list[int | float]:
    """Each ``(label, line)`` as its id (or float value), checked against ``label_set`` (made from the
    training files): an unknown name or an id out of range raises naming the line."""
    out: list[int | float] = []
    table = label_set.label2id
    for value, line in labels:
        kind = _kind(value)
        if label_set.kind == "float":
            if kind == "str":
                raise DataError(path, line, f"label {value!r} is not a number but the training labels are "
                                            f"(regression)", "use numeric labels in every file")
            out.append(float(value))
        elif label_set.kind == "int":
            if kind != "int" or not 0 <= int(value) < label_set.num_labels:
                raise DataError(path, line, f"label {value!r} is not a class id 0..{label_set.num_labels - 1} "
                                            f"of the training data", "fix the label or add it to the training data")
            out.append(int(value))
        else:
            if value not in table:
                raise DataError(path, line, f"label {value!r} does not occur in the training data (labels: "
                                            f"{sorted(table)[:20]})", "fix the label or add examples of it to the "
                                                                     "training data")
            out.append(table[value])
    return out


def encode_classification(tokenizer: Any, examples: Sequence[TextExample], labels: Sequence[int | float] | None,
                          max_length: int) -> list[dict[str, Any]]:
    """One feature per example: ``input_ids``, ``token_type_ids``, ``attention_mask`` and ``labels``."""
    texts = [e.text for e in examples]
    pairs = [e.text_pair or "" for e in examples] if any(e.text_pair is not None for e in examples) else None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
    keys = ("input_ids", "token_type_ids", "attention_mask")
    features = [{k: enc[k][i] for k in keys} for i in range(len(texts))]
    if labels is not None:
        for feature, label in zip(features, labels):
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
    path = os.fspath(path)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    first = 0
    with open(path, encoding="utf-8-sig") as fh:
        for number, text in enumerate(fh, 1):
            columns = text.split()
            if not columns or columns[0] == "-DOCSTART-":
                if tokens:
                    sentences.append(Sentence(tokens, tags, first))
                tokens, tags = [], []
                continue
            if len(columns) < 2:
                raise DataError(path, number, f"{text.strip()!r} has no tag column",
                                "CoNLL lines are 'TOKEN [other columns] TAG' separated by spaces or tabs, with a "
                                "blank line between sentences: add the tag (e.g. O)")
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
                raise DataError(path, sentence.line + i, f"tag {tag!r} does not occur in the training data (tags: "
                                f"{sorted(table)[:20]})", "fix the tag or add examples of it to the training data")
        out.append([table[t] for t in sentence.tags])
    return out


def encode_token_classification(tokenizer: Any, sentences: Sequence[Sentence], tags: Sequence[Sequence[int]],
                                max_length: int) -> list[dict[str, Any]]:
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
        features.append({"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                         "attention_mask": enc["attention_mask"][i], "labels": labels, "word_ids": words})
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


def _flat_answers(qa: dict[str, Any]) -> list[dict[str, Any]]:
    answers = qa.get("answers", [])
    if isinstance(answers, dict):  # datasets' layout: {"text": [...], "answer_start": [...]}
        texts, starts = answers.get("text", []), answers.get("answer_start", [])
        return [{"text": t, "answer_start": s} for t, s in zip(texts, starts)]
    return list(answers)


def _qa_example(qa: Any, context: Any, path: str, line: int) -> QAExample:
    if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or not isinstance(context, str):
        raise DataError(path, line, "a question without a 'question' string or a 'context' string",
                        "each question needs 'id', 'question' and (or its paragraph) 'context'")
    qid = str(qa.get("id", line))
    impossible = bool(qa.get("is_impossible", False))
    texts, starts = [], []
    for answer in [] if impossible else _flat_answers(qa):
        text, start = answer.get("text"), answer.get("answer_start")
        if not isinstance(text, str) or not isinstance(start, int) or isinstance(start, bool):
            raise DataError(path, line, f"question {qid!r} has an answer without a 'text' string and an integer "
                            f"'answer_start': {answer!r}", "give each answer both")
        if context[start:start + len(text)] != text:
            found = [m.start() for m in re.finditer(re.escape(text), context)] if text else []
            fix = (f"set answer_start to {min(found, key=lambda s: abs(s - start))} (where the text occurs)"
                   if found else "the answer text does not occur in the context: fix the text or the context")
            raise DataError(path, line, f"answer {text!r} of question {qid!r} has answer_start {start}, but the "
                            f"context there reads {context[start:start + len(text)]!r}", fix)
        texts.append(text)
        starts.append(start)
    return QAExample(qid, qa["question"], context, texts, starts, line)


def read_squad(path: str | os.PathLike[str]) -> tuple[list[QAExample], int]:
    """The questions of a SQuAD file and the SQuAD version that scores them (2 when the file says so or any
    question is unanswerable, else 1). Errors name the line of the question's ``id``."""
    path = os.fspath(path)
    with open(path, encoding="utf-8-sig") as fh:
        raw = fh.read()
    lines = _id_lines(raw)
    if path.lower().endswith(".jsonl"):
        records = []
        for number, text in enumerate(raw.splitlines(), 1):
            if text.strip():
                try:
                    records.append((json.loads(text), number))
                except json.JSONDecodeError as exc:
                    raise DataError(path, number, f"not JSON ({exc.msg})", "one question object per line") from exc
        version_field: Any = None
    else:
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(path, exc.lineno, f"not valid JSON ({exc.msg})", "fix the JSON") from exc
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise DataError(path, 1, "no 'data' list at the top level",
                            'SQuAD files are {"version": ..., "data": [...]}')
        version_field = document.get("version")
        records = [(item, 0) for item in document["data"]]  # 0: the line is found from the id
    examples = []
    for item, number in records:
        if isinstance(item, dict) and "paragraphs" in item:  # the official nested layout
            for paragraph in item["paragraphs"]:
                for qa in paragraph.get("qas", []):
                    line = number or (lines.get(str(qa.get("id")), 1) if isinstance(qa, dict) else 1)
                    examples.append(_qa_example(qa, paragraph.get("context"), path, line))
        else:
            line = number or (lines.get(str(item.get("id")), 1) if isinstance(item, dict) else 1)
            examples.append(_qa_example(item, item.get("context") if isinstance(item, dict) else None, path, line))
    if not examples:
        raise DataError(path, 1, "no questions", "the file needs at least one question")
    stated = str(version_field or "").lstrip("v")
    version = 2 if stated.startswith("2") or any(not e.answers for e in examples) else 1
    return examples, version


def encode_squad(tokenizer: Any, examples: Sequence[QAExample], max_length: int, stride: int,
                 path: str = "") -> list[dict[str, Any]]:
    """Question + context windows of at most ``max_length`` tokens, overlapping by ``stride`` tokens.

    Each feature has the model inputs, ``start_positions``/``end_positions`` of the (first) answer, or of
    ``[CLS]`` when the window does not hold it or the question has none, ``example_index`` and ``offsets``
    (character spans of context tokens, None elsewhere) for :func:`squad_predictions`.
    """
    overhead = 3  # [CLS] question [SEP] context [SEP]
    questions = tokenizer([e.question.lstrip() for e in examples], add_special_tokens=False)["input_ids"]
    for e, ids in zip(examples, questions):
        length = len(ids)
        if length + overhead + stride >= max_length:
            raise DataError(path, e.line, f"question {e.id!r} is {length} tokens: with the special tokens and a "
                            f"window overlap of {stride} it leaves no room for context in --max-seq-length "
                            f"{max_length}", "raise --max-seq-length, lower --doc-stride or shorten the question")
    enc = tokenizer([e.question.lstrip() for e in examples], [e.context for e in examples],
                    truncation="only_second", max_length=max_length, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    features = []
    for i, sample in enumerate(enc["overflow_to_sample_mapping"]):
        example = examples[sample]
        sequence = enc.sequence_ids(i)
        offsets = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][i], sequence)]
        start = end = 0  # [CLS]
        if example.answers:
            first_char = example.answer_starts[0]
            last_char = first_char + len(example.answers[0])
            context = [j for j, s in enumerate(sequence) if s == 1]
            if context and offsets[context[0]][0] <= first_char and offsets[context[-1]][1] >= last_char:  # type: ignore[index]
                start = next(j for j in reversed(context) if offsets[j][0] <= first_char)  # type: ignore[index]
                end = next(j for j in context if offsets[j][1] >= last_char)  # type: ignore[index]
        features.append({"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                         "attention_mask": enc["attention_mask"][i], "start_positions": start,
                         "end_positions": end, "example_index": sample, "offsets": offsets})
    return features


def squad_predictions(examples: Sequence[QAExample], features: Sequence[dict[str, Any]],
                      start_logits: Sequence[np.ndarray], end_logits: Sequence[np.ndarray], version: int,
                      n_best: int = 20, max_answer_length: int = 30, null_threshold: float = 0.0) -> dict[str, str]:
    """Answer text per question id from the windows' logits (as transformers' ``run_qa`` post-processing):
    the best-scoring span of context tokens (start + end logit) over all windows of the question, at most
    ``max_answer_length`` tokens; with SQuAD v2 the empty answer when the lowest ``[CLS]`` score beats it by
    more than ``null_threshold``."""
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    for feature, starts, ends in zip(features, start_logits, end_logits):
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
                    best[k] = (score, context[offsets[s][0]:offsets[e][1]].strip())
    answers = {}
    for k, example in enumerate(examples):
        score, text = best.get(k, (-math.inf, ""))
        if version == 2 and k in null and null[k] > score + null_threshold:
            text = ""
        answers[example.id] = text
    return answers
