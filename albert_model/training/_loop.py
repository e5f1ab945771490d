"""The one training loop behind ``albert pretrain`` and ``albert finetune``.

Pretraining and fine-tuning are set-ups around it: each makes its data, its model and its evaluation, and hands
the loop a :class:`Run` (what one epoch's batches are, how a batch becomes a loss, how far the budget is spent,
what a point of the loss curve records). Everything else is here, once:

* :class:`TrainState` -- the model, optimizer, precision and device, and the loop state a checkpoint keeps
  (step, epoch and position in that epoch's order, the partly filled loss window, loss curve, evaluations,
  seconds, the run's fingerprint);
* :data:`PRECISIONS` -- the ``--precision`` table: a name, the autocast dtype it trains under, whether it
  scales the loss;
* :func:`make_optimizer` -- AdamW or LAMB, with no weight decay on biases and LayerNorms;
* :func:`train_step` -- one optimizer step: forward under autocast and backward for each micro-batch,
  clipping, the step;
* :func:`train_loop` -- the loop: the learning-rate schedule (:func:`linear_schedule`, a pure function of the
  budget spent, so a resumed run continues exactly), steps, the loss check, the loss curve, periodic
  evaluations and checkpoints, the progress line;
* checkpoints (:meth:`TrainState.save`, :meth:`TrainState.resume`) and the final save (:func:`publish`).

A training checkpoint is the directory ``OUTPUT/checkpoint/``, which every save replaces as ONE unit
(:func:`albert_tok.io.atomic.replace_directory`: the new tree is staged beside it, then swapped in), so a run
killed at any moment resumes from the complete previous checkpoint or the complete new one, never a mix:

* ``model.safetensors`` -- the model's state dict (tied aliases dropped);
* ``optimizer.pt`` -- optimizer state and torch random state, tensors and plain containers only, read
  back with ``torch.load(weights_only=True)`` so a crafted file cannot run code;
* ``trainer_state.json`` -- :meth:`TrainState.record`: step, data position, the partly filled loss window,
  history, arguments, and the run's fingerprint (:func:`run_fingerprint`): what a resume must agree with.

The checkpoint directory belongs to the loop: a file put into it by hand does not survive the next save.

How the loop scales, each in one place:

* data parallel (DDP, :mod:`albert_model.training._distributed`): :func:`begin` joins the job under ``torchrun``;
  :func:`train_loop` wraps ``state.model`` (:attr:`TrainState.trainee`); a :class:`Run`'s ``batches`` stays the
  global order and :attr:`TrainState.position` counts global examples, so any number of ranks continues the same
  order; :func:`train_step` hands each rank its part of every batch, all-reduces nothing itself (DDP does, in
  the last micro-batch's ``backward``) but sums the loss over ranks; each rank's dropout masks are drawn from
  the stream all ranks share, mixed with the rank; only rank 0 writes in :meth:`TrainState.save` and
  :func:`publish` and draws :class:`Progress`; every rank evaluates.
* gradient accumulation: :func:`train_step` cuts the global batch into ``accumulate`` micro-batches per rank,
  runs forward and backward on each (under ``no_sync`` but the last with DDP), each loss being its share of
  the whole batch's (:meth:`Run.loss`: weighted by the counts the loss averages over, so the sum is exact), then
  clips and steps once.
* LAMB: :func:`make_optimizer` picks the optimizer (``albert_model.training._lamb``) and its parameter groups.
* fp16: :class:`Precision` says whether it scales the loss; :class:`TrainState` holds the ``GradScaler``;
  :func:`train_step` scales the loss, unscales before clipping and steps through the scaler;
  :meth:`TrainState.save` and :meth:`TrainState.resume` keep its state in ``optimizer.pt``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import platform
import shutil
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from albert_model.checkpoints import CardFacts, SourceFile, card_contents, command_line
from albert_model.modeling import AlbertPreTrainedModel
from albert_model.training._common import CHECKPOINT_DIR, check_optimizer, parameter_groups
from albert_model.training._distributed import World, communication_failed, join, leave, lost, threads_for
from albert_model.training._flags import flag
from albert_model.training._lamb import Lamb, lamb_parameter_groups
from albert_tok.data import tokenizer_hash
from albert_tok.io import read_json, regular_file, sha256_of
from albert_tok.io.atomic import recover, replace_directory, write_directory

__all__ = [
    "METRICS_FILE",
    "PRECISIONS",
    "Precision",
    "Progress",
    "Run",
    "Step",
    "TrainState",
    "TrainingDivergedError",
    "append_metrics",
    "begin",
    "check_fingerprint",
    "check_loss",
    "check_precision",
    "linear_schedule",
    "load_training_state",
    "make_optimizer",
    "publish",
    "read_trainer_state",
    "resume_state",
    "run_card_facts",
    "run_facts",
    "run_fingerprint",
    "save_training_state",
    "schedule",
    "train_files",
    "train_loop",
    "train_step",
]

_MODEL_FILE = "model.safetensors"
_OPTIMIZER_FILE = "optimizer.pt"
_STATE_FILE = "trainer_state.json"
METRICS_FILE = "metrics.jsonl"
"""``OUTPUT/metrics.jsonl``: every evaluation and the final metrics, one JSON object a line."""


# -- precision ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Precision:
    """One ``--precision``: the dtype the forward pass autocasts to (None: none, float32 throughout), and whether
    the loss is scaled (float16, whose narrow range underflows small gradients: a ``torch.amp.GradScaler``
    multiplies the loss, unscales the gradients before clipping and skips a step whose gradients overflowed).
    Weights and optimizer state stay float32 under every precision."""

    name: str
    dtype: torch.dtype | None
    scaled: bool = False

    def scaler(self, device_type: str) -> torch.amp.GradScaler | None:
        """A fresh gradient scaler for ``device_type`` when this precision scales the loss; None otherwise."""
        return torch.amp.GradScaler(device_type) if self.scaled else None

    def autocast(self, device_type: str) -> torch.autocast:
        """The autocast context of this precision on ``device_type`` (disabled for fp32)."""
        return torch.autocast(device_type, dtype=self.dtype, enabled=self.dtype is not None)


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (Precision("fp32", None), Precision("bf16", torch.bfloat16), Precision("fp16", torch.float16, True))
}
"""``--precision`` values and what each one trains under."""


def check_precision(name: Any) -> str:
    """``name`` when it is a key of :data:`PRECISIONS`; otherwise a ``ValueError`` naming the flag and the values."""
    if name not in PRECISIONS:
        raise ValueError(f"--precision must be one of {sorted(PRECISIONS)}, got {name!r}")
    return name


# -- optimizer, schedule, loss check -------------------------------------------------------------------------
def make_optimizer(
    model: nn.Module, learning_rate: float, weight_decay: float, name: str = "adamw"
) -> torch.optim.Optimizer:
    """The optimizer ``name`` over ``model``'s trainable parameters, with no weight decay on biases and
    LayerNorms: AdamW over :func:`~albert_model.training._common.parameter_groups`, or LAMB over
    :func:`~albert_model.training._lamb.lamb_parameter_groups` (no trust ratio on those either: Google's rule)."""
    if check_optimizer(name) == "lamb":
        return Lamb(lamb_parameter_groups(model, weight_decay), lr=learning_rate)
    return torch.optim.AdamW(parameter_groups(model, weight_decay), lr=learning_rate)


def schedule(progress: float, step: int, warmup_fraction: float, warmup_steps: int | None = None) -> float:
    """Learning-rate multiplier before optimizer step ``step + 1`` at ``progress`` (0..1 of the budget):
    :func:`linear_schedule` of the progress; with ``warmup_steps``, Google's rule instead (``run_pretraining.py``):
    ``step / warmup_steps`` during the warm-up, then ``1 - progress`` (a linear decay to 0 over the whole budget).
    A pure function of the saved state, so a resumed run continues exactly."""
    if warmup_steps:
        return step / warmup_steps if step < warmup_steps else max(0.0, 1.0 - min(max(progress, 0.0), 1.0))
    return linear_schedule(progress, warmup_fraction)


def linear_schedule(progress: float, warmup_fraction: float) -> float:
    """Learning-rate multiplier at ``progress`` (0..1 of the training budget): linear warm-up over
    ``warmup_fraction``, then linear decay to 0. A pure function of progress, so a resumed run continues
    exactly where the interrupted one was."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup_fraction > 0 and progress < warmup_fraction:
        return progress / warmup_fraction
    return max(0.0, (1.0 - progress) / max(1e-12, 1.0 - warmup_fraction))


class TrainingDivergedError(FloatingPointError, ValueError):
    """The training loss became NaN or infinite; the message names the step and what to change. A
    ``ValueError`` too, so the command line reports it in one line (exit code 2)."""


def check_loss(loss: float, step: int, learning_rate: float, labels: torch.Tensor | None = None) -> None:
    """Raise :class:`TrainingDivergedError` when ``loss`` (of optimizer step ``step``) is not finite. With
    real-valued ``labels`` (regression) the message names the largest of the batch: labels of 1e19 and more
    overflow the squared error in 32-bit floats, which no learning rate cures."""
    if math.isfinite(loss):
        return
    retry = f"lower --learning-rate (now {learning_rate}) and --resume from the last checkpoint"
    if labels is not None and labels.is_floating_point() and labels.numel():
        largest = float(labels.detach().abs().max())
        raise TrainingDivergedError(
            f"the training loss became {loss} at step {step}; the regression labels of this batch reach "
            f"{largest:g}: scale the labels (to standard units, say) if they are that large, otherwise {retry}"
        )
    raise TrainingDivergedError(f"the training loss became {loss} at step {step}; {retry}")


# -- what a resume must agree with --------------------------------------------------------------------------
def _file_sha256(path: str) -> str:
    with open(regular_file(path, "--train file"), "rb") as fh:
        return sha256_of(fh)[0]


def run_fingerprint(
    train: Sequence[str], tokenizer: Any, model_config: Mapping[str, Any], **settings: Any
) -> dict[str, Any]:
    """What a checkpoint must agree with to be resumed exactly: the content of the ``--train`` files (their
    SHA-256, in order; names may change), the tokenizer (its vocabulary with added tokens, and what else
    decides its ids: the SentencePiece model, the preprocessing switches, the special tokens), the model's config and
    the ``settings`` that decide the data stream (named by their fields: ``max_seq_length``, ``batch_size``,
    ``seed``, ...). Everything else (the budget, the learning rate, the device) may change on a resume.
    As JSON, the way ``trainer_state.json`` holds it."""
    vocabulary = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False).encode("utf-8")
    ids_rule = hashlib.sha256(vocabulary + b"\0" + tokenizer_hash(tokenizer).encode()).hexdigest()
    fingerprint = {
        "train": [{"file": os.path.basename(p), "sha256": _file_sha256(p)} for p in train],
        "tokenizer_sha256": ids_rule,
        "model_config": {k: v for k, v in model_config.items() if not k.startswith("_")},
        **settings,
    }
    return json.loads(json.dumps(fingerprint, sort_keys=True, default=str))


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value) if isinstance(value, (dict, list)) else str(value)


_SETTING_DEFAULTS = {"optimizer": "adamw", "whole_word_mask": False, "short_seq_prob": 0.0}
"""Settings newer than some checkpoints: one whose fingerprint lacks them was made with these values."""


def _changes(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(saved) | set(now)):
        old, new = saved.get(key, _SETTING_DEFAULTS.get(key)), now.get(key, _SETTING_DEFAULTS.get(key))
        if key == "train":
            old, new = old if isinstance(old, list) else [], new if isinstance(new, list) else []
            if len(old) != len(new):
                changes.append(
                    f"--train: {len(new)} file(s) (the checkpoint's run read {len(old)}: "
                    f"{', '.join(str(f.get('file')) for f in old if isinstance(f, dict))})"
                )
            else:
                differ = [
                    str(n.get("file"))
                    for o, n in zip(old, new, strict=False)
                    if not isinstance(o, dict) or o.get("sha256") != n.get("sha256")
                ]
                if differ:
                    changes.append(f"--train: the text of {', '.join(differ)} differs from the checkpoint's run")
        elif old == new:
            continue
        elif key == "tokenizer_sha256":
            changes.append(
                "the tokenizer (its vocabulary, preprocessing switches or special tokens) differs from "
                "the checkpoint's (--tokenizer)"
            )
        elif key == "model_config" and isinstance(old, dict) and isinstance(new, dict):
            keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            changes.append(
                "model config: "
                + ", ".join(f"{k} {_show(old.get(k))} (now {_show(new.get(k))})" for k in keys[:8])
                + (", ..." if len(keys) > 8 else "")
            )
        else:
            changes.append(f"{flag(key)} {_show(old)} (now {_show(new)})")
    return changes


def check_fingerprint(saved: Mapping[str, Any], now: Mapping[str, Any], checkpoint: str | os.PathLike[str]) -> None:
    """Refuse to resume ``checkpoint`` (whose run had fingerprint ``saved``) with fingerprint ``now``: a
    ``ValueError`` that names every field that changed and the checkpoint's value of it."""
    changes = _changes(saved, now)
    if changes:
        raise ValueError(
            f"--resume: the checkpoint {os.fspath(checkpoint)} was made with other settings, so this "
            f"run cannot continue it exactly: {'; '.join(changes)}. Resume with the checkpoint's "
            f"settings, or start a new run without --resume (or with another --output)"
        )


# -- checkpoint files ------------------------------------------------------------------------------------------
StateRecord = dict[str, Any]
"""The JSON of ``trainer_state.json`` (:meth:`TrainState.record`)."""

# what the lists of a state hold
_ITEMS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "history": (dict, "an object"),
    "evals": (dict, "an object"),
    "window": ((int, float), "a number"),
}


