"""The checkpoint this package ships: a small ALBERT, the offline default of the pipelines and commands."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_MODEL"]

DEFAULT_MODEL = str(Path(__file__).resolve().parent.parent / "default_model")
"""The small ALBERT this package ships (trained by ``albert pretrain``; see its README.md model card)."""
