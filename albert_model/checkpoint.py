"""Hugging Face-format checkpoints: reading, pure state-dict conversion, loading reports, saving.

Conversion is a chain of pure ``dict[str, Tensor] -> dict[str, Tensor]`` functions: legacy LayerNorm
names (``gamma``/``beta``), stale buffers (``position_ids``), the ``albert.`` prefix added or stripped to
fit the target class, and tied aliases dropped (they are re-tied after loading).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from .config import AlbertConfig

__all__ = ["CONFIG_NAME", "SAFETENSORS_NAME", "SAFETENSORS_INDEX_NAME", "BIN_NAME", "LoadReport",
           "read_state_dict", "rename_legacy_keys", "drop_buffers", "fit_prefix", "load_into", "save_model",
           "CheckpointError"]

CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
BIN_NAME = "pytorch_model.bin"
BIN_INDEX_NAME = "pytorch_model.bin.index.json"
StateDict = dict[str, torch.Tensor]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message lists every problem."""


@dataclass
class LoadReport:
    """What loading did: keys missing or unexpected (errors), newly initialised head parameters, unused
    parameters of another head, and shape mismatches ``(key, checkpoint shape, model shape)``."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    newly_initialized: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        lines = []
        if self.missing:
            lines.append(f"missing keys ({len(self.missing)}): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append(f"unexpected keys ({len(self.unexpected)}): " + ", ".join(self.unexpected))
        for key, found, wanted in self.mismatched:
            lines.append(f"shape mismatch for {key}: checkpoint {list(found)}, model {list(wanted)}")
        return "\n".join(lines)


# -- reading ----------------------------------------------------------------------------------------
def _read_safetensors(path: str) -> StateDict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc}); it may be truncated or "
                              f"corrupt") from exc


def read_state_dict(directory: str) -> tuple[StateDict, str]:
    """The weights of a checkpoint directory and the file they came from.

    Looks for ``model.safetensors``, a sharded ``model.safetensors.index.json``, then ``pytorch_model.bin``
    (read with ``weights_only=True``).
    """
    single = os.path.join(directory, SAFETENSORS_NAME)
    if os.path.isfile(single):
        return _read_safetensors(single), single
    index = os.path.join(directory, SAFETENSORS_INDEX_NAME)
    if os.path.isfile(index):
        try:
            with open(index, encoding="utf-8") as fh:
                weight_map = json.load(fh)["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{index} is not a valid shard index ({exc})") from exc
        state: StateDict = {}
        for shard in sorted(set(weight_map.values())):
            path = os.path.join(directory, shard)
            if not os.path.isfile(path):
                raise CheckpointError(f"{index} names shard {shard!r}, which is not in {directory!r}")
            state.update(_read_safetensors(path))
        absent = sorted(set(weight_map) - set(state))
        if absent:
            raise CheckpointError(f"shards lack keys listed in {index}: {', '.join(absent)}")
        return state, index
    binary = os.path.join(directory, BIN_NAME)
    if os.path.isfile(binary):
        try:
            loaded = torch.load(binary, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types (pickle, zip, runtime) for bad files
            raise CheckpointError(f"{binary} could not be read as a PyTorch state dict ({exc})") from exc
        if not isinstance(loaded, dict):
            raise CheckpointError(f"{binary} holds a {type(loaded).__name__}, not a state dict")
        return loaded, binary
    raise FileNotFoundError(f"{directory!r} has no {SAFETENSORS_NAME}, {SAFETENSORS_INDEX_NAME} or {BIN_NAME}")


# -- pure conversion ----------------------------------------------------------------------------------
def rename_legacy_keys(state: StateDict) -> StateDict:
    """Old TF-converted checkpoints name LayerNorm parameters ``gamma``/``beta``."""
    out = {}
    for key, value in state.items():
        if key.endswith(".gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith(".beta"):
            key = key[: -len("beta")] + "bias"
        out[key] = value
    return out


def drop_buffers(state: StateDict) -> StateDict:
    """Remove buffers older transformers versions saved (``embeddings.position_ids``/``token_type_ids``)."""
    return {k: v for k, v in state.items()
            if not k.endswith(("embeddings.position_ids", "embeddings.token_type_ids"))}


def fit_prefix(state: StateDict, prefix: str) -> StateDict:
    """Add or strip the base-model prefix so the checkpoint's base keys match the target class.

    ``prefix`` is the target's (``"albert"`` for head classes, ``""`` for :class:`AlbertModel`). A head
    checkpoint loaded into the base model keeps its head keys unprefixed, to be reported as unused.
    """
    has_prefix = any(k.startswith("albert.") for k in state)
    if prefix and not has_prefix:
        return {f"{prefix}.{k}": v for k, v in state.items()}
    if not prefix and has_prefix:
        return {k[len("albert."):] if k.startswith("albert.") else k: v for k, v in state.items()}
    return dict(state)


def drop_aliases(state: StateDict, tied: dict[str, str]) -> StateDict:
    """Remove tied aliases (``predictions.decoder.weight``/``bias``); loading re-ties them."""
    return {k: v for k, v in state.items() if k not in tied}


# -- loading ----------------------------------------------------------------------------------------
def _base_key(key: str, prefix: str) -> bool:
    return key.startswith(prefix + ".") if prefix else not key.startswith(("predictions.", "sop_classifier.",
                                                                            "classifier.", "qa_outputs."))


def compare(state: StateDict, expected: dict[str, torch.Tensor], prefix: str) -> LoadReport:
    """Sort checkpoint keys against the model's into a :class:`LoadReport`."""
    report = LoadReport()
    for key in sorted(set(expected) - set(state)):
        # the head (and a pooler the checkpoint's class did not have) may start fresh
        fresh = not _base_key(key, prefix) or ".pooler." in f".{key}"
        (report.newly_initialized if fresh else report.missing).append(key)
    for key in sorted(set(state) - set(expected)):
        unused = not _base_key(key, prefix) or ".pooler." in f".{key}"
        (report.unused if unused else report.unexpected).append(key)
    for key in sorted(set(state) & set(expected)):
        if tuple(state[key].shape) != tuple(expected[key].shape):
            report.mismatched.append((key, tuple(state[key].shape), tuple(expected[key].shape)))
    return report


