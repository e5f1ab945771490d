"""Moved to :mod:`albert_tok.data.collate`; this name keeps old imports working."""

from __future__ import annotations

from typing import Any

from .data.collate import PaddingCollator, moved

__all__ = ["PaddingCollator"]


def __getattr__(name: str) -> Any:
    raise moved(__name__, name)
