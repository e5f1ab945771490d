"""What the set-ups of ``albert pretrain`` and ``albert finetune`` share before their loop starts: the
checks of the arguments and of the output directory made before any work, the weight-decay rule, and the
limits on steps and seeds. The loop itself, its state and its checkpoints are
:mod:`albert_model.training._loop`'s.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from albert_model._devices import available_devices, unavailable
from albert_model.training._flags import flag

__all__ = [
    "CHECKPOINT_DIR",
    "MAX_SEED",
    "MAX_STEPS",
    "check_device",
    "no_decay",
    "parameter_groups",
    "prepare_output",
]

CHECKPOINT_DIR = "checkpoint"
"""The training checkpoint's directory in ``OUTPUT`` (written by :mod:`albert_model.training._loop`)."""

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
