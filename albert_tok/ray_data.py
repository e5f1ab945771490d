"""Moved to :mod:`albert_tok.data.ray_data`; this name keeps old imports working."""

from __future__ import annotations

from .data.ray_data import TokenizeBatch

__all__ = ["TokenizeBatch"]