def load_into(cls: Any, directory: str | os.PathLike[str], *, device: Any = None, dtype: torch.dtype | None = None,
              strict: bool = True, config: AlbertConfig | None = None, output_loading_info: bool = False) -> Any:
    path = os.fspath(directory)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"checkpoint directory {path!r} does not exist (no model hub here: pass a "
                                f"local directory with {CONFIG_NAME} and {SAFETENSORS_NAME})")
    if config is None:
        config = AlbertConfig.from_json(os.path.join(path, CONFIG_NAME))
    state, source = read_state_dict(path)
    model = cls(config)
    prefix = model.base_model_prefix
    state = drop_aliases(fit_prefix(drop_buffers(rename_legacy_keys(state)), prefix), model.tied_weights)
    expected = {k: v for k, v in model.state_dict().items() if k not in model.tied_weights}
    report = compare(state, expected, prefix)
    if not any(_base_key(k, prefix) and k in expected for k in state):
        raise CheckpointError(f"{source} is not an ALBERT checkpoint: none of its {len(state)} keys "
                              f"(e.g. {sorted(state)[:3]}) belongs to {cls.__name__}")
    if strict and not report.ok:
        raise CheckpointError(f"{source} does not fit {cls.__name__}:\n{report.describe()}")
    mismatched = {key for key, _, _ in report.mismatched}
    usable = {k: v for k, v in state.items() if k in expected and k not in mismatched}
    model.load_state_dict(usable, strict=False)
    model.tie_weights()
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    model.eval()
    model.load_report = report
    return (model, report) if output_loading_info else model


# -- saving -----------------------------------------------------------------------------------------
def save_model(model: Any, directory: str | os.PathLike[str]) -> list[str]:
    """``config.json`` + ``model.safetensors`` with tied aliases dropped, written atomically."""
    from dataclasses import replace

    from safetensors.torch import save

    from albert_tok.files import write_atomically

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()
             if k not in model.tied_weights}
    config = replace(model.config, architectures=[type(model).__name__])
    contents = {CONFIG_NAME: config.to_json_string().encode("utf-8"),
                SAFETENSORS_NAME: save(state, metadata={"format": "pt"})}
    return write_atomically(os.fspath(directory), contents, create=True)
