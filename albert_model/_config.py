"""``AlbertConfig``: a dataclass whose fields are the keys of transformers' ALBERT ``config.json``.

Reads and writes that file (unknown keys are kept and written back), reads Google's original
``albert_config.json``, and validates every field up front: a wrong type or an out-of-range value raises a
``ValueError`` naming the key and what is accepted, before any tensor or label table is built.
"""

from __future__ import annotations

import copy
import json
import math
import os
import warnings
from dataclasses import InitVar, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from albert_tok.io import atomic, read_json, resolve_directory

__all__ = [
    "ACTIVATIONS",
    "CONFIG_NAME",
    "DTYPES",
    "LIMITS",
    "MAX_LABELS",
    "MAX_PARAMETERS",
    "PROBLEM_TYPES",
    "AlbertConfig",
    "dtype_name",
    "format_bytes",
]

ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh")
PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")
# Parameter dtypes a checkpoint may declare (``dtype``/``torch_dtype`` in config.json).
DTYPES = ("float32", "float16", "bfloat16", "float64")
MAX_LABELS = 10**6
CONFIG_NAME = "config.json"
# Upper bounds far above any published ALBERT, low enough that a typo cannot allocate the machine away.
LIMITS = {
    "vocab_size": 10**7,
    "embedding_size": 65536,
    "hidden_size": 65536,
    "num_hidden_layers": 1024,
    "num_hidden_groups": 1024,
    "num_attention_heads": 65536,
    "intermediate_size": 262144,
    "inner_group_num": 1024,
    "max_position_embeddings": 10**6,
    "type_vocab_size": 10**6,
}
# Each size may be in range while their product is not: 1e11 parameters (400 GB in float32) is far above any
# ALBERT (xxlarge has 2.2e8) and far below the terabytes a typo in two sizes asks for.
MAX_PARAMETERS = 10**11
_SIZES = (
    "vocab_size",
    "embedding_size",
    "max_position_embeddings",
    "type_vocab_size",
    "hidden_size",
    "intermediate_size",
    "inner_group_num",
    "num_hidden_groups",
)
# Generic transformers switches: written to config.json only when they differ from these defaults.
_FLAGS = {"output_attentions": False, "output_hidden_states": False, "return_dict": True}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bad(message: str) -> ValueError:
    # A wrong type inside config.json is a bad value of that key: ValueError, as json and transformers raise.
    return ValueError(message)


def _int_key(name: str, key: Any) -> int:
    """A label id written as an int or, as JSON object keys are, as a string of digits."""
    if _is_int(key):
        return key
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key)
    raise ValueError(
        f"config.{name} must map label ids (ints, or strings of digits in JSON) to names, got the key {key!r}"
    )


def _label_maps(id2label: Any, label2id: Any) -> tuple[dict[int, str], dict[str, int]]:
    if not isinstance(id2label, dict):
        # transformers refuses a list as well ("Argument id2label should be a dictionary")
        raise _bad(
            f'config.id2label must be a dict of label id -> name (e.g. {{"0": "neg", "1": '
            f'"pos"}}), got a {type(id2label).__name__}'
        )
    if len(id2label) > MAX_LABELS:
        raise ValueError(f"config.id2label has {len(id2label)} labels; at most {MAX_LABELS} are accepted")
    ids: dict[int, str] = {}
    for key, name in id2label.items():
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise _bad(f"config.id2label[{key!r}] must be a label name (a string), got {name!r}")
        ids[_int_key("id2label", key)] = str(name)
    if sorted(ids) != list(range(len(ids))):
        raise ValueError(f"config.id2label keys must be 0..num_labels-1, got {sorted(ids)[:10]}")
    if not ids:
        raise ValueError("config.id2label must name at least one label")
    if label2id is None:
        return ids, {name: i for i, name in ids.items()}
    if not isinstance(label2id, dict):
        raise _bad(f"config.label2id must be a dict of label name -> id, got a {type(label2id).__name__}")
    names: dict[str, int] = {}
    for key, value in label2id.items():
        if not isinstance(key, str):
            raise _bad(f"config.label2id keys must be label names (strings), got {key!r}")
        names[key] = _int_key("label2id", value)
    return ids, names


