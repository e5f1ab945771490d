"""What every training loop here shares: the weight-decay rule, the learning-rate schedule, the checks of the
arguments and of the output directory made before any work, resumable training state that is never unpickled
and refuses a run it does not belong to, and a progress bar with throughput and ETA.

A training checkpoint is the directory ``OUTPUT/checkpoint/``, which every save replaces as ONE unit
(:func:`albert_tok.io.atomic.replace_directory`: the new tree is staged beside it, then swapped in), so a run
killed at any moment resumes from the complete previous checkpoint or the complete new one, never a mix:

* ``model.safetensors`` -- the model's state dict (tied aliases dropped);
* ``optimizer.pt`` -- optimizer state and torch random state, tensors and plain containers only, read
  back with ``torch.load(weights_only=True)`` so a crafted file cannot run code;
* ``trainer_state.json`` -- step, data position, the partly filled loss window, history, arguments, and the
  run's fingerprint (:func:`run_fingerprint`): what a resume must agree with.

The checkpoint directory belongs to the loop: a file put into it by hand does not survive the next save.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from albert_model._devices import available_devices, unavailable
from albert_model.training._flags import flag
from albert_tok.data import tokenizer_hash
from albert_tok.io import read_json, regular_file
from albert_tok.io.atomic import recover, replace_directory

__all__ = [
    "CHECKPOINT_DIR",
    "MAX_SEED",
    "MAX_STEPS",
    "Progress",
    "TrainingDivergedError",
    "TrainingState",
    "check_device",
    "check_fingerprint",
    "check_loss",
    "linear_schedule",
    "load_training_state",
    "no_decay",
    "parameter_groups",
    "prepare_output",
    "read_trainer_state",
    "resume_state",
    "run_fingerprint",
    "save_training_state",
]

CHECKPOINT_DIR = "checkpoint"
_MODEL_FILE = "model.safetensors"
_OPTIMIZER_FILE = "optimizer.pt"
_STATE_FILE = "trainer_state.json"

MAX_STEPS = 2**31 - 1
"""The most optimizer steps a run may be given (``--steps``, or what ``--epochs`` comes to): more is a typo."""
MAX_SEED = 2**32 - 1
"""Seeds are 0..MAX_SEED (numpy's legacy range, which transformers' ``set_seed`` also needs)."""


# -- arguments ------------------------------------------------------------------------------------------
def check_device(value: Any, name: str = "device") -> str:
    """``value`` when it names a device this machine can train on (cpu, cuda, cuda:N, mps); otherwise a
    ``ValueError`` naming the flag, the value and the devices available here."""
    here = f"available here: {', '.join(available_devices())}"
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError, ValueError):  # torch lists its backends; the user needs ours
        raise ValueError(
            f"{flag(name)} must be a torch device: cpu, cuda, cuda:N or mps ({here}), got {value!r}"
        ) from None
    reason = unavailable(device)
    if reason is not None:
        raise ValueError(f"{flag(name)} {value!r}: {reason} ({here})")
    return str(value)


def no_decay(name: str) -> bool:
    """Parameters that get no weight decay: biases and LayerNorm weights (the BERT/ALBERT recipe)."""
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups: decay on every weight matrix, none where :func:`no_decay` says so."""
    if not (isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for n, p in named if not no_decay(n)], "weight_decay": weight_decay},
        {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0},
    ]


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


# -- the output directory ---------------------------------------------------------------------------------
def prepare_output(path: str | os.PathLike[str], prog: str) -> Path:
    """The run's output directory, made when missing and checked before any work; returned with symbolic
    links resolved.

    ``--output`` that is a symbolic link is written through to its target (said on standard error), so the
    link stays as it was. The directory must be writable (checked by creating and removing a file in it:
    a read-only one is refused now, not at the first checkpoint). It may be a mount point or sit under a
    read-only parent: every save writes inside it. ``OUTPUT/checkpoint`` must not be a symbolic link, since
    each checkpoint replaces that directory as a whole.
    """
    given = os.fspath(path)
    real = os.path.realpath(given)
    if os.path.islink(given.rstrip(os.sep) or given):
        print(f"{prog}: --output {given} is a symbolic link; writing into its target {real}", file=sys.stderr)
    if os.path.lexists(real) and not os.path.isdir(real):
        raise NotADirectoryError(f"--output {given!r} exists and is not a directory")
    os.makedirs(real, exist_ok=True)
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".atomic-tmp", dir=real)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OSError(
            exc.errno, f"--output {given} is not writable ({exc.strerror}); give a directory this process can write to"
        ) from None
    checkpoint = os.path.join(real, CHECKPOINT_DIR)
    if os.path.islink(checkpoint):
        raise OSError(
            f"{checkpoint} is a symbolic link; every checkpoint replaces that directory as a whole "
            f"(the link would be replaced): remove the link or give another --output"
        )
    if os.path.lexists(checkpoint) and not os.path.isdir(checkpoint):
        raise NotADirectoryError(f"{checkpoint} exists and is not a directory; move it away or give another --output")
    return Path(real)


# -- what a resume must agree with --------------------------------------------------------------------------
def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(regular_file(path, "--train file"), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _changes(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(saved) | set(now)):
        old, new = saved.get(key), now.get(key)
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


# -- checkpoints ------------------------------------------------------------------------------------------
TrainingState = dict[str, Any]
"""JSON-serialisable loop state (step, data position, loss window, history, args, fingerprint)."""

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


def read_trainer_state(directory: str | os.PathLike[str], template: Mapping[str, Any]) -> TrainingState:
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


def resume_state(output: str | os.PathLike[str], template: Mapping[str, Any]) -> TrainingState:
    """For ``--resume``: the loop state of ``OUTPUT/checkpoint/`` (see :func:`read_trainer_state`), after
    finishing a save that was killed halfway. ``FileNotFoundError`` when ``output`` has no checkpoint."""
    checkpoint = os.path.join(os.fspath(output), CHECKPOINT_DIR)
    recover(checkpoint)
    if not os.path.isdir(checkpoint):
        raise FileNotFoundError(
            f"--resume: {os.fspath(output)} has no checkpoint to resume from ({checkpoint} "
            f"does not exist); start without --resume for a new run"
        )
    if not os.path.lexists(os.path.join(checkpoint, _STATE_FILE)):
        raise FileNotFoundError(
            f"--resume: {checkpoint} has no {_STATE_FILE}; it is not a checkpoint of this "
            f"package (start without --resume, or give another --output)"
        )
    return read_trainer_state(checkpoint, template)


def save_training_state(
    directory: str | os.PathLike[str], model: nn.Module, optimizer: torch.optim.Optimizer, state: TrainingState
) -> list[str]:
    """Replace the checkpoint ``directory`` (see the module docstring) with this state, as one unit."""
    from safetensors.torch import save

    tied = getattr(model, "tied_weights", {})
    weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items() if k not in tied}
    buffer = io.BytesIO()
    extra = {"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        extra["cuda_rng"] = torch.cuda.get_rng_state_all()
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
) -> TrainingState:
    """Restore ``model`` and ``optimizer`` from a checkpoint directory; return its loop state (checked
    against ``template`` as :func:`read_trainer_state` does).

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
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
