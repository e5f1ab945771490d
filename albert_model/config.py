"""``AlbertConfig``: a dataclass whose fields are the keys of transformers' ALBERT ``config.json``.

Reads and writes that file (unknown keys are kept and written back), reads Google's original
``albert_config.json``, and validates every field up front with a ``ValueError`` naming it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlbertConfig", "ACTIVATIONS", "PROBLEM_TYPES"]

ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh")
PROBLEM_TYPES = (None, "regression", "single_label_classification", "multi_label_classification")


@dataclass
class AlbertConfig:
    """ALBERT hyper-parameters, named exactly as in ``config.json``.

    The defaults are transformers' (albert-xxlarge shapes); :meth:`base` gives albert-base-v2's.
    ``id2label``/``label2id`` decide ``num_labels``. ``extra`` holds keys this package does not use, so a
    checkpoint's ``config.json`` survives a load/save round trip.
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
    pad_token_id: int = 0
    bos_token_id: int = 2
    eos_token_id: int = 3
    id2label: dict[int, str] = field(default_factory=lambda: {0: "LABEL_0", 1: "LABEL_1"})
    label2id: dict[str, int] = field(default_factory=lambda: {"LABEL_0": 0, "LABEL_1": 1})
    problem_type: str | None = None
    architectures: list[str] | None = None
    model_type: str = "albert"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.id2label = {int(k): str(v) for k, v in self.id2label.items()}
        self.label2id = {str(k): int(v) for k, v in self.label2id.items()}
        ints = ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_hidden_groups",
                "num_attention_heads", "intermediate_size", "inner_group_num", "max_position_embeddings",
                "type_vocab_size")
        for name in ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"config.{name} must be a positive int, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"config.hidden_size ({self.hidden_size}) must be divisible by "
                             f"config.num_attention_heads ({self.num_attention_heads})")
        if not 1 <= self.num_hidden_groups <= self.num_hidden_layers:
            raise ValueError(f"config.num_hidden_groups must be in 1..num_hidden_layers "
                             f"({self.num_hidden_layers}), got {self.num_hidden_groups}")
        if self.num_hidden_layers % self.num_hidden_groups:
            raise ValueError(f"config.num_hidden_layers ({self.num_hidden_layers}) must be a multiple of "
                             f"config.num_hidden_groups ({self.num_hidden_groups})")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"config.hidden_act={self.hidden_act!r} is not supported; accepted: {ACTIVATIONS}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout_prob"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= float(value) < 1.0:
                raise ValueError(f"config.{name} must be in [0, 1), got {value!r}")
        if self.position_embedding_type != "absolute":
            raise ValueError(f"config.position_embedding_type={self.position_embedding_type!r}: only "
                             f"'absolute' (every published ALBERT checkpoint) is supported")
        if not float(self.layer_norm_eps) > 0:
            raise ValueError(f"config.layer_norm_eps must be > 0, got {self.layer_norm_eps!r}")
        if self.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"config.problem_type={self.problem_type!r}; accepted: {PROBLEM_TYPES}")
        if sorted(self.id2label) != list(range(len(self.id2label))):
            raise ValueError(f"config.id2label keys must be 0..num_labels-1, got {sorted(self.id2label)}")

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def with_labels(self, labels: list[str] | int) -> "AlbertConfig":
        """A copy with ``num_labels`` labels (names, or a count giving ``LABEL_i``)."""
        names = [f"LABEL_{i}" for i in range(labels)] if isinstance(labels, int) else list(labels)
        if not names:
            raise ValueError("labels must name at least one label")
        return dataclasses.replace(self, id2label=dict(enumerate(names)),
                                   label2id={n: i for i, n in enumerate(names)})

    @classmethod
    def base(cls, **overrides: Any) -> "AlbertConfig":
        """albert-base-v2's shapes (hidden 768, 12 layers, 12 heads, ffn 3072, embeddings 128)."""
        values: dict[str, Any] = dict(hidden_size=768, num_attention_heads=12, intermediate_size=3072)
        values.update(overrides)
        return cls(**values)

    # -- JSON ----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AlbertConfig":
        if not isinstance(data, dict):
            raise TypeError(f"a config must be a JSON object, got {type(data).__name__}")
        if data.get("model_type", "albert") != "albert":
            raise ValueError(f"config.json is for model_type={data['model_type']!r}, not 'albert'")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k != "num_labels"}
        if "num_labels" in data and "id2label" not in data:
            known["id2label"] = {i: f"LABEL_{i}" for i in range(int(data["num_labels"]))}
            known["label2id"] = {f"LABEL_{i}": i for i in range(int(data["num_labels"]))}
        if "id2label" in known and "label2id" not in known:
            known["label2id"] = {v: int(k) for k, v in known["id2label"].items()}
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out["id2label"] = {str(k): v for k, v in self.id2label.items()}
        if out["architectures"] is None:
            del out["architectures"]
        return {**self.extra, **out}

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> "AlbertConfig":
        """Read transformers' ``config.json`` or Google's ``albert_config.json``."""
        p = os.fspath(path)
        if not os.path.isfile(p):
            raise FileNotFoundError(f"config file {p!r} does not exist")
        try:
            with open(p, encoding="utf-8") as fh:
                data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p} is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
