"""Moved to :mod:`albert_tok.data.collate`; this name keeps old imports working."""

from __future__ import annotations

from .data.collate import PaddingCollator

__all__ = ["PaddingCollator"]
