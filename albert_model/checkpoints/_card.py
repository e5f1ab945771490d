"""Model cards: the ``README.md`` a model directory carries, as the Hugging Face hub reads it.

A card is YAML front matter (the hub's metadata: ``library_name``, ``license``, ``base_model``, ``datasets``,
``metrics``, ``pipeline_tag``, ``tags``) followed by Markdown. :func:`render_card` makes one from a
:class:`CardFacts`, a pure function of the facts: what the model is, how to load it, the files it was
trained on or converted from (each with its SHA-256), the budget, the hardware, the final metrics, the loss
curve (at most :data:`MAX_CURVE_ROWS` rows, sampled evenly) and the command that made it.
:func:`card_contents` gives the file to add to a :func:`albert_tok.io.atomic.write_directory` save, so the
card is published with the files it describes; :func:`write_card` saves it alone.

The YAML is written here, without a YAML library: every string is one double-quoted scalar on one line, with
``\\``, ``"``, line breaks and every character YAML does not print raw written as escapes, so any string
(quotes, colons, ``---``, newlines, any Unicode) reads back unchanged by YAML 1.1 (PyYAML, which
``huggingface_hub`` uses) and 1.2 (the hub's) readers, and no line of the header can close it early.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from albert_tok.io import sha256_of
from albert_tok.io.atomic import write_directory

__all__ = [
    "CARD_FILE",
    "LIBRARY_NAME",
    "MAX_CURVE_ROWS",
    "CardFacts",
    "Origin",
    "SourceFile",
    "card_contents",
    "command_line",
    "dataset_ids",
    "front_matter",
    "hub_metric_ids",
    "markdown_text",
    "origin_of",
    "read_front_matter",
    "render_card",
    "write_card",
]

CARD_FILE = "README.md"
"""The card's file name in a model directory (the hub shows this file as the model card)."""

LIBRARY_NAME = "transformers"
"""The card's ``library_name``. The directories this package writes are transformers-format ALBERT checkpoints
(``config.json`` with ``model_type: albert``, safetensors weights, the tokenizer files) that transformers'
``Auto*`` classes load as they are; the hub keys its "use this model" snippet, its inference widget and its
download count on this field and knows ``transformers``, not this package. The card's body shows loading with
``albert_model`` too, and its ``tags`` name ``albert_model``."""

MAX_CURVE_ROWS = 20
"""The most rows of the loss-curve table; a longer curve is sampled evenly, first and last points kept."""

MAX_LABELS_SHOWN = 50
"""The most label names the card lists; ``config.json`` holds them all."""

BASE_TAGS = ("albert", "albert_model")
"""Tags every card carries, before its own."""

SHIPPED_LICENSE = "apache-2.0"
"""The licence of the shipped model (:data:`albert_model.checkpoints.DEFAULT_MODEL`), as its card states it
in prose; its card has no front matter to read it from."""

# pipeline tag -> (albert_model class, transformers Auto class, a pipeline call on an example input)
_LOADING = {
    "fill-mask": ("AlbertForMaskedLM", "AutoModelForMaskedLM", 'predict("The capital of France is [MASK].")'),
    "text-classification": (
        "AlbertForSequenceClassification",
        "AutoModelForSequenceClassification",
        'predict("A sentence to classify.")',
    ),
    "token-classification": (
        "AlbertForTokenClassification",
        "AutoModelForTokenClassification",
        'predict("John Smith lives in Paris.")',
    ),
    "question-answering": (
        "AlbertForQuestionAnswering",
        "AutoModelForQuestionAnswering",
        'predict(question="Where does John live?", context="John lives in Paris.")',
    ),
    "feature-extraction": ("AlbertModel", "AutoModel", 'predict("A sentence.")'),
}

