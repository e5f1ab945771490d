"""Data parallel training on ``torch.distributed``: the ranks of one job, and what each one does.

Under ``torchrun`` (one node or several, through its rendezvous) every process finds ``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment. :func:`join` reads
them, starts the process group (gloo on the CPU, NCCL on CUDA; each rank on ``cuda:LOCAL_RANK``) and returns the
:class:`World` the training loop asks: which part of each global batch is this rank's (:meth:`World.share`), whether
this rank writes (:attr:`World.writes`: rank 0 only), and how a number of every rank is summed
(:meth:`World.sum`). Without those variables (or with ``WORLD_SIZE=1``) the world is this one process and nothing
is started.

``WORLD_SIZE > 1`` with no process group possible (torch built without ``torch.distributed``, no gloo, no
``MASTER_ADDR``) is a :class:`DistributedError`: never N silent copies of one job racing on one output directory.

The batch a set-up makes is the *global* batch of one optimizer step (``--batch-size`` examples, the same on
every rank, so the data order, the masks and the resume position do not depend on the number of ranks). It is
cut into ``world size x accumulate`` contiguous parts; rank ``r`` takes parts ``r * accumulate`` to
``(r + 1) * accumulate - 1``, one micro-batch each.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from albert_model._devices import usable_cores

__all__ = [
    "DistributedError",
    "World",
    "communication_failed",
    "join",
    "leave",
    "lost",
    "threads_for",
    "world_from_env",
]

TIMEOUT = datetime.timedelta(minutes=30)
"""How long a collective waits for the other ranks before failing (evaluations run on every rank, so no rank
waits for another's evaluation)."""


class DistributedError(RuntimeError):
    """The job cannot run as data parallel, or lost a rank; the message says why and what to do."""


@dataclass(frozen=True)
class World:
    """The ranks of this job, as this process sees them.

    Args:
        rank: this process's rank, 0 to ``size - 1``.
        size: the number of processes (``WORLD_SIZE``); 1 without ``torchrun``.
        local_rank: the rank among this node's processes (its GPU under CUDA).
        local_size: the processes on this node (``LOCAL_WORLD_SIZE``).
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def writes(self) -> bool:
        """Whether this rank logs, draws progress and writes checkpoints and the final output: rank 0 only."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        """Whether there is more than one rank (and so a process group)."""
        return self.size > 1

    def share(self, batch: Mapping[str, torch.Tensor], accumulate: int) -> list[dict[str, torch.Tensor]]:
        """This rank's micro-batches of the global ``batch``: of its ``size * accumulate`` contiguous parts (as
        equal as they can be), parts ``rank * accumulate`` to ``(rank + 1) * accumulate - 1``. Empty parts (a short
        last batch) are left out, so the list may be shorter than ``accumulate``, or empty."""
        rows = len(next(iter(batch.values())))
        bounds = np.linspace(0, rows, self.size * accumulate + 1).round().astype(int)
        mine = range(self.rank * accumulate, (self.rank + 1) * accumulate)
        return [{k: v[bounds[i] : bounds[i + 1]] for k, v in batch.items()} for i in mine if bounds[i + 1] > bounds[i]]

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over the ranks (``value`` itself with one rank).

        Raises:
            DistributedError: another rank is gone (killed, or its node lost).
        """
        if not self.parallel:
            return value
        import torch.distributed as dist

        out = value.detach().clone()
        try:
            dist.all_reduce(out)
        except RuntimeError as exc:
            raise lost(self, exc) from exc
        return out

    def barrier(self) -> None:
        """Wait until every rank is here (nothing with one rank).

        Raises:
            DistributedError: another rank is gone.
        """
        if not self.parallel:
            return
        import torch.distributed as dist

        try:
            dist.barrier()
        except RuntimeError as exc:
            raise lost(self, exc) from exc


def communication_failed(exc: BaseException) -> bool:
    """Whether ``exc`` (raised in a backward pass under DDP, say) is a failed collective: torch's ``DistError``,
    or the plain ``RuntimeError`` gloo raises when a peer's connection closes."""
    import torch.distributed as dist

    if dist.is_available() and isinstance(exc, dist.DistError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(w in text for w in ("gloo", "NCCL", "Connection", "connection"))


def lost(world: World, exc: BaseException) -> DistributedError:
    """The error of rank ``world.rank`` when a collective fails because another rank is gone."""
    return DistributedError(
        f"rank {world.rank} of {world.size}: the other ranks stopped answering (a rank was killed or failed, or "
        f"the network between nodes broke): {exc}. The last complete checkpoint is in OUTPUT/checkpoint; "
        f"restart the job with --resume (any number of ranks continues the same sample order)"
    )


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"the environment variable {name} must be an integer, got {value!r}") from None


