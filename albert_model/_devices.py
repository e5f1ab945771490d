"""Which torch devices this machine can run on: one rule for the pipelines' ``device=`` and training's
``--device``, each of which words its own message around the reason given here."""

from __future__ import annotations

import torch

__all__ = ["available_devices", "unavailable"]


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