def _default_labels(count: Any) -> tuple[dict[int, str], dict[str, int]]:
    if not _is_int(count) or not 1 <= count <= MAX_LABELS:
        raise ValueError(f"config.num_labels must be an int in [1, {MAX_LABELS}], got {count!r}")
    ids = {i: f"LABEL_{i}" for i in range(count)}
    return ids, {name: i for i, name in ids.items()}


def format_bytes(count: float) -> str:
    """``"2.6 TB"``: a byte count in decimal units, for messages."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} PB"


def dtype_name(value: Any) -> str | None:
    """``"float16"`` for ``torch.float16``, ``"float16"`` or ``"torch.float16"``; None stays None."""
    if value is None:
        return None
    name = str(value).removeprefix("torch.")
    if name not in DTYPES:
        raise ValueError(f"config.dtype (torch_dtype) must be one of {DTYPES} or null, got {value!r}")
    return name


@dataclass
class AlbertConfig:
    """ALBERT hyper-parameters, named exactly as in ``config.json``.

    The defaults are transformers' (albert-xxlarge shapes); :meth:`base` gives albert-base-v2's.
    ``id2label``/``label2id`` decide ``num_labels``; ``AlbertConfig(num_labels=3)`` and ``config.num_labels = 3``
    rebuild them as ``LABEL_0..2`` (as transformers does). ``dtype`` (``torch_dtype`` in older files) names the
    dtype the weights were saved in. ``extra`` holds keys this package does not use, so a checkpoint's
    ``config.json`` survives a load/save round trip. Fields assigned after construction are not re-checked
    until the config is loaded again.

    Every argument is also an attribute of the same name, and every one but ``extra`` is a ``config.json``
    key (``extra``'s own keys are written at the top level of the file beside them).

    Example:
        >>> from albert_model import AlbertConfig
        >>> config = AlbertConfig.base(num_labels=3)
        >>> config.hidden_size, config.num_labels, config.id2label[2]
        (768, 3, 'LABEL_2')

    Args:
        vocab_size: rows of the word-embedding table, the number of token ids the model accepts; an int in
            ``[1, 10**7]``. It must match the tokenizer's vocabulary (30000 for the published checkpoints).
        embedding_size: width of the (factorised) token, position and token-type embeddings, projected to
            ``hidden_size`` before the first layer; an int in ``[1, 65536]``.
        hidden_size: width of every transformer layer and of the pooler; an int in ``[1, 65536]`` divisible by
            ``num_attention_heads``.
        num_hidden_layers: how many layer steps the encoder runs; an int in ``[1, 1024]`` and a multiple of
            ``num_hidden_groups``.
        num_hidden_groups: how many distinct groups of layer parameters there are: consecutive steps share a
            group, ``num_hidden_layers // num_hidden_groups`` steps each (1, every published ALBERT, shares one
            group across all layers); an int in ``[1, num_hidden_layers]``.
        num_attention_heads: attention heads per layer; an int in ``[1, 65536]`` dividing ``hidden_size``.
        intermediate_size: width of each layer's feed-forward block; an int in ``[1, 262144]``.
        inner_group_num: layers inside each group, run one after the other at every step; an int in
            ``[1, 1024]`` (1 in every published ALBERT).
        hidden_act: the feed-forward activation, one of :data:`ACTIVATIONS` (``"gelu_new"``, the tanh
            approximation, by default; ``"swish"`` is ``"silu"``).
        hidden_dropout_prob: dropout on the embeddings and on each attention block's output while training; a
            number in ``[0, 1)``.
        attention_probs_dropout_prob: dropout on the attention probabilities while training; a number in
            ``[0, 1)``.
        max_position_embeddings: rows of the position-embedding table, the longest sequence the model
            accepts; an int in ``[1, 10**6]``. A longer input raises ``ValueError`` at the forward pass.
        type_vocab_size: rows of the token-type (segment) embedding table; an int in ``[1, 10**6]`` (2:
            sentence A and B).
        initializer_range: standard deviation of the normal distribution new weights are drawn from (a model
            built from a config alone, task heads absent from a checkpoint, rows added by
            ``resize_token_embeddings`` without mean resizing); a finite number >= 0.
        layer_norm_eps: the epsilon of every LayerNorm; a finite number > 0.
        classifier_dropout_prob: dropout before a classification head while training; a number in ``[0, 1)``,
            or None for the head's fallback as in transformers (no dropout for sequence classification and
            multiple choice, ``hidden_dropout_prob`` for token classification).
        position_embedding_type: only ``"absolute"`` (learned positions, every published ALBERT) is
            accepted; any other value raises ``ValueError``.
        pad_token_id: the padding token's id: its word-embedding row is zeroed when weights are initialised
            and gets no gradient (``nn.Embedding``'s ``padding_idx``); an int in ``[0, vocab_size)``, or None
            for no padding row.
        bos_token_id: the id of the token that starts a sequence (``[CLS]``, 2), kept for transformers; an int
            >= 0 or None. The model does not read it.
        eos_token_id: the id of the token that ends a sequence (``[SEP]``, 3), kept for transformers; an int
            >= 0 or None. The model does not read it.
        id2label: label id -> label name for the classification heads, ids ``0..num_labels-1`` (ints, or
            strings of digits as JSON object keys are). Empty (the default) means ``LABEL_0..LABEL_{n-1}`` for
            ``num_labels`` labels (two when that is not given either).
        label2id: label name -> id. Empty (the default) means the inverse of ``id2label``.
        problem_type: what a sequence-classification loss treats the labels as: ``"regression"`` (mean
            squared error), ``"single_label_classification"`` (cross-entropy), ``"multi_label_classification"``
            (binary cross-entropy per label), or None to decide from the labels (one label: regression; integer
            labels: single-label; float labels: multi-label). Pipelines read it the same way to choose
            between softmax, sigmoid and the raw score.
        architectures: the class names the checkpoint was saved from (``["AlbertForMaskedLM"]``), written by
            ``save_pretrained``; a list of strings, or None when unknown (then the key is left out of the file).
            The ONNX export reads it to pick a head when none is named.
        model_type: must be ``"albert"``; a ``config.json`` of another model raises ``ValueError``.
        dtype: the dtype the weights were saved in, ``"float32"``, ``"float16"``, ``"bfloat16"`` or
            ``"float64"`` (``torch.float16`` and ``"torch.float16"`` are accepted and stored as
            ``"float16"``), or None when not recorded. Written under both ``dtype`` and ``torch_dtype``.
        output_attentions: whether a forward pass returns every layer's attention probabilities when its own
            ``output_attentions`` argument is left None. Written to the file only when True.
        output_hidden_states: whether a forward pass returns the hidden states after the embeddings and after
            every layer when its own ``output_hidden_states`` argument is left None. Written to the file only
            when True.
        return_dict: whether a forward pass returns an output dataclass (True) or transformers' plain tuple
            (False) when its own ``return_dict`` argument is left None. Written to the file only when False.
        extra: the ``config.json`` keys this class does not know, kept as read and written back on save.
        num_labels: a constructor argument, not a field: the number of labels, an int in ``[1, 10**6]``; it
            builds ``id2label``/``label2id`` as ``LABEL_i`` when ``id2label`` is not given, and is ignored
            with a ``UserWarning`` when it disagrees with a given ``id2label``. Afterwards
            ``config.num_labels`` is ``len(id2label)``, and assigning a different count rebuilds both maps.

    Raises:
        ValueError: a field of the wrong type or out of range, or sizes that together make a model of more
            than :data:`MAX_PARAMETERS` parameters; the message names the key and what is accepted (see
            :meth:`validate`).
    """

    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 4096
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    num_attention_heads: int = 64
    intermediate_size: int = 16384
    inner_group_num: int = 1
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    classifier_dropout_prob: float | None = 0.1
    position_embedding_type: str = "absolute"
    pad_token_id: int | None = 0
    bos_token_id: int | None = 2
    eos_token_id: int | None = 3
    # empty means "not given": LABEL_0..num_labels-1 (two by default), label2id derived from id2label
    id2label: dict[int, str] = field(default_factory=dict)
    label2id: dict[str, int] = field(default_factory=dict)
    problem_type: str | None = None
    architectures: list[str] | None = None
    model_type: str = "albert"
    dtype: str | None = None
    output_attentions: bool = False
    output_hidden_states: bool = False
    return_dict: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    if TYPE_CHECKING:  # what the property installed below the class looks like

        @property
        def num_labels(self) -> int: ...

        @num_labels.setter
        def num_labels(self, value: int) -> None: ...
    else:  # a constructor argument, not stored: it is len(id2label)
        num_labels: InitVar[int | None] = None

    def __post_init__(self, num_labels: int | None = None) -> None:  # noqa: RUF033 -- mypy sees no InitVar
        if num_labels is not None:
            _default_labels(num_labels)  # type and range, before anything is built
        if self.id2label is None or (
            isinstance(self.id2label, dict) and not self.id2label
        ):  # not given: LABEL_i for num_labels (2)
            self.id2label, derived = _default_labels(2 if num_labels is None else num_labels)
            self.label2id = self.label2id or derived
        elif num_labels is not None and isinstance(self.id2label, dict) and num_labels != len(self.id2label):
            warnings.warn(
                f"config: num_labels={num_labels} disagrees with id2label ({len(self.id2label)} labels); "
                f"id2label wins, as in transformers",
                UserWarning,
                stacklevel=3,
            )
        self.validate()

    def validate(self) -> None:
        """Check every field; raise ``ValueError`` naming the first bad one.

        Called by the constructor. Normalises as it checks: ``id2label`` keys become ints, a missing
        ``label2id`` is derived from ``id2label``, and ``dtype`` becomes its plain name (``"float16"``).

        Raises:
            ValueError: a field of the wrong type or out of its range (the message names the ``config.KEY``
                and what is accepted), sizes whose product exceeds :data:`MAX_PARAMETERS` parameters (the
                message lists the sizes to check for a typo), ``hidden_size`` not divisible by
                ``num_attention_heads``, ``num_hidden_layers`` not a multiple of ``num_hidden_groups``, a
                ``position_embedding_type`` other than ``"absolute"`` or a ``model_type`` other than
                ``"albert"``.
        """
        for name, upper in LIMITS.items():
            value = getattr(self, name)
            if not _is_int(value) or not 1 <= value <= upper:
                raise ValueError(f"config.{name} must be an int in [1, {upper}], got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"config.hidden_size ({self.hidden_size}) must be divisible by "
                f"config.num_attention_heads ({self.num_attention_heads})"
            )
        if not 1 <= self.num_hidden_groups <= self.num_hidden_layers:
            raise ValueError(
                f"config.num_hidden_groups must be in 1..num_hidden_layers "
                f"({self.num_hidden_layers}), got {self.num_hidden_groups}"
            )
        if self.num_hidden_layers % self.num_hidden_groups:
            raise ValueError(
                f"config.num_hidden_layers ({self.num_hidden_layers}) must be a multiple of "
                f"config.num_hidden_groups ({self.num_hidden_groups})"
            )
        count = self.parameter_count()
        if count > MAX_PARAMETERS:  # before anything is built: allocating this would take the machine down
            sizes = ", ".join(f"config.{name}={getattr(self, name)}" for name in _SIZES)
            raise ValueError(
                f"config sizes {sizes} make a model of about {count:.3g} parameters "
                f"({format_bytes(count * 4)} in float32); at most {MAX_PARAMETERS:.0e} are accepted: "
                f"check these sizes for a typo"
            )
        if not isinstance(self.hidden_act, str) or self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"config.hidden_act={self.hidden_act!r} is not supported; accepted: {ACTIVATIONS}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout_prob"):
            value = getattr(self, name)
            if value is None and name == "classifier_dropout_prob":
                continue
            if not _is_number(value) or not 0.0 <= value < 1.0:
                raise ValueError(f"config.{name} must be a number in [0, 1), got {value!r}")
        if not _is_number(self.initializer_range) or self.initializer_range < 0:
            raise ValueError(f"config.initializer_range must be a finite number >= 0, got {self.initializer_range!r}")
        if not _is_number(self.layer_norm_eps) or not self.layer_norm_eps > 0:
            raise ValueError(f"config.layer_norm_eps must be a finite number > 0, got {self.layer_norm_eps!r}")
        if self.position_embedding_type != "absolute":
            raise ValueError(
                f"config.position_embedding_type={self.position_embedding_type!r}: only "
                f"'absolute' (every published ALBERT checkpoint) is supported"
            )
        if self.pad_token_id is not None and (
            not _is_int(self.pad_token_id) or not 0 <= self.pad_token_id < self.vocab_size
        ):
            raise ValueError(
                f"config.pad_token_id must be null or an int in [0, vocab_size) = "
                f"[0, {self.vocab_size}), got {self.pad_token_id!r}"
            )
        for name in ("bos_token_id", "eos_token_id"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 0):
                raise ValueError(f"config.{name} must be null or an int >= 0, got {value!r}")
        if self.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"config.problem_type={self.problem_type!r}; accepted: {PROBLEM_TYPES}")
        self.id2label, self.label2id = _label_maps(self.id2label, self.label2id or None)
        if self.architectures is not None and (
            not isinstance(self.architectures, list) or not all(isinstance(a, str) for a in self.architectures)
        ):
            raise ValueError(f"config.architectures must be a list of class names, got {self.architectures!r}")
        if self.model_type != "albert":
            raise ValueError(
                f"config.model_type={self.model_type!r}: this config.json is for another model, not 'albert'"
            )
        self.dtype = dtype_name(self.dtype)
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise _bad(f"config.{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.extra, dict):
            raise _bad(f"config.extra must be a dict, got {type(self.extra).__name__}")

    def parameter_count(self) -> int:
        """Parameters of :class:`AlbertModel` with its pooler, from the sizes alone (a task head adds a few).

        Returns:
            The parameter count, computed without building anything (so it can refuse a typo before any
            tensor is allocated).
        """
        e, h, i = self.embedding_size, self.hidden_size, self.intermediate_size
        embeddings = e * (self.vocab_size + self.max_position_embeddings + self.type_vocab_size + 2)  # + LayerNorm
        layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h  # attention, its norm, FFN, norm
        return embeddings + (e * h + h) + self.num_hidden_groups * self.inner_group_num * layer + (h * h + h)

    @property
    def head_dim(self) -> int:
        """The width of one attention head: ``hidden_size // num_attention_heads``."""
        return self.hidden_size // self.num_attention_heads

    @property
    def torch_dtype(self) -> str | None:
        """The name older transformers versions use for :attr:`dtype`."""
        return self.dtype

    @torch_dtype.setter
    def torch_dtype(self, value: Any) -> None:
        self.dtype = dtype_name(value)

    def with_labels(self, labels: list[str] | int) -> AlbertConfig:
        """A copy with ``num_labels`` labels (names, or a count giving ``LABEL_i``).

        Args:
            labels: the label names in id order (``["neg", "pos"]`` gives ``id2label == {0: "neg", 1: "pos"}``),
                or a count ``n`` giving ``LABEL_0..LABEL_{n-1}``.

        Returns:
            A deep copy of this config with ``id2label`` and ``label2id`` replaced; this config is unchanged.

        Raises:
            ValueError: a count outside ``[1, 10**6]``, an empty list, or a name that is neither a string nor
                an int (ints become their string).
        """
        if isinstance(labels, int):
            ids, names = _default_labels(labels)
        else:
            ids, names = _label_maps(dict(enumerate(labels)), None)
        out = copy.deepcopy(self)
        out.id2label, out.label2id = ids, names
        return out

    def with_overrides(self, **overrides: Any) -> AlbertConfig:
        """A validated copy with ``config.json`` keys replaced (unknown keys go to ``extra``), with
        transformers' label semantics: a new ``num_labels`` rebuilds ``id2label``/``label2id`` (the same count
        keeps them), a new ``id2label`` brings its own ``label2id`` unless one is given, and ``num_labels``
        given with ``id2label`` must agree with it.

        Args:
            **overrides: ``config.json`` keys and their new values (``hidden_dropout_prob=0.1``,
                ``num_labels=3``, ``torch_dtype="float16"``); none gives a plain deep copy.

        Returns:
            A new, validated config; this one is unchanged.

        Raises:
            ValueError: ``num_labels`` given with an ``id2label`` of another length, or a value the
                constructor refuses (see :meth:`validate`).
        """
        if not overrides:
            return copy.deepcopy(self)
        data = self.to_dict()
        if "id2label" in overrides:
            given = overrides["id2label"]
            if "num_labels" in overrides and (not hasattr(given, "__len__") or len(given) != overrides["num_labels"]):
                raise ValueError(
                    f"num_labels={overrides['num_labels']!r} disagrees with id2label={given!r}; pass one of them"
                )
            if "label2id" not in overrides:
                data.pop("label2id", None)
        elif "num_labels" in overrides and overrides["num_labels"] != self.num_labels:
            data.pop("id2label", None)
            if "label2id" not in overrides:
                data.pop("label2id", None)
        data.update(overrides)
        return type(self).from_dict(data)

    @classmethod
    def base(cls, **overrides: Any) -> AlbertConfig:
        """albert-base-v2's shapes (hidden 768, 12 layers, 12 heads, ffn 3072, embeddings 128).

        Args:
            **overrides: constructor arguments that replace these shapes or any other default
                (``num_hidden_layers=6``, ``num_labels=3``).

        Returns:
            A new, validated config.

        Raises:
            ValueError: an override the constructor refuses (see :meth:`validate`).
        """
        values: dict[str, Any] = {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072}
        values.update(overrides)
        return cls(**values)

    # -- JSON ----------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> frozenset[str]:
        """The keys this class reads from ``config.json`` (``num_labels`` and ``torch_dtype`` included).

        Returns:
            The key names; any other key of a file goes to :attr:`extra`.
        """
        return frozenset(f.name for f in fields(cls) if f.name != "extra") | {"num_labels", "torch_dtype"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlbertConfig:
        """Build a config from the parsed content of a ``config.json``.

        Args:
            data: the JSON object as a dict. Keys this class knows become fields; ``torch_dtype`` stands in
                for a missing ``dtype``, ``num_labels`` is read as the constructor's argument, and every other
                key goes to :attr:`extra`.

        Returns:
            A new, validated config.

        Raises:
            ValueError: ``data`` is not a dict, its ``model_type`` is not ``"albert"``, or a value the
                constructor refuses (see :meth:`validate`).
        """
        if not isinstance(data, dict):
            raise _bad(f"a config must be a JSON object, got {type(data).__name__}")
        if data.get("model_type", "albert") != "albert":
            raise ValueError(
                f"config.model_type={data['model_type']!r}: this config.json is for another model, not 'albert'"
            )
        names = cls.field_names() - {"num_labels", "torch_dtype"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k not in ("num_labels", "torch_dtype")}
        if "dtype" not in known and data.get("torch_dtype") is not None:
            known["dtype"] = data["torch_dtype"]
        known["num_labels"] = data.get("num_labels")
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The ``config.json`` content, as transformers writes it.

        Returns:
            A new dict: the keys of :attr:`extra` first, then every field (``id2label`` keys as strings, as
            JSON requires). ``architectures`` and ``dtype`` are left out when None, ``output_attentions``,
            ``output_hidden_states`` and ``return_dict`` when they hold their defaults, and ``dtype`` is also
            written as ``torch_dtype`` for older transformers.
        """
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out["id2label"] = {str(k): v for k, v in self.id2label.items()}
        if out["architectures"] is None:
            del out["architectures"]
        for name, default in _FLAGS.items():
            if out[name] == default:
                del out[name]
        out["dtype"] = dtype_name(out["dtype"])
        if out["dtype"] is None:
            del out["dtype"]
        else:  # transformers >= 4.56 reads "dtype", older versions "torch_dtype"
            out["torch_dtype"] = out["dtype"]
        return {**self.extra, **out}

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> AlbertConfig:
        """Read transformers' ``config.json`` or Google's ``albert_config.json``; errors name the file.

        Args:
            path: the JSON file to read (a regular file; a directory, device or FIFO is refused before it is
                opened).

        Returns:
            A new, validated config; keys this class does not know are kept in :attr:`extra`.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            NotARegularFileError: ``path`` is a directory, device, FIFO or socket (an ``OSError``).
            ValueError: ``"PATH: ..."``: the file is not UTF-8 JSON, holds something other than a JSON
                object, or a value the constructor refuses (see :meth:`validate`).
        """
        p = os.fspath(path)
        data = read_json(p, "config file")  # a directory, device or FIFO is refused before it is opened
        if not isinstance(data, dict):
            raise _bad(f"{p} must hold a JSON object of config keys, got a JSON {type(data).__name__}")
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{p}: {exc}") from exc

    def to_json_string(self) -> str:
        """The text :meth:`save_pretrained` writes.

        Returns:
            :meth:`to_dict` as JSON, indented by two spaces, keys sorted, ending with a newline.
        """
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    # -- directories, as transformers' AutoConfig ------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        directory: str | os.PathLike[str],
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        token: str | bool | None = None,
        local_files_only: bool = False,
        subfolder: str = "",
        force_download: bool = False,
        **overrides: Any,
    ) -> AlbertConfig:
        """``directory/config.json``, with ``overrides`` applied as :meth:`with_overrides` does.

        ``directory`` may be a Hugging Face repo id: its ``config.json`` is read from the standard cache, or
        downloaded when allowed (see :func:`albert_tok.io.resolve_directory`).

        Args:
            directory: a checkpoint directory holding ``config.json``, or a repo id (``"albert/albert-base-v2"``;
                the legacy ``"albert-base-v2"`` too) when no such directory exists.
            revision: with a repo id, the branch, tag or commit to read (None: ``"main"``).
            cache_dir: with a repo id, the Hugging Face cache to use (None: ``HF_HUB_CACHE``).
            token: with a repo id, the token for a private or gated repository (None: ``HF_TOKEN`` or the saved
                login; False: none).
            local_files_only: True never downloads (as ``HF_HUB_OFFLINE=1``): a repo id must be in the cache.
            subfolder: the folder of the repository or directory holding ``config.json`` (``""``: the top).
            force_download: True downloads a repo id's ``config.json`` again even when it is cached.
            **overrides: ``config.json`` keys to replace after reading (``num_labels=3``).

        Returns:
            A new, validated config.

        Raises:
            FileNotFoundError: the directory has no ``config.json``, or does not exist and is no repo id.
            OSError: a repo id that is not in the cache while downloads are off, or that the hub does not have,
                or whose download failed.
            ImportError: a repo id without huggingface_hub installed (``pip install "albert[hub]"``).
            ValueError: the file is not a valid ALBERT config, or an override is refused (see
                :meth:`from_json` and :meth:`with_overrides`).
        """
        found = resolve_directory(
            directory,
            what="config",
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=local_files_only,
            subfolder=subfolder,
            force_download=force_download,
        )
        path = os.path.join(found, CONFIG_NAME)
        return cls.from_json(path).with_overrides(**overrides)

    def save_pretrained(self, directory: str | os.PathLike[str]) -> list[str]:
        """Write ``directory/config.json`` atomically (the directory is created if missing).

        Other files in the directory are left as they are. A failed or killed write leaves the previous
        ``config.json`` (see :func:`albert_tok.io.atomic.write_directory`).

        Args:
            directory: the directory to write into; it and its parents are made when missing.

        Returns:
            The paths written: ``[directory/config.json]``.
        """
        return atomic.write_directory(
            os.fspath(directory), {CONFIG_NAME: self.to_json_string().encode("utf-8")}, create=True
        )


def _get_num_labels(self: AlbertConfig) -> int:
    """The number of labels: ``len(id2label)``; assigning a new count rebuilds ``id2label``/``label2id``.

    Returns:
        ``len(self.id2label)``.
    """
    return len(self.id2label)


def _set_num_labels(self: AlbertConfig, value: int) -> None:
    # as transformers: a new count rebuilds LABEL_i maps, the same count keeps the names
    if not _is_int(value) or value != len(self.id2label):
        self.id2label, self.label2id = _default_labels(value)


# The dataclass has read ``num_labels``'s default (None) for ``__init__``; the attribute is this property.
if not TYPE_CHECKING:
    AlbertConfig.num_labels = property(
        _get_num_labels, _set_num_labels, doc="len(id2label); assigning a new count rebuilds id2label/label2id"
    )