def world_from_env() -> World:
    """The :class:`World` that the ``torchrun`` variables describe (one process without them).

    Raises:
        DistributedError: a variable is not an integer, or the rank is out of range.
    """
    size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    local_size = _env_int("LOCAL_WORLD_SIZE", size)
    if size < 1 or not 0 <= rank < size or not 0 <= local_rank < max(1, local_size):
        raise DistributedError(
            f"torchrun's environment does not add up: WORLD_SIZE={size}, RANK={rank}, LOCAL_RANK={local_rank}, "
            f"LOCAL_WORLD_SIZE={local_size}"
        )
    return World(rank, size, local_rank, max(1, local_size))


def join(device: str) -> tuple[World, str]:
    """Join the job this process was started in: the :class:`World`, and the device this rank trains on
    (``cuda`` becomes ``cuda:LOCAL_RANK`` with several ranks). With more than one rank the default process group
    is started (gloo for the CPU, NCCL for CUDA) unless it already is.

    Args:
        device: the ``--device`` of the run (``cpu``, ``cuda``, ``cuda:N``, ``mps``).

    Returns:
        ``(world, device)``.

    Raises:
        DistributedError: ``WORLD_SIZE > 1`` and no process group is possible (no ``torch.distributed``, no
            backend for the device, ``MASTER_ADDR`` missing, or the rendezvous failed).
    """
    world = world_from_env()
    if not world.parallel:
        return world, device
    import torch.distributed as dist

    kind = torch.device(device).type
    if kind == "cuda" and torch.device(device).index is None:
        device = f"cuda:{world.local_rank}"
    if not dist.is_available():
        raise DistributedError(
            f"WORLD_SIZE={world.size} but this torch has no torch.distributed; install a torch built with it, "
            f"or run one process (without torchrun)"
        )
    if dist.is_initialized():
        return world, device
    if kind == "cuda":
        backend = "nccl"
        if not dist.is_nccl_available():
            raise DistributedError(f"WORLD_SIZE={world.size} on {device} needs NCCL, which this torch lacks")
        torch.cuda.set_device(torch.device(device))
    elif kind == "cpu":
        backend = "gloo"
        if not dist.is_gloo_available():
            raise DistributedError(f"WORLD_SIZE={world.size} on the CPU needs gloo, which this torch lacks")
    else:
        raise DistributedError(f"data parallel runs on cpu (gloo) or cuda (NCCL), not on {device}")
    if "MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ:
        raise DistributedError(
            f"WORLD_SIZE={world.size} but MASTER_ADDR/MASTER_PORT are not set: start the job with torchrun "
            f"(torchrun --nproc-per-node N -m albert_model ...), which sets them"
        )
    try:
        dist.init_process_group(backend, rank=world.rank, world_size=world.size, timeout=TIMEOUT)
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(
            f"rank {world.rank} of {world.size} could not join the process group at "
            f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} ({backend}): {exc}"
        ) from exc
    return world, device


def leave(world: World) -> None:
    """End this process's part in the process group started by :func:`join` (nothing with one rank)."""
    if world.parallel:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def threads_for(world: World, workers: int, given: int | None) -> tuple[int, str]:
    """The torch threads of this rank and why: ``given`` (``--threads``) when set; otherwise the cores this
    process may keep busy (:func:`albert_model._devices.usable_cores`: its affinity, or a container's cgroup CPU
    quota where that allows fewer), divided among this node's ranks, less one per data-loader worker, at least 1.

    Args:
        world: the job's ranks.
        workers: data-loader worker processes of this rank.
        given: ``--threads``, or None.

    Returns:
        ``(threads, reason)``: the count and a phrase saying how it was chosen.
    """
    if given is not None:
        return given, "--threads"
    cores, limited = usable_cores()
    threads = max(1, cores // world.local_size - workers)
    return threads, (
        f"{cores} cores{' (the cgroup CPU quota)' if limited else ''} / {world.local_size} rank(s) on this node"
        + (f" - {workers} data-loader worker(s)" if workers else "")
        + "; --threads to change"
    )
