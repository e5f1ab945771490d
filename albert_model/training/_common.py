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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from albert_model._devices import available_devices, unavailable
from albert_model.training._flags import check_int, flag, help_text

__all__ = [
    "CHECKPOINT_DIR",
    "MAX_SEED",
    "MAX_STEPS",
    "OPTIMIZER_NAMES",
    "TRAINING_ATTN",
    "LoopArgs",
    "check_device",
    "check_optimizer",
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


# -- what both commands take for the loop -------------------------------------------------------------------
@dataclass(kw_only=True)
class LoopArgs:
    """The arguments of the training loop that ``albert pretrain`` and ``albert finetune`` share (keyword-only
    fields of both arguments dataclasses; each checks them with :meth:`check_loop_args`).

    Args:
        accumulate: micro-batches per optimizer step, an int >= 1: ``batch_size`` (the global batch of a step)
            is cut into ``accumulate`` parts per rank, run one after another with their gradients added up,
            giving the step of the whole batch in less memory. It must divide ``batch_size``.
        optimizer: ``"adamw"`` or ``"lamb"`` (Google's LAMB: per-tensor trust ratio, neither weight decay nor
            trust ratio on LayerNorms and biases); a checkpoint resumes only with its own.
        warmup_steps: warm up over this many optimizer steps (Google's rule: then a linear decay to 0 over the
            whole budget), an int >= 1, instead of ``warmup_fraction``; None: ``warmup_fraction``.
        threads: torch's CPU threads in each process, an int >= 1; None: the cores this process may use,
            divided among this node's ranks, less one per data-loader worker (said on standard error).
        keep_checkpoint: True keeps ``OUTPUT/checkpoint/`` after the run completes (to extend it later with
            ``--resume``); False (the default) removes it then. An interrupted run always keeps it.
        gradient_checkpointing: True recomputes each layer's activations in the backward pass: less memory,
            about a third more compute; the same gradients.
        compile: True runs the training forward through ``torch.compile`` (the first steps are slower while it
            compiles).
        attn: The model's attention implementation while training: ``"varlen"`` (the default: a padded batch
            packed to its real tokens, so no projection, feed-forward or LayerNorm runs on padding; faster on
            the padded batches of both commands, measured by ``bench/train_attn.py``) or ``"sdpa"`` (the padded
            path). The saved model is the same either way (it is a setting of the run, not of the weights).
    """

    accumulate: int = field(
        default=1, metadata=help_text("micro-batches per optimizer step (must divide --batch-size)")
    )
    optimizer: str = field(default="adamw", metadata=help_text("adamw, or lamb (Google's ALBERT optimizer)"))
    warmup_steps: int | None = field(
        default=None, metadata=help_text("warm-up steps, then linear decay over the budget (instead of the fraction)")
    )
    threads: int | None = field(
        default=None, metadata=help_text("torch CPU threads per process (default: cores / ranks on the node)")
    )
    keep_checkpoint: bool = field(
        default=False, metadata=help_text("keep OUTPUT/checkpoint/ when the run completes (to extend it later)")
    )
    gradient_checkpointing: bool = field(
        default=False, metadata=help_text("recompute activations in the backward pass (less memory)")
    )
    compile: bool = field(default=False, metadata=help_text("run the training forward through torch.compile"))
    attn: str = field(
        default="varlen",
        metadata=help_text("attention while training: varlen (padding skipped; faster, measured) or sdpa (padded)"),
    )

    def check_loop_args(self) -> None:
        """Check the loop's fields.

        Raises:
            ValueError: a field out of its range or of the wrong type, or ``accumulate`` that does not divide
                ``batch_size``; the message names the flag, the value and what is accepted.
        """
        check_int(self.accumulate, "accumulate", 1)
        batch_size = getattr(self, "batch_size", 1)
        if isinstance(batch_size, int) and batch_size % self.accumulate:
            raise ValueError(
                f"--accumulate {self.accumulate} must divide --batch-size {batch_size} (the global batch of one step "
                f"is cut into that many micro-batches)"
            )
        check_optimizer(self.optimizer)
        if self.warmup_steps is not None:
            check_int(self.warmup_steps, "warmup_steps", 1, MAX_STEPS)
        if self.threads is not None:
            check_int(self.threads, "threads", 1, 4096)
        if self.attn not in TRAINING_ATTN:
            raise ValueError(f"--attn must be one of {', '.join(TRAINING_ATTN)}, got {self.attn!r}")
        for name in ("keep_checkpoint", "gradient_checkpointing", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{flag(name)} must be true or false, got {getattr(self, name)!r}")


TRAINING_ATTN = ("varlen", "sdpa")
"""``--attn`` values: the model's attention implementations a training run may use (``eager`` is for attention
weights, which training never reads)."""

OPTIMIZER_NAMES = ("adamw", "lamb")
"""``--optimizer`` values: torch's AdamW, or Google's LAMB (made by
:func:`albert_model.training._loop.make_optimizer`)."""


def check_optimizer(name: Any) -> str:
    """``name`` when it is one of :data:`OPTIMIZER_NAMES`; otherwise a ``ValueError`` naming the flag and the
    values."""
    if name not in OPTIMIZER_NAMES:
        raise ValueError(f"--optimizer must be one of {list(OPTIMIZER_NAMES)}, got {name!r}")
    return str(name)


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