# our metric names (fine-tuning's without their eval_ prefix, pretraining's held-out ones) -> the hub's ids
_HUB_METRICS = {
    "accuracy": "accuracy",
    "macro_f1": "f1",
    "f1": "f1",
    "precision": "precision",
    "recall": "recall",
    "token_accuracy": "accuracy",
    "exact": "exact_match",
    "pearson": "pearsonr",
    "spearman": "spearmanr",
    "mse": "mse",
    "top1_accuracy": "accuracy",
    "top5_accuracy": "accuracy",
}

# file roles -> the heading of their section
_ROLE_HEADINGS = {"train": "Training data", "eval": "Evaluation data", "source": "Converted from"}


# -- the facts -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceFile:
    """One file a model was made from, named on its card with its size and SHA-256.

    Args:
        name: The file's name as the card shows it (a base name: no local directories on a published card).
        sha256: The SHA-256 of the file's bytes, 64 lowercase hexadecimal digits.
        size: The file's size in bytes; None when not known.
        role: What the file was: ``"train"`` (training data), ``"eval"`` (evaluation data), ``"source"``
            (a file converted into this checkpoint, such as a TensorFlow checkpoint), or any other word, which
            becomes its section's heading.
    """

    name: str
    sha256: str
    size: int | None = None
    role: str = "train"

    @classmethod
    def of(cls, path: str | os.PathLike[str], role: str = "train") -> SourceFile:
        """The facts of the file at ``path``, its SHA-256 computed from its bytes, read in blocks.

        Args:
            path: The file to describe; the card names it by its base name.
            role: What the file was (see the class), ``"train"`` by default.

        Returns:
            The file's name, SHA-256, size and role.
        """
        with open(path, "rb") as fh:
            digest, size = sha256_of(fh)
        return cls(os.path.basename(os.fspath(path)), digest, size, role)


