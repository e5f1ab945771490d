"""What every training loop here shares: the weight-decay rule, the learning-rate schedule, resumable
training state that is never unpickled, and a progress bar with throughput and ETA.

A training checkpoint is a directory written atomically as a whole (:func:`albert_tok.files.write_atomically`):

* ``model.safetensors`` -- the model's state dict (tied aliases dropped);
* ``optimizer.pt`` -- optimizer state and torch random state, tensors and plain containers only, read
  back with ``torch.load(weights_only=True)`` so a crafted file cannot run code;
* ``trainer_state.json`` -- step, tokens seen, data position, numpy random states, history, arguments.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Any

import torch
from torch import nn

from albert_tok.files import write_atomically

__all__ = [
    "CHECKPOINT_DIR",
    "Progress",
    "TrainingState",
    "linear_schedule",
    "load_training_state",
    "no_decay",
    "parameter_groups",
    "save_training_state",
]

CHECKPOINT_DIR = "checkpoint"
_MODEL_FILE = "model.safetensors"
_OPTIMIZER_FILE = "optimizer.pt"
_STATE_FILE = "trainer_state.json"


def no_decay(name: str) -> bool:
    """Parameters that get no weight decay: biases and LayerNorm weights (the BERT/ALBERT recipe)."""
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups: decay on every weight matrix, none where :func:`no_decay` says so."""
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [{"params": [p for n, p in named if not no_decay(n)], "weight_decay": weight_decay},
            {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0}]


def linear_schedule(progress: float, warmup_fraction: float) -> float:
    """Learning-rate multiplier at ``progress`` (0..1 of the training budget): linear warm-up over
    ``warmup_fraction``, then linear decay to 0. A pure function of progress, so a resumed run continues
    exactly where the interrupted one was."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup_fraction > 0 and progress < warmup_fraction:
        return progress / warmup_fraction
    return max(0.0, (1.0 - progress) / max(1e-12, 1.0 - warmup_fraction))


TrainingState = dict[str, Any]
"""JSON-serialisable loop state (step, tokens, data position, numpy random states, history, args)."""


def save_training_state(directory: str | os.PathLike[str], model: nn.Module, optimizer: torch.optim.Optimizer,
                        state: TrainingState) -> list[str]:
    """Write a training checkpoint directory (see the module docstring) atomically."""
    from safetensors.torch import save

    tied = getattr(model, "tied_weights", {})
    weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items() if k not in tied}
    buffer = io.BytesIO()
    extra = {"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        extra["cuda_rng"] = torch.cuda.get_rng_state_all()
    torch.save(extra, buffer)
    contents = {_MODEL_FILE: save(weights, metadata={"format": "pt"}), _OPTIMIZER_FILE: buffer.getvalue(),
                _STATE_FILE: (json.dumps(state, indent=1, sort_keys=True) + "\n").encode("utf-8")}
    return write_atomically(os.fspath(directory), contents, create=True)


def load_training_state(directory: str | os.PathLike[str], model: nn.Module,
                        optimizer: torch.optim.Optimizer) -> TrainingState:
    """Restore ``model`` and ``optimizer`` from a checkpoint directory; return its loop state.

    Nothing is unpickled: weights come from safetensors, the optimizer file is read with
    ``weights_only=True`` (tensors and plain containers only), the rest is JSON.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from albert_tok.atomic import recover

    path = os.fspath(directory)
    recover(path)  # finish a checkpoint write that was killed halfway where renameat2 is missing
    for name in (_MODEL_FILE, _OPTIMIZER_FILE, _STATE_FILE):
        if not os.path.isfile(os.path.join(path, name)):
            raise FileNotFoundError(f"training checkpoint {path!r} lacks {name}; it is not a checkpoint of this "
                                    f"package (start without --resume, or point at another output directory)")
    try:
        weights = load_file(os.path.join(path, _MODEL_FILE))
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{os.path.join(path, _MODEL_FILE)} is not a readable safetensors file ({exc})") from exc
    try:
        extra = torch.load(os.path.join(path, _OPTIMIZER_FILE), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors; all mean "not a safe state file"
        raise ValueError(f"{os.path.join(path, _OPTIMIZER_FILE)} is not a safe optimizer state file (only "
                         f"tensors and plain containers are read): {exc}") from exc
    try:
        with open(os.path.join(path, _STATE_FILE), encoding="utf-8") as fh:
            state = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{os.path.join(path, _STATE_FILE)} is not valid JSON: {exc}") from exc
    if not isinstance(extra, dict) or "optimizer" not in extra or not isinstance(state, dict):
        raise ValueError(f"training checkpoint {path!r} is malformed (optimizer.pt must hold a dict with "
                         f"'optimizer', trainer_state.json an object)")
    tied = getattr(model, "tied_weights", {})
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if k not in tied]
    if missing or unexpected:
        raise ValueError(f"training checkpoint {path!r} does not fit the model: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}")
    tie = getattr(model, "tie_weights", None)
    if callable(tie):
        tie()
    optimizer.load_state_dict(extra["optimizer"])
    if isinstance(extra.get("torch_rng"), torch.Tensor):
        torch.set_rng_state(extra["torch_rng"])
    if "cuda_rng" in extra and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(extra["cuda_rng"])
    return state


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """A progress line on standard error: progress of the budget, tokens/s, ETA and the latest metrics.

    Uses tqdm when it is installed and enabled; otherwise (or with ``enabled=False``) it is silent.
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
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, initial=initial, unit=unit, desc=desc, file=sys.stderr,
                                 unit_scale=unit == "tok", dynamic_ncols=True)
            except ImportError:  # progress is optional
                self._bar = None

    def update(self, done: float, tokens: int, **metrics: float) -> dict[str, float]:
        """Advance to ``done`` (in the bar's unit) after a step of ``tokens``; return the rates."""
        self._tokens += tokens
        elapsed = max(1e-9, time.monotonic() - self._start)
        rate = (done - self._initial) / elapsed
        info = {"tokens_per_second": self._tokens / elapsed,
                "eta_seconds": (self.total - done) / rate if rate > 0 else float("inf")}
        if self._bar is not None:
            self._bar.update(done - self._done)
            shown = {k: f"{v:.4g}" for k, v in metrics.items()}
            shown["tok/s"] = f"{info['tokens_per_second']:.0f}"
            shown["eta"] = _duration(info["eta_seconds"]) if rate > 0 else "?"
            self._bar.set_postfix(shown, refresh=False)
        self._done = done
        return info

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
