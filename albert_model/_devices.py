"""Which torch devices this machine can run on: one rule for the pipelines' ``device=`` and training's
``--device``, each of which words its own message around the reason given here."""

from __future__ import annotations

import math
import os

import torch

__all__ = ["CGROUP", "available_devices", "cgroup_cpus", "unavailable", "usable_cores"]

CGROUP = "/sys/fs/cgroup"
"""Where this process's cgroup files are read (tests point it elsewhere)."""


def cgroup_cpus(root: str | None = None) -> float | None:
    """The CPUs this process's cgroup may use (its CFS quota over its period), or None without a limit.

    Reads cgroup v2's ``cpu.max`` (``"200000 100000"``: 2 CPUs; ``"max 100000"``: none), else cgroup v1's
    ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (a quota of -1: none), under ``root``
    (None: :data:`CGROUP`). A file missing or unreadable counts as no limit.

    Args:
        root: The cgroup directory to read; None reads :data:`CGROUP`.

    Returns:
        The CPUs the quota allows (2.5 for 250 ms per 100 ms), or None when there is no quota.
    """
    root = CGROUP if root is None else root
    try:
        with open(os.path.join(root, "cpu.max")) as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(root, "cpu", "cpu.cfs_quota_us")) as f:
            quota_us = int(f.read())
        with open(os.path.join(root, "cpu", "cpu.cfs_period_us")) as f:
            period_us = int(f.read())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def usable_cores() -> tuple[int, bool]:
    """The CPU cores this process may keep busy at once: those it may run on (its affinity), fewer where a
    container's cgroup CPU quota allows fewer (a pod limited to 2 CPUs on a 64-core node has 2; 2.5 CPUs
    count as 3).

    Returns:
        ``(cores, limited)``: the count, and whether the cgroup quota decided it.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpus()
    if quota is not None and quota < cores:  # a container's CPU limit (Kubernetes, docker --cpus), not the host's
        return max(1, math.ceil(quota)), True
    return cores, False


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and bool(mps.is_available())


def available_devices() -> list[str]:
    """The device names this machine can run on.

    Returns:
        ``"cpu"``, then ``"cuda"`` and ``"cuda:N"`` for each GPU torch can use, then ``"mps"`` where Apple's
        MPS is available.
    """
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    if _mps_available():
        names.append("mps")
    return names


def unavailable(device: torch.device) -> str | None:
    """Why this machine cannot run on ``device``, or None when it can.

    Args:
        device: A parsed device.

    Returns:
        None for the CPU, a CUDA device torch can use (``cuda`` or an index below the GPU count) and MPS where
        it is available; otherwise the reason, as a phrase to put in a message.
    """
    if device.type == "cpu":
        return None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return "CUDA is not available on this machine (no GPU, or a CPU build of torch)"
        if device.index is not None and device.index >= count:
            return f"this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
        return None
    if device.type == "mps":
        return None if _mps_available() else "Apple's MPS is not available on this machine"
    return f"device type {device.type!r} is not supported: cpu, cuda or mps"