@dataclass(frozen=True)
class CardFacts:
    """What a model card says. Only ``title`` and ``pipeline_tag`` are required: a converted checkpoint gives
    its source files (``role="source"``) and no training facts; a trained one gives its data, budget,
    hardware, metrics, loss curve and command. Sections without facts are left out.

    Example (a checkpoint converted from TensorFlow)::

        facts = CardFacts(
            title="albert-base-v2", pipeline_tag="fill-mask", license="apache-2.0",
            summary="Google's albert-base-v2, converted from its TensorFlow checkpoint by `albert convert-tf`.",
            files=[SourceFile.of(p, role="source") for p in ("model.ckpt-best.index", "30k-clean.model")],
            tags=["tensorflow-conversion"])
        write_directory(out, {**weights_and_config, **card_contents(facts)})

    Args:
        title: The card's heading: the model's name (a directory's base name, say).
        pipeline_tag: The hub's task for the model (``"fill-mask"``, ``"text-classification"``,
            ``"token-classification"``, ``"question-answering"``, ``"feature-extraction"``); it also picks the
            classes of the loading snippets.
        summary: A paragraph saying what the model is, in Markdown (escape names in it with
            :func:`markdown_text`); empty for none.
        license: The hub's licence id (``"apache-2.0"``, ``"mit"``, ``"other"``, ...); None leaves the field
            out.
        license_note: A sentence on the licence in the body (where it came from, what to check); empty for
            none.
        base_model: The hub repo id the model was made from (``"albert/albert-base-v2"``); None when it was
            trained from scratch or started from a directory that is not on the hub (the hub checks this field
            against its repos).
        datasets: Hub dataset ids of the training data; empty when the data is local files (they are listed
            with their SHA-256 in the body instead).
        tags: Tags after :data:`BASE_TAGS`.
        metric_ids: The hub's ids of the metrics measured (``"accuracy"``, ``"f1"``, ...; see
            :func:`hub_metric_ids`).
        labels: The names of the classes the head predicts, in id order (classification heads); empty for
            none.
        files: The files the model was trained on or converted from.
        metrics: The final metrics, name -> value, shown as a table.
        budget: What the training spent (steps, epochs, tokens, seconds), name -> value.
        hardware: Where it ran (device, torch version, precision), name -> value.
        loss_curve: The loss curve's points, each a mapping holding at least ``"step"`` and ``"loss"``
            (``"epoch"``, ``"tokens"`` and ``"lr"`` are shown too when present), in order.
        command: The command line that made the model; None for none.
        arguments: Every argument of that run, name -> value, shown folded under the command.
        load_name: What the loading snippets pass to ``from_pretrained``: the directory as the reader has it
            or, once pushed, its repo id; ``title`` when empty.
        extra_metadata: More front-matter fields (``model-index``, ``language``, ...), written after the
            others; a key among the others replaces it.
    """

    title: str
    pipeline_tag: str
    summary: str = ""
    license: str | None = None
    license_note: str = ""
    base_model: str | None = None
    datasets: Sequence[str] = ()
    tags: Sequence[str] = ()
    metric_ids: Sequence[str] = ()
    labels: Sequence[str] = ()
    files: Sequence[SourceFile] = ()
    metrics: Mapping[str, Any] = field(default_factory=dict)
    budget: Mapping[str, Any] = field(default_factory=dict)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    loss_curve: Sequence[Mapping[str, Any]] = ()
    command: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    load_name: str = ""
    extra_metadata: Mapping[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The card's front matter as a mapping, in the order it is written; empty fields left out.

        Returns:
            ``library_name``, ``license``, ``base_model``, ``datasets``, ``metrics``, ``pipeline_tag`` and
            ``tags`` (those with a value), then ``extra_metadata``.
        """
        fields: dict[str, Any] = {
            "library_name": LIBRARY_NAME,
            "license": self.license,
            "base_model": self.base_model,
            "datasets": list(self.datasets),
            "metrics": list(dict.fromkeys(self.metric_ids)),
            "pipeline_tag": self.pipeline_tag,
            "tags": list(dict.fromkeys([*BASE_TAGS, *self.tags])),
        }
        fields = {k: v for k, v in fields.items() if v not in (None, [])}
        fields.update(self.extra_metadata)
        return fields


# -- YAML ----------------------------------------------------------------------------------------------------
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z][A-Za-z0-9._/+-]*")  # starts with a letter: never a number, date or indicator
# words YAML 1.1 or 1.2 reads as booleans or null, in any case: quoted
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _raw_in_quotes(c: str) -> bool:
    """Whether ``c`` may stand as itself in a double-quoted YAML scalar: printable for YAML 1.1 and 1.2, not a
    line break (``\\x85``, U+2028, U+2029 are breaks there) and not a byte-order mark."""
    o = ord(c)
    return (
        (0x20 <= o <= 0x7E and c not in '"\\')
        or (0xA0 <= o <= 0xD7FF and o not in (0x2028, 0x2029))
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
        or o >= 0x10000
    )


def _quoted(text: str) -> str:
    out = []
    for c in text:
        if _raw_in_quotes(c):
            out.append(c)
        elif c in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[c])
        elif ord(c) <= 0xFF:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) <= 0xFFFF:
            out.append(f"\\u{ord(c):04x}")  # lone surrogates too: the file stays valid UTF-8
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text:  # YAML 1.1 reads 1e-05 as a string: its floats need a point
            mantissa, e, exponent = text.partition("e")
            text = f"{mantissa}.0{e}{exponent}"
        return text
    if isinstance(value, str):
        return value if _PLAIN_VALUE.fullmatch(value) and value.lower() not in _YAML_WORDS else _quoted(value)
    if isinstance(value, Mapping) and not value:
        return "{}"
    if isinstance(value, (list, tuple)) and not value:
        return "[]"
    raise TypeError(f"front matter holds str, int, float, bool, None, lists and mappings; got {type(value).__name__}")


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"front-matter keys must be strings, got {key!r}")
    return key if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS else _quoted(key)


def _is_block(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple)) and bool(value)


def _lines(value: Mapping[str, Any] | Sequence[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            if _is_block(v):
                lines.append(f"{pad}{_key(k)}:")
                lines.extend(_lines(v, indent + 2))
            else:
                lines.append(f"{pad}{_key(k)}: {_scalar(v)}")
        return lines
    for item in value:
        if _is_block(item):
            nested = _lines(item, indent + 2)
            lines.append(f"{pad}- {nested[0][indent + 2 :]}")
            lines.extend(nested[1:])
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def front_matter(metadata: Mapping[str, Any]) -> str:
    """``metadata`` as a card's YAML front matter, between its two ``---`` lines.

    Strings that are plain words (a letter, then letters, digits and ``._/+-``: ``apache-2.0``,
    ``albert/albert-base-v2``) and not a word YAML reads as a boolean or null are written plain; every other
    string is double-quoted with escapes (see the module docstring), so any string reads back unchanged. Keys
    are written plain when they are simple names (``library_name``, ``model-index``), quoted otherwise.

    Args:
        metadata: The fields: string keys; values of str, int, float (NaN and infinities as YAML writes
            them), bool, None, and lists and mappings of those, nested to any depth.

    Returns:
        The front matter, ``"---\\n...\\n---\\n"``; ``"---\\n{}\\n---\\n"`` for no fields.

    Raises:
        TypeError: A key that is not a string, or a value of another type.
    """
    body = _lines(metadata, 0) if metadata else ["{}"]
    return "---\n" + "\n".join(body) + "\n---\n"


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_TOP_LEVEL = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:[ \t]+(.*?)[ \t]*")


_DOUBLE_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"(?:[ \t]+#.*)?')
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_ESCAPED = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
    "\t": "\t",
}


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "xuU" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code not in _ESCAPED:
        raise ValueError(f"unknown escape \\{code}")
    return _ESCAPED[code]


def _read_scalar(text: str) -> str | None:
    if text.startswith('"'):
        quoted = _DOUBLE_QUOTED.fullmatch(text)
        try:
            return _ESCAPE.sub(_unescape, quoted.group(1)) if quoted else None
        except ValueError:
            return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'") if len(text) >= 2 and text.endswith("'") else None
    if not text or text[0] in "|>[{&*!%@`#":
        return None  # a block, a flow collection, an anchor or a tag: not read here
    return re.split(r"[ \t]+#", text, maxsplit=1)[0]


def read_front_matter(directory: str | os.PathLike[str]) -> dict[str, str]:
    """The top-level fields of the card in ``directory`` that are single-line strings (``license``,
    ``license_name``, ``base_model``, ...), read without a YAML library.

    Fields whose value is a list, a mapping or a multi-line string are left out, as is everything when the
    directory has no ``README.md`` or the card has no front matter.

    Args:
        directory: A model directory.

    Returns:
        Field name -> value, as strings (``true`` stays ``"true"``).
    """
    path = os.path.join(os.fspath(directory), CARD_FILE)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return {}
    match = _FRONT_MATTER.match(head)
    if not match:
        return {}
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        top = _TOP_LEVEL.fullmatch(line)
        if top:
            value = _read_scalar(top.group(2))
            if value is not None:
                fields[top.group(1)] = value
    return fields


# -- where a model came from ---------------------------------------------------------------------------------
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(?:/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?")
_CACHE_SNAPSHOT = re.compile(r"(?:^|/)(models|datasets)--([^/]+)/snapshots/[^/]+(?:/|$)")


@dataclass(frozen=True)
class Origin:
    """Where a model started from, as its card says it.

    Args:
        repo_id: Its hub repo id, when it is one (given as an id, or a snapshot directory of the hub's local
            cache); None otherwise.
        name: How the card names it: the repo id, the shipped model's name, or the directory's base name.
        license: The licence its card's front matter states (``license``), None when it states none.
        license_name: Its card's ``license_name`` (for ``license: other``), None when absent.
        license_link: Its card's ``license_link``, None when absent.
    """

    repo_id: str | None
    name: str
    license: str | None = None
    license_name: str | None = None
    license_link: str | None = None


def _repo_id_in_cache(path: str, kind: str = "models") -> str | None:
    match = _CACHE_SNAPSHOT.search(path.replace(os.sep, "/"))
    if not match or match.group(1) != kind:
        return None
    repo_id = "/".join(match.group(2).split("--"))
    return repo_id if _REPO_ID.fullmatch(repo_id) else None


def dataset_ids(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The hub dataset ids of the data files that lie in the hub's local cache
    (``.../datasets--OWNER--NAME/snapshots/REVISION/...``), in order, once each; other files have none.

    Args:
        paths: Data files as a run was given them (symbolic links are not followed: the cache's snapshot
            files are links into its blobs).

    Returns:
        The ids (``"rajpurkar/squad"``), for a card's ``datasets``.
    """
    ids = [_repo_id_in_cache(os.path.abspath(os.fspath(p)), "datasets") for p in paths]
    return list(dict.fromkeys(i for i in ids if i))


def origin_of(model: str | os.PathLike[str]) -> Origin:
    """Where a model given as ``model`` (a directory or a hub repo id) came from, for its successor's card.

    A directory inside the hub's local cache (``.../models--OWNER--NAME/snapshots/REVISION``) is its repo
    id; any other directory is named by its base name and has no repo id (a local path on the hub would name
    no repo). A string that is no directory but reads as a repo id is taken as one, its card looked for in
    the hub's local cache when ``huggingface_hub`` is installed (nothing is downloaded). The licence is read
    from the card's front matter; the shipped model (whose card states its licence in prose) is
    :data:`SHIPPED_LICENSE`.

    Args:
        model: A model directory or a hub repo id, as the run was given it.

    Returns:
        The repo id (or None), the name the card shows, and the licence fields found.
    """
    from albert_model.checkpoints._shipped import DEFAULT_MODEL

    given = os.fspath(model)
    if os.path.isdir(given):
        real = os.path.realpath(given)
        if real == os.path.realpath(DEFAULT_MODEL):
            return Origin(None, "albert-small-english (the model albert_model ships)", SHIPPED_LICENSE)
        card = read_front_matter(real)
        repo_id = _repo_id_in_cache(real)
        name = repo_id or os.path.basename(real.rstrip(os.sep)) or real
    elif _REPO_ID.fullmatch(given) and "--" not in given and ".." not in given:
        repo_id, name, card = given, given, {}
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            pass
        else:
            cached = try_to_load_from_cache(given, CARD_FILE)
            if isinstance(cached, str):
                card = read_front_matter(os.path.dirname(cached))
    else:
        return Origin(None, os.path.basename(given.rstrip(os.sep)) or given)
    return Origin(repo_id, name, card.get("license"), card.get("license_name"), card.get("license_link"))


def hub_metric_ids(names: Sequence[str]) -> list[str]:
    """The hub's metric ids for this package's metric names, in order, once each; names without one are
    left out.

    Args:
        names: Metric names as training reports them: fine-tuning's ``eval_accuracy``, ``eval_macro_f1``,
            ``eval_f1``, ``eval_exact``, ``eval_pearson``, ... (the ``eval_`` prefix is optional),
            pretraining's ``top1_accuracy``.

    Returns:
        The ids (``"accuracy"``, ``"f1"``, ``"exact_match"``, ``"pearsonr"``, ...).
    """
    ids = [_HUB_METRICS.get(n.removeprefix("eval_")) for n in names]
    return list(dict.fromkeys(i for i in ids if i))


def command_line(
    prog: str, arguments: Mapping[str, Any], defaults: Mapping[str, Any], flags: Mapping[str, str] | None = None
) -> str:
    """The shell command that gives a run its ``arguments``: ``prog`` and one flag per argument that differs
    from its default, the way :mod:`albert_model.training`'s commands name them (``max_seq_length`` is
    ``--max-seq-length``; a bool that defaults to True is ``--no-NAME``; a list is the flag and its items; a
    mapping is JSON). Each word is quoted for a POSIX shell.

    Args:
        prog: The command (``"albert finetune"``), written as it is.
        arguments: Every argument of the run, name -> value.
        defaults: Each argument's default; an argument missing here is always written.
        flags: Flags named otherwise than by their field (``{"model": "--model-json"}``); None for none.

    Returns:
        The command line.
    """
    flags = flags or {}
    words: list[str] = []
    for name, value in arguments.items():
        if name in defaults and defaults[name] == value:
            continue
        flag = flags.get(name, "--" + name.replace("_", "-"))
        if isinstance(value, bool):
            if value:
                words.append(flag)
            elif defaults.get(name) is True:
                words.append(flags.get(name, "--no-" + name.replace("_", "-")))
        elif value is None:
            continue
        elif isinstance(value, (list, tuple)):
            words += [flag, *(str(v) for v in value)]
        elif isinstance(value, Mapping):
            words += [flag, json.dumps(value, separators=(",", ":"))]
        else:
            words += [flag, str(value)]
    return " ".join([prog, *(shlex.quote(w) for w in words)])


# -- Markdown ------------------------------------------------------------------------------------------------
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")


def markdown_text(value: Any) -> str:
    """``value`` as inline Markdown text that shows as itself: on one line (line breaks become spaces), the
    characters Markdown reads (``\\ ` * _ [ ] < > | ~ & #``) escaped with a backslash, so a name cannot start
    emphasis, a link, HTML or a table cell; characters UTF-8 cannot hold (lone surrogates) as ``\\udXXX``.

    Args:
        value: Any value; its ``str()`` is escaped.

    Returns:
        The escaped text.
    """
    text = " ".join(str(value).splitlines())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value) if value else "—"
    if isinstance(value, Mapping):
        return markdown_text(json.dumps(value, ensure_ascii=False, default=str))
    return markdown_text(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _pairs(mapping: Mapping[str, Any]) -> list[str]:
    return _table(["name", "value"], [[markdown_text(k), _show(v)] for k, v in mapping.items()])


def _fence(code: str, info: str = "") -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    ticks = "`" * max(3, longest + 1)
    code = code.encode("utf-8", "backslashreplace").decode("utf-8")
    return [ticks + info, *code.splitlines(), ticks]


def _sample(points: Sequence[Mapping[str, Any]], limit: int) -> list[Mapping[str, Any]]:
    if len(points) <= limit:
        return list(points)
    last = len(points) - 1
    return [points[round(i * last / (limit - 1))] for i in range(limit)]


def _loading(facts: CardFacts) -> list[str]:
    ours, auto, call = _LOADING.get(facts.pipeline_tag, _LOADING["feature-extraction"])
    task = facts.pipeline_tag if facts.pipeline_tag in _LOADING else "feature-extraction"
    name = json.dumps(facts.load_name or facts.title, ensure_ascii=False)
    return [
        "## How to load",
        "",
        f"With `albert_model` (a directory, or its repo id once pushed; `{ours}.from_pretrained` loads the model "
        "alone):",
        "",
        *_fence(
            f'from albert_model import pipeline\npredict = pipeline("{task}", model={name})\nprint({call})', "python"
        ),
        "",
        "With transformers:",
        "",
        *_fence(
            f"from transformers import {auto}, AutoTokenizer\n"
            f"tokenizer = AutoTokenizer.from_pretrained({name})\n"
            f"model = {auto}.from_pretrained({name})",
            "python",
        ),
        "",
    ]


def render_card(facts: CardFacts) -> str:
    """The model card of ``facts``: YAML front matter, then Markdown. A pure function of the facts.

    The body: the title and summary, how to load the model (``albert_model`` and transformers), the licence
    note, the files by role with their size and SHA-256, the budget, the hardware, the final metrics, the loss
    curve (at most :data:`MAX_CURVE_ROWS` rows, sampled evenly, first and last kept), and the command with
    every argument. Sections without facts are left out. Names and values are escaped for Markdown; code
    fences are longer than any run of backticks inside them.

    Args:
        facts: What the card says.

    Returns:
        The card's text (write it as UTF-8).

    Raises:
        TypeError: ``facts.extra_metadata`` holds a value YAML is not written for here (see
            :func:`front_matter`).
    """
    lines = [f"# {markdown_text(facts.title)}", ""]
    if facts.summary:
        lines += [facts.summary.encode("utf-8", "backslashreplace").decode("utf-8"), ""]
    if facts.labels:
        shown = ", ".join(f"{i}: {markdown_text(label)}" for i, label in enumerate(facts.labels[:MAX_LABELS_SHOWN]))
        more = len(facts.labels) - MAX_LABELS_SHOWN
        lines += [f"Labels (id: name): {shown}" + (f", and {more:,} more (in `config.json`)." if more > 0 else "."), ""]
    lines += _loading(facts)
    if facts.license_note:
        lines += ["## Licence", "", facts.license_note, ""]
    for role in dict.fromkeys(f.role for f in facts.files):
        lines += [f"## {markdown_text(_ROLE_HEADINGS.get(role, role.capitalize()))}", ""]
        rows = [
            [markdown_text(f.name), "—" if f.size is None else f"{f.size:,}", f"`{f.sha256}`" if f.sha256 else "—"]
            for f in facts.files
            if f.role == role
        ]
        lines += [*_table(["file", "bytes", "sha256"], rows), ""]
    for heading, mapping in (("Budget", facts.budget), ("Hardware", facts.hardware), ("Metrics", facts.metrics)):
        if mapping:
            lines += [f"## {heading}", "", *_pairs(mapping), ""]
    if facts.loss_curve:
        sampled = _sample(facts.loss_curve, MAX_CURVE_ROWS)
        columns = [c for c in ("step", "epoch", "tokens", "loss", "lr") if all(c in p for p in sampled)]
        shown = (
            f"all {len(sampled)} points"
            if len(sampled) == len(facts.loss_curve)
            else f"{len(sampled)} of its {len(facts.loss_curve)} points, evenly spaced (`training.json` has them all)"
        )
        lines += [
            "## Loss curve",
            "",
            f"The training loss, each point the mean over the steps since the one before: {shown}.",
            "",
            *_table(columns, [[_show(p[c]) for c in columns] for p in sampled]),
            "",
        ]
    if facts.command:
        lines += ["## Command", "", *_fence(facts.command, "bash"), ""]
    if facts.arguments:
        lines += ["<details><summary>Every argument</summary>", "", *_pairs(facts.arguments), "", "</details>", ""]
    return front_matter(facts.metadata()) + "\n" + "\n".join(lines).rstrip("\n") + "\n"


def card_contents(facts: CardFacts) -> dict[str, bytes]:
    """The card as a file of a directory save: ``{"README.md": bytes}``, to merge into the contents of a
    :func:`albert_tok.io.atomic.write_directory` call, so the card is published with the files it describes.

    Args:
        facts: What the card says.

    Returns:
        ``{CARD_FILE: the card as UTF-8}``.

    Raises:
        TypeError: As :func:`render_card`.
    """
    return {CARD_FILE: render_card(facts).encode("utf-8")}


def write_card(directory: str | os.PathLike[str], facts: CardFacts) -> str:
    """Save the card of ``facts`` as ``directory/README.md``, atomically (the old card or the new, whole).

    Args:
        directory: An existing model directory.
        facts: What the card says.

    Returns:
        The path of the card.

    Raises:
        TypeError: As :func:`render_card`.
        FileNotFoundError: ``directory`` does not exist.
        OSError: The write failed; the old card, if any, is then as it was.
    """
    return write_directory(directory, card_contents(facts))[0]