def _kind(value: Any) -> str:
    return {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _fits(value: Any, like: Any) -> bool:
    if isinstance(like, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(like, bool)
    if isinstance(like, int):
        return isinstance(value, int) and value >= 0
    if isinstance(like, float):
        return isinstance(value, (int, float)) and math.isfinite(value) and value >= 0
    return isinstance(value, type(like))


def _state_problem(state: Any, template: Mapping[str, Any]) -> str | None:
    if not isinstance(state, dict):
        return f"it holds {_kind(state)}, not an object"
    for key, like in template.items():
        if key not in state:
            return f"{key!r} is missing" + (
                " (a checkpoint of an earlier version has none)" if key == "fingerprint" else ""
            )
        value = state[key]
        if not _fits(value, like):
            bound = " >= 0" if isinstance(like, (int, float)) and not isinstance(like, bool) else ""
            return f"{key!r} is {json.dumps(value)[:60]}, not {_kind(like)}{bound}"
        if key in _ITEMS and isinstance(value, list):
            item, noun = _ITEMS[key]
            if not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
                return f"{key!r} holds an entry that is not {noun}"
    return None


def read_trainer_state(directory: str | os.PathLike[str], template: Mapping[str, Any]) -> StateRecord:
    """The loop state in ``directory``'s ``trainer_state.json``, checked against ``template`` (a fresh run's
    state): every key of it present, each with a value of the same JSON kind (counts and seconds >= 0).

    Raises:
        FileNotFoundError: there is no ``trainer_state.json``.
        ValueError: it is corrupt (truncated, not JSON, not an object, a key missing or of the wrong kind);
            the message says which and names the file.
    """
    path = os.path.join(os.fspath(directory), _STATE_FILE)
    try:
        state = read_json(path, "trainer state file")
    except ValueError as exc:
        raise ValueError(
            f"the checkpoint's trainer state is corrupt: {exc}; restore {path} or start without --resume"
        ) from None
    problem = _state_problem(state, template)
    if problem:
        raise ValueError(f"{path} is corrupt: {problem}; restore it or start without --resume")
    return state


def resume_state(output: str | os.PathLike[str], template: Mapping[str, Any]) -> StateRecord:
    """For ``--resume``: the loop state of ``OUTPUT/checkpoint/`` (see :func:`read_trainer_state`), after
    finishing a save that was killed halfway. ``FileNotFoundError`` when ``output`` has no checkpoint."""
    checkpoint = os.path.join(os.fspath(output), CHECKPOINT_DIR)
    recover(checkpoint)
    if not os.path.isdir(checkpoint):
        raise FileNotFoundError(
            f"--resume: {os.fspath(output)} has no checkpoint to resume from ({checkpoint} "
            f"does not exist"
            + (
                "; a run that completed removes it unless it was given --keep-checkpoint"
                if os.path.isfile(os.path.join(os.fspath(output), "training.json"))
                else ""
            )
            + "); start without --resume for a new run"
        )
    if not os.path.lexists(os.path.join(checkpoint, _STATE_FILE)):
        raise FileNotFoundError(
            f"--resume: {checkpoint} has no {_STATE_FILE}; it is not a checkpoint of this "
            f"package (start without --resume, or give another --output)"
        )
    return read_trainer_state(checkpoint, template)


def save_training_state(
    directory: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    state: StateRecord,
    scaler: torch.amp.GradScaler | None = None,
) -> list[str]:
    """Replace the checkpoint ``directory`` (see the module docstring) with this state (and the fp16 gradient
    ``scaler``'s, in ``optimizer.pt``), as one unit."""
    from safetensors.torch import save

    tied = getattr(model, "tied_weights", {})
    weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items() if k not in tied}
    buffer = io.BytesIO()
    extra = {"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        extra["cuda_rng"] = torch.cuda.get_rng_state_all()
    if scaler is not None:
        extra["scaler"] = scaler.state_dict()
    torch.save(extra, buffer)
    contents = {
        _MODEL_FILE: save(weights, metadata={"format": "pt"}),
        _OPTIMIZER_FILE: buffer.getvalue(),
        _STATE_FILE: (json.dumps(state, indent=1, sort_keys=True) + "\n").encode("utf-8"),
    }
    return replace_directory(os.fspath(directory), contents)


def _check_shapes(model: nn.Module, weights: Mapping[str, torch.Tensor], path: str) -> None:
    own = model.state_dict()
    wrong = [
        f"{k} {list(v.shape)} (the model's {list(own[k].shape)})"
        for k, v in weights.items()
        if k in own and own[k].shape != v.shape
    ]
    if wrong:
        raise ValueError(
            f"training checkpoint {path!r} does not fit the model: {', '.join(sorted(wrong)[:5])}; "
            f"resume with the checkpoint's model settings, or start without --resume"
        )


def load_training_state(
    directory: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    template: Mapping[str, Any] | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> StateRecord:
    """Restore ``model`` and ``optimizer`` (and the fp16 gradient ``scaler``, when the checkpoint has its state:
    one made under another precision leaves a fresh scaler) from a checkpoint directory; return its loop state
    (checked against ``template`` as :func:`read_trainer_state` does).

    Nothing is unpickled: weights come from safetensors, the optimizer file is read with
    ``weights_only=True`` (tensors and plain containers only), the rest is JSON. A file that is damaged, or
    does not fit the model or optimizer, is a ``ValueError`` naming it (never a raw ``size mismatch``).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = os.fspath(directory)
    recover(path)  # finish a checkpoint save that was killed halfway
    for name in (_MODEL_FILE, _OPTIMIZER_FILE, _STATE_FILE):
        if not os.path.isfile(os.path.join(path, name)):
            raise FileNotFoundError(
                f"training checkpoint {path!r} lacks {name}; it is not a checkpoint of this "
                f"package (start without --resume, or point at another output directory)"
            )
    state = read_trainer_state(path, template or {})
    try:
        weights = load_file(os.path.join(path, _MODEL_FILE))
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{os.path.join(path, _MODEL_FILE)} is corrupt or not a safetensors file ({exc})") from exc
    _check_shapes(model, weights, path)
    try:
        extra = torch.load(os.path.join(path, _OPTIMIZER_FILE), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors; all mean "not a safe state file"
        raise ValueError(
            f"{os.path.join(path, _OPTIMIZER_FILE)} is corrupt or not a safe optimizer state file "
            f"(only tensors and plain containers are read): {exc}"
        ) from exc
    if not isinstance(extra, dict) or "optimizer" not in extra or not isinstance(state, dict):
        raise ValueError(
            f"training checkpoint {path!r} is malformed (optimizer.pt must hold a dict with "
            f"'optimizer', trainer_state.json an object)"
        )
    tied = getattr(model, "tied_weights", {})
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if k not in tied]
    if missing or unexpected:
        raise ValueError(
            f"training checkpoint {path!r} does not fit the model: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}"
        )
    tie = getattr(model, "tie_weights", None)
    if callable(tie):
        tie()
    try:
        optimizer.load_state_dict(extra["optimizer"])
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(
            f"{os.path.join(path, _OPTIMIZER_FILE)} does not fit this optimizer ({exc}); start without --resume"
        ) from exc
    if scaler is not None and isinstance(extra.get("scaler"), dict):
        try:
            scaler.load_state_dict(extra["scaler"])
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise ValueError(
                f"{os.path.join(path, _OPTIMIZER_FILE)}: its gradient scaler state is corrupt ({exc})"
            ) from exc
    if isinstance(extra.get("torch_rng"), torch.Tensor):
        torch.set_rng_state(extra["torch_rng"])
    if "cuda_rng" in extra and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(extra["cuda_rng"])
    return state


# -- the state ---------------------------------------------------------------------------------------------------
_SAVED = {"saved": True}  # a field written to trainer_state.json


@dataclass
class TrainState:
    """Everything a run carries from one step to the next.

    The model, optimizer, precision and device are the run's objects; the fields marked saved are the loop
    state that ``trainer_state.json`` keeps (:meth:`record`), with ``extra``: what one kind of run adds
    (pretraining: ``tokens`` seen and its ``budget``; fine-tuning: ``total_steps`` and ``cpu_seconds``) and
    whatever else the checkpoint it resumed held (the ``args`` of the run that wrote it). The random state is
    torch's global one (dropout), saved with each checkpoint and restored by :meth:`resume`; the data order
    is a pure function of the seed, the epoch and the position.
    """

    model: AlbertPreTrainedModel
    optimizer: torch.optim.Optimizer
    precision: Precision
    device: str
    output: Path
    """The run's output directory (the checkpoint is ``output/checkpoint``)."""
    step: int = field(default=0, metadata=_SAVED)
    epoch: int = field(default=0, metadata=_SAVED)
    position: int = field(default=0, metadata=_SAVED)
    """Examples of this epoch's order already trained on."""
    window: list[float] = field(default_factory=list, metadata=_SAVED)
    """The losses since the last loss-curve point."""
    history: list[dict[str, Any]] = field(default_factory=list, metadata=_SAVED)
    """The loss curve."""
    evals: list[dict[str, Any]] = field(default_factory=list, metadata=_SAVED)
    train_seconds: float = field(default=0.0, metadata=_SAVED)
    """Seconds spent in training steps (evaluations and checkpoints not counted), over every resumed run."""
    wall_seconds: float = field(default=0.0, metadata=_SAVED)
    fingerprint: dict[str, Any] = field(default_factory=dict, metadata=_SAVED)
    extra: dict[str, Any] = field(default_factory=dict)
    scaler: torch.amp.GradScaler | None = None
    """The fp16 gradient scaler (None under the other precisions); its state is kept in ``optimizer.pt``."""
    world: World = field(default_factory=World)
    """The ranks of the job (:mod:`~albert_model.training._distributed`); one process by default."""
    trainee: nn.Module | None = None
    """The module the training forward runs through: ``model`` wrapped in DDP and/or compiled (None: ``model``)."""

    @classmethod
    def template(cls, **extra: Any) -> StateRecord:
        """The record of a run that starts now, with ``extra``: what a checkpoint's state is checked against
        (made before the model is, so that a bad checkpoint is refused before the data is read)."""
        fresh = {
            f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            for f in dataclasses.fields(cls)
            if f.metadata.get("saved")
        }
        return {**fresh, **extra}

    def record(self) -> StateRecord:
        """The JSON loop state, as ``trainer_state.json`` holds it."""
        saved = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata.get("saved")}
        return {**saved, **self.extra}

    @property
    def checkpoint(self) -> Path:
        """``OUTPUT/checkpoint``."""
        return self.output / CHECKPOINT_DIR

    @property
    def device_type(self) -> str:
        """``cpu``, ``cuda``, ``mps``: what autocast is given."""
        return torch.device(self.device).type

    @property
    def forward(self) -> nn.Module:
        """The module a training step runs: :attr:`trainee`, or the model itself."""
        return self.model if self.trainee is None else self.trainee

    def save(self, args: Any) -> None:
        """Replace ``OUTPUT/checkpoint/`` with the model, optimizer, gradient scaler, random state and
        :meth:`record` (with ``args``, the run's arguments dataclass) as one unit. Rank 0 writes; every rank
        waits until it has."""
        self.extra["args"] = dataclasses.asdict(args)
        if self.world.writes:
            save_training_state(self.checkpoint, self.model, self.optimizer, self.record(), self.scaler)
        self.world.barrier()

    def resume(self) -> None:
        """Continue from ``OUTPUT/checkpoint/``: refuse a checkpoint of another run (:func:`check_fingerprint`),
        then restore the model, optimizer, random state and loop state from it.

        Raises:
            FileNotFoundError: there is no checkpoint, or it lacks a file.
            ValueError: the checkpoint was made with other settings, or is corrupt.
        """
        template = self.record()
        check_fingerprint(resume_state(self.output, template)["fingerprint"], self.fingerprint, self.checkpoint)
        loaded = load_training_state(self.checkpoint, self.model, self.optimizer, template, self.scaler)
        names = {f.name for f in dataclasses.fields(self) if f.metadata.get("saved")}
        for name in names:
            setattr(self, name, loaded[name])
        self.extra = {k: v for k, v in loaded.items() if k not in names}


# -- progress line -------------------------------------------------------------------------------------------------
def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """A progress line on standard error: progress of the budget, tokens/s, ETA and the latest metrics.

    Drawn with tqdm when ``enabled``; silent otherwise.
    Throughput counts the tokens of this run only, so a resumed run's rate is not inflated.
    """

    def __init__(self, total: float, initial: float, unit: str, enabled: bool, desc: str) -> None:
        self._start = time.monotonic()
        self._tokens = 0
        self._done = initial
        self._initial = initial
        self.total = total
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                initial=initial,
                unit=unit,
                desc=desc,
                file=sys.stderr,
                unit_scale=unit == "tok",
                dynamic_ncols=True,
            )

    def update(self, done: float, tokens: int, **metrics: float) -> dict[str, float]:
        """Advance to ``done`` (in the bar's unit) after a step of ``tokens``; return the rates."""
        self._tokens += tokens
        elapsed = max(1e-9, time.monotonic() - self._start)
        rate = (done - self._initial) / elapsed
        info = {
            "tokens_per_second": self._tokens / elapsed,
            "eta_seconds": (self.total - done) / rate if rate > 0 else float("inf"),
        }
        if self._bar is not None:
            self._bar.update(done - self._done)
            shown = {k: f"{v:.4g}" for k, v in metrics.items()}
            shown["tok/s"] = f"{info['tokens_per_second']:.0f}"
            shown["eta"] = _duration(info["eta_seconds"]) if rate > 0 else "?"
            self._bar.set_postfix(shown, refresh=False)
        self._done = done
        return info

    def write(self, line: str) -> None:
        """Show ``line`` on standard error (above the bar when there is one): shown with or without it."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# -- the loop ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """What one optimizer step did, as :meth:`Run.count` is told: its loss and learning rate, the non-padding
    tokens of its batch, and the wall-clock and CPU seconds it took."""

    loss: float
    lr: float
    tokens: int
    seconds: float
    cpu_seconds: float


class Run(ABC):
    """What a set-up (pretraining, fine-tuning) gives the loop: its arguments, data, loss, budget and evaluation.

    ``args`` is the run's arguments dataclass; the loop reads its ``learning_rate``, ``warmup_fraction``,
    ``max_grad_norm``, ``log_every``, ``eval_every``, ``checkpoint_every`` and ``progress``, and writes all of
    it into each checkpoint.
    """

    args: Any
    name: str
    """The progress line's label."""
    point_at_budget_end = False
    """True: the step that spends the budget closes the loss curve with a point of its own (fine-tuning);
    False: a partly filled window is closed after the loop by :meth:`closing_point` (pretraining)."""

    @abstractmethod
    def progress(self, state: TrainState) -> float:
        """The share of the budget spent: the schedule's input; the loop stops at 1.0."""

    @abstractmethod
    def meter(self, state: TrainState) -> tuple[str, float, float]:
        """The progress line's unit, total and position."""

    @abstractmethod
    def batches(self, state: TrainState) -> Iterable[dict[str, torch.Tensor]]:
        """The batches (on the CPU, ``attention_mask`` among them) of ``state.epoch`` from ``state.position``
        on. Called at the start of each epoch; what it prepares before returning is not counted as training
        time."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], whole: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The share of ``batch`` (a micro-batch, already on the device; called under the precision's autocast)
        in the training loss of the step's global batch ``whole`` (on the CPU): its sums divided by the counts of
        ``whole`` that the loss averages over (masked tokens, labelled examples), so that the shares of all
        micro-batches of all ranks add up to the loss of ``whole``. With ``batch`` the whole batch, the loss."""

    all_parameters_used = True
    """Whether every parameter of the model gets a gradient from :meth:`loss` (False: DDP looks for unused ones,
    e.g. the pooler under a token-classification head)."""

    def epoch_finished(self, state: TrainState) -> bool:
        """After the budget ran out on a batch: whether that batch finished the epoch (so that the state moves
        on to the next one). An epoch whose batches ran out is always finished."""
        return False

    def count(self, state: TrainState, step: Step) -> None:  # noqa: B027 (a hook a run may leave empty)
        """Add ``step`` to what this kind of run counts in ``state.extra``."""

    @abstractmethod
    def loss_point(self, state: TrainState, loss: float, lr: float, rates: Mapping[str, float]) -> dict[str, Any]:
        """A point of the loss curve: ``loss`` is the mean of the window, ``rates`` what :class:`Progress` says."""

    def closing_point(self, state: TrainState, loss: float) -> dict[str, Any] | None:
        """The point that closes a partly filled window after the loop (None: the window stays as it is)."""
        return None

    def evaluate(self, state: TrainState) -> str | None:
        """Evaluate now: append to ``state.evals`` and return the line to show (None: nothing to evaluate)."""
        return None


def train_step(
    state: TrainState,
    batch: Mapping[str, torch.Tensor],
    lr: float,
    max_grad_norm: float,
    loss_of: Callable[[nn.Module, dict[str, torch.Tensor], Mapping[str, torch.Tensor]], torch.Tensor],
    accumulate: int = 1,
) -> float:
    """One optimizer step on the global ``batch`` at learning rate ``lr``; returns its loss (summed over ranks).

    This rank's ``accumulate`` micro-batches (:meth:`World.share <albert_model.training._distributed.World.share>`)
    each run forward under the precision's autocast and backward, their losses being their shares of the whole
    batch's (``loss_of``, :meth:`Run.loss`), so the accumulated gradient is the whole batch's. Under DDP the
    gradients are all-reduced once, in the last micro-batch's backward (the others run under ``no_sync``), and
    each share is multiplied by the number of ranks since DDP averages. Then the gradient norm is clipped to
    ``max_grad_norm`` (after unscaling, under fp16) and the optimizer steps (through the gradient scaler under
    fp16, which skips a step whose gradients overflowed and lowers its scale).
    """
    world, model = state.world, state.forward
    parts = world.share(batch, accumulate)
    weight = 1.0
    if not parts:  # a short last batch left this rank nothing: still meet the other ranks' all-reduce
        parts, weight = [{k: v[:1] for k, v in batch.items()}], 0.0
    for group in state.optimizer.param_groups:
        group["lr"] = lr
    state.optimizer.zero_grad(set_to_none=True)
    total = torch.zeros((), dtype=torch.float64)
    with _rank_random_state(state):
        for i, part in enumerate(parts):
            total += _micro_step(state, model, part, batch, i == len(parts) - 1, weight, loss_of)
    loss = world.sum(total)  # after the backward passes: a lost rank has failed DDP's all-reduce by now
    if state.scaler is not None:
        state.scaler.unscale_(state.optimizer)
    torch.nn.utils.clip_grad_norm_(state.model.parameters(), max_grad_norm)
    if state.scaler is not None:
        state.scaler.step(state.optimizer)
        state.scaler.update()
    else:
        state.optimizer.step()
    return float(loss)


def _rank_random_state(state: TrainState) -> contextlib.AbstractContextManager[Any]:
    """With several ranks: the random state a rank's step runs under (its dropout masks), drawn from the stream
    every rank shares (the one checkpoints keep) and mixed with the rank, so that the ranks' masks differ and
    the shared stream stays the same on every rank. One process: its own stream, untouched."""
    if not state.world.parallel:
        return contextlib.nullcontext()
    seed = int(torch.randint(0, 2**62, (1,)).item())  # every rank draws it: the shared streams stay equal
    devices = [torch.device(state.device).index or 0] if state.device_type == "cuda" else []
    forked = torch.random.fork_rng(devices=devices)

    @contextlib.contextmanager
    def seeded() -> Any:
        with forked:
            torch.manual_seed((seed + state.world.rank * 0x9E3779B97F4A7C15) % 2**63)
            yield

    return seeded()


def _micro_step(
    state: TrainState,
    model: nn.Module,
    part: dict[str, torch.Tensor],
    batch: Mapping[str, torch.Tensor],
    last: bool,
    weight: float,
    loss_of: Callable[[nn.Module, dict[str, torch.Tensor], Mapping[str, torch.Tensor]], torch.Tensor],
) -> torch.Tensor:
    """Forward and backward of one micro-batch (gradients all-reduced under DDP only when ``last``); its share
    of the step's loss, as float64 on the CPU."""
    world = state.world
    on_device = {k: v.to(state.device, non_blocking=True) for k, v in part.items()}
    sync = contextlib.nullcontext() if last or not world.parallel else model.no_sync()  # type: ignore[operator]
    with sync:
        with state.precision.autocast(state.device_type):
            share = loss_of(model, on_device, batch) * weight
        scaled = share * world.size if world.parallel else share
        try:
            (scaled if state.scaler is None else state.scaler.scale(scaled)).backward()
        except RuntimeError as exc:
            if world.parallel and communication_failed(exc):  # DDP's all-reduce: another rank is gone
                raise lost(world, exc) from exc
            raise
    return share.detach().to("cpu", torch.float64)


def train_loop(state: TrainState, run: Run) -> None:
    """Train ``state`` until ``run``'s budget is spent, then evaluate (unless the last step just did) and
    write the last checkpoint.

    Each step's learning rate is ``learning_rate`` times :func:`schedule` of the budget spent; a loss
    that is not finite stops the run (:func:`check_loss`). Every ``log_every`` steps the window's mean loss
    becomes a point of the loss curve, every ``eval_every`` steps (0: never) ``run`` evaluates (the line is shown
    on standard error, progress bar or not, and appended to ``OUTPUT/metrics.jsonl``), every
    ``checkpoint_every`` steps the state is saved. Evaluations and checkpoints are not training time. A batch of
    ``run`` is the global batch of one step: :func:`train_step` cuts it into ``args.accumulate`` micro-batches
    per rank, and :attr:`TrainState.position` counts global examples, so a resume with another number of ranks
    or micro-batches continues the same order. Only rank 0 shows progress and writes.
    """
    args = run.args
    accumulate = getattr(args, "accumulate", 1)
    warmup_steps = getattr(args, "warmup_steps", None)
    unit, total, done = run.meter(state)
    bar = Progress(total, done, unit, args.progress and state.world.writes, run.name)
    run_started, run_wall = time.monotonic(), state.wall_seconds

    def checkpoint() -> None:
        state.wall_seconds = run_wall + time.monotonic() - run_started
        state.save(args)

    def evaluate() -> None:
        line = run.evaluate(state)
        if line is not None and state.world.writes:
            bar.write(line)
            append_metrics(state.output, {"event": "evaluation", **state.evals[-1]})

    if state.trainee is None:
        state.trainee = _wrap(state, run)
    state.model.train()
    while run.progress(state) < 1.0:
        batches = run.batches(state)
        tick, cpu_tick = time.monotonic(), time.process_time()
        for batch in batches:
            factor = schedule(run.progress(state), state.step, args.warmup_fraction, warmup_steps)
            lr = args.learning_rate * factor
            loss = train_step(state, batch, lr, args.max_grad_norm, run.loss, accumulate)
            check_loss(loss, state.step + 1, args.learning_rate, batch.get("labels"))
            now, cpu_now = time.monotonic(), time.process_time()
            step = Step(loss, lr, int(batch["attention_mask"].sum()), now - tick, cpu_now - cpu_tick)
            state.train_seconds += step.seconds
            state.step += 1
            state.position += len(batch["attention_mask"])
            state.window.append(loss)
            run.count(state, step)
            rates = bar.update(run.meter(state)[2], step.tokens, loss=loss, lr=lr)
            spent = run.progress(state) >= 1.0
            if state.step % args.log_every == 0 or (spent and run.point_at_budget_end):
                state.history.append(run.loss_point(state, float(np.mean(state.window)), lr, rates))
                state.window = []
            if args.eval_every and state.step % args.eval_every == 0:
                evaluate()
            if state.step % args.checkpoint_every == 0:
                checkpoint()
            tick, cpu_tick = time.monotonic(), time.process_time()  # evaluation and checkpoints are not training
            if spent:
                if run.epoch_finished(state):
                    state.epoch, state.position = state.epoch + 1, 0
                break
        else:
            state.epoch, state.position = state.epoch + 1, 0
    if state.window:
        point = run.closing_point(state, float(np.mean(state.window)))
        if point is not None:
            state.history.append(point)
            state.window = []  # in the history now: a run that extends this one starts a new point
    if not state.evals or state.evals[-1]["step"] != state.step:
        evaluate()
    checkpoint()
    bar.close()


def begin(args: Any, prog: str) -> tuple[World, str, dict[str, Any]]:
    """What a run does before reading anything: join the job (:func:`~albert_model.training._distributed.join`:
    one process, or a rank under ``torchrun``), check that ``args.batch_size`` (the global batch of one step)
    splits into ``ranks x args.accumulate`` micro-batches, and set torch's threads
    (:func:`~albert_model.training._distributed.threads_for`), said on standard error by rank 0.

    Returns:
        ``(world, device, facts)``: the ranks, the device this rank trains on, and ``threads`` and
        ``world_size`` for the run's metrics.

    Raises:
        DistributedError: ``WORLD_SIZE > 1`` and no process group could be started.
        ValueError: the batch does not split evenly over the ranks and micro-batches.
    """
    world, device = join(args.torch_device if hasattr(args, "torch_device") else args.device)
    parts = world.size * args.accumulate
    if args.batch_size % parts:
        leave(world)
        raise ValueError(
            f"--batch-size {args.batch_size} is the global batch of one optimizer step and must split evenly into "
            f"{world.size} rank(s) x --accumulate {args.accumulate} = {parts} micro-batches; give a multiple of {parts}"
        )
    threads, why = threads_for(world, getattr(args, "workers", 0), args.threads)
    torch.set_num_threads(threads)
    if world.writes:
        ranks = f", {world.size} ranks of {args.batch_size // world.size} examples a step" if world.parallel else ""
        print(f"{prog}: {threads} torch thread(s) per process ({why}){ranks}", file=sys.stderr)
    return world, device, {"threads": threads, "world_size": world.size}


def _wrap(state: TrainState, run: Run) -> nn.Module | None:
    """The module the steps run through: the model under DDP with several ranks, compiled with
    ``args.compile``; None when that is the model itself. Gradient checkpointing and the attention
    implementation (``args.attn``) are set here too; the saved model keeps its own (``sdpa``)."""
    args = run.args
    state.model.set_attn_implementation(getattr(args, "attn", "sdpa"))
    if getattr(args, "gradient_checkpointing", False):
        state.model.gradient_checkpointing_enable()
    module: nn.Module = state.model
    if state.world.parallel:
        from torch.nn.parallel import DistributedDataParallel

        index = torch.device(state.device).index
        module = DistributedDataParallel(
            module,
            device_ids=[index] if state.device_type == "cuda" and index is not None else None,
            find_unused_parameters=not run.all_parameters_used,
        )
    if getattr(args, "compile", False):
        module = torch.compile(module)  # type: ignore[assignment]
    return None if module is state.model else module


def append_metrics(output: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Append ``record`` as one JSON line to ``OUTPUT/metrics.jsonl`` (the log of evaluations and final metrics,
    kept across resumed runs: a run killed after an evaluation and resumed may log that step twice)."""
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    with open(os.path.join(os.fspath(output), METRICS_FILE), "a", encoding="utf-8") as fh:
        fh.write(line)


# -- the end of a run ---------------------------------------------------------------------------------------------
def run_facts(state: TrainState, started: float) -> dict[str, Any]:
    """The metrics every run ends with: ``wall_seconds_this_run`` (since ``started``, a ``time.time()``),
    ``precision``, ``machine`` and ``torch``."""
    return {
        "wall_seconds_this_run": time.time() - started,
        "precision": state.precision.name,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {state.device}"
        + (f" ({torch.cuda.get_device_name()})" if state.device_type == "cuda" else ""),
        "torch": torch.__version__,
    }


def run_card_facts(
    args: Any, record: Mapping[str, Any], prog: str, flags: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The :class:`~albert_model.checkpoints.CardFacts` fields every trained model's card fills the same way,
    from ``training.json``'s ``record``: the hardware, the loss curve, the command (``prog`` and the flags of
    the arguments dataclass ``args`` that differ from their defaults, ``flags`` naming those not named by their
    field) and every argument."""
    defaults = {  # a required field's default is MISSING, which no value equals
        f.name: f.default_factory() if callable(f.default_factory) else f.default for f in dataclasses.fields(args)
    }
    return {
        "hardware": {k: record["metrics"][k] for k in ("machine", "torch", "precision")},
        "loss_curve": record["history"],
        "command": command_line(prog, record["args"], defaults, flags),
        "arguments": record["args"],
    }


def train_files(state: TrainState, paths: Sequence[str]) -> list[SourceFile]:
    """The ``--train`` files as the run's fingerprint read them (name, SHA-256), with their sizes."""
    return [
        SourceFile(f["file"], f["sha256"], os.path.getsize(path), "train")
        for f, path in zip(state.fingerprint["train"], paths, strict=True)
    ]


def publish(
    state: TrainState,
    tokenizer: Any,
    args: Any,
    metrics: dict[str, Any],
    files: list[SourceFile],
    card: Callable[[dict[str, Any]], CardFacts],
) -> None:
    """Write the finished run into ``OUTPUT``: the model and tokenizer in Hugging Face format, then
    ``training.json`` (the arguments, ``metrics``, the loss curve, the evaluations, the data ``files``) and the
    model card ``card`` makes of that record, published together in one save; ``metrics`` appended to
    ``metrics.jsonl``; then ``OUTPUT/checkpoint/`` removed unless ``args.keep_checkpoint``. Rank 0 writes; every
    rank waits until it has."""
    if state.world.writes:
        _publish(state, tokenizer, args, metrics, files, card)
    state.world.barrier()


def _publish(
    state: TrainState,
    tokenizer: Any,
    args: Any,
    metrics: dict[str, Any],
    files: list[SourceFile],
    card: Callable[[dict[str, Any]], CardFacts],
) -> None:
    out = state.output
    state.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    record = {
        "args": dataclasses.asdict(args),
        "metrics": metrics,
        "history": state.history,
        "evals": state.evals,
        "data": [dataclasses.asdict(f) for f in files],
    }
    write_directory(
        out,
        {
            "training.json": (json.dumps(record, indent=1) + "\n").encode("utf-8"),
            **card_contents(card(record)),
        },
    )
    append_metrics(out, {"event": "final", "step": state.step, **metrics})
    if not getattr(args, "keep_checkpoint", True):
        shutil.rmtree(state.checkpoint, ignore_errors=True)  # the run is complete: its model is published
